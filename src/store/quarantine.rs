//! Quarantine retry: an authenticated body kept because it could not be
//! used is run through today's parser, and stored when it now parses.

use redb::ReadableTable;

use super::apply::Tx;
use super::record::{QuarantineRecord, decode};
use super::{CallbackResult, StoreError};
use crate::sinch::{Callback, parse_callback};

impl Tx<'_> {
    /// Runs a quarantined body through today's parser. Stored (and removed
    /// from quarantine) when it now parses to a known type; otherwise it
    /// stays, and the reason is returned. None when there is no such entry.
    pub fn retry_quarantined(
        &mut self,
        id: u64,
    ) -> Result<Option<Result<CallbackResult, String>>, StoreError> {
        let Some(row) = self.quarantine.open()?.get(id)? else {
            return Ok(None);
        };
        let r: QuarantineRecord = decode("quarantine", row.value())?;
        drop(row);
        let raw = match (&r.raw, &r.raw_base64) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, Some(b64)) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default()
            }
            (None, None) => Vec::new(),
        };
        let callback = match parse_callback(&raw) {
            Ok(Callback::Unknown { kind }) => {
                return Ok(Some(Err(format!("unknown callback type {kind:?}"))));
            }
            Ok(cb) => cb,
            Err(e) => return Ok(Some(Err(e.to_string()))),
        };
        self.quarantine.open()?.remove(id)?;
        self.callback(&callback, &raw, r.received_at)
            .map(|res| Some(Ok(res)))
    }
}
