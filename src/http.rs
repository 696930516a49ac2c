//! HTTP plumbing shared by every handler: the request as handlers see it
//! (headers, path segments, query, a capped body), JSON replies, and
//! `ApiError` -> status + `{"error": ...}`.
//!
//! Handlers never touch tiny_http; that keeps them testable without sockets
//! and keeps the body cap in one place.

use serde::Serialize;
use serde_json::json;
use std::fmt;
use std::io::Read;

/// Request headers, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Headers {
        Headers(pairs.into_iter().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request as handlers see it; the body is already read (and capped).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The peer's address (None for requests made in-process by the CLI).
    pub client_ip: Option<std::net::IpAddr>,
}

impl Request {
    /// Path split on `/`, empty segments dropped, percent-decoded.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// API bodies are JSON: a declared Content-Type must say so (missing is
    /// accepted, as curl and many clients omit it). Not used for callbacks:
    /// a signed Sinch body is parsed whatever its label, since a 4xx would
    /// lose it for good.
    pub fn require_json(&self) -> Result<(), ApiError> {
        match self.headers.get("content-type") {
            None => Ok(()),
            Some(ct) => {
                let media = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if media == "application/json" || media.ends_with("+json") {
                    Ok(())
                } else {
                    Err(ApiError::UnsupportedMediaType(media))
                }
            }
        }
    }

    /// The last value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A numeric `{id}` path segment. Ids are `u64`s from 1; a segment that is
/// not one (`abc`, `-1`, 25 digits, `..`) names nothing that can exist, so
/// it is a 404 like any unknown id, not a 400.
pub fn path_id(segment: &str) -> Result<u64, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}

/// Splits `/path?a=1&b=2` into the path and decoded query pairs.
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_string(), pairs)
}

/// `%2B` -> `+`, `+` -> space (form encoding); invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match hex(b[i + 1]).zip(hex(b[i + 2])) {
                Some((h, l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query value: everything but unreserved characters.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// A response ready to send.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// A body produced while sending (exports, backups); replaces `body`.
    pub stream: Option<Stream>,
    /// The stream waits for events (long poll, live stream): it is written
    /// without holding a request worker.
    pub detached: bool,
}

/// A streamed body, sent chunked.
pub struct Stream(pub Box<dyn Read + Send>);

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stream")
    }
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).expect("serialising our own types cannot fail");
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            stream: None,
            detached: false,
        }
    }

    pub fn text(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
            stream: None,
            detached: false,
        }
    }

    /// A 200 whose body is read from `reader` while it is sent.
    pub fn stream(content_type: &'static str, reader: impl Read + Send + 'static) -> Reply {
        Reply {
            stream: Some(Stream(Box::new(reader))),
            ..Reply::text(200, content_type, Vec::new())
        }
    }

    /// A 200 whose body waits for events while it is sent (see `detached`).
    pub fn waiting(content_type: &'static str, reader: impl Read + Send + 'static) -> Reply {
        Reply {
            detached: true,
            ..Reply::stream(content_type, reader)
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// `Retry-After` of a 429 for a busy daemon: Sinch's own first retry comes
/// after 5 s (docs/sinch.md#retries), so asking for less gains nothing.
pub const BUSY_RETRY_AFTER: u64 = 5;

/// A failed request. `Display` is what the client may see.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden(String),
    NotFound,
    /// The methods the path takes, for `Allow`.
    MethodNotAllowed(String),
    /// The request needs configuration this daemon does not have.
    NotConfigured(String),
    /// An upstream (Sinch) refused or failed; the message says how.
    BadGateway(String),
    /// An upstream (Sinch) did not answer in time.
    GatewayTimeout(String),
    /// Too many failed token guesses from this address; retry after so
    /// many seconds.
    TooManyRequests(u64),
    /// A body that is not labelled JSON.
    UnsupportedMediaType(String),
    /// Too busy to take this callback now; retry after so many seconds
    /// (Sinch retries 429 and slows down).
    Busy(u64),
    /// The store could not commit; the client should retry.
    Unavailable,
    /// Too many of something open at once; retry in a few seconds.
    Full(String),
    /// The request contradicts how the thing is set up.
    Conflict(String),
    /// Our fault; details were logged.
    Internal,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotConfigured(m)
            | ApiError::BadGateway(m)
            | ApiError::GatewayTimeout(m)
            | ApiError::Full(m)
            | ApiError::Conflict(m) => f.write_str(m),
            ApiError::Unauthorized => f.write_str("unauthorized"),
            ApiError::NotFound => f.write_str("not found"),
            ApiError::MethodNotAllowed(allow) => write!(f, "method not allowed; use {allow}"),
            ApiError::TooManyRequests(secs) => {
                write!(f, "too many failed attempts; retry in {secs} s")
            }
            ApiError::UnsupportedMediaType(m) => {
                write!(f, "content type {m:?} is not application/json")
            }
            ApiError::Busy(secs) => write!(f, "busy; retry in {secs} s"),
            ApiError::Unavailable => f.write_str("storage unavailable, retry later"),
            ApiError::Internal => f.write_str("internal error"),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::NotConfigured(_) => 409,
            ApiError::BadGateway(_) => 502,
            ApiError::GatewayTimeout(_) => 504,
            ApiError::TooManyRequests(_) | ApiError::Busy(_) => 429,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Unavailable | ApiError::Full(_) => 503,
            ApiError::Conflict(_) => 409,
            ApiError::Internal => 500,
        }
    }

    pub fn into_reply(self) -> Reply {
        let reply = Reply::json(self.status(), &json!({ "error": self.to_string() }));
        match self {
            ApiError::MethodNotAllowed(allow) => reply.with_header("Allow", &allow),
            ApiError::Unauthorized => reply.with_header("WWW-Authenticate", "Bearer"),
            // Sinch retries 5xx with its own back-off; the header is a hint.
            ApiError::Unavailable | ApiError::Full(_) => reply.with_header("Retry-After", "5"),
            ApiError::TooManyRequests(secs) | ApiError::Busy(secs) => {
                reply.with_header("Retry-After", secs.to_string())
            }
            _ => reply,
        }
    }
}

