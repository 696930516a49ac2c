//! One connection's life: read a whole request within the limits, hand it
//! on, wait for its answer to be written, repeat; refuse what cannot be
//! read safely with an answer and a close. (sinch-dlr patch, see
//! vendor/README.md.)

use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::deadline::Deadline;
use super::admission::{Answering, Ticket};
use super::head::{parse_head, Framing, Head, HeadScanner, Refusal};
use super::limits::Limits;
use super::log_refusal;
use crate::connection::Connection;
use crate::util::{MessagesQueue, RefinedTcpStream};
use crate::{Message, Request, StatusCode};

/// Where whole requests go.
#[derive(Clone)]
pub(crate) enum Dispatch {
    /// To `Server::recv` (tiny_http's own model); the connection waits
    /// until the request is answered before reading the next one.
    Queue(Arc<MessagesQueue<Message>>),
    /// Handled on the connection's own thread: no hand-off between threads.
    Inline(Arc<dyn Fn(Request) + Send + Sync>),
}

/// The write side of a connection, shared by its requests' answers and the
/// layer's own answers. A failed write marks the connection for closing.
struct Outbox {
    stream: Mutex<RefinedTcpStream>,
    broken: AtomicBool,
    /// Marks the connection evictable once an answer is being written.
    answering: Answering,
}

/// One answer's writer: buffered, writing through the shared `Outbox`.
struct OutboxWriter(Arc<Outbox>);

impl Write for OutboxWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _writing = self.0.answering.write_begins();
        let mut stream = self.0.stream.lock().unwrap_or_else(|e| e.into_inner());
        stream.write(buf).inspect_err(|_| self.0.broken.store(true, Ordering::SeqCst))
    }

    fn flush(&mut self) -> io::Result<()> {
        let _writing = self.0.answering.write_begins();
        let mut stream = self.0.stream.lock().unwrap_or_else(|e| e.into_inner());
        stream.flush().inspect_err(|_| self.0.broken.store(true, Ordering::SeqCst))
    }
}

/// The most one read takes from the socket.
const CHUNK: usize = 8 * 1024;

/// Why reading a request stopped.
enum Stop {
    /// The client closed, went quiet between requests, or was closed to
    /// make room: nothing to answer.
    Quiet,
    /// Answer this, then close.
    Refuse(Refusal),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Stop {
        Stop::Refuse(r)
    }
}

const TOO_SLOW: Refusal = Refusal {
    status: 408,
    reason: "request not received in time",
};

struct Conn<'a> {
    reader: RefinedTcpStream,
    /// A handle on the socket for its timeouts.
    control: Connection,
    /// The read deadline, also seen by the socket under a TLS stream.
    deadline: Deadline,
    outbox: Arc<Outbox>,
    remote: Option<SocketAddr>,
    secure: bool,
    limits: &'a Limits,
    ticket: Ticket,
    /// Received bytes; `[pos..]` not consumed yet (a pipelined request).
    inbox: Vec<u8>,
    pos: usize,
    read_timeout: Option<Duration>,
}

/// Serves one connection until it closes. `control` is a second handle on
/// the socket under `reader`/`writer` (which may be TLS).
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve_connection(
    reader: RefinedTcpStream,
    writer: RefinedTcpStream,
    control: Connection,
    deadline: Deadline,
    remote: Option<SocketAddr>,
    secure: bool,
    limits: &Limits,
    ticket: Ticket,
    dispatch: &Dispatch,
) {
    let _ = control.set_write_timeout(Some(limits.write_timeout));
    let outbox = Arc::new(Outbox {
        stream: Mutex::new(writer),
        broken: AtomicBool::new(false),
        answering: ticket.answering(),
    });
    let mut conn = Conn {
        reader,
        control,
        deadline,
        outbox,
        remote,
        secure,
        limits,
        ticket,
        inbox: Vec::new(),
        pos: 0,
        read_timeout: None,
    };
    conn.run(dispatch);
}

