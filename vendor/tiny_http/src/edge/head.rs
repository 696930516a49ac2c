//! Reading a request head strictly (RFC 9112 sections 2-3, 5-7): where it
//! ends, whether it stays inside the limits, and what its framing says
//! about the body. Pure functions over received bytes; no I/O.
//! (sinch-dlr patch, see vendor/README.md.)

use ascii::AsciiString;

use super::limits::Limits;
use crate::common::{HTTPVersion, Header, HeaderField, Method};

/// An answer the connection layer gives itself, closing the connection
/// after it: the request cannot be read safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: &'static str,
}

const fn refuse(status: u16, reason: &'static str) -> Refusal {
    Refusal { status, reason }
}

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(usize),
    Chunked,
}

/// A parsed, checked request head.
#[derive(Debug)]
pub struct Head {
    pub method: Method,
    pub target: String,
    pub version: HTTPVersion,
    pub headers: Vec<Header>,
    pub framing: Framing,
    /// `Expect: 100-continue` was sent.
    pub expects_continue: bool,
    /// No further request may be read from this connection after this one.
    pub last: bool,
}

/// Empty lines tolerated before a request line (RFC 9112 asks for at
/// least one).
const MAX_LEADING_EMPTY_LINES: usize = 16;

/// Finds the end of a head in bytes that arrive piece by piece, checking
/// the size limits as it goes, so a head that never ends costs at most
/// `max_head` bytes.
#[derive(Debug, Default)]
pub struct HeadScanner {
    /// Where the request line starts (empty lines before it are skipped).
    start: usize,
    /// Bytes before `scanned` hold no unseen line end.
    scanned: usize,
    line_start: usize,
    lines: usize,
}

impl HeadScanner {
    /// `Ok(Some((start, end)))` once `buf[start..end]` is a whole head
    /// (its last line empty); `Ok(None)` while more bytes are needed.
    pub fn advance(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(usize, usize)>, Refusal> {
        while let Some(offset) = buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let newline = self.scanned + offset;
            let line = &buf[self.line_start..newline];
            let empty = line.is_empty() || line == b"\r";
            self.scanned = newline + 1;
            self.check_line(line.len(), limits)?;
            if empty && self.lines == 0 {
                // RFC 9112 2.2: empty lines before the request line are
                // ignored, but not without end (they would pile up unread).
                self.start = self.scanned;
                if self.start > MAX_LEADING_EMPTY_LINES * 2 {
                    return Err(refuse(400, "too many empty lines before the request"));
                }
            } else if empty {
                if self.scanned - self.start > limits.max_head {
                    return Err(refuse(431, "request head too large"));
                }
                return Ok(Some((self.start, self.scanned)));
            } else {
                self.lines += 1;
                if self.lines > limits.max_headers + 1 {
                    return Err(refuse(431, "too many header fields"));
                }
            }
            self.line_start = self.scanned;
        }
        self.scanned = buf.len();
        self.check_line(buf.len() - self.line_start, limits)?;
        if buf.len() - self.start > limits.max_head {
            return Err(refuse(431, "request head too large"));
        }
        Ok(None)
    }

    /// Whether any byte of a request has been seen (not just empty lines).
    pub fn started(&self, buf: &[u8]) -> bool {
        buf.len() > self.start
    }

    fn check_line(&self, len: usize, limits: &Limits) -> Result<(), Refusal> {
        if self.lines == 0 && len > request_line_limit(limits) {
            return Err(refuse(414, "request-target too long"));
        }
        if self.lines > 0 && len > limits.max_header_line {
            return Err(refuse(431, "header line too long"));
        }
        Ok(())
    }
}

/// The request line may hold the URL, a method and a version.
fn request_line_limit(limits: &Limits) -> usize {
    limits.max_url + 64
}

/// Parses a whole head (as found by `HeadScanner`) and decides the body's
/// framing. Everything RFC 9112 says a server must refuse is refused.
pub fn parse_head(head: &[u8], limits: &Limits) -> Result<Head, Refusal> {
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let (method, target, version) = parse_request_line(lines.next().unwrap_or(b""), limits)?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        headers.push(parse_header_line(line)?);
    }
    let framing = decide_framing(&headers, &version, limits)?;
    let expects_continue = match find_all(&headers, "Expect").next() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("100-continue") => true,
        Some(_) => return Err(refuse(417, "only Expect: 100-continue is supported")),
    };
    let last = wants_close(&headers, &version)
        || (framing == Framing::Chunked && find_all(&headers, "Content-Length").next().is_some());
    Ok(Head {
        method,
        target,
        version,
        headers,
        framing,
        expects_continue,
        last,
    })
}

