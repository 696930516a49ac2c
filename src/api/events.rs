//! The event log over HTTP: `GET /api/events` (a page, optionally held as
//! a long poll) and `GET /api/events/stream` (Server-Sent Events). A held
//! poll or an open stream waits on the log's bell without a request
//! worker, and at most SINCH_DLR_MAX_STREAMS of them are open at once.

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::unavailable;
use crate::app::App;
use crate::http::{ApiError, Reply, Request};
use crate::slots::Slot;
use crate::store::Store;
use crate::store::events::{EventPage, EventType};

const MAX_LIMIT: usize = 1000;
const MAX_WAIT_SECS: u64 = 60;
/// A comment line at least this often keeps proxies and clients from
/// closing a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events read from the log per step of a stream.
const STREAM_PAGE: usize = 100;

/// What a caller asked for.
struct Query {
    after: u64,
    limit: usize,
    types: Option<Vec<EventType>>,
    wait: Duration,
}

impl Query {
    fn wanted(&self) -> impl Fn(&str) -> bool + Send + 'static {
        let types: Option<Vec<&'static str>> = self
            .types
            .as_ref()
            .map(|t| t.iter().map(|t| t.as_str()).collect());
        move |kind: &str| types.as_ref().is_none_or(|t| t.contains(&kind))
    }
}

fn parse(req: &Request) -> Result<Query, ApiError> {
    let number = |name: &str, default: u64, max: u64| -> Result<u64, ApiError> {
        match req.query_param(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                ApiError::BadRequest(format!("{name} must be a whole number from 0 to {max}"))
            }),
        }
    };
    let limit = number("limit", 100, MAX_LIMIT as u64)?;
    if limit == 0 {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    Ok(Query {
        after: number("after", 0, u64::MAX)?,
        limit: limit as usize,
        types: parse_types(req.query_param("types"))?,
        wait: Duration::from_secs(number("wait", 0, MAX_WAIT_SECS)?),
    })
}

/// `types=a,b`: None = every type.
pub fn parse_types(list: Option<&str>) -> Result<Option<Vec<EventType>>, ApiError> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    list.split(',')
        .map(|t| {
            EventType::parse(t.trim()).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown event type {:?}; the types are {}",
                    t.trim(),
                    EventType::names()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `GET /api/events?after=&limit=&types=&wait=`
pub fn list(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let q = parse(req)?;
    let wanted = q.wanted();
    let page = app
        .store
        .events(q.after, q.limit, &wanted)
        .map_err(unavailable)?;
    within_log(q.after, page.oldest_seq, page.last_seq)?;
    if !page.events.is_empty() || q.wait.is_zero() {
        return Ok(Reply::json(200, &page));
    }
    // Nothing yet: hold the answer (without a worker) until an event
    // commits or `wait` runs out; over the cap, answer now.
    let Some(slot) = app.streams.take() else {
        return Ok(Reply::json(200, &page));
    };
    let store = app.store.clone();
    let held = Held {
        answer: None,
        make: Some(Box::new(move || {
            let _slot = slot;
            let deadline = Instant::now() + q.wait;
            let mut after = page.next_after;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let last = store.bell().wait_after(after, left);
                let next = store.events(after, q.limit, &wanted);
                match next {
                    Ok(p)
                        if p.events.is_empty()
                            && last > after
                            && !left.is_zero()
                            && !store.bell().is_closed() =>
                    {
                        after = p.next_after; // only other types came
                    }
                    Ok(p) => {
                        return serde_json::to_vec(&keep_cursor(p, q.after))
                            .expect("pages serialise");
                    }
                    Err(e) => {
                        log::error!("long poll: reading the log: {e}");
                        return serde_json::to_vec(&page_of(q.after)).expect("pages serialise");
                    }
                }
            }
        })),
    };
    Ok(Reply::waiting("application/json", held))
}

/// A cursor beyond the newest event was not made by this log: the file
/// was restored from an older backup (the events after it are gone, and
/// new ones will take their seqs) or this is another database. Waiting
/// would skip events without a word; say so instead.
fn within_log(after: u64, oldest_seq: u64, last_seq: u64) -> Result<(), ApiError> {
    if after <= last_seq {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "after={after} is past the newest event of this log ({}): the database was restored \
         from an older backup or is another one; read again from after={} (events you \
         already have may come again under the same seqs with other contents)",
        last_seq,
        oldest_seq.saturating_sub(1)
    )))
}

