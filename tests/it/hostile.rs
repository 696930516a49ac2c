//! Hostile and broken input: slow clients, floods of idle connections,
//! clients that never read, and malformed requests. Each gets a clear
//! answer, changes nothing, and never stops the daemon serving others.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn vm(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Answered within `limit`, or the test fails.
fn served_within(d: &Daemon, limit: Duration) -> Duration {
    let t = Instant::now();
    let r = d.request("GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < limit, "healthz took {:?}", t.elapsed());
    t.elapsed()
}

/// A GET /healthz that reports failure instead of panicking (the
/// connection may be closed while the cap is reached).
fn try_healthz(addr: std::net::SocketAddr) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut data = Vec::new();
    s.read_to_end(&mut data).ok()?;
    String::from_utf8_lossy(&data)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn slow_clients_do_not_block_others_and_silent_ones_are_dropped() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_HEAD_TIMEOUT", "1"),
    ]);
    // 20 clients dribbling a request one byte every 300 ms.
    let dribblers: Vec<_> = (0..20)
        .map(|_| {
            let addr = d.addr;
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                for b in b"POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"type\"" {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            })
        })
        .collect();
    for _ in 0..10 {
        served_within(&d, Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(100));
    }
    // A client that sends half a request and goes silent is disconnected
    // at the head deadline.
    let mut silent = TcpStream::connect(d.addr).unwrap();
    silent
        .write_all(b"POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = silent.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "silent client kept for {:?}",
        t.elapsed()
    );
    drop(dribblers);
}

