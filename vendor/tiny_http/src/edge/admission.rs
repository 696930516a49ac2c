//! Who may hold a connection: the global cap, the per-address cap, and
//! making room when full by closing the connection that has waited longest
//! without a whole request (an idle keep-alive or a slow client), so a
//! flood of stalled connections cannot keep a new client out.
//! (sinch-dlr patch, see vendor/README.md.)

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::EdgeCounters;
use crate::connection::Connection;

/// How long a new connection is passed over when making room while an
/// older one can go.
const GRACE_MS: u64 = 1000;
/// A connection whose answer began less than this ago is left to finish it.
const SETTLE_MS: u64 = 100;
/// A new connection is given at least this long to send its first request
/// (its thread may take a moment to start reading), unless a newcomer has
/// nowhere else to go.
const FIRST_REQUEST_MS: u64 = 50;

pub(crate) struct Admission {
    max_connections: usize,
    per_client: usize,
    epoch: Instant,
    closing: AtomicBool,
    inner: Mutex<Inner>,
    drained: Condvar,
    pub(crate) counters: Arc<EdgeCounters>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    open: HashMap<u64, Entry>,
    per_client: HashMap<IpAddr, usize>,
}

struct Entry {
    client: Option<IpAddr>,
    /// A handle on the socket, to close it from another thread.
    socket: Connection,
    phase: Arc<Phase>,
}

/// What a connection is doing, readable without the lock.
#[derive(Default)]
struct Phase {
    /// Handling a request (not evictable) rather than waiting for one.
    busy: AtomicBool,
    /// Milliseconds since `epoch` when the current phase began.
    since: AtomicU64,
    /// Milliseconds since `epoch` when the connection was admitted.
    admitted: AtomicU64,
    /// An answer has been written on this connection (it had its turn).
    answered: AtomicBool,
    /// An answer is under way: its first byte is written, the connection
    /// has not gone back to reading.
    in_answer: AtomicBool,
    /// A write of the answer is in progress (`since` is when it began).
    writing: AtomicBool,
}

pub(crate) enum Verdict {
    Admitted(Ticket),
    /// Every slot holds a connection that is being served.
    Full,
    /// This address holds its share already, every one busy.
    ClientFull,
    Closing,
}

impl Admission {
    pub(crate) fn new(
        max_connections: usize,
        per_client: usize,
        counters: Arc<EdgeCounters>,
    ) -> Arc<Admission> {
        Arc::new(Admission {
            max_connections: max_connections.max(1),
            per_client,
            epoch: Instant::now(),
            closing: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
            drained: Condvar::new(),
            counters,
        })
    }

    /// Admits a new connection, making room if needed. Unless `pressed`
    /// (the newcomer cannot wait), a connection admitted a moment ago is
    /// not closed to make room.
    pub(crate) fn admit(
        self: &Arc<Self>,
        socket: &Connection,
        client: Option<IpAddr>,
        pressed: bool,
    ) -> Verdict {
        if self.closing.load(Ordering::SeqCst) {
            return Verdict::Closing;
        }
        let mut inner = self.lock();
        if let Some(ip) = client {
            let held = inner.per_client.get(&ip).copied().unwrap_or(0);
            // An address at its share makes room among its own connections.
            if self.per_client > 0 && held >= self.per_client && !self.evict_one(&mut inner, Some(ip), pressed)
            {
                return Verdict::ClientFull;
            }
        }
        if inner.open.len() >= self.max_connections && !self.evict_one(&mut inner, None, pressed) {
            return Verdict::Full;
        }
        let Ok(handle) = socket.try_clone() else {
            return Verdict::Full;
        };
        let phase = Arc::new(Phase::default());
        phase.since.store(self.now_ms(), Ordering::Relaxed);
        phase.admitted.store(self.now_ms(), Ordering::Relaxed);
        inner.next_id += 1;
        let id = inner.next_id;
        if let Some(ip) = client {
            *inner.per_client.entry(ip).or_insert(0) += 1;
        }
        inner.open.insert(
            id,
            Entry {
                client,
                socket: handle,
                phase: phase.clone(),
            },
        );
        Verdict::Admitted(Ticket {
            id,
            admission: self.clone(),
            phase,
        })
    }

