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
        // Version 1 is the first: an unversioned file is a new one. Later
        // versions add their steps here, each `v -> v + 1`.
        _ => create_tables(&txn)?,
    }
    txn.open_table(META)?.insert(META_SCHEMA, SCHEMA_VERSION)?;
    txn.commit()?;
    log::info!("database schema at version {SCHEMA_VERSION}");
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