/// A path as the access line shows it: cut after 200 bytes, so one line
/// stays short whatever URL a client sends (up to SINCH_DLR_MAX_URL).
pub fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    cut_for_log(path, 200)
}

/// A method as the access line shows it: any token is a method to HTTP,
/// and the request line may be as long as a URL.
pub fn logged_method(method: &str) -> std::borrow::Cow<'_, str> {
    cut_for_log(method, 16)
}

fn cut_for_log(text: &str, most: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= most {
        return text.into();
    }
    let mut end = most;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(+{} bytes)", &text[..end], text.len() - end).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_decodes_urls() {
        let (path, q) = split_url("/api/messages?to=%2B1555&x=a+b&empty=&flag");
        assert_eq!(path, "/api/messages");
        assert_eq!(
            q,
            vec![
                ("to".into(), "+1555".into()),
                ("x".into(), "a b".into()),
                ("empty".into(), "".into()),
                ("flag".into(), "".into())
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41%42"), "AB");
    }

    #[test]
    fn segments_drop_empty_parts() {
        let r = Request {
            path: "//api/messages/12/".into(),
            ..Request::default()
        };
        assert_eq!(r.segments(), vec!["api", "messages", "12"]);
    }

    #[test]
    fn errors_become_json_with_headers() {
        let r = ApiError::MethodNotAllowed("POST".into()).into_reply();
        assert_eq!(r.status, 405);
        assert!(r.headers.contains(&("Allow", "POST".to_string())));
        let r = ApiError::Unavailable.into_reply();
        assert_eq!(r.status, 503);
        assert!(r.headers.iter().any(|(k, _)| *k == "Retry-After"));
        let r = ApiError::Busy(5).into_reply();
        assert_eq!(r.status, 429);
        assert!(r.headers.contains(&("Retry-After", "5".to_string())));
        assert_eq!(
            ApiError::NotFound.into_reply().body,
            br#"{"error":"not found"}"#.to_vec()
        );
    }

    #[test]
    fn logged_paths_are_cut_at_a_char_boundary() {
        assert_eq!(logged_path("/api/messages"), "/api/messages");
        let long = format!("/{}", "é".repeat(150));
        let shown = logged_path(&long);
        assert!(shown.len() < 220, "{shown}");
        assert!(shown.ends_with("…(+102 bytes)"), "{shown}");
        assert_eq!(logged_method("GET"), "GET");
        assert_eq!(
            logged_method(&"X".repeat(8000)),
            format!("{}…(+7984 bytes)", "X".repeat(16))
        );
    }
}
