//! Retention: removes records older than a cut-off together with every index row and
//! count they own, a bounded number per call, so each call is a small part
//! of one group transaction and never holds callbacks up for long.

use redb::{ReadableTable, Table};

use super::StoreError;
use super::apply::{MESSAGE_COUNT, Tx, status_key};
use super::phone;
use super::record::*;
use crate::clock::Micros;

/// What one prune call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub messages: u64,
    pub inbound: u64,
    pub quarantine: u64,
    pub batch_reports: u64,
    pub events: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.messages + self.inbound + self.quarantine + self.batch_reports + self.events
    }
}

/// Up to `limit` (time, id) keys of a time index older than `before`,
/// oldest first.
fn oldest(
    index: &Table<'_, (i64, u64), ()>,
    before: Micros,
    limit: usize,
) -> Result<Vec<(i64, u64)>, StoreError> {
    index
        .range(..(before, 0))?
        .take(limit)
        .map(|row| Ok(row?.0.value()))
        .collect()
}

impl Tx<'_> {
    /// Removes up to `limit` rows of each kind created before `before`.
    pub fn prune(&mut self, before: Micros, limit: usize) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            messages: self.prune_messages(before, limit)?,
            inbound: self.prune_inbound(before, limit)?,
            quarantine: self.prune_quarantine(before, limit)?,
            batch_reports: self.prune_batch_reports(before, limit)?,
            events: self.prune_events(before, limit)?,
        })
    }

    fn prune_messages(&mut self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let keys = oldest(self.by_created.open()?, before, limit)?;
        for (t, id) in &keys {
            let Some(row) = self.messages.open()?.remove(id)? else {
                continue;
            };
            let m: MessageRecord = decode("messages", row.value())?;
            drop(row);
            for seq in 1..=m.update_count {
                self.updates.open()?.remove((m.id, seq))?;
            }
            self.by_batch_recipient
                .open()?
                .remove((m.batch_id.as_str(), m.recipient.as_str()))?;
            self.by_created.open()?.remove((*t, *id))?;
            self.by_recipient
                .open()?
                .remove((m.recipient.as_str(), *t, *id))?;
            self.by_pending.open()?.remove((*t, *id))?;
            if let Some(r) = &m.client_reference {
                self.by_client_reference
                    .open()?
                    .remove((r.as_str(), *t, *id))?;
            }
            let latest = m.latest.as_ref().map(|l| l.status.as_str());
            if let Some(s) = latest {
                self.by_latest_status.open()?.remove((s, *t, *id))?;
            }
            self.count(&status_key(latest), -1);
            self.count(MESSAGE_COUNT, -1);
        }
        Ok(keys.len() as u64)
    }

    fn prune_inbound(&mut self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let keys = oldest(self.inbound_by_time.open()?, before, limit)?;
        for (t, id) in &keys {
            self.inbound_by_time.open()?.remove((*t, *id))?;
            let Some(row) = self.inbound.open()?.remove(id)? else {
                continue;
            };
            let r: InboundRecord = decode("inbound", row.value())?;
            drop(row);
            self.inbound_by_sinch_id
                .open()?
                .remove(r.sinch_id.as_str())?;
            self.inbound_by_from
                .open()?
                .remove((phone::digits(&r.from).as_str(), *t, *id))?;
            self.inbound_by_to
                .open()?
                .remove((phone::digits(&r.to).as_str(), *t, *id))?;
        }
        Ok(keys.len() as u64)
    }

    /// Quarantine ids grow with time, so the oldest come first.
    fn prune_quarantine(&mut self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let table = self.quarantine.open()?;
        remove_older(
            table,
            "quarantine",
            before,
            limit,
            |r: &QuarantineRecord| r.received_at,
        )
    }

    fn prune_batch_reports(&mut self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let rows: Vec<((i64, u64), String)> = self
            .batch_reports_by_time
            .open()?
            .range(..(before, 0))?
            .take(limit)
            .map(|row| {
                let (k, v) = row?;
                Ok::<_, StoreError>((k.value(), v.value().to_string()))
            })
            .collect::<Result<_, _>>()?;
        for ((t, id), batch) in &rows {
            self.batch_reports_by_time.open()?.remove((*t, *id))?;
            self.batch_reports.open()?.remove((batch.as_str(), *id))?;
        }
        Ok(rows.len() as u64)
    }
}

/// Removes, oldest first, up to `limit` rows of a table whose keys grow
/// with time (ids, seqs), while the record's `at` is before `before`.
pub(super) fn remove_older<T: serde::de::DeserializeOwned>(
    table: &mut Table<'_, u64, &'static [u8]>,
    name: &'static str,
    before: Micros,
    limit: usize,
    at: impl Fn(&T) -> Micros,
) -> Result<u64, StoreError> {
    let mut old = Vec::new();
    for row in table.iter()?.take(limit) {
        let (key, value) = row?;
        if at(&decode::<T>(name, value.value())?) >= before {
            break;
        }
        old.push(key.value());
    }
    for key in &old {
        table.remove(key)?;
    }
    Ok(old.len() as u64)
}
