//! The operators' view: list queries and their indexes, batches, inbound,
//! quarantine, stats, metrics, retention, backup, and the CLI against a
//! running and a stopped daemon.

use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const B1: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";
const B2: &str = "01JN8Q3M5K7P9R1T3V5X7Z9B1D";

/// Five messages in two batches, a batch report, two inbound messages and
/// a quarantined body.
fn populated() -> Daemon {
    let d = Daemon::start();
    let reg = |to: &str, batch: &str, r: Option<&str>| {
        let r = d.post_api(
            "/api/messages",
            &json!({"to": to, "batch_id": batch, "client_reference": r}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    reg("+15551230001", B1, Some("order-1"));
    reg("+15551230002", B1, Some("order-2"));
    reg("+15551230003", B1, None);
    reg("+15551230001", B2, Some("order-1"));
    reg("+46700000001", B2, None);
    d.callback(&recipient_report(
        B1,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    d.callback(&recipient_report(
        B1,
        "15551230002",
        "Failed",
        15,
        "2025-03-02T10:15:42Z",
    ));
    d.callback(&recipient_report(
        B1,
        "15551230003",
        "Dispatched",
        401,
        "2025-03-02T10:15:30Z",
    ));
    d.callback(&recipient_report(
        B2,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:16:00Z",
    ));
    d.callback(&payload("mo_text"));
    d.callback(&payload("mo_binary"));
    d.callback(&payload("delivery_report_mms.summary"));
    d.callback(br#"{"type":"recipient_delivery_report_sms","batch_id":"B"}"#);
    d
}

#[test]
fn message_lists_use_every_filter() {
    let d = populated();
    let list = |q: &str| {
        let r = d.get(&format!("/api/messages{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        ids(&r.json(), "messages")
    };
    assert_eq!(list(""), [5, 4, 3, 2, 1], "newest first");
    assert_eq!(list(&format!("?batch_id={B1}")), [3, 2, 1]);
    assert_eq!(list("?to=%2B1%20555-123-0001"), [4, 1], "digits rule");
    assert_eq!(
        list("?to=15551230001&batch_id=01JN8Q3M5K7P9R1T3V5X7Z9B1D"),
        [4]
    );
    assert_eq!(list("?client_reference=order-1"), [4, 1]);
    assert_eq!(list("?status=delivered"), [4, 1], "latest status, any case");
    assert_eq!(
        list("?status=Delivered&to=15551230001&client_reference=order-1"),
        [4, 1]
    );
    assert_eq!(list("?status=Dispatched"), [3]);
    assert_eq!(list("?since=2000-01-01&until=2999-01-01"), [5, 4, 3, 2, 1]);
    assert_eq!(list("?until=2000-01-01"), Vec::<u64>::new());
    assert_eq!(
        list("?status=Delivered&since=2999-01-01"),
        Vec::<u64>::new()
    );
    let page = d.get("/api/messages?limit=1").json();
    assert!(
        page["messages"][0].get("status_updates").is_none(),
        "lists carry summaries"
    );
    assert_eq!(page["messages"][0]["update_count"], 0);
}

#[test]
fn bad_list_parameters_are_400_naming_them() {
    let d = Daemon::start();
    for (q, name) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("since=last-week", "since"),
        ("until=13", "until"),
        ("cursor=not-a-cursor", "cursor"),
        ("to=somebody", "to"),
        ("sort=asc", "sort"),
    ] {
        let r = d.get(&format!("/api/messages?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().starts_with(name),
            "{q}: {}",
            r.text()
        );
    }
    assert_eq!(d.get("/api/inbound?limit=-1").status, 400);
    assert_eq!(d.get("/api/quarantine?limit=x").status, 400);
    assert_eq!(
        d.get("/api/messages/..%2F..%2Fetc").status,
        404,
        "ids are numbers; anything else names nothing that can exist"
    );
}

/// Pages follow each other while new messages arrive: every message that
/// existed at the first page is seen exactly once.
#[test]
fn pagination_is_stable_while_writes_happen() {
    let d = Daemon::start();
    for i in 0..25 {
        d.post_api(
            "/api/messages",
            &json!({"to": format!("+1555000{i:04}"), "batch_id": B1}),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/messages?limit=4&cursor={c}"),
            None => "/api/messages?limit=4".to_string(),
        };
        let page = d.get(&q).json();
        seen.extend(ids(&page, "messages"));
        // Writes between pages: new messages and new statuses.
        d.post_api(
            "/api/messages",
            &json!({"to": format!("+1666000{pages:04}"), "batch_id": B2}),
        );
        d.callback(&recipient_report(
            B1,
            &format!("1555000{:04}", pages),
            "Delivered",
            0,
            "2025-01-01T00:00:00Z",
        ));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).rev().collect::<Vec<u64>>());
    assert_eq!(pages, 7);
}

#[test]
fn batch_view_counts_and_reports() {
    let d = populated();
    let b = d.get(&format!("/api/batches/{B1}")).json();
    assert_eq!(b["message_count"], 3);
    assert_eq!(
        b["counts"],
        json!({"Delivered": 1, "Failed": 1, "Dispatched": 1})
    );
    let mms = d.get("/api/batches/01JN8Q4A1B2C3D4E5F6G7H8J9K").json();
    assert_eq!(mms["message_count"], 0);
    assert_eq!(mms["batch_reports"][0]["statuses"][1]["status"], "Aborted");
    assert_eq!(d.get("/api/batches/unknown").status, 404);
}

#[test]
fn inbound_list_and_one() {
    let d = populated();
    let all = d.get("/api/inbound").json();
    assert_eq!(ids(&all, "inbound"), [2, 1]);
    assert_eq!(
        ids(
            &d.get("/api/inbound?from=%2B1%20201-555-5555").json(),
            "inbound"
        ),
        [1]
    );
    assert_eq!(
        ids(&d.get("/api/inbound?to=46700000099").json(), "inbound"),
        [2]
    );
    let one = d.get("/api/inbound/1").json();
    assert_eq!(one["body"], "Hello John! 👋");
    assert_eq!(one["raw"], String::from_utf8(payload("mo_text")).unwrap());
    assert_eq!(d.get("/api/inbound/99").status, 404);
}

#[test]
fn quarantine_list_and_retry() {
    let mut d = populated();
    let q = d.get("/api/quarantine").json();
    let entries = q["quarantine"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("missing field")
    );
    let r = d.post_api("/api/quarantine/1/retry", &json!({}));
    assert_eq!(r.status, 422, "still unusable: {}", r.text());
    assert_eq!(
        d.post_api("/api/quarantine/99/retry", &json!({})).status,
        404
    );
    // An entry an older version quarantined by mistake: the retry stores it.
    assert!(d.terminate().success());
    {
        let store = sinch_dlr::store::Store::open(&d.path().join("dlr.redb")).unwrap();
        let op = sinch_dlr::store::Quarantine {
            raw: recipient_report(B1, "15551230003", "Delivered", 0, "2025-03-02T10:17:00Z"),
            reason: "parser of an older version".into(),
            received_at: 1,
        };
        store.apply(&op).unwrap();
    }
    let d = d.restart_stopped();
    let r = d.post_api("/api/quarantine/2/retry", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["result"], "stored");
    assert_eq!(
        d.get("/api/messages/3").json()["latest_status"],
        "Delivered"
    );
    assert_eq!(
        d.get("/api/quarantine").json()["quarantine"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn stats_report_what_operators_chase() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_STALE_AFTER", "0"),
    ]);
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": B1}),
    );
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230002", "batch_id": B1}),
    );
    d.callback(&recipient_report(
        B1,
        "15551230001",
        "Delivered",
        0,
        "2099-01-01T00:00:00Z",
    ));
    d.callback(&recipient_report(
        B1,
        "15551230001",
        "Delivered",
        0,
        "2099-01-01T00:00:00Z",
    ));
    let s = d.get("/api/stats").json();
    assert_eq!(s["messages"], 2);
    assert_eq!(s["by_latest_status"], json!({"Delivered": 1, "none": 1}));
    assert_eq!(s["delivery_rate"], 1.0);
    assert_eq!(s["callbacks"], json!({"duplicate": 1, "stored": 1}));
    assert_eq!(s["time_to_delivered"]["messages"], 1);
    assert!(s["time_to_delivered"]["median_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(s["stale"]["count"], 1);
    assert_eq!(s["stale"]["oldest_ids"], json!([2]));
    assert_eq!(d.get("/api/stats?since=soon").status, 400);
}

/// One sample: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Checks the exposition text line by line, as a Prometheus scraper would.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut typed = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().expect("metric name"));
            assert!(["HELP", "TYPE"].contains(&kind), "{line}");
            if kind == "TYPE" {
                let t = parts.next().unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&t), "{line}");
                assert!(typed.insert(name.to_string()), "TYPE twice: {line}");
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (
                n,
                l.strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}")),
            ),
            None => (series, ""),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let base = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            typed.contains(name) || typed.contains(base),
            "sample before its TYPE: {line}"
        );
        let labels: Vec<(String, String)> = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bad label in {line}"));
                (k.to_string(), v.trim_end_matches('"').to_string())
            })
            .collect();
        samples.push((name.to_string(), labels, value));
    }
    samples
}

