//! The connection layer (sinch-dlr patch set, see vendor/README.md).
//!
//! tiny_http 0.12 handed a request to the application as soon as its head
//! was read, with the body still on the socket, read no head or body within
//! any limit or deadline, and kept reading pipelined requests while earlier
//! answers waited. Here each connection's thread reads a whole request —
//! head and body, inside [`Limits`] — before anything else sees it, refuses
//! bad framing (RFC 9112) with an answer and a closed connection, reads the
//! next request only after the previous answer was written, and holds its
//! place in [`admission`] for as long as it is open.

pub(crate) mod admission;
mod conn;
mod deadline;
pub(crate) mod head;
pub(crate) mod limits;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) use conn::{refusal_bytes, serve_connection, Dispatch};
pub(crate) use deadline::{Deadline, Guarded};

/// Answers the connection layer gives on its own; each closes the connection.
pub(crate) const REFUSAL_STATUSES: [u16; 11] =
    [400, 408, 413, 414, 417, 429, 431, 501, 503, 505, 500];

/// Counters kept by the connection layer, read by [`crate::Server::edge_stats`].
#[derive(Default)]
pub(crate) struct EdgeCounters {
    pub(crate) accepted: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) refused: [AtomicU64; REFUSAL_STATUSES.len()],
}

impl EdgeCounters {
    pub(crate) fn refused(&self, status: u16) {
        if let Some(i) = REFUSAL_STATUSES.iter().position(|&s| s == status) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the connection layer has done since the server started.
#[derive(Debug, Clone, Default)]
pub struct EdgeStats {
    /// Connections open now.
    pub open: usize,
    /// Connections accepted and admitted.
    pub accepted: u64,
    /// Connections closed to make room for a new one (they had waited
    /// longest without sending a whole request).
    pub evicted: u64,
    /// Answers the connection layer gave itself, by status: 400 bad
    /// framing, 408 too slow, 413/414/431 too large, 429 too many
    /// connections from one address, 503 every place busy, ...
    pub refused: Vec<(u16, u64)>,
}

impl EdgeStats {
    pub(crate) fn read(counters: &EdgeCounters, open: usize) -> EdgeStats {
        let refused = REFUSAL_STATUSES
            .iter()
            .zip(&counters.refused)
            .map(|(&s, n)| (s, n.load(Ordering::Relaxed)))
            .collect();
        EdgeStats {
            open,
            accepted: counters.accepted.load(Ordering::Relaxed),
            evicted: counters.evicted.load(Ordering::Relaxed),
            refused,
        }
    }
}

/// Logs a refusal at warn level, at most `BURST` lines every ten seconds,
/// so a hostile client cannot flood the log; the rest are counted and
/// summed up in the next line that gets through.
pub(crate) fn log_refusal(client: &str, status: u16, reason: &str) {
    const BURST: u32 = 20;
    static WINDOW: Mutex<Option<(Instant, u32, u64)>> = Mutex::new(None);
    let mut window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let (start, lines, suppressed) = window.get_or_insert((now, 0, 0));
    if now.duration_since(*start) > Duration::from_secs(10) {
        (*start, *lines) = (now, 0);
    }
    if *lines >= BURST {
        *suppressed += 1;
        return;
    }
    *lines += 1;
    let more = std::mem::take(suppressed);
    if more > 0 {
        log::warn!("edge: {status} {reason} (client {client}); {more} similar lines suppressed");
    } else {
        log::warn!("edge: {status} {reason} (client {client})");
    }
}