/// An empty answer keeps the caller's cursor unless events were passed
/// over by the type filter.
fn keep_cursor(p: EventPage, after: u64) -> EventPage {
    EventPage {
        next_after: p.next_after.max(after),
        ..p
    }
}

fn page_of(after: u64) -> EventPage {
    EventPage {
        events: Vec::new(),
        next_after: after,
        oldest_seq: 0,
        last_seq: after,
    }
}

/// A JSON answer made when the client first reads it (after a wait).
struct Held {
    answer: Option<Cursor<Vec<u8>>>,
    make: Option<Box<dyn FnOnce() -> Vec<u8> + Send>>,
}

impl Read for Held {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if let Some(make) = self.make.take() {
            self.answer = Some(Cursor::new(make()));
        }
        self.answer.as_mut().map_or(Ok(0), |a| a.read(out))
    }
}

/// `GET /api/events/stream?after=&types=` (or `Last-Event-ID`).
pub fn stream(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let q = parse(req)?;
    let resume = match req.headers.get("last-event-id").map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(id.parse::<u64>().map_err(|_| {
            ApiError::BadRequest("Last-Event-ID must be the seq of an event".into())
        })?),
    };
    let after = resume.unwrap_or(q.after);
    let (oldest_seq, last_seq) = app.store.event_bounds().map_err(unavailable)?;
    within_log(after, oldest_seq, last_seq)?;
    let slot = app.streams.take().ok_or_else(|| {
        ApiError::Full("too many event streams are open; retry in a few seconds".into())
    })?;
    let live = Live {
        store: app.store.clone(),
        wanted: Box::new(q.wanted()),
        after,
        out: Cursor::new(format!(": events after {after}\nretry: 2000\n\n").into_bytes()),
        _slot: slot,
    };
    Ok(Reply::waiting("text/event-stream", live)
        .with_header("Cache-Control", "no-store")
        .with_header("X-Accel-Buffering", "no"))
}

/// An open stream: writes what follows `after` as it commits, a comment
/// when quiet, and ends when the daemon stops.
struct Live {
    store: Arc<Store>,
    wanted: Box<dyn Fn(&str) -> bool + Send>,
    after: u64,
    out: Cursor<Vec<u8>>,
    _slot: Slot,
}

impl Live {
    /// The next piece of the stream; empty at its end.
    fn next(&mut self) -> Vec<u8> {
        let until = Instant::now() + HEARTBEAT;
        loop {
            if self.store.bell().is_closed() {
                return Vec::new();
            }
            let page = match self.store.events(self.after, STREAM_PAGE, &self.wanted) {
                Ok(page) => page,
                Err(e) => {
                    log::error!("event stream: reading the log: {e}");
                    return Vec::new();
                }
            };
            self.after = page.next_after;
            if !page.events.is_empty() {
                return sse(&page);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return b": heartbeat\n\n".to_vec();
            }
            self.store.bell().wait_after(self.after, left);
        }
    }
}

/// Each event as `id:`, `event:` and one `data:` line (JSON has no newlines).
fn sse(page: &EventPage) -> Vec<u8> {
    let mut out = Vec::new();
    for e in &page.events {
        out.extend_from_slice(format!("id: {}\nevent: {}\ndata: ", e.seq, e.kind).as_bytes());
        serde_json::to_writer(&mut out, e).expect("events serialise");
        out.extend_from_slice(b"\n\n");
    }
    out
}

impl Read for Live {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out.position() as usize >= self.out.get_ref().len() {
            self.out = Cursor::new(self.next());
        }
        self.out.read(buf)
    }
}