#[test]
fn metrics_parse_and_say_what_happened() {
    let d = populated();
    d.callback(&recipient_report(
        B1,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    let text = d.request("GET", "/metrics", &[], b"").text();
    let samples = parse_prometheus(&text);
    let value = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
            .unwrap_or_else(|| panic!("{name} {labels:?} missing in\n{text}"))
    };
    assert_eq!(
        value(
            "sinch_dlr_callbacks_total",
            &[
                ("type", "recipient_delivery_report_sms"),
                ("result", "stored")
            ]
        ),
        4.0
    );
    assert_eq!(
        value(
            "sinch_dlr_callbacks_total",
            &[
                ("type", "recipient_delivery_report_sms"),
                ("result", "duplicate")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            "sinch_dlr_callbacks_total",
            &[("type", "invalid"), ("result", "quarantined")]
        ),
        1.0
    );
    assert_eq!(
        value("sinch_dlr_messages_by_status", &[("status", "Delivered")]),
        2.0
    );
    assert_eq!(value("sinch_dlr_messages", &[]), 5.0);
    assert_eq!(
        value("sinch_dlr_callback_secret_used_total", &[("secret", "0")]),
        9.0
    );
    assert!(value("sinch_dlr_database_bytes", &[]) > 0.0);
    assert_eq!(value("sinch_dlr_ready", &[]), 1.0);
    let commits = value("sinch_dlr_commit_group_size_count", &[]);
    assert!(commits >= 1.0);
    assert_eq!(
        value("sinch_dlr_commit_group_size_bucket", &[("le", "+Inf")]),
        commits
    );
    assert!(
        value("sinch_dlr_commit_group_size_sum", &[]) >= 14.0,
        "every write was committed"
    );
    assert!(value("sinch_dlr_request_duration_seconds_count", &[]) >= 14.0);
    value(
        "sinch_dlr_commit_duration_seconds_bucket",
        &[("le", "0.001")],
    );
    value("sinch_dlr_stale_messages", &[]);
    value("sinch_dlr_writer_queue_depth", &[]);
    // Buckets are cumulative.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, _, _)| n == "sinch_dlr_request_duration_seconds_bucket")
        .map(|s| s.2)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}

#[test]
fn metrics_can_require_the_token() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_METRICS_AUTH", "token"),
    ]);
    assert_eq!(d.request("GET", "/metrics", &[], b"").status, 401);
    assert_eq!(d.get("/metrics").status, 200);
}

