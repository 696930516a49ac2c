//! The consistency check (`sinch-dlr check-db`, and every store test):
//! every index row must be derivable from a record, and every record must
//! have its index rows and counts. Index rows are compared as text keys so
//! one routine serves every index shape.

use redb::{ReadTransaction, ReadableTable};
use std::collections::{BTreeMap, BTreeSet};

use super::StoreError;
use super::apply::{MESSAGE_COUNT, status_key};
use super::phone;
use super::read::updates_of;
use super::record::*;
use super::tables::*;

type Keys = BTreeSet<String>;

/// Every problem found; empty means consistent.
pub fn check(txn: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    let mut expected: BTreeMap<&'static str, Keys> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    expect_messages(txn, &mut expected, &mut counts, &mut problems)?;
    expect_inbound(txn, &mut expected)?;
    expect_batch_reports(txn, &mut expected)?;
    for (name, found) in found_indexes(txn)? {
        let want = expected.remove(name).unwrap_or_default();
        for k in want.difference(&found) {
            problems.push(format!("{name}: missing row {k}"));
        }
        for k in found.difference(&want) {
            problems.push(format!("{name}: dangling row {k}"));
        }
    }
    check_counts(txn, &counts, &mut problems)?;
    Ok(problems)
}

fn key(parts: &[&dyn std::fmt::Display]) -> String {
    parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("|")
}

fn expect_messages(
    txn: &ReadTransaction,
    expected: &mut BTreeMap<&'static str, Keys>,
    counts: &mut BTreeMap<String, u64>,
    problems: &mut Vec<String>,
) -> Result<(), StoreError> {
    let updates = txn.open_table(STATUS_UPDATES)?;
    let mut ids = BTreeSet::new();
    for row in txn.open_table(MESSAGES)?.iter()? {
        let (k, v) = row?;
        let m: MessageRecord = decode("messages", v.value())?;
        if m.id != k.value() {
            problems.push(format!("message row {} holds id {}", k.value(), m.id));
        }
        ids.insert(m.id);
        let n = updates_of(&updates, m.id)?.len() as u32;
        if n != m.update_count {
            problems.push(format!(
                "message {} counts {} updates, {n} stored",
                m.id, m.update_count
            ));
        }
        let (t, id) = (m.created_at, m.id);
        let mut add = |name, k: String| expected.entry(name).or_default().insert(k);
        add("by_batch_recipient", key(&[&m.batch_id, &m.recipient, &id]));
        add("by_created", key(&[&t, &id]));
        add("by_recipient", key(&[&m.recipient, &t, &id]));
        if let Some(r) = &m.client_reference {
            add("by_client_reference", key(&[r, &t, &id]));
        }
        let latest = m.latest.as_ref().map(|l| l.status.as_str());
        if let Some(s) = latest {
            add("by_latest_status", key(&[&s, &t, &id]));
        }
        if !m.latest.as_ref().is_some_and(|l| l.status.is_final()) {
            add("by_pending", key(&[&t, &id]));
        }
        *counts.entry(status_key(latest)).or_default() += 1;
        *counts.entry(MESSAGE_COUNT.to_string()).or_default() += 1;
    }
    for row in updates.iter()? {
        let (id, _) = row?.0.value();
        if !ids.contains(&id) {
            problems.push(format!("status update for missing message {id}"));
        }
    }
    Ok(())
}

fn expect_inbound(
    txn: &ReadTransaction,
    expected: &mut BTreeMap<&'static str, Keys>,
) -> Result<(), StoreError> {
    for row in txn.open_table(INBOUND)?.iter()? {
        let r: InboundRecord = decode("inbound", row?.1.value())?;
        let (t, id) = (r.stored_at, r.id);
        let mut add = |name, k: String| expected.entry(name).or_default().insert(k);
        add("inbound_by_sinch_id", key(&[&r.sinch_id, &id]));
        add("inbound_by_time", key(&[&t, &id]));
        add("inbound_by_from", key(&[&phone::digits(&r.from), &t, &id]));
        add("inbound_by_to", key(&[&phone::digits(&r.to), &t, &id]));
    }
    Ok(())
}

fn expect_batch_reports(
    txn: &ReadTransaction,
    expected: &mut BTreeMap<&'static str, Keys>,
) -> Result<(), StoreError> {
    for row in txn.open_table(BATCH_REPORTS)?.iter()? {
        let r: BatchReportRecord = decode("batch_reports", row?.1.value())?;
        expected
            .entry("batch_reports_by_time")
            .or_default()
            .insert(key(&[&r.received_at, &r.id, &r.batch_id]));
    }
    Ok(())
}

/// Every index table's rows, as text keys.
fn found_indexes(txn: &ReadTransaction) -> Result<Vec<(&'static str, Keys)>, StoreError> {
    let mut out = Vec::new();
    let mut keys = Keys::new();
    for row in txn.open_table(BY_BATCH_RECIPIENT)?.iter()? {
        let (k, v) = row?;
        let (b, r) = k.value();
        keys.insert(key(&[&b, &r, &v.value()]));
    }
    out.push(("by_batch_recipient", std::mem::take(&mut keys)));
    for (name, def) in [
        ("by_created", BY_CREATED),
        ("by_pending", BY_PENDING),
        ("inbound_by_time", INBOUND_BY_TIME),
    ] {
        for row in txn.open_table(def)?.iter()? {
            let (t, id) = row?.0.value();
            keys.insert(key(&[&t, &id]));
        }
        out.push((name, std::mem::take(&mut keys)));
    }
    for (name, def) in [
        ("by_recipient", BY_RECIPIENT),
        ("by_client_reference", BY_CLIENT_REFERENCE),
        ("by_latest_status", BY_LATEST_STATUS),
        ("inbound_by_from", INBOUND_BY_FROM),
        ("inbound_by_to", INBOUND_BY_TO),
    ] {
        for row in txn.open_table(def)?.iter()? {
            let (k, _) = row?;
            let (s, t, id) = k.value();
            keys.insert(key(&[&s, &t, &id]));
        }
        out.push((name, std::mem::take(&mut keys)));
    }
    for row in txn.open_table(INBOUND_BY_SINCH_ID)?.iter()? {
        let (k, v) = row?;
        keys.insert(key(&[&k.value(), &v.value()]));
    }
    out.push(("inbound_by_sinch_id", std::mem::take(&mut keys)));
    for row in txn.open_table(BATCH_REPORTS_BY_TIME)?.iter()? {
        let (k, v) = row?;
        let (t, id) = k.value();
        keys.insert(key(&[&t, &id, &v.value()]));
    }
    out.push(("batch_reports_by_time", keys));
    Ok(out)
}

/// The running counts in META must equal what the records say.
fn check_counts(
    txn: &ReadTransaction,
    want: &BTreeMap<String, u64>,
    problems: &mut Vec<String>,
) -> Result<(), StoreError> {
    let meta = txn.open_table(META)?;
    let mut found = BTreeMap::new();
    for row in meta.iter()? {
        let (k, v) = row?;
        let k = k.value().to_string();
        if k.starts_with(STATUS_COUNT_PREFIX) || k == MESSAGE_COUNT {
            found.insert(k, v.value());
        }
    }
    if &found != want {
        problems.push(format!(
            "meta counts {found:?} differ from the records {want:?}"
        ));
    }
    Ok(())
}
