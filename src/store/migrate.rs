//! Schema versions. A new file gets every table and the current version; an
//! older file is migrated step by step in one transaction; a newer file is
//! refused (never guessed at, never written to).

use redb::{Database, ReadableTable, WriteTransaction};

use super::StoreError;
use super::tables::*;

pub fn run(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    let found = txn.open_table(META)?.get(META_SCHEMA)?.map(|v| v.value());
    match found {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Some(v) if v == SCHEMA_VERSION => return Ok(()),
        // 1 -> 2: the event log starts empty (nothing is back-filled).
        Some(1) => {
            add_event_log(&txn)?;
            log::info!("database schema 1 -> 2: added the event log (empty)");
        }
        // An unversioned file is a new one.
        _ => {
            create_tables(&txn)?;
            add_event_log(&txn)?;
        }
    }
    txn.open_table(META)?.insert(META_SCHEMA, SCHEMA_VERSION)?;
    txn.commit()?;
    log::info!("database schema at version {SCHEMA_VERSION}");
    Ok(())
}

/// Version 2's tables and the log's random id.
fn add_event_log(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(EVENTS)?;
    txn.open_table(ENDPOINTS)?;
    let mut meta = txn.open_table(META)?;
    if meta.get(EVENT_LOG_ID)?.is_none() {
        let id =
            crate::random::u64().map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
        meta.insert(EVENT_LOG_ID, id)?;
    }
    Ok(())
}

/// Opening a table in a write transaction creates it.
fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(MESSAGES)?;
    txn.open_table(STATUS_UPDATES)?;
    txn.open_table(BY_BATCH_RECIPIENT)?;
    txn.open_table(BY_CLIENT_REFERENCE)?;
    txn.open_table(BY_RECIPIENT)?;
    txn.open_table(BY_LATEST_STATUS)?;
    txn.open_table(BY_PENDING)?;
    txn.open_table(BY_CREATED)?;
    txn.open_table(BATCH_REPORTS)?;
    txn.open_table(BATCH_REPORTS_BY_TIME)?;
    txn.open_table(INBOUND)?;
    txn.open_table(INBOUND_BY_SINCH_ID)?;
    txn.open_table(INBOUND_BY_TIME)?;
    txn.open_table(INBOUND_BY_FROM)?;
    txn.open_table(INBOUND_BY_TO)?;
    txn.open_table(QUARANTINE)?;
    Ok(())
}