fn parse_request_line(
    line: &[u8],
    limits: &Limits,
) -> Result<(Method, String, HTTPVersion), Refusal> {
    let bad = refuse(400, "malformed request line");
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(bad);
    }
    if target.len() > limits.max_url {
        return Err(refuse(414, "request-target too long"));
    }
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(bad);
    }
    let version = match version {
        b"HTTP/1.1" => HTTPVersion(1, 1),
        b"HTTP/1.0" => HTTPVersion(1, 0),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(refuse(505, "only HTTP/1.0 and HTTP/1.1 are supported"));
        }
        _ => return Err(bad),
    };
    // Both are checked ASCII above.
    let method = std::str::from_utf8(method).map_err(|_| bad)?;
    let target = String::from_utf8(target.to_vec()).map_err(|_| bad)?;
    Ok((method.parse().map_err(|_| bad)?, origin_form(target), version))
}

/// RFC 9112 3.2.2: a server must accept the absolute-form
/// (`http://host/path?q`); the application sees its path and query.
fn origin_form(target: String) -> String {
    let scheme = target.find("://").map(|i| target[..i].to_ascii_lowercase());
    let rest = match scheme.as_deref() {
        Some(s @ ("http" | "https")) => &target[s.len() + 3..],
        _ => return target,
    };
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

fn parse_header_line(line: &[u8]) -> Result<Header, Refusal> {
    if line[0] == b' ' || line[0] == b'\t' {
        return Err(refuse(400, "obsolete line folding is not accepted"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(refuse(400, "header line without a colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(refuse(400, "malformed header name"));
    }
    let value = trim_ows(value);
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(refuse(400, "control character in a header value"));
    }
    // tiny_http's header values are ASCII; a value may legally carry other
    // bytes (obs-text), which reach the application as '?'. No header an
    // application authenticates with can hold them.
    let ascii: Vec<u8> = value
        .iter()
        .map(|&b| if b.is_ascii() { b } else { b'?' })
        .collect();
    Ok(Header {
        field: HeaderField::from_bytes(name.to_vec()).map_err(|_| refuse(400, "bad header"))?,
        value: AsciiString::from_ascii(ascii).map_err(|_| refuse(400, "bad header"))?,
    })
}

/// RFC 9112 6.1-6.3: Transfer-Encoding wins over Content-Length (and the
/// connection closes after such a request); several Content-Length values
/// must agree; anything unreadable is refused, never guessed.
fn decide_framing(
    headers: &[Header],
    version: &HTTPVersion,
    limits: &Limits,
) -> Result<Framing, Refusal> {
    let codings: Vec<String> = find_all(headers, "Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if !codings.is_empty() {
        if *version == HTTPVersion(1, 0) {
            return Err(refuse(400, "Transfer-Encoding in an HTTP/1.0 request"));
        }
        return match codings.as_slice() {
            [only] if only == "chunked" => Ok(Framing::Chunked),
            [.., last] if last == "chunked" => {
                Err(refuse(501, "only the chunked transfer coding is supported"))
            }
            _ => Err(refuse(400, "Transfer-Encoding does not end in chunked")),
        };
    }
    let mut length = None;
    for value in find_all(headers, "Content-Length").flat_map(|v| v.split(',')) {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(400, "invalid Content-Length"));
        }
        let n: u64 = value
            .parse()
            .map_err(|_| refuse(413, "request body too large"))?;
        match length {
            Some(previous) if previous != n => {
                return Err(refuse(400, "conflicting Content-Length values"));
            }
            _ => length = Some(n),
        }
    }
    match length {
        None | Some(0) => Ok(Framing::None),
        Some(n) if n > limits.max_body as u64 => Err(refuse(413, "request body too large")),
        Some(n) => Ok(Framing::Length(n as usize)),
    }
}

fn wants_close(headers: &[Header], version: &HTTPVersion) -> bool {
    let mut tokens = find_all(headers, "Connection")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase());
    if *version == HTTPVersion(1, 0) {
        !tokens.any(|t| t == "keep-alive")
    } else {
        tokens.any(|t| t == "close" || t == "upgrade")
    }
}

/// The values of every header field named `name`, in order.
pub fn find_all<'a>(headers: &'a [Header], name: &'static str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// RFC 9110 5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, Refusal> {
        parse_head(text.as_bytes(), &Limits::default())
    }

    fn scan(bytes: &[u8]) -> Result<Option<(usize, usize)>, Refusal> {
        HeadScanner::default().advance(bytes, &Limits::default())
    }

    #[test]
    fn a_plain_request_is_read() {
        let h = head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(h.framing, Framing::Length(5));
        assert_eq!(h.target, "/x");
        assert!(!h.last);
    }

    #[test]
    fn the_scanner_finds_the_end_piece_by_piece() {
        let full = b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        let mut s = HeadScanner::default();
        for end in 1..full.len() {
            if let Some(found) = s.advance(&full[..end], &Limits::default()).unwrap() {
                assert_eq!(found, (2, full.len() - 4));
                return;
            }
        }
        panic!("no end found");
    }

    #[test]
    fn conflicting_or_invalid_content_lengths_are_refused() {
        for cl in ["-1", "0x10", "abc", "1, 2", "", "+5", "99999999999999999999999"] {
            let r = head(&format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\n"));
            assert!(r.is_err(), "{cl:?} accepted");
        }
        let two = head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assert_eq!(two.unwrap_err().status, 400);
        let same = head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(same.unwrap().framing, Framing::Length(5));
    }

    #[test]
    fn transfer_encoding_wins_and_closes() {
        let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")
            .unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        assert!(h.last);
        assert_eq!(
            head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap_err().status,
            400
        );
    }

    #[test]
    fn bare_cr_nul_and_folding_are_refused() {
        for bad in [
            "GET / HTTP/1.1\r\nA: x\ry\r\n\r\n",
            "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n",
            "GET / HTTP/1.1\r\nA: x\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nA : x\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(head(bad).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_header_values_are_accepted() {
        let h = parse_head(b"GET / HTTP/1.1\r\nX-Other: caf\xc3\xa9\r\n\r\n", &Limits::default());
        assert_eq!(h.unwrap().headers[0].value.as_str(), "caf??");
    }

    #[test]
    fn size_limits_answer_414_and_431() {
        let long_url = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        assert_eq!(scan(long_url.as_bytes()).unwrap_err().status, 414);
        let long_line = format!("GET / HTTP/1.1\r\nA: {}", "b".repeat(17_000));
        assert_eq!(scan(long_line.as_bytes()).unwrap_err().status, 431);
        let many = format!("GET / HTTP/1.1\r\n{}", "A: b\r\n".repeat(101));
        assert_eq!(scan(many.as_bytes()).unwrap_err().status, 431);
        let whole = format!("GET / HTTP/1.1\r\n{}\r\n", format!("A: {}\r\n", "b".repeat(1000)).repeat(70));
        assert_eq!(scan(whole.as_bytes()).unwrap_err().status, 431);
    }

    #[test]
    fn endless_empty_lines_are_refused() {
        assert!(scan(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n").unwrap().is_some());
        assert_eq!(scan("\r\n".repeat(100).as_bytes()).unwrap_err().status, 400);
    }

    #[test]
    fn absolute_form_targets_become_origin_form() {
        for (target, path) in [
            ("http://a.example/x/y?q=1", "/x/y?q=1"),
            ("HTTPS://a.example:8443/x", "/x"),
            ("http://a.example", "/"),
            ("http://a.example?q", "/?q"),
            ("/plain", "/plain"),
            ("*", "*"),
        ] {
            let h = head(&format!("GET {target} HTTP/1.1\r\n\r\n")).unwrap();
            assert_eq!(h.target, path, "{target}");
        }
    }

    #[test]
    fn versions_and_expectations() {
        assert_eq!(head("GET / HTTP/2.0\r\n\r\n").unwrap_err().status, 505);
        assert!(head("GET / HTTP/1.0\r\n\r\n").unwrap().last);
        let e = head("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        assert!(e.unwrap().expects_continue);
        assert_eq!(head("GET / HTTP/1.1\r\nExpect: x\r\n\r\n").unwrap_err().status, 417);
        let big = format!("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n", 1 << 30);
        assert_eq!(head(&big).unwrap_err().status, 413);
    }
}
