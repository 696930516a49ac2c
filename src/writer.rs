//! The one writer thread. Workers hand it a write (store::Write) and wait;
//! it drains everything queued, applies the lot in ONE redb transaction
//! (one fsync), and answers each waiter only after the commit returned.
//! Throughput grows with concurrency; an idle request still waits for just
//! one commit. Each waiter gets its write's own answer type.
//!
//! A failed commit answers the whole group `Unavailable` (Sinch retries
//! 5xx), marks the store not ready, and reopens the file before the next
//! group, since redb refuses writes after a failed commit.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use crate::metrics::WriterStats;
use crate::store::{Store, StoreError, Tx, Write};

/// Most ops in one transaction; bounds a group's latency and memory.
const MAX_GROUP: usize = 1024;
/// How often an idle writer retries a broken store.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// Queued ops beyond this block the submitting worker (back-pressure).
const QUEUE_DEPTH: usize = 4096;

/// Why a write was not stored. Either way nothing of it is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The commit failed or the store is being reopened.
    Unavailable,
    /// The writer has stopped (shutdown).
    Stopped,
}

/// A queued write of any kind: applied in the group's transaction, then
/// answered once the commit's fate is known.
trait Job: Send {
    fn apply(&mut self, tx: &mut Tx<'_>) -> Result<(), StoreError>;
    fn answer(self: Box<Self>, committed: bool);
}

struct Queued<W: Write> {
    write: W,
    /// Set by `apply`; handed out only after the commit.
    answer: Option<W::Answer>,
    reply: SyncSender<Result<W::Answer, WriteError>>,
}

impl<W: Write> Job for Queued<W> {
    fn apply(&mut self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        self.answer = Some(self.write.apply(tx)?);
        Ok(())
    }

    fn answer(self: Box<Self>, committed: bool) {
        let answer = match (committed, self.answer) {
            (true, Some(answer)) => Ok(answer),
            _ => Err(WriteError::Unavailable),
        };
        let _ = self.reply.send(answer); // the worker may have gone
    }
}

/// The submitting side; cheap to clone, one per worker.
#[derive(Clone)]
pub struct WriterHandle {
    tx: SyncSender<Box<dyn Job>>,
    stats: Arc<WriterStats>,
}

impl WriterHandle {
    /// Blocks until the write is committed (Ok, with its answer) or known
    /// not to be (Err).
    pub fn submit<W: Write>(&self, write: W) -> Result<W::Answer, WriteError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Box::new(Queued {
            write,
            answer: None,
            reply,
        });
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(job).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteError::Stopped);
        }
        answer.recv().unwrap_or(Err(WriteError::Stopped))
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// Starts the writer. It stops once every `WriterHandle` is dropped and
/// the queue is drained; join the returned handle to wait for that.
pub fn start(store: Arc<Store>) -> (WriterHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
    let stats = Arc::new(WriterStats::default());
    let thread_stats = stats.clone();
    let handle = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || run(&store, &rx, &thread_stats))
        .expect("spawning the writer thread");
    (WriterHandle { tx, stats }, handle)
}

fn run(store: &Store, rx: &Receiver<Box<dyn Job>>, stats: &WriterStats) {
    loop {
        let first = match rx.recv_timeout(RECOVERY_INTERVAL) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // Idle and broken: keep trying, so /readyz turns green as
                // soon as writes work again, not only at the next callback.
                if !stats.ready.load(Ordering::Relaxed) {
                    recover(store, stats);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        stats.queued.fetch_sub(jobs.len() as u64, Ordering::Relaxed);
        commit_group(store, jobs, stats);
    }
    log::debug!("writer: queue closed, stopping");
}

fn commit_group(store: &Store, mut jobs: Vec<Box<dyn Job>>, stats: &WriterStats) {
    let started = Instant::now();
    let committed = store.apply_group(|tx| jobs.iter_mut().try_for_each(|j| j.apply(tx)));
    let size = jobs.len();
    match committed {
        Ok(()) => {
            if !stats.ready.swap(true, Ordering::Relaxed) {
                log::warn!("writes succeed again; ready");
            }
            stats.group_size.observe(size as f64);
            stats
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            answer_all(jobs, true);
        }
        Err(e) => {
            log::error!("commit of {size} writes failed, answering 503: {e}");
            stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            stats.ready.store(false, Ordering::Relaxed);
            answer_all(jobs, false);
            // Reopen now (redb refuses writes after a failed commit); ready
            // again only once a probe or a real commit succeeds.
            if let Err(e) = store.reopen() {
                log::error!("reopening the database failed: {e}");
            }
        }
    }
}

fn answer_all(jobs: Vec<Box<dyn Job>>, committed: bool) {
    for job in jobs {
        job.answer(committed);
    }
}

/// Reopens the file and proves it takes real writes again; only then is
/// the store ready.
fn recover(store: &Store, stats: &WriterStats) {
    match store.reopen().and_then(|()| store.probe()) {
        Ok(()) => {
            log::warn!("database reopened after a failed commit; accepting writes again");
            stats.ready.store(true, Ordering::Relaxed);
        }
        Err(e) => log::error!("database still not writable (retrying every second): {e}"),
    }
}
