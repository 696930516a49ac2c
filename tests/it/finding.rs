//! Finding messages: every count that is shown can be listed — no report
//! yet (`status=none`), not yet final, several statuses at once, an error
//! code, a window on the status time — and a status that does not exist
//! is an error naming the valid ones, not an empty list.
//! See: issue "Operators can find anything".

use crate::support::*;
use serde_json::{Value, json};

const B: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

/// Seven messages (ids 1-7) with these latest statuses, reported at
/// 10:00:0N for message N.
const MIX: [(&str, i64); 7] = [
    ("Delivered", 0),
    ("Failed", 402),
    ("Expired", 406),
    ("Dispatched", 401),
    ("none", 0),
    ("Queued", 400),
    ("Failed", 404),
];

fn mixed() -> Daemon {
    let d = Daemon::start();
    for (i, (status, code)) in MIX.iter().enumerate() {
        let to = format!("+1555123000{}", i + 1);
        let r = d.post_api("/api/messages", &json!({"to": to, "batch_id": B}));
        assert_eq!(r.status, 201, "{}", r.text());
        if *status != "none" {
            let at = format!("2025-03-02T10:00:0{}Z", i + 1);
            let cb = recipient_report(B, &to[1..], status, *code, &at);
            assert_eq!(d.callback(&cb).json()["result"], "stored");
        }
    }
    d
}

fn listed(d: &Daemon, query: &str) -> Vec<u64> {
    let r = d.get(&format!("/api/messages?{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    ids_of(&r.json())
}

fn ids_of(page: &Value) -> Vec<u64> {
    crate::support::ids(page, "messages")
}

#[test]
fn status_none_final_and_several_statuses_are_listable() {
    let d = mixed();
    assert_eq!(listed(&d, "status=none"), [5], "no report yet");
    assert_eq!(listed(&d, "status=NONE"), [5]);
    assert_eq!(
        listed(&d, "final=false"),
        [6, 5, 4],
        "everything not yet final"
    );
    assert_eq!(listed(&d, "final=true"), [7, 3, 2, 1]);
    assert_eq!(listed(&d, "status=Failed,Expired"), [7, 3, 2]);
    assert_eq!(listed(&d, "status=Failed&status=expired"), [7, 3, 2]);
    assert_eq!(listed(&d, "status=none,Queued,Delivered"), [6, 5, 1]);
    assert_eq!(listed(&d, "status=Failed&final=false"), Vec::<u64>::new());
    assert_eq!(listed(&d, "status=none,Failed&final=false"), [5]);
    assert_eq!(listed(&d, "code=402"), [2]);
    assert_eq!(listed(&d, "status=Failed&code=404"), [7]);
    assert_eq!(listed(&d, "final=false&code=401"), [4]);
}

#[test]
fn status_time_windows_use_the_latest_status_time() {
    let d = mixed();
    assert_eq!(
        listed(
            &d,
            "status_since=2025-03-02T10:00:03Z&status_until=2025-03-02T10:00:06Z"
        ),
        [4, 3],
        "at or after since, before until; no report = no status time"
    );
    assert_eq!(listed(&d, "status_until=2025-03-02T10:00:02Z"), [1]);
    assert_eq!(
        listed(&d, "status=Failed&status_since=2025-03-02T10:00:05Z"),
        [7]
    );
    let r = d.get("/api/messages?status_since=2025-03-03&status_until=2025-03-02");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("status_since"), "{}", r.text());
}

/// A merged list (several indexes) pages like any other: newest first,
/// every message once.
#[test]
fn several_statuses_page_through_without_repeats() {
    let d = mixed();
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let q = match &cursor {
            Some(c) => format!("status=none,Failed,Dispatched&limit=1&cursor={c}"),
            None => "status=none,Failed,Dispatched&limit=1".into(),
        };
        let page = d.get(&format!("/api/messages?{q}")).json();
        seen.extend(ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, [7, 5, 4, 2]);
}

#[test]
fn unknown_status_is_400_naming_the_valid_ones() {
    let d = mixed();
    let r = d.get("/api/messages?status=Deliverd");
    assert_eq!(r.status, 400);
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("status:"), "{error}");
    assert!(error.contains("did you mean Delivered?"), "{error}");
    for valid in [
        "none",
        "Queued",
        "Dispatched",
        "Delivered",
        "Failed",
        "Expired",
    ] {
        assert!(error.contains(valid), "{valid}: {error}");
    }
    for (q, name) in [("final=maybe", "final"), ("code=x", "code")] {
        let r = d.get(&format!("/api/messages?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.json()["error"].as_str().unwrap().starts_with(name));
    }
    let r = d.get("/api/export?status=Deliverd");
    assert_eq!(r.status, 400, "exports check the same filters");
}

#[test]
fn cli_filters_match_the_api_and_bad_ones_exit_2() {
    let d = mixed();
    let listen = d.addr.to_string();
    let json_ids = |args: &[&str]| {
        let mut all = vec!["messages", "--format", "json"];
        all.extend_from_slice(args);
        let ran = run_cli(d.path(), &listen, &all);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.err);
        ids_of(&serde_json::from_str(&ran.out).unwrap())
    };
    assert_eq!(json_ids(&["--status", "none"]), [5]);
    assert_eq!(json_ids(&["--final", "false"]), [6, 5, 4]);
    assert_eq!(json_ids(&["--status", "Failed,Expired"]), [7, 3, 2]);
    assert_eq!(
        json_ids(&["--status", "Failed", "--status", "Expired"]),
        [7, 3, 2]
    );
    assert_eq!(json_ids(&["--code", "402"]), [2]);
    assert_eq!(
        json_ids(&["--status-since", "2025-03-02T10:00:06Z"]),
        [7, 6]
    );
    let ran = run_cli(d.path(), &listen, &["export", "--final", "false"]);
    assert_eq!(ran.code, 0, "{}", ran.err);
    assert_eq!(ran.out.lines().count(), 3);
    for (args, words) in [
        (
            &["messages", "--status", "Deliverd"][..],
            &["--status", "did you mean Delivered?", "none"][..],
        ),
        (&["messages", "--final", "no"], &["--final", "true, false"]),
        (&["messages", "--limit", "0"], &["--limit"]),
        (
            &["messages", "--format", "yaml"],
            &["--format", "table, json, csv"],
        ),
        (
            &["export", "--format", "json"],
            &["--format", "ndjson, csv"],
        ),
        (&["messages", "--code", "x"], &["--code"]),
    ] {
        let ran = run_cli(d.path(), &listen, args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.err);
        for w in words {
            assert!(
                ran.err.contains(w),
                "{args:?} should say {w:?}: {}",
                ran.err
            );
        }
        assert_eq!(ran.err.lines().count(), 1, "said once: {}", ran.err);
    }
}
