//! What a list asks the store for: filters on messages and inbound
//! messages, and the cursor that continues a page (query.rs parses them
//! from query parameters).
//!
//! A cursor is the (time, id) of the last row returned, versioned and
//! base64url-encoded. Rows are ordered newest first by (time, id), and new
//! rows always sort before old ones, so a cursor stays valid while writes
//! happen: later pages neither repeat nor skip rows that existed when the
//! first page was read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Micros;
use crate::sinch::Status;

/// Position after which the next page starts: (time, id).
pub type Cursor = (i64, u64);

/// `GET /api/messages` filters. Times are on `created_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub batch_id: Option<String>,
    /// Digits only.
    pub to: Option<String>,
    pub client_reference: Option<String>,
    /// Latest status, in Sinch's spelling.
    pub status: Option<Status>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// Include each message's status history (exports), not just a summary.
    pub with_history: bool,
}

/// `GET /api/inbound` filters. Times are on when sinch-dlr stored it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

pub fn encode_cursor((t, id): Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1.{t}.{id}"))
}

/// The cursor `encode_cursor` made, or None.
pub fn decode_cursor(s: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("c1"), Some(t), Some(id), None) => Some((t.parse().ok()?, id.parse().ok()?)),
        _ => None,
    }
}