/// Thousands of idle connections: memory stays bounded, they are closed
/// after the idle timeout, and the daemon serves again. Figures go to the
/// test output.
#[test]
fn flood_of_idle_connections() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_IDLE_TIMEOUT", "2"),
        ("SINCH_DLR_MAX_CONNECTIONS", "1500"),
    ]);
    let pid = d.pid();
    let before = vm(pid, "VmRSS:");
    let idle: Vec<TcpStream> = (0..2000)
        .filter_map(|_| TcpStream::connect(d.addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = vm(pid, "VmRSS:");
    let threads = vm(pid, "Threads:");
    eprintln!(
        "flood: {} idle connections opened; RSS {before} kB before, {during} kB with them; {threads} threads",
        idle.len()
    );
    assert!(
        during < 64 * 1024,
        "RSS {during} kB with {} idle connections",
        idle.len()
    );
    assert!(
        threads < 1500 + 64 + 16,
        "{threads} threads: the connection cap did not hold"
    );
    // They time out; then everyone is served again.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if try_healthz(d.addr) == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let after = vm(pid, "VmRSS:");
    eprintln!(
        "flood: RSS {after} kB after they timed out; {} threads",
        vm(pid, "Threads:")
    );
    drop(idle);
}

/// Clients that never read their (large) answer: with two workers, both
/// stuck writing, the write timeout frees them and others are served.
#[test]
fn clients_that_never_read_do_not_hold_workers() {
    let d = Daemon::with_setup(
        &[
            ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
            ("SINCH_DLR_API_TOKEN", TOKEN),
            ("SINCH_DLR_WORKERS", "2"),
            ("SINCH_DLR_IO_TIMEOUT", "1"),
        ],
        |dir| {
            // ~30 MB of messages, so an export cannot fit in socket buffers.
            let store = sinch_dlr::store::Store::open(&dir.join("dlr.redb")).unwrap();
            let regs = (0..15_000)
                .map(|i| sinch_dlr::store::Registration {
                    to: format!("+1555{i:07}"),
                    batch_id: "BIG".into(),
                    body: Some("x".repeat(2000)),
                    client_reference: None,
                    sent_at: None,
                })
                .collect();
            store.apply(&sinch_dlr::store::Register(regs)).unwrap();
        },
    );
    let stuck: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(d.addr).unwrap();
            write!(
                s,
                "GET /api/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let took = served_within(&d, Duration::from_secs(10));
    eprintln!("served after {took:?} while two clients refused to read");
    drop(stuck);
}

#[test]
fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let d = Daemon::start();
    let bearer = format!("Bearer {TOKEN}");
    let api = |ct: &str, body: &[u8]| {
        d.request(
            "POST",
            "/api/messages",
            &[("Authorization", bearer.as_str()), ("Content-Type", ct)],
            body,
        )
    };
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(&str, Response, u16)> = vec![
        (
            "wrong content type",
            api("text/plain", br#"{"to":"+1555","batch_id":"B"}"#),
            415,
        ),
        (
            "form encoded",
            api("application/x-www-form-urlencoded", b"to=1555&batch_id=B"),
            415,
        ),
        (
            "invalid UTF-8",
            api(
                "application/json",
                b"{\"to\":\"\xff\xfe\",\"batch_id\":\"B\"}",
            ),
            400,
        ),
        (
            "deeply nested",
            api("application/json", nested.as_bytes()),
            400,
        ),
        (
            "huge number",
            api("application/json", br#"{"to":1e999999,"batch_id":"B"}"#),
            400,
        ),
        (
            "duplicate keys",
            api(
                "application/json",
                br#"{"to":"+1555","to":"+1666","batch_id":"B"}"#,
            ),
            400,
        ),
        (
            "path traversal",
            d.get("/api/messages/..%2F..%2Fetc%2Fpasswd"),
            404,
        ),
        (
            "absurd id",
            d.get("/api/messages/99999999999999999999999"),
            404,
        ),
        (
            "absurd limit",
            d.get("/api/messages?limit=99999999999999999999"),
            400,
        ),
        ("absurd since", d.get("/api/messages?since=9999-99-99"), 400),
        ("unknown parameter", d.get("/api/messages?drop=table"), 400),
        (
            "unsigned callback",
            d.request("POST", "/api/sinchCallbacks", &[], nested.as_bytes()),
            401,
        ),
        ("callback not JSON", d.callback(b"\xff\xfe\xfd"), 400),
        ("callback nested array", d.callback(nested.as_bytes()), 400),
    ];
    for (what, r, want) in cases {
        assert_eq!(r.status, want, "{what}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{what}: error is JSON");
    }
    // Header injection: a bare CR/LF in a header is a protocol error.
    let raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n";
    let r = raw_request(d.addr, raw);
    assert!(r.status == 400 || r.status == 200, "{}", r.status);
    assert!(r.header("X-Evil").is_none() && r.header("b").is_none());
    let stats = d.get("/api/stats").json();
    assert_eq!(stats["messages"], 0, "no bad request stored a message");
    let quarantined = d.get("/api/quarantine").json()["quarantine"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        quarantined, 2,
        "only the two authenticated callbacks are kept, in quarantine"
    );
}

/// Every endpoint that returns or changes data needs the token.
#[test]
fn every_data_endpoint_needs_the_token() {
    let endpoints = [
        ("GET", "/api/messages"),
        ("GET", "/api/messages/1"),
        ("POST", "/api/messages"),
        ("POST", "/api/messages/send"),
        ("GET", "/api/batches/B"),
        ("GET", "/api/inbound"),
        ("GET", "/api/inbound/1"),
        ("GET", "/api/quarantine"),
        ("POST", "/api/quarantine/1/retry"),
        ("GET", "/api/stats"),
        ("GET", "/api/export"),
        ("GET", "/api/backup"),
        ("POST", "/api/reconcile"),
    ];
    let with_token = Daemon::start();
    let without = Daemon::with_env(&[("SINCH_DLR_CALLBACK_SECRETS", SECRET)]);
    for (method, path) in endpoints {
        let r = with_token.request(method, path, &[], b"{}");
        assert_eq!(r.status, 401, "{method} {path} without token");
        let r = with_token.request(method, path, &[("Authorization", "Bearer wrong")], b"{}");
        assert_eq!(r.status, 401, "{method} {path} wrong token");
        // A right token resets this address's failed-guess count, so the
        // next wrong one is answered 401 again rather than 429 (throttle.rs).
        assert_eq!(with_token.get("/api/stats").status, 200);
        let r = without.request(
            method,
            path,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            b"{}",
        );
        assert_eq!(r.status, 403, "{method} {path} with no token configured");
    }
}

/// No secret, token or expected signature in any answer or log line, even
/// at trace level.
#[test]
fn secrets_never_leak_into_answers_or_logs() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_CALLBACK_BASIC", "sinch:basic-password"),
        ("LOG_LEVEL", "trace"),
    ]);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let mut answers = String::new();
    for secret in ["wrong-1", "wrong-2"] {
        let headers = signed_headers(secret, &body);
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        answers += &d
            .request("POST", "/api/sinchCallbacks", &refs, &body)
            .text();
    }
    answers += &d
        .request(
            "GET",
            "/api/messages",
            &[("Authorization", "Bearer nearly-the-token")],
            b"",
        )
        .text();
    answers += &d.callback(&body).text();
    answers += &d.request("GET", "/metrics", &[], b"").text();
    let expected_sig =
        sinch_dlr::auth::sign(SECRET, &body, "01JTESTNONCE0000000000000", "1740910531");
    let log = d.stderr();
    for needle in [SECRET, TOKEN, "basic-password", expected_sig.as_str()] {
        assert!(!answers.contains(needle), "{needle:?} in an answer");
        assert!(!log.contains(needle), "{needle:?} in the log:\n{log}");
    }
    let out = binary(d.path())
        .args(["check-config"])
        .env("SINCH_DLR_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
}

/// Others who can write the secret file choose the secret. (Readable by
/// all is accepted with a warning: Docker and Kubernetes mount secrets so;
/// see config.rs.)
#[test]
fn secret_files_others_can_write_are_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "s3cret\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = binary(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SINCH_DLR_CALLBACK_SECRETS_FILE", &file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writable by group or others"));
}