#[test]
fn retention_removes_exactly_what_is_older() {
    let mut d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        // 2 seconds, checked every 100 ms.
        ("SINCH_DLR_RETENTION_DAYS", "0.0000231481"),
        ("SINCH_DLR_PRUNE_INTERVAL", "0.1"),
    ]);
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": B1, "client_reference": "old"}),
    );
    d.callback(&recipient_report(
        B1,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    d.callback(&payload("mo_text"));
    d.callback(&payload("delivery_report_sms.summary"));
    d.callback(br#"{"type":"nothing_known"}"#);
    std::thread::sleep(Duration::from_millis(1200));
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230002", "batch_id": B1, "client_reference": "new"}),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.get("/api/messages/1").status != 404 {
        assert!(Instant::now() < deadline, "old message never pruned");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        d.get("/api/messages/2").status,
        200,
        "younger than the cut-off: kept"
    );
    // The inbound and quarantined callbacks were stored a moment after
    // message 1, so a pass can remove message 1 while they are still just
    // younger than the cut-off: each must go by a later pass.
    for (path, key) in [
        ("/api/inbound", "inbound"),
        ("/api/quarantine", "quarantine"),
    ] {
        while d.get(path).json()[key] != json!([]) {
            assert!(Instant::now() < deadline, "{path} never pruned");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(
        d.get("/api/messages?client_reference=old").json()["messages"],
        json!([])
    );
    let metrics = d.request("GET", "/metrics", &[], b"").text();
    assert!(!metrics.contains("sinch_dlr_pruned_total 0\n"), "{metrics}");
    assert!(d.terminate().success());
    d.assert_consistent();
}

/// Runs a CLI command in the daemon's directory.
fn cli(d: &Daemon, listen: &str, args: &[&str]) -> (bool, String, String) {
    let out = binary(d.path())
        .args(args)
        .args(["--listen", listen, "--db", "dlr.redb"])
        .env("SINCH_DLR_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every reading command prints the same against the running daemon and
/// against the file after the daemon stopped.
#[test]
fn cli_output_is_identical_with_and_without_daemon() {
    let mut d = populated();
    let listen = d.addr.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["messages"],
        vec!["messages", "--format", "json", "--limit", "2"],
        vec!["messages", "--format", "csv", "--status", "Delivered"],
        vec!["messages", "--batch", B1, "--to", "+1 555 123 0002"],
        vec!["show", "1"],
        vec!["show", "1", "--format", "json"],
        vec!["export"],
        vec!["export", "--format", "csv"],
        vec!["stats", "--since", "2020-01-01"],
        vec!["stats", "--since", "2020-01-01", "--format", "json"],
    ];
    let running: Vec<_> = commands.iter().map(|c| cli(&d, &listen, c)).collect();
    assert!(d.terminate().success());
    for (c, live) in commands.iter().zip(&running) {
        assert!(live.0, "{c:?} against the daemon: {}", live.2);
        let offline = cli(&d, &listen, c);
        assert!(offline.0, "{c:?} against the file: {}", offline.2);
        assert_eq!(live.1, offline.1, "{c:?}");
    }
    let table = &running[0].1;
    assert!(
        table.lines().next().unwrap().starts_with("ID  TO"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 6);
    let export = &running[6].1;
    assert_eq!(export.lines().count(), 5);
    let first: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert!(
        first["status_updates"].is_array(),
        "NDJSON carries the history"
    );
    let csv = &running[7].1;
    assert!(csv.starts_with("id,to,recipient,batch_id,"));
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 6);
    assert!(
        running[4].1.contains("history (1 update(s), oldest first)"),
        "{}",
        running[4].1
    );
}

#[test]
fn cli_errors_are_clear() {
    let d = Daemon::start();
    let (ok, _, err) = cli(&d, &d.addr.to_string(), &["show", "999"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    // A daemon is running but holds the file: the CLI cannot fall back.
    let (ok, _, err) = cli(&d, "127.0.0.1:1", &["messages"]);
    assert!(!ok);
    assert!(err.contains("cannot be opened"), "{err}");
}

/// A backup taken while the daemon runs, restored into a new daemon,
/// answers every query the same.
#[test]
fn backup_restores_into_a_new_daemon() {
    let d = populated();
    let r = d.post_api(
        "/api/endpoints",
        &json!({"url": "http://127.0.0.1:9/hook", "types": ["message.status_updated"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let listen = d.addr.to_string();
    let (ok, out, err) = cli(&d, &listen, &["backup", "--to", "copy.redb"]);
    assert!(ok, "{err}");
    assert!(out.contains("backup written"));
    let (ok, _, err) = cli(&d, &listen, &["backup", "--to", "copy.redb"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    // The same with the daemon stopped: the CLI copies the file itself.
    let mut d = d;
    assert!(d.terminate().success());
    let (ok, _, err) = cli(&d, &listen, &["backup", "--to", "copy-offline.redb"]);
    assert!(ok, "{err}");
    let d = d.restart_stopped();
    let restored = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
    ]);
    let mut restored = restored;
    assert!(restored.terminate().success());
    std::fs::copy(d.path().join("copy.redb"), restored.path().join("dlr.redb")).unwrap();
    let offline = sinch_dlr::store::Store::open(&d.path().join("copy-offline.redb")).unwrap();
    assert!(offline.check().unwrap().is_empty());
    assert_eq!(
        serde_json::to_value(offline.message(1).unwrap().unwrap()).unwrap(),
        d.get("/api/messages/1").json()
    );
    drop(offline);
    let restored = restored.restart_stopped();
    for q in [
        "/api/messages",
        "/api/messages/1",
        "/api/messages?status=Delivered",
        &format!("/api/batches/{B1}"),
        "/api/inbound",
        "/api/quarantine",
        "/api/stats?since=2020-01-01",
    ] {
        assert_eq!(d.get(q).json(), restored.get(q).json(), "{q}");
    }
    // The event log: the same seqs and contents under new ids (see
    // store/backup.rs: a restored copy is a new history).
    let log = |d: &Daemon| -> Vec<Value> {
        let page = d.get("/api/events?limit=1000").json();
        let events = page["events"].as_array().unwrap().clone();
        events
            .into_iter()
            .map(|mut e| {
                let id = e.as_object_mut().unwrap().remove("id").unwrap();
                json!([id, e])
            })
            .collect()
    };
    let (before, after) = (log(&d), log(&restored));
    assert!(!after.is_empty());
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b[1], a[1]);
        assert_ne!(b[0], a[0]);
    }
    // Endpoints come along; their delivery state is each daemon's own.
    let endpoints = |d: &Daemon| -> Vec<Value> {
        let page = d.get("/api/endpoints").json();
        page["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!([e["id"], e["url"], e["types"], e["created_at"]]))
            .collect()
    };
    assert_eq!(endpoints(&restored), endpoints(&d));
    assert_eq!(endpoints(&restored).len(), 1);
}
