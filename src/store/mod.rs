//! The redb file: every rule about what is stored lives below this module
//! (phone matching, "discovered" messages, duplicates, "final status wins",
//! index upkeep, schema version). redb types never leave it.
//!
//! Writes come in groups (`apply_group`): one write transaction, one fsync,
//! one typed answer per write (write.rs). Reads take a snapshot and never wait for the
//! writer. After a failed commit redb refuses further writes, so the writer
//! calls `reopen`.

mod apply;
pub mod filter;
/// The phone-number rule lives in crate::phone (sinch.rs and query.rs use
/// it too); store files name it as `super::phone`.
use crate::phone;
mod backup;
pub mod bell;
mod check;
pub mod endpoints;
pub mod events;
mod feedback;
mod list;
mod log;
mod migrate;
mod page;
pub mod prune;
mod quarantine;
mod read;
mod receive;
pub mod record;
mod stats;
mod tables;
pub mod view;
mod write;

use redb::{Database, ReadableDatabase};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::clock::Micros;
use bell::Bell;
use events::EventPage;

pub use apply::Tx;
pub use feedback::RecordFeedback;
pub use page::{InboundPage, MessagePage, Page};
pub use read::{Pending, PendingKey};
pub use stats::{Counts, HourView, PeriodView, StatsView};
pub use view::{BatchReportView, BatchView, InboundView, MessageView, QuarantineView, UpdateView};
pub use write::{
    CallbackResult, EndSessions, Prune, Quarantine, ReceiveCallback, Reconciled, Register,
    RetryQuarantined, Write,
};

/// The application registering a message it sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub to: String,
    pub batch_id: String,
    pub body: Option<String>,
    pub client_reference: Option<String>,
    pub sent_at: Option<Micros>,
}

