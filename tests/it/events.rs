//! The event log from outside: every stored change is one event (never one
//! for a duplicate), pulled with GET /api/events (long poll), followed with
//! SSE (resuming from Last-Event-ID), and pushed to webhook endpoints with
//! Standard Webhooks signatures, retries, 410, replay, rotation and
//! restarts (at least once, in order, no gaps).

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

fn daemon(extra: &[(&str, &str)]) -> Daemon {
    let mut env = vec![
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        // Quick retries, so a test sees the whole schedule.
        ("SINCH_DLR_WEBHOOK_RETRY_SCHEDULE", "0,0.1,0.1,0.1,0.1"),
    ];
    env.extend_from_slice(extra);
    Daemon::with_env(&env)
}

fn events(d: &Daemon, query: &str) -> Vec<Value> {
    let r = d.get(&format!("/api/events?limit=1000&{query}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["events"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn delivered(d: &Daemon, recipient: &str, status: &str) -> Response {
    let r = d.callback(&recipient_report(
        "EVB",
        recipient,
        status,
        0,
        "2026-11-30T10:00:00Z",
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

fn api(d: &Daemon, method: &str, path: &str, body: &Value) -> Response {
    let body = serde_json::to_vec(body).unwrap();
    d.request(
        method,
        path,
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
}

/// A webhook receiver answering as `answer` says (it gets the 0-based
/// index of the request).
fn receiver(answer: impl Fn(usize) -> u16 + Send + 'static) -> FakeSinch {
    FakeSinch::start(move |_, n| (answer(n), String::new(), Vec::new()))
}

fn endpoint(d: &Daemon, url: &str) -> Value {
    let r = d.post_api("/api/endpoints", &json!({ "url": url }));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Waits until `check` holds on the receiver's requests.
fn wait_for(rx: &FakeSinch, what: &str, check: impl Fn(&[Recorded]) -> bool) -> Vec<Recorded> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = rx.requests();
        if check(&got) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: got {} requests",
            got.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn seqs(got: &[Recorded]) -> Vec<u64> {
    got.iter()
        .map(|r| {
            let id = r.header("webhook-id").unwrap();
            id.rsplit('_').next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn every_stored_change_is_one_event_and_a_duplicate_is_none() {
    let d = daemon(&[]);
    let reg = json!({"to": "+15557000001", "batch_id": "EVB", "body": "hi"});
    assert_eq!(d.post_api("/api/messages", &reg).status, 201);
    assert_eq!(d.post_api("/api/messages", &reg).status, 200, "a repeat");
    delivered(&d, "15557000001", "Dispatched");
    delivered(&d, "15557000001", "Dispatched"); // Sinch's retry
    delivered(&d, "15557000001", "Delivered");
    let mo = payload("mo_text");
    for _ in 0..2 {
        assert_eq!(d.callback(&mo).status, 200);
    }
    let batch = payload("delivery_report_sms.full");
    for _ in 0..2 {
        assert_eq!(d.callback(&batch).status, 200);
    }
    // Authenticated but unusable: quarantined.
    assert_eq!(
        d.callback(br#"{"type":"recipient_delivery_report_sms"}"#)
            .status,
        200
    );
    let all = events(&d, "");
    assert_eq!(
        types(&all),
        [
            "message.registered",
            "message.status_updated",
            "message.status_updated",
            "inbound.received",
            "batch_report.received",
            "message.status_updated",
            "message.status_updated",
            "callback.quarantined",
        ]
    );
    let seq: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seq, (1..=8).collect::<Vec<_>>());
    // data.message is the message exactly as the API shows it then.
    let last_update = &all[2];
    assert_eq!(last_update["data"]["update"]["status"], "Delivered");
    let now = d.get("/api/messages/1").json();
    assert_eq!(last_update["data"]["message"], now);
    assert!(
        !all[7]["data"]
            .to_string()
            .contains("recipient_delivery_report_sms"),
        "no body"
    );
    let ids: std::collections::HashSet<&str> =
        all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 8, "ids are unique");
    // A type filter moves the cursor past what it passed over.
    let r = d.get("/api/events?types=inbound.received&limit=10").json();
    assert_eq!(types(r["events"].as_array().unwrap()), ["inbound.received"]);
    let bad = d.get("/api/events?types=message.delivered");
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("message.status_updated"),
        "{}",
        bad.text()
    );
}

#[test]
fn a_long_poll_answers_at_a_commit_and_empty_when_its_wait_runs_out() {
    let d = daemon(&[]);
    let t = Instant::now();
    let r = d.get("/api/events?after=0&wait=1");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "held for its wait"
    );
    assert_eq!(
        r.json(),
        json!({"events": [], "next_after": 0, "oldest_seq": 0})
    );
    let addr = d.addr;
    let poll = std::thread::spawn(move || {
        let r = request(
            addr,
            "GET",
            "/api/events?after=0&wait=30",
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            b"",
        );
        (Instant::now(), r)
    });
    std::thread::sleep(Duration::from_millis(300));
    delivered(&d, "15557000002", "Delivered");
    let committed = Instant::now();
    let (answered, r) = poll.join().unwrap();
    let late = answered.saturating_duration_since(committed);
    eprintln!("long poll answered {late:?} after the callback's 200");
    assert!(
        late < Duration::from_millis(100),
        "answered {late:?} after the commit"
    );
    assert_eq!(
        types(r.json()["events"].as_array().unwrap()),
        ["message.status_updated"]
    );
}

#[test]
fn sigterm_answers_held_polls_at_once() {
    let mut d = daemon(&[]);
    let addr = d.addr;
    let poll = std::thread::spawn(move || {
        request(
            addr,
            "GET",
            "/api/events?wait=60",
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            b"",
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert!(d.terminate().success());
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        t.elapsed()
    );
    assert_eq!(poll.join().unwrap().status, 200);
}

#[test]
fn a_stream_resumes_after_last_event_id_and_sends_events_as_they_commit() {
    let d = daemon(&[]);
    for i in 0..3 {
        delivered(&d, &format!("1555700010{i}"), "Delivered");
    }
    let mut first = open_event_stream(&d, "");
    let got = read_sse(&mut first, 3);
    assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(got[0].1, "message.status_updated");
    assert_eq!(got[0].2["seq"], 1);
    // Live: an event reaches an open stream as it commits.
    let t = Instant::now();
    delivered(&d, "15557000200", "Delivered");
    assert_eq!(read_sse(&mut first, 1)[0].0, 4);
    eprintln!("stream got the event {:?} after the callback", t.elapsed());
    drop(first);
    // A reconnect with Last-Event-ID: 2 gets 3 and 4, not 1 and 2.
    let mut again = open_event_stream(&d, "Last-Event-ID: 2\r\n");
    let got = read_sse(&mut again, 2);
    assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), [3, 4]);
}

/// A cursor past the newest event (a database restored from an older
/// backup, or another one) is refused with 409 rather than left waiting
/// for seqs that will be given to other events; at the end it is fine.
#[test]
fn a_cursor_past_the_end_of_the_log_is_a_conflict_not_a_wait() {
    let d = daemon(&[]);
    for i in 0..2 {
        delivered(&d, &format!("1555700030{i}"), "Delivered");
    }
    assert_eq!(events(&d, "after=2").len(), 0, "at the end: empty, fine");
    let t = Instant::now();
    let r = d.get("/api/events?after=7&wait=30");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(5), "answered at once");
    let why = r.json()["error"].as_str().unwrap().to_string();
    assert!(why.contains("restored") && why.contains("after=0"), "{why}");
    let r = d.request(
        "GET",
        "/api/events/stream",
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("Last-Event-ID", "3"),
        ],
        b"",
    );
    assert_eq!(r.status, 409, "{}", r.text());
    let mut at_end = open_event_stream(&d, "Last-Event-ID: 2\r\n");
    delivered(&d, "15557000400", "Delivered");
    assert_eq!(read_sse(&mut at_end, 1)[0].0, 3);
}

#[test]
fn streams_beyond_the_cap_get_503_with_retry_after() {
    let d = daemon(&[("SINCH_DLR_MAX_STREAMS", "2")]);
    let _a = open_event_stream(&d, "");
    let _b = open_event_stream(&d, "");
    let r = d.get("/api/events/stream");
    assert_eq!(r.status, 503);
    assert!(r.header("Retry-After").is_some());
    // Held long polls over the cap answer at once instead.
    let t = Instant::now();
    assert_eq!(d.get("/api/events?wait=30").status, 200);
    assert!(t.elapsed() < Duration::from_secs(5));
    // Other requests are not held up by the open streams.
    assert_eq!(d.get("/api/stats").status, 200);
}

#[test]
fn a_receiver_that_fails_then_recovers_gets_every_event_in_order_with_stable_ids() {
    let d = daemon(&[]);
    let rx = receiver(|n| if n < 3 { 500 } else { 200 });
    let e = endpoint(&d, &format!("{}/hook", rx.url));
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    for i in 0..5 {
        delivered(&d, &format!("1555700030{i}"), "Delivered");
    }
    let got = wait_for(&rx, "5 events after 3 failures", |g| g.len() >= 8);
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids[0], ids[1], "a retry keeps the id");
    assert_eq!(ids[0], ids[3]);
    let mut firsts = seqs(&got);
    firsts.dedup();
    assert_eq!(firsts, [1, 2, 3, 4, 5], "in order, none missing");
    let body: Value = got[3].json();
    assert_eq!(body["type"], "message.status_updated");
    assert!(body["timestamp"].is_string() && body["data"]["message"].is_object());
    let shown = d.get(&format!("/api/endpoints/{}", e["id"])).json();
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown only at creation"
    );
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["failed_attempts"], 3);
}

#[test]
fn a_410_disables_the_endpoint_and_an_exhausted_schedule_marks_it_failing() {
    let d = daemon(&[]);
    let gone = receiver(|_| 410);
    let g = endpoint(&d, &gone.url);
    let down = receiver(|_| 503);
    let f = endpoint(&d, &down.url);
    delivered(&d, "15557000400", "Delivered");
    let state = |id: &Value| d.get(&format!("/api/endpoints/{id}")).json();
    let deadline = Instant::now() + Duration::from_secs(20);
    while state(&g["id"])["state"] != "disabled" || state(&f["id"])["state"] != "failing" {
        assert!(
            Instant::now() < deadline,
            "{} / {}",
            state(&g["id"]),
            state(&f["id"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(gone.requests().len(), 1, "no retry after 410");
    assert_eq!(
        down.requests().len(),
        5,
        "one attempt per entry of the schedule"
    );
    // Re-enabled, it goes on from its position.
    let r = api(
        &d,
        "PATCH",
        &format!("/api/endpoints/{}", f["id"]),
        &json!({"enabled": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "active");
}

#[test]
fn a_hanging_receiver_does_not_delay_callbacks() {
    let d = daemon(&[("SINCH_DLR_WEBHOOK_TIMEOUT", "30")]);
    let hang = FakeSinch::start(|_, _| {
        std::thread::sleep(Duration::from_secs(10));
        (200, String::new(), Vec::new())
    });
    endpoint(&d, &hang.url);
    delivered(&d, "15557000500", "Delivered");
    std::thread::sleep(Duration::from_millis(300)); // the delivery is hanging now
    let t = Instant::now();
    for i in 0..20 {
        delivered(&d, &format!("155570006{i:02}"), "Delivered");
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "20 callbacks took {:?}",
        t.elapsed()
    );
}

#[test]
fn after_sigkill_delivery_resumes_with_no_gap() {
    let mut d = daemon(&[]);
    let rx = receiver(|_| 200);
    endpoint(&d, &rx.url);
    for i in 0..50 {
        delivered(&d, &format!("155570070{i:02}"), "Delivered");
    }
    d.kill();
    let d = d.restart_stopped();
    for i in 0..10 {
        delivered(&d, &format!("155570080{i:02}"), "Delivered");
    }
    let got = wait_for(&rx, "60 events", |g| {
        let mut s = seqs(g);
        s.sort();
        s.dedup();
        s.len() == 60
    });
    let mut s = seqs(&got);
    s.dedup();
    let mut sorted = s.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted,
        (1..=60).collect::<Vec<_>>(),
        "every event, none skipped"
    );
    eprintln!(
        "{} deliveries for 60 events (re-sent after the kill: allowed)",
        got.len()
    );
}

#[test]
fn replay_delivers_again_from_the_given_seq() {
    let d = daemon(&[]);
    let rx = receiver(|_| 200);
    let e = endpoint(&d, &rx.url);
    for i in 0..4 {
        delivered(&d, &format!("155570090{i}"), "Delivered");
    }
    wait_for(&rx, "4 events", |g| g.len() == 4);
    let r = d.post_api(
        &format!("/api/endpoints/{}/replay", e["id"]),
        &json!({"after": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = wait_for(&rx, "3 replayed", |g| g.len() == 7);
    assert_eq!(seqs(&got), [1, 2, 3, 4, 2, 3, 4]);
}

/// Standard Webhooks' check: HMAC-SHA256 of "{id}.{timestamp}.{body}".
fn verifies(secret: &str, r: &Recorded) -> bool {
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.",
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap()
    );
    mac.update(signed.as_bytes());
    mac.update(&r.body);
    let want = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature")
        .unwrap()
        .split(' ')
        .any(|s| s == want)
}

#[test]
fn after_a_rotation_both_secrets_verify() {
    let d = daemon(&[]);
    let rx = receiver(|_| 200);
    let e = endpoint(&d, &rx.url);
    let old = e["secret"].as_str().unwrap().to_string();
    delivered(&d, "15557001000", "Delivered");
    wait_for(&rx, "1", |g| g.len() == 1);
    let r = d.post_api(
        &format!("/api/endpoints/{}/rotate-secret", e["id"]),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let new = r.json()["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    delivered(&d, "15557001001", "Delivered");
    let got = wait_for(&rx, "2", |g| g.len() == 2);
    assert!(verifies(&old, &got[0]) && !verifies(&new, &got[0]));
    assert!(
        verifies(&old, &got[1]) && verifies(&new, &got[1]),
        "both during the overlap"
    );
    assert!(
        !d.stderr().contains(&new[6..]),
        "a secret never reaches the log"
    );
}

/// The public Standard Webhooks library (PyPI `standardwebhooks`, which
/// `.ci/run` installs) verifies what we send: proof against an
/// implementation nobody here wrote.
#[test]
fn the_public_standardwebhooks_library_verifies_our_deliveries() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        have,
        "needs Python's standardwebhooks: pip install standardwebhooks (.ci/run does)"
    );
    let d = daemon(&[]);
    let rx = receiver(|_| 200);
    let e = endpoint(&d, &rx.url);
    let secret = e["secret"].as_str().unwrap();
    delivered(&d, "15557001100", "Delivered");
    assert_eq!(d.callback(&payload("mo_text")).status, 200);
    let got = wait_for(&rx, "2", |g| g.len() == 2);
    for r in &got {
        let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, headers, body = sys.argv[1], json.loads(sys.argv[2]), sys.stdin.buffer.read()
payload = Webhook(secret).verify(body, headers)
print(payload["type"])
"#;
        let headers = json!({
            "webhook-id": r.header("webhook-id"),
            "webhook-timestamp": r.header("webhook-timestamp"),
            "webhook-signature": r.header("webhook-signature"),
        });
        let mut child = std::process::Command::new("python3")
            .args(["-c", script, secret, &headers.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&r.body).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kind = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(kind, r.json()["type"].as_str().unwrap());
    }
}

#[test]
fn the_events_command_prints_the_log_and_follows_it_live() {
    let d = daemon(&[]);
    delivered(&d, "15557001200", "Delivered");
    let cli = || {
        let mut c = binary(d.path());
        c.env("SINCH_DLR_LISTEN", d.addr.to_string())
            .env("SINCH_DLR_API_TOKEN", TOKEN);
        c
    };
    let out = cli().args(["events"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        events(&d, ""),
        "one line per event, as the API has it"
    );
    let table = cli()
        .args(["events", "--format", "table"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        table.contains("message.status_updated") && table.contains("Delivered"),
        "{table}"
    );
    // --follow prints what is stored after it started.
    let mut follow = cli()
        .args(["events", "--follow", "--after", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(follow.stdout.take().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    delivered(&d, "15557001201", "Delivered");
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let _ = follow.kill();
    let _ = follow.wait();
    let e: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(e["seq"], 2);
    assert_eq!(e["data"]["message"]["recipient"], "15557001201");
}
