//! The webhook receiver of the events phase: HTTP/1.1 keep-alive on
//! 127.0.0.1, answering every request 200 at once, noting for each
//! delivery the event's seq (from `webhook-id`), when it arrived and the
//! event's own timestamp (its commit time). Std only, so the receiver
//! costs as little as a receiver can and the numbers are the daemon's.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::load::read_headers;

/// One delivery as the receiver saw it (times in UTC micros).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub(crate) seq: u64,
    pub(crate) arrived: i64,
    pub(crate) committed: i64,
}

#[derive(Default)]
struct Seen {
    arrivals: Vec<Arrival>,
    highest: u64,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    grew: Condvar,
}

pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Listens on a free port; one thread per connection.
    pub(crate) fn start() -> Result<Receiver, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("receiver: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Ok(Receiver { addr, shared })
    }

    /// Waits until an event with seq ≥ `seq` arrived; false after `limit`.
    pub(crate) fn wait_for(&self, seq: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut seen = self.shared.seen.lock().unwrap_or_else(|e| e.into_inner());
        while seen.highest < seq {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = self
                .shared
                .grew
                .wait_timeout(seen, left.min(Duration::from_millis(100)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Every delivery so far, in arrival order.
    pub(crate) fn arrivals(&self) -> Vec<Arrival> {
        let seen = self.shared.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.arrivals.clone()
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    stream.set_nodelay(true).ok();
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((seq, body)) = read_request(&mut reader) {
        let arrived = now_micros();
        if out
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
        let committed = committed_at(&body).unwrap_or(0);
        let mut seen = shared.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.arrivals.push(Arrival {
            seq,
            arrived,
            committed,
        });
        seen.highest = seen.highest.max(seq);
        shared.grew.notify_all();
    }
}

/// One request: the seq of its `webhook-id` (0 if none) and its body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(u64, Vec<u8>)> {
    let (mut length, mut seq) = (0usize, 0u64);
    read_headers(reader, |k, v| {
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap_or(0);
        } else if k.eq_ignore_ascii_case("webhook-id") {
            // evt_<log id>_<seq>
            seq = v
                .trim()
                .rsplit('_')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
    })
    .ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((seq, body))
}

/// The event's `timestamp` (Standard Webhooks body: `{"type", "timestamp",
/// "data"}`), in UTC micros.
fn committed_at(body: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"timestamp\":\"";
    let head = &body[..body.len().min(200)];
    let start = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let end = start + head[start..].iter().position(|b| *b == b'"')?;
    let text = std::str::from_utf8(&head[start..end]).ok()?;
    let t: jiff::Timestamp = text.parse().ok()?;
    Some(t.as_microsecond())
}

pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
