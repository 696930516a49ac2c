//! A read deadline shared between a connection's loop and the socket under
//! its TLS stream. rustls keeps reading inside one `read` call until it has
//! a whole record, and every byte that arrives restarts the socket's own
//! timeout; reading through `Guarded` makes each of those reads respect
//! the deadline the loop set. (sinch-dlr patch, see vendor/README.md.)

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// When the current read must be done; none until one is set.
#[derive(Clone, Default)]
pub(crate) struct Deadline(Arc<AtomicU64>);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Deadline {
    pub(crate) fn set(&self, at: Instant) {
        let ms = at.saturating_duration_since(epoch()).as_millis() as u64;
        self.0.store(ms.max(1), Ordering::Relaxed);
    }

    /// Time left, or None when no deadline was set.
    fn left(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            ms => Some((epoch() + Duration::from_millis(ms)).saturating_duration_since(Instant::now())),
        }
    }
}

/// A socket whose reads end at the shared deadline.
pub(crate) struct Guarded {
    inner: Connection,
    deadline: Deadline,
}

impl Guarded {
    pub(crate) fn new(inner: Connection, deadline: Deadline) -> Guarded {
        Guarded { inner, deadline }
    }

    #[allow(dead_code)]
    pub(crate) fn peer_addr(&mut self) -> io::Result<Option<SocketAddr>> {
        self.inner.peer_addr()
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.deadline.left() {
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "read deadline passed"));
            }
            self.inner.set_read_timeout(Some(left))?;
        }
        self.inner.read(buf)
    }
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