#[derive(Debug)]
pub enum StoreError {
    /// redb failed (I/O, full disk, ...). The group was not committed.
    Storage(redb::Error),
    /// A row could not be decoded.
    Corrupt(String),
    /// The file was written by a newer sinch-dlr.
    NewerSchema { found: u64, supported: u64 },
    /// The database is closed (between a failed commit and its reopen).
    Closed,
    /// A backup could not be written.
    Backup(String),
    /// Another process has the file open (redb's lock).
    Locked(PathBuf),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Storage(e) => write!(f, "storage error: {e}"),
            StoreError::Corrupt(e) => write!(f, "corrupt record in {e}"),
            StoreError::NewerSchema { found, supported } => write!(
                f,
                "database schema version {found} is newer than this binary supports ({supported}); \
                 run the newer sinch-dlr or restore a backup"
            ),
            StoreError::Closed => f.write_str("database is closed"),
            StoreError::Backup(e) => write!(f, "backup: {e}"),
            StoreError::Locked(path) => write!(
                f,
                "another process (another sinch-dlr?) holds {}; a redb file has one user at a time",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Storage(e) => Some(e),
            _ => None,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The open redb file. Cheap to share: readers clone the inner `Arc`.
pub struct Store {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
    /// Rung after every commit that appended events.
    bell: Arc<Bell>,
    /// Part of every event id (random, made with the log).
    log_id: u64,
}

impl Store {
    /// Opens (or creates) the file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = open_database(path)?;
        let (log_id, last) = read::event_log(&db.begin_read()?)?;
        Ok(Store {
            path: path.to_path_buf(),
            db: RwLock::new(Some(Arc::new(db))),
            bell: Arc::new(Bell::new(last)),
            log_id,
        })
    }

    /// Every webhook endpoint, by id.
    pub fn endpoints(&self) -> Result<Vec<endpoints::EndpointRecord>, StoreError> {
        let db = self.database()?;
        endpoints::all(&db.begin_read()?)
    }

    /// The last event seq ever given (0: none).
    pub fn last_event_seq(&self) -> u64 {
        self.bell.last()
    }

    /// The oldest event kept and the newest seq given, as the file has them
    /// now (0, 0: none yet).
    pub fn event_bounds(&self) -> Result<(u64, u64), StoreError> {
        let db = self.database()?;
        let txn = db.begin_read()?;
        let (_, last) = read::event_log(&txn)?;
        Ok((events::oldest_seq(&txn)?, last))
    }

    /// Rung after each commit that appended events.
    pub fn bell(&self) -> &Arc<Bell> {
        &self.bell
    }

    /// Events after `after` (see `events::page`).
    pub fn events(
        &self,
        after: u64,
        limit: usize,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<EventPage, StoreError> {
        let db = self.database()?;
        let txn = db.begin_read()?;
        events::page(&txn, self.log_id, after, limit, wanted)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn database(&self) -> Result<Arc<Database>, StoreError> {
        self.db
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Closed)
    }

    /// Runs `writes` (which applies each write of a group to the one
    /// transaction) and commits it (fsync). Returns after the commit; `Err`
    /// means none of them is stored.
    pub fn apply_group<R>(
        &self,
        writes: impl FnOnce(&mut Tx<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let db = self.database()?;
        let txn = db.begin_write()?;
        let (answers, last_event) = {
            let mut tx = Tx::new(&txn);
            let answers = writes(&mut tx)?;
            (answers, tx.finish()?)
        };
        txn.commit()?;
        if let Some(last) = last_event {
            self.bell.ring(last);
        }
        Ok(answers)
    }

    /// One write in its own transaction (tools and tests; the daemon
    /// writes through the writer thread).
    pub fn apply<W: Write>(&self, write: &W) -> Result<W::Answer, StoreError> {
        self.apply_group(|tx| write.apply(tx))
    }

    /// Several writes of one kind in one transaction.
    pub fn apply_all<W: Write>(&self, writes: &[W]) -> Result<Vec<W::Answer>, StoreError> {
        self.apply_group(|tx| writes.iter().map(|w| w.apply(tx)).collect())
    }

    /// Closes and reopens the file; needed after a failed commit. Waits for
    /// readers that still hold the old handle.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.db.write().unwrap_or_else(|e| e.into_inner());
        if let Some(mut old) = slot.take() {
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(still_shared) => {
                        old = still_shared;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        }
        *slot = Some(Arc::new(open_database(&self.path)?));
        Ok(())
    }

    /// Proves the file takes real writes again: commits 64 KiB of scratch
    /// data (new pages, so a full disk fails it), then removes it.
    pub fn probe(&self) -> Result<(), StoreError> {
        let db = self.database()?;
        let scratch = vec![0u8; 64 * 1024];
        for value in [Some(scratch.as_slice()), None] {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(tables::PROBE)?;
                match value {
                    Some(v) => table.insert("probe", v)?,
                    None => table.remove("probe")?,
                };
            }
            txn.commit()?;
        }
        Ok(())
    }

    /// One message with its whole history, or None.
    pub fn message(&self, id: u64) -> Result<Option<MessageView>, StoreError> {
        let db = self.database()?;
        read::message(&db.begin_read()?, id, false)
    }

    /// As `message`, each update with the raw callback body it came in.
    pub fn message_with_raw(&self, id: u64) -> Result<Option<MessageView>, StoreError> {
        let db = self.database()?;
        read::message(&db.begin_read()?, id, true)
    }

    /// Messages with no final status created before `created_before`, oldest
    /// first, starting after `after` (a key returned earlier), at most `limit`.
    pub fn pending(
        &self,
        created_before: Micros,
        after: Option<PendingKey>,
        limit: usize,
    ) -> Result<Vec<Pending>, StoreError> {
        let db = self.database()?;
        read::pending(&db.begin_read()?, created_before, after, limit)
    }

    /// The messages of one batch that have no final status.
    pub fn pending_in_batch(&self, batch_id: &str) -> Result<Vec<Pending>, StoreError> {
        let db = self.database()?;
        read::pending_in_batch(&db.begin_read()?, batch_id)
    }

    /// A page of messages, newest first.
    pub fn list_messages(
        &self,
        filter: &filter::MessageFilter,
    ) -> Result<Page<MessageView>, StoreError> {
        list::messages(&self.database()?.begin_read()?, filter)
    }

    /// How many messages match `filter`, counting at most `cap`: (count,
    /// whether it stopped at the cap).
    pub fn count_messages(
        &self,
        filter: &filter::MessageFilter,
        cap: u64,
    ) -> Result<(u64, bool), StoreError> {
        list::count_messages(&self.database()?.begin_read()?, filter, cap)
    }

    /// A page of inbound messages, newest first.
    pub fn list_inbound(
        &self,
        filter: &filter::InboundFilter,
    ) -> Result<Page<InboundView>, StoreError> {
        list::inbound(&self.database()?.begin_read()?, filter)
    }

    pub fn inbound(&self, id: u64) -> Result<Option<InboundView>, StoreError> {
        list::inbound_one(&self.database()?.begin_read()?, id)
    }

    /// A page of quarantined bodies, newest first.
    pub fn list_quarantine(
        &self,
        limit: usize,
        cursor: Option<filter::Cursor>,
    ) -> Result<Page<QuarantineView>, StoreError> {
        list::quarantine(&self.database()?.begin_read()?, limit, cursor)
    }

    /// A batch's messages, counts by latest status and batch-level reports.
    pub fn batch(&self, batch_id: &str) -> Result<Option<BatchView>, StoreError> {
        list::batch(&self.database()?.begin_read()?, batch_id)
    }

    /// Operator statistics; see stats.rs.
    pub fn stats(
        &self,
        now: Micros,
        since: Micros,
        stale_after_secs: u64,
    ) -> Result<StatsView, StoreError> {
        stats::stats(
            &self.database()?.begin_read()?,
            now,
            since,
            stale_after_secs,
        )
    }

    /// Messages created in [since, until): counts and hourly outcomes.
    pub fn period(&self, since: Micros, until: Micros) -> Result<PeriodView, StoreError> {
        stats::period(&self.database()?.begin_read()?, since, until)
    }

    /// The running counts (messages by latest status, callbacks by result).
    pub fn counts(&self) -> Result<stats::Counts, StoreError> {
        stats::counts(&self.database()?.begin_read()?)
    }

    /// The dashboard session generation (0 until the first logout).
    pub fn session_generation(&self) -> Result<u64, StoreError> {
        let txn = self.database()?.begin_read()?;
        let meta = txn.open_table(tables::META)?;
        Ok(meta
            .get(tables::UI_SESSION_GENERATION)?
            .map_or(0, |v| v.value()))
    }

    /// Messages without a final status created before `created_before`.
    pub fn stale_count(&self, created_before: Micros) -> Result<usize, StoreError> {
        Ok(stats::stale(&self.database()?.begin_read()?, created_before)?.0)
    }

    /// Writes a consistent copy of the whole file to `to` (a new file).
    pub fn backup(&self, to: &Path) -> Result<(), StoreError> {
        backup::backup(&self.database()?.begin_read()?, to)
    }

    /// Checks that every index row points at a record that agrees with it,
    /// and every record has its index rows. Returns the problems found.
    pub fn check(&self) -> Result<Vec<String>, StoreError> {
        let db = self.database()?;
        check::check(&db.begin_read()?)
    }
}

/// redb's page cache. Its default (1 GiB) would let the resident size grow
/// with the file; the daemon promises to stay small on an appliance, and the
/// OS page cache still serves re-reads of pages evicted from it.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

fn open_database(path: &Path) -> Result<Database, StoreError> {
    create_private(path)?;
    let db = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.to_path_buf()),
            e => e.into(),
        })?;
    migrate::run(&db)?;
    Ok(db)
}

/// Creates the file empty with mode 0600 unless it exists (redb starts a
/// database in an empty file): it holds phone numbers and message bodies,
/// and redb would create it readable by every user (0644 under the usual
/// umask). An existing file keeps its mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(redb::StorageError::from(e).into()),
    }
}

#[cfg(test)]
mod tests;
