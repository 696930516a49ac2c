//! Backups: a consistent copy of every table, taken from one read snapshot
//! while the daemon keeps writing, into a new redb file. Written to a
//! temporary name and renamed, so a half-written backup never looks whole.

use redb::{
    Database, Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value,
    WriteTransaction,
};
use std::path::Path;

use super::StoreError;
use super::tables::*;

/// Copies the snapshot `src` into a new file at `to` (which must not exist).
pub fn backup(src: &ReadTransaction, to: &Path) -> Result<(), StoreError> {
    if to.exists() {
        return Err(StoreError::Backup(format!(
            "{} already exists",
            to.display()
        )));
    }
    let tmp = to.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    super::create_private(&tmp)?; // a copy of the data: 0600 like the original
    let db = Database::create(&tmp)?;
    let dst = db.begin_write()?;
    copy_all(src, &dst)?;
    new_event_ids(&dst)?;
    dst.commit()?;
    drop(db);
    std::fs::rename(&tmp, to).map_err(|e| StoreError::Backup(format!("{}: {e}", to.display())))?;
    Ok(())
}

fn copy_all(src: &ReadTransaction, dst: &WriteTransaction) -> Result<(), StoreError> {
    copy(src, dst, MESSAGES)?;
    copy(src, dst, STATUS_UPDATES)?;
    copy(src, dst, BY_BATCH_RECIPIENT)?;
    copy(src, dst, BY_CREATED)?;
    copy(src, dst, BY_RECIPIENT)?;
    copy(src, dst, BY_CLIENT_REFERENCE)?;
    copy(src, dst, BY_LATEST_STATUS)?;
    copy(src, dst, BY_PENDING)?;
    copy(src, dst, BATCH_REPORTS)?;
    copy(src, dst, BATCH_REPORTS_BY_TIME)?;
    copy(src, dst, INBOUND)?;
    copy(src, dst, INBOUND_BY_SINCH_ID)?;
    copy(src, dst, INBOUND_BY_TIME)?;
    copy(src, dst, INBOUND_BY_FROM)?;
    copy(src, dst, INBOUND_BY_TO)?;
    copy(src, dst, QUARANTINE)?;
    copy(src, dst, EVENTS)?;
    copy(src, dst, ENDPOINTS)?;
    copy(src, dst, META)?;
    every_table_copied(src, dst)
}

/// A table this list forgot would be missing from every backup, silently:
/// refuse the backup instead. (The probe table is scratch space.)
fn every_table_copied(src: &ReadTransaction, dst: &WriteTransaction) -> Result<(), StoreError> {
    let copied: Vec<String> = dst.list_tables()?.map(|t| t.name().to_string()).collect();
    for table in src.list_tables()? {
        let name = table.name();
        if name != PROBE.name() && !copied.iter().any(|c| c == name) {
            return Err(StoreError::Backup(format!(
                "table {name} is not in the backup (a bug: store/backup.rs does not copy it)"
            )));
        }
    }
    Ok(())
}

/// The copy's events keep their seqs but get ids of their own (a new log
/// id). Restored over a daemon that went on writing, the copy gives the
/// seqs after its last event to new events; with the old ids, a consumer
/// that dedupes on id would drop those as events it already has. A new id
/// makes it see them (and the copy's older events once more) instead.
fn new_event_ids(dst: &WriteTransaction) -> Result<(), StoreError> {
    let id = crate::random::u64().map_err(|e| StoreError::Backup(format!("no randomness: {e}")))?;
    dst.open_table(META)?.insert(EVENT_LOG_ID, id)?;
    Ok(())
}

fn copy<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    for row in from.iter()? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
    }
    Ok(())
}
