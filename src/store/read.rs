//! Reads: one snapshot per call (a redb read transaction), never blocked by
//! the writer. Also the consistency check that tests and `check-db` run.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};
use serde_json::Value;
use std::collections::BTreeSet;

use super::StoreError;
use super::record::*;
use super::tables::*;
use crate::sinch::is_final;

/// A page of results and the cursor for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// Position in the pending index: (created_at, message id).
pub type PendingKey = (i64, u64);

/// A message still waiting for its final status.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub key: PendingKey,
    pub id: u64,
    pub batch_id: String,
    pub recipient: String,
}

pub fn pending(
    txn: &ReadTransaction,
    created_before: i64,
    after: Option<PendingKey>,
    limit: usize,
) -> Result<Vec<Pending>, StoreError> {
    let index = txn.open_table(BY_PENDING)?;
    let messages = txn.open_table(MESSAGES)?;
    let start = match after {
        Some((t, id)) if id < u64::MAX => (t, id + 1),
        Some((t, _)) => (t.saturating_add(1), 0),
        None => (i64::MIN, 0),
    };
    if start >= (created_before, 0) {
        return Ok(Vec::new());
    }
    let range = index.range(start..(created_before, 0))?;
    let mut out = Vec::new();
    for row in range.take(limit) {
        let key = row?.0.value();
        let m: MessageRecord = match messages.get(key.1)? {
            Some(v) => decode("messages", v.value())?,
            None => {
                return Err(StoreError::Corrupt(format!(
                    "by_pending points at missing message {}",
                    key.1
                )));
            }
        };
        out.push(Pending {
            key,
            id: m.id,
            batch_id: m.batch_id,
            recipient: m.recipient,
        });
    }
    Ok(out)
}

pub fn pending_in_batch(txn: &ReadTransaction, batch_id: &str) -> Result<Vec<Pending>, StoreError> {
    let index = txn.open_table(BY_BATCH_RECIPIENT)?;
    let messages = txn.open_table(MESSAGES)?;
    let mut out = Vec::new();
    for row in index.range((batch_id, "")..)? {
        let (key, id) = row?;
        if key.value().0 != batch_id {
            break;
        }
        let Some(v) = messages.get(id.value())? else {
            continue;
        };
        let m: MessageRecord = decode("messages", v.value())?;
        if !m.latest.as_ref().is_some_and(|l| is_final(&l.status)) {
            out.push(Pending {
                key: (m.created_at, m.id),
                id: m.id,
                batch_id: m.batch_id,
                recipient: m.recipient,
            });
        }
    }
    Ok(out)
}

/// A message's status updates, oldest first.
pub fn updates_of(
    table: &impl ReadableTable<(u64, u32), &'static [u8]>,
    id: u64,
) -> Result<Vec<UpdateRecord>, StoreError> {
    table
        .range((id, 0)..=(id, u32::MAX))?
        .map(|row| decode("status_updates", row?.1.value()))
        .collect()
}

pub fn message(txn: &ReadTransaction, id: u64) -> Result<Option<Value>, StoreError> {
    let messages = txn.open_table(MESSAGES)?;
    let Some(row) = messages.get(id)? else {
        return Ok(None);
    };
    let m: MessageRecord = decode("messages", row.value())?;
    let updates = updates_of(&txn.open_table(STATUS_UPDATES)?, id)?;
    Ok(Some(message_json(&m, &updates)))
}

/// Every way a record and its index rows can disagree. Empty = consistent.
pub fn check(txn: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let messages = txn.open_table(MESSAGES)?;
    let updates = txn.open_table(STATUS_UPDATES)?;
    let mut expected: [BTreeSet<(String, u64)>; 5] = Default::default();
    for row in messages.iter()? {
        let (key, value) = row?;
        let m: MessageRecord = decode("messages", value.value())?;
        if m.id != key.value() {
            problems.push(format!("message row {} holds id {}", key.value(), m.id));
        }
        let n = updates_of(&updates, m.id)?.len() as u32;
        if n != m.update_count {
            problems.push(format!(
                "message {} counts {} updates, {} stored",
                m.id, m.update_count, n
            ));
        }
        expected[0].insert((format!("{}\u{0}{}", m.batch_id, m.recipient), m.id));
        expected[1].insert((m.recipient.clone(), m.id));
        if let Some(r) = &m.client_reference {
            expected[2].insert((r.clone(), m.id));
        }
        if let Some(l) = &m.latest {
            expected[3].insert((l.status.clone(), m.id));
        }
        if !m.latest.as_ref().is_some_and(|l| is_final(&l.status)) {
            expected[4].insert((m.created_at.to_string(), m.id));
        }
    }
    let mut found: [BTreeSet<(String, u64)>; 5] = Default::default();
    for row in txn.open_table(BY_BATCH_RECIPIENT)?.iter()? {
        let (k, v) = row?;
        let (b, r) = k.value();
        found[0].insert((format!("{b}\u{0}{r}"), v.value()));
    }
    for (i, def) in [BY_RECIPIENT, BY_CLIENT_REFERENCE, BY_LATEST_STATUS]
        .into_iter()
        .enumerate()
    {
        for row in txn.open_table(def)?.iter()? {
            let (k, _) = row?;
            let (s, id) = k.value();
            found[i + 1].insert((s.to_string(), id));
        }
    }
    let names = [
        "by_batch_recipient",
        "by_recipient",
        "by_client_reference",
        "by_latest_status",
    ];
    for (i, name) in names.iter().enumerate() {
        for missing in expected[i].difference(&found[i]) {
            problems.push(format!("{name}: missing row {missing:?}"));
        }
        for dangling in found[i].difference(&expected[i]) {
            problems.push(format!("{name}: dangling row {dangling:?}"));
        }
    }
    for row in updates.iter()? {
        let (k, _) = row?;
        let (id, _) = k.value();
        if messages.get(id)?.is_none() {
            problems.push(format!("status update for missing message {id}"));
        }
    }
    let inbound = txn.open_table(INBOUND)?;
    let by_sinch = txn.open_table(INBOUND_BY_SINCH_ID)?;
    if inbound.len()? != by_sinch.len()? {
        problems.push("inbound and inbound_by_sinch_id differ in size".into());
    }
    Ok(problems)
}