/// Refused callbacks and long paths cannot flood the log: refusal warnings
/// are kept to 20 per 10 s (with a count of the rest), and an access line
/// shows at most 200 bytes of the path.
#[test]
fn a_client_cannot_flood_the_log() {
    let d = Daemon::start();
    let body = recipient_report(
        "flood",
        "+15550000001",
        "Delivered",
        0,
        "2026-11-30T00:00:00Z",
    );
    let started = Instant::now();
    for _ in 0..200 {
        let r = d.request(
            "POST",
            "/api/sinchCallbacks",
            &[("x-sinch-webhook-signature", "bad")],
            &body,
        );
        assert_eq!(r.status, 401);
    }
    let long = format!("/{}", "a".repeat(8000));
    for _ in 0..50 {
        assert_eq!(d.request("GET", &long, &[], b"").status, 404);
    }
    // Any token is a method to HTTP, as long as a URL may be.
    let method = "X".repeat(8000);
    for _ in 0..50 {
        assert_eq!(d.request(&method, "/healthz", &[], b"").status, 405);
    }
    let log = d.stderr();
    let refused = log
        .lines()
        .filter(|l| l.contains("callback refused"))
        .count();
    // 20 per 10 s window (a slow machine may span more than one).
    let windows = started.elapsed().as_secs() as usize / 10 + 1;
    assert!(
        (1..=20 * windows + 1).contains(&refused),
        "{refused} refusal lines in {windows} window(s)"
    );
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 400, "a log line of {longest} bytes");
    assert!(log.contains("…(+7801 bytes)"), "the cut is said");
}

/// /metrics is open by default and its stale count walks an index: it is
/// worked out at most every 10 s, so a flood of scrapes costs one walk.
#[test]
fn the_stale_gauge_is_worked_out_at_most_every_ten_seconds() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_STALE_AFTER", "0"),
    ]);
    let stale = |d: &Daemon| -> String {
        let text = d.get("/metrics").text();
        let line = text
            .lines()
            .find(|l| l.starts_with("sinch_dlr_stale_messages "))
            .unwrap_or_else(|| panic!("no stale gauge in:\n{text}"));
        line.to_string()
    };
    let register = |to: &str| {
        let r = d.post_api(
            "/api/messages",
            &serde_json::json!({"to": to, "batch_id": "STALE"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    register("+15550000001");
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(stale(&d), "sinch_dlr_stale_messages 1");
    register("+15550000002");
    std::thread::sleep(Duration::from_millis(10));
    for _ in 0..20 {
        assert_eq!(
            stale(&d),
            "sinch_dlr_stale_messages 1",
            "the count of 10 s ago"
        );
    }
}
