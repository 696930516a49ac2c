//! List queries on the indexes, newest first, one read snapshot each.
//!
//! Which index serves which filter (the most selective present wins; the
//! other filters are checked on the rows it yields):
//! * `batch_id`          -> by_batch_recipient (the batch's rows, sorted)
//! * `to`                -> by_recipient (digits, created_at, id)
//! * `client_reference`  -> by_client_reference (ref, created_at, id)
//! * `status`            -> by_latest_status (status, created_at, id), one
//!   range per status merged newest first; `none` (no report yet) walks
//!   by_pending, which then also serves the other non-final statuses asked
//! * `final=true`        -> by_latest_status of every final status, merged
//! * `final=false`       -> by_pending (created_at, id)
//! * otherwise           -> by_created (created_at, id)
//!
//! `code` and the status times have no index of their own: they are
//! checked on the rows one of the above yields.
//!
//! since/until and the cursor become bounds of the range, so no filter
//! scans the whole table. A page stops after `SCAN_BUDGET` rows even when
//! few matched, returning a cursor to go on from: latency stays bounded
//! when a rare combination is asked of a large index.

use redb::{ReadTransaction, TableDefinition};
use std::collections::BTreeMap;

use super::StoreError;
use super::filter::{Cursor, InboundFilter, MessageFilter, encode_cursor};
use super::page::Page;
use super::record::*;
use super::tables::*;
use super::view::*;
use crate::clock::Micros;
use crate::sinch::Status;

/// Most index rows one page may look at.
const SCAN_BUDGET: usize = 20_000;

type Index3 = TableDefinition<'static, (&'static str, i64, u64), ()>;
/// Index keys (time, id), newest first.
type Keys<'a> = Box<dyn Iterator<Item = Result<(i64, u64), StoreError>> + 'a>;

/// The (time, id) window a query may return, upper bound exclusive.
fn bounds(
    since: Option<Micros>,
    until: Option<Micros>,
    cursor: Option<Cursor>,
) -> ((i64, u64), (i64, u64)) {
    let lo = (since.unwrap_or(i64::MIN), 0);
    let mut hi = (until.unwrap_or(i64::MAX), 0);
    if let Some(c) = cursor {
        hi = hi.min(c);
    }
    (lo, hi)
}

/// Keys (time, id) of `index` under `key`, newest first, inside the window.
fn keyed_range<'a>(
    txn: &ReadTransaction,
    def: Index3,
    key: &'a str,
    lo: (i64, u64),
    hi: (i64, u64),
) -> Result<Keys<'a>, StoreError> {
    if lo >= hi {
        return Ok(Box::new(std::iter::empty()));
    }
    let table = txn.open_table(def)?;
    let range = table.range((key, lo.0, lo.1)..(key, hi.0, hi.1))?;
    Ok(Box::new(range.rev().map(|row| {
        let (k, _) = row?;
        let (_, t, id) = k.value();
        Ok((t, id))
    })))
}

fn time_range<'a>(
    txn: &ReadTransaction,
    def: TableDefinition<'static, (i64, u64), ()>,
    lo: (i64, u64),
    hi: (i64, u64),
) -> Result<Keys<'a>, StoreError> {
    if lo >= hi {
        return Ok(Box::new(std::iter::empty()));
    }
    let table = txn.open_table(def)?;
    let range = table.range(lo..hi)?;
    Ok(Box::new(range.rev().map(|row| Ok(row?.0.value()))))
}

/// The index keys that can match `f`, newest first, inside its window.
fn message_keys<'a>(
    txn: &ReadTransaction,
    f: &'a MessageFilter,
    statuses: &'a Option<Vec<Option<Status>>>,
) -> Result<Keys<'a>, StoreError> {
    let (lo, hi) = bounds(f.since, f.until, f.cursor);
    Ok(if let Some(b) = &f.batch_id {
        Box::new(batch_keys(txn, b, lo, hi)?.into_iter().map(Ok))
    } else if let Some(to) = &f.to {
        keyed_range(txn, BY_RECIPIENT, to, lo, hi)?
    } else if let Some(r) = &f.client_reference {
        keyed_range(txn, BY_CLIENT_REFERENCE, r, lo, hi)?
    } else if let Some(statuses) = statuses {
        status_keys(txn, statuses, lo, hi)?
    } else if f.is_final == Some(false) {
        time_range(txn, BY_PENDING, lo, hi)?
    } else {
        time_range(txn, BY_CREATED, lo, hi)?
    })
}