impl Conn<'_> {
    fn run(&mut self, dispatch: &Dispatch) {
        loop {
            self.ticket.waiting();
            if self.ticket.closing() {
                return;
            }
            let (head, body) = match self.read_request() {
                Ok(request) => request,
                Err(Stop::Quiet) => return,
                Err(Stop::Refuse(refusal)) => return self.refuse(refusal),
            };
            self.ticket.busy();
            let last = head.last;
            if !self.hand_on(head, body, dispatch) || last {
                return;
            }
            if self.outbox.broken.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    fn read_request(&mut self) -> Result<(Head, Vec<u8>), Stop> {
        let head = self.read_head()?;
        let expects_continue = head.expects_continue && head.framing != Framing::None;
        if expects_continue {
            self.write_raw(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let deadline = Instant::now() + self.limits.body_timeout;
        let body = match head.framing {
            Framing::None => Vec::new(),
            Framing::Length(n) => self.take(n, deadline)?,
            Framing::Chunked => self.read_chunked(deadline)?,
        };
        Ok((head, body))
    }

    fn read_head(&mut self) -> Result<Head, Stop> {
        self.inbox.drain(..self.pos);
        self.pos = 0;
        // A large head or body earlier does not keep its buffer for the
        // connection's life.
        if self.inbox.capacity() > 16 * 1024 && self.inbox.len() <= 4096 {
            self.inbox.shrink_to(4096);
        }
        let mut scanner = HeadScanner::default();
        let mut deadline = Instant::now() + self.limits.idle_timeout;
        let mut started = false;
        loop {
            if let Some((start, end)) = scanner.advance(&self.inbox, self.limits)? {
                let head = parse_head(&self.inbox[start..end], self.limits)?;
                // The head is parsed into owned fields: its bytes go, and
                // the body reuses their room rather than adding to it.
                self.inbox.drain(..end);
                return Ok(head);
            }
            if !started && scanner.started(&self.inbox) {
                started = true;
                deadline = Instant::now() + self.limits.head_timeout;
            }
            if !self.fill(deadline)? {
                return Err(if started {
                    Stop::Refuse(TOO_SLOW)
                } else {
                    Stop::Quiet
                });
            }
        }
    }

    /// The next `n` unconsumed bytes, reading until they are there.
    fn take(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, Stop> {
        let wanted = (self.pos + n).saturating_sub(self.inbox.len());
        self.inbox.reserve_exact(wanted);
        while self.inbox.len() - self.pos < n {
            let rest = self.pos + n - self.inbox.len();
            if !self.fill_up_to(deadline, rest)? {
                return Err(Stop::Refuse(TOO_SLOW));
            }
        }
        let bytes = self.inbox[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(bytes)
    }

    /// A chunked body (RFC 9112 7.1), strictly: hex sizes, CRLF after
    /// every chunk, trailers read within the head limits and dropped.
    fn read_chunked(&mut self, deadline: Instant) -> Result<Vec<u8>, Stop> {
        let bad = Refusal {
            status: 400,
            reason: "malformed chunked body",
        };
        let mut body = Vec::new();
        loop {
            // Framing read so far (size lines, extensions, CRLFs) is let
            // go as the body is read: only the body counts against memory.
            if self.pos >= 16 * 1024 {
                self.inbox.drain(..self.pos);
                self.pos = 0;
            }
            let line = self.line(deadline, 1024, bad)?;
            let size = parse_chunk_size(&line).ok_or(bad)?;
            if size == 0 {
                return self.skip_trailers(deadline).map(|()| body);
            }
            if body.len() + size > self.limits.max_body {
                return Err(Stop::Refuse(Refusal {
                    status: 413,
                    reason: "request body too large",
                }));
            }
            let chunk = self.take(size + 2, deadline)?;
            if !chunk.ends_with(b"\r\n") {
                return Err(Stop::Refuse(bad));
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }

    fn skip_trailers(&mut self, deadline: Instant) -> Result<(), Stop> {
        let too_big = Refusal {
            status: 431,
            reason: "trailer section too large",
        };
        let mut total = 0;
        loop {
            let line = self.line(deadline, self.limits.max_header_line, too_big)?;
            total += line.len() + 2;
            if line.is_empty() {
                return Ok(());
            }
            if total > self.limits.max_head || line.contains(&0) {
                return Err(Stop::Refuse(too_big));
            }
        }
    }

    /// One CRLF-ended line (without it) of at most `max` bytes.
    fn line(&mut self, deadline: Instant, max: usize, refusal: Refusal) -> Result<Vec<u8>, Stop> {
        let mut scanned = self.pos;
        loop {
            if let Some(i) = self.inbox[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i;
                // A whole line that arrived in one read is held to `max` too.
                if end - self.pos > max + 1 {
                    return Err(Stop::Refuse(refusal));
                }
                let line = &self.inbox[self.pos..end];
                let Some(line) = line.strip_suffix(b"\r") else {
                    return Err(Stop::Refuse(refusal));
                };
                if line.contains(&b'\r') {
                    return Err(Stop::Refuse(refusal));
                }
                let line = line.to_vec();
                self.pos = end + 1;
                return Ok(line);
            }
            scanned = self.inbox.len();
            if scanned - self.pos > max {
                return Err(Stop::Refuse(refusal));
            }
            if !self.fill(deadline)? {
                return Err(Stop::Refuse(TOO_SLOW));
            }
        }
    }

    /// Reads more bytes before `deadline`: `Ok(true)` got some, `Ok(false)`
    /// the deadline passed, `Err(Quiet)` the client closed or failed.
    fn fill(&mut self, deadline: Instant) -> Result<bool, Stop> {
        self.fill_up_to(deadline, CHUNK)
    }

    /// `fill`, reading at most `most` bytes (a body's rest: its room was
    /// reserved exactly, and a read past it would grow the buffer again).
    fn fill_up_to(&mut self, deadline: Instant, most: usize) -> Result<bool, Stop> {
        const ORDINARY: usize = 16 * 1024;
        let step = most.clamp(1, CHUNK);
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(false);
            };
            self.deadline.set(deadline);
            self.set_read_timeout(left.max(Duration::from_millis(1)));
            let len = self.inbox.len();
            if self.inbox.capacity() - len < step {
                // Room for an ordinary request first; past that, one step
                // to what the largest head needs — not doubling (which
                // overshoots to twice that) nor small steps (each leaves a
                // freed block behind in the allocator). A body longer than
                // that has its room reserved by `take`.
                let room = match len + step <= ORDINARY {
                    true => ORDINARY,
                    false => (self.limits.max_head + CHUNK).max(len + step),
                };
                self.inbox.reserve_exact(room - len);
            }
            self.inbox.resize(len + step, 0);
            let read = self.reader.read(&mut self.inbox[len..]);
            self.inbox.truncate(len + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => return Err(Stop::Quiet),
                Ok(_) => return Ok(true),
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(Stop::Quiet),
            }
        }
    }

    /// Sets the socket's read timeout when it differs enough from the one
    /// set (one system call saved on most reads).
    fn set_read_timeout(&mut self, left: Duration) {
        let close_enough = self
            .read_timeout
            .is_some_and(|t| t <= left && left - t < Duration::from_millis(100));
        if !close_enough {
            let _ = self.control.set_read_timeout(Some(left));
            self.read_timeout = Some(left);
        }
    }

    /// Hands a whole request on and waits until it is answered; false if
    /// the connection must close.
    fn hand_on(&mut self, head: Head, body: Vec<u8>, dispatch: &Dispatch) -> bool {
        let request = crate::request::new_read_request(
            self.secure,
            head.method,
            head.target,
            head.version,
            head.headers,
            self.remote,
            body,
            BufWriter::with_capacity(8 * 1024, OutboxWriter(self.outbox.clone())),
        );
        match dispatch {
            Dispatch::Inline(handler) => {
                catch_unwind(AssertUnwindSafe(|| handler(request))).is_ok()
            }
            Dispatch::Queue(queue) => {
                let (answered, wait) = mpsc::channel();
                queue.push(Message::NewRequest(request.with_notify_sender(answered)));
                wait.recv().is_ok()
            }
        }
    }

    /// Answers `refusal` itself and closes, reading what the client still
    /// sends for a moment so the answer is not lost to a reset.
    fn refuse(&mut self, refusal: Refusal) {
        self.ticket.counters().refused(refusal.status);
        let client = self.remote.map_or("-".to_string(), |a| a.ip().to_string());
        log_refusal(&client, refusal.status, refusal.reason);
        self.write_raw(&refusal_bytes(refusal));
        let _ = self.control.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut drained = 0;
        self.inbox.clear();
        self.pos = 0;
        while drained < 256 * 1024 && matches!(self.fill(deadline), Ok(true)) {
            drained += self.inbox.len();
            self.inbox.clear();
        }
    }

    fn write_raw(&self, bytes: &[u8]) {
        let mut writer = OutboxWriter(self.outbox.clone());
        let _ = writer.write_all(bytes).and_then(|()| writer.flush());
    }
}

/// A complete answer for a refusal: JSON error, `Connection: close`, and
/// `Retry-After` where the client should come back.
pub(crate) fn refusal_bytes(refusal: Refusal) -> Vec<u8> {
    let body = format!("{{\"error\":\"{}\"}}", refusal.reason);
    let retry = if matches!(refusal.status, 429 | 503) {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n{body}",
        refusal.status,
        StatusCode(refusal.status).default_reason_phrase(),
        body.len()
    )
    .into_bytes()
}

/// `1a;name=value` → 26. Hex digits only, at most 15 of them.
fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let end = line
        .iter()
        .position(|&b| b == b';' || b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    let digits = &line[..end];
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    usize::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_hex_only() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"0;ext=1"), Some(0));
        for bad in [&b""[..], b"g", b"-1", b"0x10", b" 1", b"ffffffffffffffffff"] {
            assert_eq!(parse_chunk_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn refusals_carry_no_body_length_on_1xx_and_retry_on_busy() {
        let text = String::from_utf8(refusal_bytes(Refusal {
            status: 503,
            reason: "busy",
        }))
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(text.contains("Retry-After: 1\r\n"));
        assert!(text.contains("Connection: close\r\n"));
    }
}
