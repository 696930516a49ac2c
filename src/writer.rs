//! The one writer thread. Workers hand it a write (store::Write) and wait;
//! it drains everything queued, applies the lot in ONE redb transaction
//! (one fsync), and answers each waiter only after the commit returned.
//! Throughput grows with concurrency; an idle request still waits for just
//! one commit. Each waiter gets its write's own answer type.
//!
//! A failed commit answers the whole group `Unavailable` (Sinch retries
//! 5xx), marks the store not ready, and reopens the file before the next
//! group, since redb refuses writes after a failed commit.
//!
//! The writer also says how far behind it is (`WriterHandle::lag`), so the
//! callback handler can answer 429 before a callback would wait longer
//! than Sinch is willing to (README, "Back-pressure").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// More queued ops than one group holds: a write submitted now waits for
/// at least two commits, so `lag` reports the writer as behind.
pub const BEHIND_QUEUE: u64 = MAX_GROUP as u64;

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
    pace: Arc<Pace>,
}

/// How long the writer's commits take, for `lag`. Times are microseconds
/// since `epoch`; `committing_since` is 0 while no commit runs.
struct Pace {
    epoch: Instant,
    committing_since: AtomicU64,
    last_commit: AtomicU64,
}

impl Pace {
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_micros() as u64).max(1)
    }
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

    /// About how long a write submitted now would wait for its commit.
    /// Zero while the writer is idle, whatever the last commit took, so a
    /// slow store always takes the next write (a caller that refuses writes
    /// while `lag` is high cannot starve). More than a group queued is
    /// reported as `Duration::MAX`.
    pub fn lag(&self) -> Duration {
        let queued = self.stats.queued.load(Ordering::Relaxed);
        if queued > BEHIND_QUEUE {
            return Duration::MAX;
        }
        let since = self.pace.committing_since.load(Ordering::Relaxed);
        if since == 0 {
            return Duration::ZERO;
        }
        // The commit under way, then (if anything waits) one more like the last.
        let running = self.pace.now().saturating_sub(since);
        let next = match queued {
            0 => 0,
            _ => self.pace.last_commit.load(Ordering::Relaxed),
        };
        Duration::from_micros(running + next)
    }
}

/// Starts the writer. It stops once every `WriterHandle` is dropped and
/// the queue is drained; join the returned handle to wait for that.
/// `slow_down` is added to every commit: zero except in tests that need
/// an overloaded store (SINCH_DLR_TEST_COMMIT_DELAY).
pub fn start(store: Arc<Store>, slow_down: Duration) -> (WriterHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
    let stats = Arc::new(WriterStats::default());
    let pace = Arc::new(Pace {
        epoch: Instant::now(),
        committing_since: AtomicU64::new(0),
        last_commit: AtomicU64::new(0),
    });
    let (thread_stats, thread_pace) = (stats.clone(), pace.clone());
    let handle = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || run(&store, &rx, &thread_stats, &thread_pace, slow_down))
        .expect("spawning the writer thread");
    (WriterHandle { tx, stats, pace }, handle)
}

fn run(
    store: &Store,
    rx: &Receiver<Box<dyn Job>>,
    stats: &WriterStats,
    pace: &Pace,
    slow_down: Duration,
) {
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
        let started = pace.now();
        pace.committing_since.store(started, Ordering::Relaxed);
        stats.queued.fetch_sub(jobs.len() as u64, Ordering::Relaxed);
        if !slow_down.is_zero() {
            std::thread::sleep(slow_down);
        }
        commit_group(store, jobs, stats);
        let took = pace.now().saturating_sub(started);
        pace.last_commit.store(took, Ordering::Relaxed);
        pace.committing_since.store(0, Ordering::Relaxed);
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
