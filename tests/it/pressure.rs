//! Back-pressure (issue #17, section 4): a daemon that cannot keep up answers
//! callbacks 429 with `Retry-After` instead of letting them pile up, and a
//! client that retries 429s as Sinch does gets every callback stored, once.
//! The store is slowed down with SINCH_DLR_TEST_COMMIT_DELAY (tests only).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::net::SocketAddr;

use crate::support::{Daemon, Response, SECRET, TOKEN, recipient_report, request, signed_headers};

const CALLBACKS: usize = 24;
const CLIENTS: usize = 12;

/// One commit a second; a callback may wait 0.3 s.
fn slow_daemon(workers: &str) -> Daemon {
    Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_TEST_COMMIT_DELAY", "1"),
        ("SINCH_DLR_CALLBACK_MAX_WAIT", "0.3"),
        ("SINCH_DLR_WORKERS", workers),
    ])
}

fn body(i: usize) -> Vec<u8> {
    recipient_report(
        &format!("01JPRESSURE{i:015}"),
        &format!("1555123{i:04}"),
        "Delivered",
        0,
        "2025-03-02T10:15:41.002Z",
    )
}

/// Posts until a 2xx, sleeping between tries like Sinch's schedule (5 s,
/// doubling) scaled down to a tenth and capped at 2 s, for up to two
/// minutes (Sinch keeps trying for ~23 h; a slow store here takes one
/// callback a second, so 24 of them need ~25 s). Returns the 429s it got.
fn deliver(addr: SocketAddr, body: &[u8]) -> usize {
    let mut wait = Duration::from_millis(500);
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let r = post_callback(addr, body);
        match r.status {
            200 => {
                assert_eq!(r.json()["result"], "stored", "{}", r.text());
                return refused;
            }
            429 => {
                assert_eq!(
                    r.header("Retry-After"),
                    Some("5"),
                    "429 without Retry-After"
                );
                refused += 1;
            }
            other => panic!("callback answered {other}: {}", r.text()),
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_secs(2));
    }
    panic!("callback still refused after two minutes of retries");
}

/// A signed callback, from any thread (`Daemon` stays on the test's).
fn post_callback(addr: SocketAddr, body: &[u8]) -> Response {
    let headers = signed_headers(SECRET, body);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request(addr, "POST", "/api/sinchCallbacks", &refs, body)
}

#[test]
fn overloaded_store_answers_429_then_stores_every_callback_once() {
    // One worker, held by a callback waiting on its slow commit: the others
    // find no place. (With several workers the writer's own check could
    // refuse first, depending on how the clients' threads were scheduled;
    // with one, a callback only reaches the writer once it is idle.)
    overload("1", "workers");
}

#[test]
fn a_writer_behind_answers_429_even_with_workers_free() {
    // Plenty of workers: the writer's lag alone refuses callbacks.
    overload("64", "writer");
}

/// Twelve clients post 24 callbacks to a slow store, retrying 429s; some
/// are refused for `reason`, all end up stored exactly once.
fn overload(workers: &str, reason: &str) {
    let mut daemon = slow_daemon(workers);
    let addr = daemon.addr;
    let next = AtomicUsize::new(0);
    let refused = Mutex::new(0);
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= CALLBACKS {
                        break;
                    }
                    let n = deliver(addr, &body(i));
                    *refused.lock().unwrap() += n;
                }
            });
        }
    });
    let refused = *refused.lock().unwrap();
    assert!(refused > 0, "{CALLBACKS} callbacks on a slow store: no 429");
    // Load has dropped: a new callback is taken at once.
    let r = daemon.callback(&body(CALLBACKS));
    assert_eq!(r.status, 200, "{}", r.text());
    // Every one stored, each exactly once.
    let stats = daemon.get("/api/stats").json();
    assert_eq!(stats["messages"], CALLBACKS + 1, "{stats}");
    assert_eq!(stats["callbacks"]["stored"], CALLBACKS + 1, "{stats}");
    let again = daemon.callback(&body(0));
    assert_eq!(again.json()["result"], "duplicate");
    let metrics = daemon.get("/metrics").text();
    let shed: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("sinch_dlr_callbacks_shed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(shed as usize, refused, "{metrics}");
    let by_reason = format!("sinch_dlr_callbacks_shed_total{{reason=\"{reason}\"}} ");
    assert!(
        metrics.contains(&by_reason),
        "no 429 for {reason}:\n{metrics}"
    );
    daemon.terminate();
    daemon.assert_consistent();
}

#[test]
fn unauthenticated_callbacks_still_get_401_when_busy() {
    // Back-pressure comes after authentication: a stranger learns nothing
    // new, and a 429 is never given to a request Sinch did not sign.
    let daemon = slow_daemon("4");
    let r = daemon.request(
        "POST",
        "/api/sinchCallbacks",
        &[("Content-Type", "application/json")],
        &body(0),
    );
    assert_eq!(r.status, 401);
}
