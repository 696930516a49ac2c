//! Appending to the event log inside a group's transaction, and removing
//! its oldest events (retention). The event types and reading are in
//! events.rs; the writes that call `emit` are apply.rs and receive.rs.

use redb::ReadableTable;
use serde::Serialize;

use super::StoreError;
use super::apply::Tx;
use super::events::{EventRecord, EventType};
use super::record::{RECORD_VERSION, decode, encode};
use super::tables::NEXT_EVENT_SEQ;
use crate::clock::{Micros, now_micros};

impl Tx<'_> {
    /// Appends one event to this group's transaction.
    pub(super) fn emit(
        &mut self,
        kind: EventType,
        data: &impl Serialize,
    ) -> Result<(), StoreError> {
        let seq = match self.next_event_seq {
            Some(seq) => seq,
            None => self
                .meta
                .open()?
                .get(NEXT_EVENT_SEQ)?
                .map_or(1, |v| v.value()),
        };
        let data = serde_json::value::to_raw_value(data).expect("views always serialise");
        let record = EventRecord {
            v: RECORD_VERSION,
            kind: kind.as_str().to_string(),
            at: now_micros(),
            data,
        };
        self.events
            .open()?
            .insert(seq, encode(&record).as_slice())?;
        self.next_event_seq = Some(seq + 1);
        Ok(())
    }

    /// The last seq this group appended, if any (written to META by
    /// `finish`).
    pub(super) fn finish_events(&mut self) -> Result<Option<u64>, StoreError> {
        let Some(next) = self.next_event_seq else {
            return Ok(None);
        };
        self.meta.open()?.insert(NEXT_EVENT_SEQ, next)?;
        Ok(Some(next - 1))
    }

    /// Removes up to `limit` events committed before `before`, oldest first.
    pub(super) fn prune_events(&mut self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let mut old = Vec::new();
        for row in self.events.open()?.iter()?.take(limit) {
            let (seq, value) = row?;
            let record: EventRecord = decode("events", value.value())?;
            if record.at >= before {
                break;
            }
            old.push(seq.value());
        }
        for seq in &old {
            self.events.open()?.remove(seq)?;
        }
        Ok(old.len() as u64)
    }
}
