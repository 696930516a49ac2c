//! Reads: one snapshot per call (a redb read transaction), never blocked by
//! the writer.

use redb::{ReadTransaction, ReadableTable};

use super::StoreError;
use super::record::*;
use super::tables::*;
use super::view::MessageView;

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
        if !m.latest.as_ref().is_some_and(|l| l.status.is_final()) {
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

/// A message's updates without their raw bodies (skipped while decoding,
/// never copied): what a view of its history needs.
pub fn updates_without_raw(
    table: &impl ReadableTable<(u64, u32), &'static [u8]>,
    id: u64,
    up_to: u32,
) -> Result<Vec<UpdateRecord>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Lean {
        status: crate::sinch::Status,
        code: i64,
        at: crate::clock::Micros,
        operator_status_at: Option<crate::clock::Micros>,
        received_at: crate::clock::Micros,
        source: Source,
        kind: String,
        batch_report_id: Option<u64>,
    }
    table
        .range((id, 0)..=(id, up_to))?
        .map(|row| {
            let u: Lean = decode("status_updates", row?.1.value())?;
            Ok(UpdateRecord {
                v: RECORD_VERSION,
                status: u.status,
                code: u.code,
                at: u.at,
                operator_status_at: u.operator_status_at,
                received_at: u.received_at,
                source: u.source,
                kind: u.kind,
                raw: None,
                batch_report_id: u.batch_report_id,
            })
        })
        .collect()
}

/// The message with its history; `raw`: each update with the callback
/// body it came in.
pub fn message(
    txn: &ReadTransaction,
    id: u64,
    raw: bool,
) -> Result<Option<MessageView>, StoreError> {
    let messages = txn.open_table(MESSAGES)?;
    let Some(row) = messages.get(id)? else {
        return Ok(None);
    };
    let m: MessageRecord = decode("messages", row.value())?;
    let updates = updates_of(&txn.open_table(STATUS_UPDATES)?, id)?;
    let mut view = MessageView::full(&m, &updates);
    if raw {
        for (u, record) in view.status_updates.iter_mut().flatten().zip(&updates) {
            u.raw = record.raw.clone();
        }
    }
    Ok(Some(view))
}

/// The log's id and the last seq ever given (0: none), from META.
pub fn event_log(txn: &ReadTransaction) -> Result<(u64, u64), StoreError> {
    let meta = txn.open_table(META)?;
    let get = |key| -> Result<Option<u64>, StoreError> { Ok(meta.get(key)?.map(|v| v.value())) };
    let next = get(NEXT_EVENT_SEQ)?.unwrap_or(1);
    Ok((get(EVENT_LOG_ID)?.unwrap_or(0), next - 1))
}
