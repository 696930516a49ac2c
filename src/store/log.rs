//! Appending to the event log inside a group's transaction, and removing
//! its oldest events (retention). The event types and reading are in
//! events.rs; the writes that call `emit` are apply.rs and receive.rs.

use redb::ReadableTable;
use serde::Serialize;

use super::StoreError;
use super::apply::Tx;
use super::events::{EventRecord, EventType};
use super::record::{RECORD_VERSION, decode};
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
        // The row is written as EventRecord's JSON in one pass: the data
        // is serialised straight into it (no intermediate copy).
        let mut row = Vec::with_capacity(1024);
        row.extend_from_slice(b"{\"v\":");
        row.extend_from_slice(RECORD_VERSION.to_string().as_bytes());
        row.extend_from_slice(b",\"type\":\"");
        row.extend_from_slice(kind.as_str().as_bytes());
        row.extend_from_slice(b"\",\"at\":");
        row.extend_from_slice(now_micros().to_string().as_bytes());
        row.extend_from_slice(b",\"data\":");
        serde_json::to_writer(&mut row, data).expect("views always serialise");
        row.push(b'}');
        self.events.open()?.insert(seq, row.as_slice())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_written_in_one_pass_reads_back_as_an_event_record() {
        let data = serde_json::json!({"message": {"id": 7, "to": "+1 \"x\""}});
        let mut row = Vec::new();
        row.extend_from_slice(b"{\"v\":1,\"type\":\"message.registered\",\"at\":42,\"data\":");
        serde_json::to_writer(&mut row, &data).unwrap();
        row.push(b'}');
        let r: EventRecord = decode("events", &row).unwrap();
        assert_eq!((r.v, r.kind.as_str(), r.at), (1, "message.registered", 42));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(r.data.get()).unwrap(),
            data
        );
    }
}
