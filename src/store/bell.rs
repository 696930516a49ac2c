//! The event log's bell: rung after each commit that appended events, so
//! long polls, live streams and webhook deliveries wake at once instead of
//! polling the file. Closing it (shutdown) wakes every waiter for good.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Bell {
    state: Mutex<State>,
    rung: Condvar,
}

#[derive(Default)]
struct State {
    /// The last committed event's seq (0: none yet).
    last: u64,
    closed: bool,
}

impl Bell {
    pub fn new(last: u64) -> Bell {
        Bell {
            state: Mutex::new(State {
                last,
                closed: false,
            }),
            rung: Condvar::new(),
        }
    }

    /// Events up to `last` are committed.
    pub fn ring(&self, last: u64) {
        let mut s = self.lock();
        s.last = s.last.max(last);
        self.rung.notify_all();
    }

    /// The last committed event's seq.
    pub fn last(&self) -> u64 {
        self.lock().last
    }

    /// Wakes every waiter now and from now on (the daemon is stopping).
    pub fn close(&self) {
        self.lock().closed = true;
        self.rung.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits until an event after `after` is committed, the bell closes, or
    /// `timeout` passes. Returns the last committed seq.
    pub fn wait_after(&self, after: u64, timeout: Duration) -> u64 {
        let until = Instant::now() + timeout;
        let mut s = self.lock();
        while s.last <= after && !s.closed {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            s = self
                .rung
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.last
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_wakes_on_a_ring_after_its_cursor_and_not_before() {
        let bell = Arc::new(Bell::new(5));
        assert_eq!(bell.wait_after(4, Duration::ZERO), 5, "already past");
        let t = Instant::now();
        assert_eq!(bell.wait_after(5, Duration::from_millis(50)), 5);
        assert!(t.elapsed() >= Duration::from_millis(50), "waited out");
        let ringer = {
            let bell = bell.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                bell.ring(7);
            })
        };
        assert_eq!(bell.wait_after(5, Duration::from_secs(10)), 7);
        ringer.join().unwrap();
    }

    #[test]
    fn closing_wakes_waiters_for_good() {
        let bell = Arc::new(Bell::new(0));
        let closer = {
            let bell = bell.clone();
            std::thread::spawn(move || bell.close())
        };
        assert_eq!(bell.wait_after(0, Duration::from_secs(10)), 0);
        closer.join().unwrap();
        assert!(bell.is_closed());
        assert_eq!(bell.wait_after(0, Duration::from_secs(10)), 0);
    }
}
