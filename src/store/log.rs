//! Appending to the event log inside a group's transaction, and removing
//! its oldest events (retention). The event types and reading are in
//! events.rs; the writes that call `emit` are apply.rs and receive.rs.

use redb::ReadableTable;
use serde::Serialize;

use super::StoreError;
use super::apply::Tx;
use super::events::{EventRecord, EventType};
use super::record::RECORD_VERSION;
use super::tables::NEXT_EVENT_SEQ;
use crate::clock::{Micros, now_micros};

impl Tx<'_> {
    /// Appends one event to this group's transaction.
    pub(super) fn emit(
        &mut self,
        kind: EventType,
        data: &impl Serialize,
    ) -> Result<(), StoreError> {
        // The data is serialised straight into the row.
        self.append(kind, "data", |row| {
            serde_json::to_writer(row, data).expect("views always serialise")
        })
    }

    /// Appends a `message.*` event: the message record as it is now (the
    /// same bytes the messages table gets). Its view — with the history up
    /// to this update, which the status-updates table keeps unchanged — is
    /// made when the event is read (events::page), not on the callback path.
    pub(super) fn emit_message(
        &mut self,
        kind: EventType,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.append(kind, "message", |row| row.extend_from_slice(record))
    }

    /// One event row, EventRecord's JSON written in one pass:
    /// `{"v":1,"type":"…","at":…,"<field>":<payload>}`.
    fn append(
        &mut self,
        kind: EventType,
        field: &str,
        payload: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), StoreError> {
        let seq = self.take_event_seq()?;
        let mut row = Vec::with_capacity(1024);
        // Piece by piece: cheaper on the writer thread than `write!`.
        row.extend_from_slice(b"{\"v\":");
        row.extend_from_slice(RECORD_VERSION.to_string().as_bytes());
        row.extend_from_slice(b",\"type\":\"");
        row.extend_from_slice(kind.as_str().as_bytes());
        row.extend_from_slice(b"\",\"at\":");
        row.extend_from_slice(now_micros().to_string().as_bytes());
        row.extend_from_slice(b",\"");
        row.extend_from_slice(field.as_bytes());
        row.extend_from_slice(b"\":");
        payload(&mut row);
        row.push(b'}');
        self.events.open()?.insert(seq, row.as_slice())?;
        Ok(())
    }

    /// The seq for the next event of this group.
    fn take_event_seq(&mut self) -> Result<u64, StoreError> {
        let seq = match self.next_event_seq {
            Some(seq) => seq,
            None => self
                .meta
                .open()?
                .get(NEXT_EVENT_SEQ)?
                .map_or(1, |v| v.value()),
        };
        self.next_event_seq = Some(seq + 1);
        Ok(seq)
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
        let table = self.events.open()?;
        super::prune::remove_older(table, "events", before, limit, |e: &EventRecord| e.at)
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
        let r: EventRecord = super::super::record::decode("events", &row).unwrap();
        assert_eq!((r.v, r.kind.as_str(), r.at), (1, "message.registered", 42));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(r.data.unwrap().get()).unwrap(),
            data
        );
    }
}