/// How many messages match `f` (its cursor and limit aside), counting at
/// most `cap`: (count, whether it stopped at the cap).
pub fn count_messages(
    txn: &ReadTransaction,
    f: &MessageFilter,
    cap: u64,
) -> Result<(u64, bool), StoreError> {
    let f = MessageFilter {
        cursor: None,
        ..f.clone()
    };
    let statuses = f.possible_statuses();
    let table = txn.open_table(MESSAGES)?;
    let mut n = 0;
    for key in message_keys(txn, &f, &statuses)? {
        let Some(row) = table.get(key?.1)? else {
            continue;
        };
        if matches(&decode("messages", row.value())?, &f) {
            n += 1;
            if n == cap {
                return Ok((n, true));
            }
        }
    }
    Ok((n, false))
}

pub fn messages(txn: &ReadTransaction, f: &MessageFilter) -> Result<Page<MessageView>, StoreError> {
    let table = txn.open_table(MESSAGES)?;
    let statuses = f.possible_statuses();
    let keys = message_keys(txn, f, &statuses)?;
    // Opened once per page, not once per message.
    let updates = f
        .with_history
        .then(|| txn.open_table(STATUS_UPDATES))
        .transpose()?;
    let load = |id: u64| -> Result<Option<MessageView>, StoreError> {
        let Some(row) = table.get(id)? else {
            return Ok(None);
        };
        let m: MessageRecord = decode("messages", row.value())?;
        if !matches(&m, f) {
            return Ok(None);
        }
        Ok(Some(match &updates {
            Some(t) => MessageView::full(&m, &super::read::updates_of(t, m.id)?),
            None => MessageView::summary(&m),
        }))
    };
    page(keys, f.limit, load)
}

/// Keys of messages whose latest status is one of `statuses` (None = no
/// report yet), newest first. The sources are disjoint: with `none` asked,
/// by_pending serves every non-final status asked, the finals their own
/// by_latest_status ranges.
fn status_keys<'a>(
    txn: &ReadTransaction,
    statuses: &'a [Option<Status>],
    lo: (i64, u64),
    hi: (i64, u64),
) -> Result<Keys<'a>, StoreError> {
    let pending = statuses.contains(&None);
    let mut sources = Vec::new();
    if pending {
        sources.push(time_range(txn, BY_PENDING, lo, hi)?);
    }
    for s in statuses.iter().flatten() {
        if !pending || s.is_final() {
            sources.push(keyed_range(txn, BY_LATEST_STATUS, s.as_str(), lo, hi)?);
        }
    }
    Ok(match sources.len() {
        1 => sources.pop().expect("one source"),
        _ => Box::new(Newest::new(sources)),
    })
}

/// Several newest-first key streams merged into one, newest first.
struct Newest<'a> {
    sources: Vec<std::iter::Peekable<Keys<'a>>>,
}

impl<'a> Newest<'a> {
    fn new(sources: Vec<Keys<'a>>) -> Newest<'a> {
        Newest {
            sources: sources.into_iter().map(Iterator::peekable).collect(),
        }
    }
}

impl Iterator for Newest<'_> {
    type Item = Result<(i64, u64), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        // An error sorts first, so it is returned rather than skipped.
        let newest = self
            .sources
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.peek()?.as_ref().ok().copied())))
            .max_by_key(|(_, key)| key.map_or((i64::MAX, u64::MAX), |k| k))?
            .0;
        self.sources[newest].next()
    }
}

