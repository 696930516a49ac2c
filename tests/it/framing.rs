//! Request framing read strictly (RFC 9112): each case the edge once got
//! wrong — ambiguous lengths, bad chunks, bare CR or NUL, `Expect`, non-ASCII
//! header values, absolute-form targets, a head over the limit in one
//! read — answered exactly, and nothing after a bad request run as another.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The head of a callback signed over `body`, with `extra` header lines
/// (ending the head is up to `extra`).
fn signed_head(body: &[u8], extra: &str) -> Vec<u8> {
    let mut head = String::from("POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\n");
    for (k, v) in signed_headers(SECRET, body) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(extra);
    head.into_bytes()
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn framing_is_strict() {
    let d = secret_daemon(&[]);
    let body = recipient_report(
        "frame",
        "+15550000001",
        "Delivered",
        0,
        "2026-11-30T00:00:00Z",
    );
    // Two different lengths: 400 and closed; the rest is never run as a
    // second request.
    let two = signed_head(
        &body,
        &format!(
            "Content-Length: 5\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
    );
    assert_eq!(
        statuses(
            d.addr,
            &[two, body.clone(), HEALTHZ.as_bytes().to_vec()].concat()
        ),
        vec![400]
    );
    let with_length = |cl: &str| {
        let raw =
            format!("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\n{HEALTHZ}");
        statuses(d.addr, raw.as_bytes())
    };
    for bad in ["-1", "0x10", "abc", "5, 6", "+5", "", "1 2"] {
        assert_eq!(with_length(bad), vec![400], "Content-Length: {bad}");
    }
    // A well-formed number too large for memory is too large, not 0.
    assert_eq!(with_length("99999999999999999999999999"), vec![413]);
    // Chunked plus Content-Length: read as chunked, answered, closed.
    let chunked = [
        signed_head(
            &body,
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ),
        format!("{:x}\r\n", body.len()).into_bytes(),
        body.clone(),
        b"\r\n0\r\n\r\n".to_vec(),
        HEALTHZ.as_bytes().to_vec(),
    ]
    .concat();
    assert_eq!(statuses(d.addr, &chunked), vec![200]);
    // A bad chunk size: 400, and what follows is not parsed.
    let bad_chunk = format!(
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{HEALTHZ}"
    );
    assert_eq!(statuses(d.addr, bad_chunk.as_bytes()), vec![400]);
    // Bare CR, NUL, folding, bad names: 400.
    for bad in [
        "X-A: a\rb\r\n",
        "X-A: a\0b\r\n",
        "X-A: a\r\n folded\r\n",
        "X A: b\r\n",
    ] {
        let raw = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{bad}\r\n{HEALTHZ}");
        assert_eq!(statuses(d.addr, raw.as_bytes()), vec![400], "{bad:?}");
    }
    assert_eq!(
        statuses(d.addr, b"GET /healthz HTTP/2.0\r\n\r\n"),
        vec![505]
    );
    // Keep-alive and pipelining still work for well-formed requests.
    assert_eq!(
        statuses(
            d.addr,
            format!("{HEALTHZ}{HEALTHZ}GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                .as_bytes()
        ),
        vec![200, 200, 200]
    );
    let metrics = d.get("/metrics").text();
    assert!(
        metrics.contains("sinch_dlr_edge_refused_total{status=\"400\"}"),
        "{metrics}"
    );
}

#[test]
fn expect_continue_is_answered_without_a_body_length() {
    let d = secret_daemon(&[]);
    // Too large: 413 straight away, no 100 Continue first.
    let big = "POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000000\r\n\r\n";
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(big.as_bytes()).unwrap();
    let mut data = Vec::new();
    let _ = s.read_to_end(&mut data);
    assert!(
        data.starts_with(b"HTTP/1.1 413"),
        "{:?}",
        String::from_utf8_lossy(&data)
    );
    // A real callback: a bare 100 Continue, then the body, then 200.
    let body = recipient_report(
        "expect",
        "+15550000002",
        "Delivered",
        0,
        "2026-11-30T00:00:00Z",
    );
    let head = signed_head(
        &body,
        &format!(
            "Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
    );
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&head).unwrap();
    let mut first = [0u8; 25];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    let mut rest = [0u8; 12];
    s.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"HTTP/1.1 200");
}

#[test]
fn a_non_ascii_header_value_on_a_signed_callback_is_stored() {
    let d = secret_daemon(&[]);
    let body = recipient_report(
        "cafe",
        "+15550000003",
        "Delivered",
        0,
        "2026-11-30T00:00:00Z",
    );
    let mut raw = signed_head(&body, "X-Other: caf");
    raw.push(0xe9);
    raw.extend_from_slice(
        format!(
            "\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    raw.extend_from_slice(&body);
    let r = raw_request(d.addr, &raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], "stored");
}

#[test]
fn a_signed_callback_in_absolute_form_is_stored() {
    // RFC 9112 3.2.2: a server must accept the absolute-form target; a
    // 404 on a signed callback loses it for good.
    let d = secret_daemon(&[]);
    let body = recipient_report(
        "absolute",
        "+15550000004",
        "Delivered",
        0,
        "2026-11-30T00:00:00Z",
    );
    let mut raw = signed_head(
        &body,
        &format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
    );
    let origin = b"POST /api/sinchCallbacks ";
    assert!(raw.starts_with(origin));
    raw.splice(
        ..origin.len(),
        b"POST http://dlr.example.com/api/sinchCallbacks "
            .iter()
            .copied(),
    );
    raw.extend_from_slice(&body);
    let r = raw_request(d.addr, &raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], "stored");
}

#[test]
fn a_head_over_the_limit_is_refused_when_it_arrives_in_one_piece() {
    // The head limit held only while a head was incomplete: one that
    // ended inside the same read (up to 8 KiB) was taken at any size.
    let d = secret_daemon(&[
        ("SINCH_DLR_MAX_HEAD", "1024"),
        ("SINCH_DLR_MAX_HEADER_LINE", "256"),
    ]);
    let headers: String = (0..60)
        .map(|i| format!("X-H{i:03}: {}\r\n", "v".repeat(100)))
        .collect();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
    assert!(head.len() > 6 * 1024);
    assert_eq!(statuses(d.addr, head.as_bytes()), vec![431]);
}