    /// Closes the connection (of `client`, if given) that has waited
    /// longest for a whole request.
    fn evict_one(&self, inner: &mut Inner, client: Option<IpAddr>, pressed: bool) -> bool {
        // In this order: a connection older than GRACE, the one that has
        // waited longest in its phase; else a younger one that has had an
        // answer, longest in its phase; else a younger one still waiting
        // for its first answer, the oldest connection first (clients that
        // refresh their phase by the millisecond, pipelining, must not make
        // a new client look old). A connection whose answer has only just
        // begun is left that moment to finish it, and one admitted a moment
        // ago the time to send its request unless the newcomer is
        // `pressed`: rather than take such a place, a newcomer waits.
        let now = self.now_ms();
        let age = |at: &AtomicU64| now.saturating_sub(at.load(Ordering::Relaxed));
        let candidates = || {
            inner
                .open
                .iter()
                .filter(move |(_, e)| client.is_none() || e.client == client)
                .filter(|(_, e)| !e.phase.busy.load(Ordering::SeqCst))
                // An answer under way can go only while the client keeps
                // a write of it waiting (it does not read); one whose
                // answer is still being made (an event stream between
                // events) is as busy as a handler.
                .filter(|(_, e)| {
                    !e.phase.in_answer.load(Ordering::SeqCst)
                        || e.phase.writing.load(Ordering::SeqCst)
                })
        };
        let answered = |e: &Entry| e.phase.answered.load(Ordering::SeqCst);
        let settled = |e: &Entry| age(&e.phase.admitted) >= GRACE_MS;
        let finishing = |e: &Entry| answered(e) && age(&e.phase.since) < SETTLE_MS;
        let longest_in_phase = |young_answered: bool| {
            candidates()
                .filter(|(_, e)| !finishing(e))
                .filter(|(_, e)| settled(e) || (young_answered && answered(e)))
                .min_by_key(|(_, e)| e.phase.since.load(Ordering::Relaxed))
                .map(|(id, _)| *id)
        };
        let oldest = longest_in_phase(false)
            .or_else(|| longest_in_phase(true))
            .or_else(|| {
                candidates()
                    .filter(|(_, e)| !answered(e))
                    .filter(|(_, e)| pressed || age(&e.phase.admitted) >= FIRST_REQUEST_MS)
                    .min_by_key(|(_, e)| e.phase.admitted.load(Ordering::Relaxed))
                    .map(|(id, _)| *id)
            });
        let Some(entry) = oldest.and_then(|id| Self::remove(inner, id)) else {
            return false;
        };
        let _ = entry.socket.shutdown(Shutdown::Both);
        self.counters.evicted.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn remove(inner: &mut Inner, id: u64) -> Option<Entry> {
        let entry = inner.open.remove(&id)?;
        if let Some(ip) = entry.client {
            if let Some(n) = inner.per_client.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    inner.per_client.remove(&ip);
                }
            }
        }
        Some(entry)
    }

    fn release(&self, id: u64) {
        let mut inner = self.lock();
        Self::remove(&mut inner, id);
        if inner.open.is_empty() {
            self.drained.notify_all();
        }
    }

    /// Stops admitting, and closes every connection that is waiting for a
    /// request; busy ones close after their answer.
    pub(crate) fn close_waiting(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let inner = self.lock();
        for entry in inner.open.values() {
            if !entry.phase.busy.load(Ordering::SeqCst) {
                let _ = entry.socket.shutdown(Shutdown::Read);
            }
        }
    }

    /// Waits until every connection has closed, at most `timeout`; true if
    /// they all did.
    pub(crate) fn wait_drained(&self, timeout: Duration) -> bool {
        let inner = self.lock();
        let (inner, _) = self
            .drained
            .wait_timeout_while(inner, timeout, |i| !i.open.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        inner.open.is_empty()
    }

    pub(crate) fn open(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// One admitted connection's place; dropping it frees the place.
pub(crate) struct Ticket {
    id: u64,
    admission: Arc<Admission>,
    phase: Arc<Phase>,
}

impl Ticket {
    /// Waiting for (or reading) a request: may be closed to make room.
    pub(crate) fn waiting(&self) {
        self.set(false);
    }

    /// A whole request is being handled: never closed to make room.
    pub(crate) fn busy(&self) {
        self.set(true);
    }

    /// The server is stopping: take no further request.
    pub(crate) fn closing(&self) -> bool {
        self.admission.closing.load(Ordering::SeqCst)
    }

    pub(crate) fn counters(&self) -> &EdgeCounters {
        &self.admission.counters
    }

    /// A handle for the answer's writer, to mark the connection
    /// `answering` (see [`Answering::started`]).
    pub(crate) fn answering(&self) -> Answering {
        Answering {
            admission: self.admission.clone(),
            phase: self.phase.clone(),
        }
    }

    fn set(&self, busy: bool) {
        self.phase
            .since
            .store(self.admission.now_ms(), Ordering::Relaxed);
        self.phase.busy.store(busy, Ordering::SeqCst);
        self.phase.in_answer.store(false, Ordering::SeqCst);
        self.phase.writing.store(false, Ordering::SeqCst);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.release(self.id);
    }
}

/// Held by a connection's answer writer. Once the answer is being written
/// the request has been handled; a client that does not read it holds only
/// its own connection, which may then be closed to make room like an idle
/// one (the longest-blocked write first). While no write is waiting on the
/// client — an answer still being made, like an event stream between
/// events — the connection is not closed to make room.
pub(crate) struct Answering {
    admission: Arc<Admission>,
    phase: Arc<Phase>,
}

impl Answering {
    /// A write of the answer begins: the connection is no longer busy with
    /// the handler, and is aged from now until the write returns.
    pub(crate) fn write_begins(&self) -> Writing<'_> {
        if self.phase.busy.load(Ordering::SeqCst) {
            self.phase.answered.store(true, Ordering::SeqCst);
            self.phase.in_answer.store(true, Ordering::SeqCst);
            self.phase.busy.store(false, Ordering::SeqCst);
        }
        self.phase
            .since
            .store(self.admission.now_ms(), Ordering::Relaxed);
        self.phase.writing.store(true, Ordering::SeqCst);
        Writing(self)
    }
}

/// A write in progress; its end is marked when this is dropped.
pub(crate) struct Writing<'a>(&'a Answering);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.phase.writing.store(false, Ordering::SeqCst);
    }
}