/// Collects matching rows up to `limit`, within the scan budget.
fn page<T>(
    keys: impl Iterator<Item = Result<(i64, u64), StoreError>>,
    limit: usize,
    load: impl Fn(u64) -> Result<Option<T>, StoreError>,
) -> Result<Page<T>, StoreError> {
    let mut items = Vec::new();
    let mut last = None;
    for (scanned, key) in keys.enumerate() {
        let key = key?;
        if items.len() == limit || scanned == SCAN_BUDGET {
            // More may follow: resume after the last row looked at.
            return Ok(Page {
                items,
                next_cursor: last.map(encode_cursor),
            });
        }
        if let Some(v) = load(key.1)? {
            items.push(v);
        }
        last = Some(key);
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// A batch's message keys in the window, newest first.
fn batch_keys(
    txn: &ReadTransaction,
    batch_id: &str,
    lo: (i64, u64),
    hi: (i64, u64),
) -> Result<Vec<(i64, u64)>, StoreError> {
    let index = txn.open_table(BY_BATCH_RECIPIENT)?;
    let messages = txn.open_table(MESSAGES)?;
    let mut keys = Vec::new();
    for row in index.range((batch_id, "")..)? {
        let (k, id) = row?;
        if k.value().0 != batch_id {
            break;
        }
        if let Some(v) = messages.get(id.value())? {
            let m: MessageRecord = decode("messages", v.value())?;
            let key = (m.created_at, m.id);
            if lo <= key && key < hi {
                keys.push(key);
            }
        }
    }
    keys.sort_unstable_by(|a, b| b.cmp(a));
    Ok(keys)
}

fn matches(m: &MessageRecord, f: &MessageFilter) -> bool {
    f.batch_id.as_ref().is_none_or(|b| *b == m.batch_id)
        && f.to.as_ref().is_none_or(|t| *t == m.recipient)
        && f.client_reference
            .as_ref()
            .is_none_or(|r| Some(r) == m.client_reference.as_ref())
        && f.wants_latest(m.latest.as_ref().map(|l| (&l.status, l.code, l.at)))
}

pub fn inbound(txn: &ReadTransaction, f: &InboundFilter) -> Result<Page<InboundView>, StoreError> {
    let (lo, hi) = bounds(f.since, f.until, f.cursor);
    let table = txn.open_table(INBOUND)?;
    let keys = if let Some(from) = &f.from {
        keyed_range(txn, INBOUND_BY_FROM, from, lo, hi)?
    } else if let Some(to) = &f.to {
        keyed_range(txn, INBOUND_BY_TO, to, lo, hi)?
    } else {
        time_range(txn, INBOUND_BY_TIME, lo, hi)?
    };
    let load = |id: u64| -> Result<Option<InboundView>, StoreError> {
        let Some(row) = table.get(id)? else {
            return Ok(None);
        };
        let r: InboundRecord = decode("inbound", row.value())?;
        let to_ok =
            f.to.as_ref()
                .is_none_or(|t| *t == super::phone::digits(&r.to));
        Ok(to_ok.then(|| InboundView::new(&r)))
    };
    page(keys, f.limit, load)
}

pub fn inbound_one(txn: &ReadTransaction, id: u64) -> Result<Option<InboundView>, StoreError> {
    let Some(row) = txn.open_table(INBOUND)?.get(id)? else {
        return Ok(None);
    };
    let r: InboundRecord = decode("inbound", row.value())?;
    Ok(Some(InboundView::with_raw(&r)))
}

/// Quarantined bodies, newest first; the cursor is (received_at, id).
pub fn quarantine(
    txn: &ReadTransaction,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<Page<QuarantineView>, StoreError> {
    let table = txn.open_table(QUARANTINE)?;
    let below = cursor.map_or(u64::MAX, |c| c.1);
    let mut items = Vec::new();
    for row in table.range(..below)?.rev() {
        let r: QuarantineRecord = decode("quarantine", row?.1.value())?;
        if items.len() == limit {
            let next_cursor = Some(encode_cursor(last_key(&items)));
            return Ok(Page { items, next_cursor });
        }
        items.push(QuarantineView::new(&r));
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

fn last_key(items: &[QuarantineView]) -> (i64, u64) {
    let last = items.last().expect("a full page is not empty");
    (0, last.id)
}

/// `GET /api/batches/{id}`: its messages, counts by latest status, and its
/// batch-level reports. None when nothing is known about the batch.
pub fn batch(txn: &ReadTransaction, batch_id: &str) -> Result<Option<BatchView>, StoreError> {
    let filter = MessageFilter {
        batch_id: Some(batch_id.to_string()),
        limit: usize::MAX,
        ..MessageFilter::default()
    };
    let keys = batch_keys(txn, batch_id, (i64::MIN, 0), (i64::MAX, 0))?;
    let table = txn.open_table(MESSAGES)?;
    let mut messages = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (_, id) in keys {
        let Some(row) = table.get(id)? else { continue };
        let m: MessageRecord = decode("messages", row.value())?;
        if matches(&m, &filter) {
            let status = m.latest.as_ref().map_or("none", |l| l.status.as_str());
            *counts.entry(status.to_string()).or_default() += 1;
            messages.push(MessageView::summary(&m));
        }
    }
    let mut reports = Vec::new();
    for row in txn
        .open_table(BATCH_REPORTS)?
        .range((batch_id, 0)..=(batch_id, u64::MAX))?
    {
        let r: BatchReportRecord = decode("batch_reports", row?.1.value())?;
        reports.push(BatchReportView::new(&r));
    }
    if messages.is_empty() && reports.is_empty() {
        return Ok(None);
    }
    Ok(Some(BatchView {
        batch_id: batch_id.to_string(),
        message_count: messages.len(),
        counts,
        messages,
        batch_reports: reports,
    }))
}
