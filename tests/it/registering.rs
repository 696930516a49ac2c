//! The registration API as an application developer meets it: a misspelt
//! field is a 400 naming it (never a silent null), many messages register
//! in one request and one write, and sending has a default sender and
//! records when it sent.
//! See: issue "Operators can find anything" (The registration API).

use crate::support::*;
use serde_json::{Value, json};

const B: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

/// How many group commits the writer has made (from /metrics).
fn commits(d: &Daemon) -> u64 {
    let metrics = d.request("GET", "/metrics", &[], b"").text();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("sinch_dlr_commit_group_size_count"))
        .expect("commit count in /metrics");
    line.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn unknown_fields_are_400_naming_them_and_the_fields_that_exist() {
    let d = Daemon::start();
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": B, "clientReference": "order-1"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("clientReference"), "{error}");
    assert!(error.contains("did you mean client_reference?"), "{error}");
    for field in ["to", "batch_id", "body", "client_reference", "sent_at"] {
        assert!(error.contains(field), "lists {field}: {error}");
    }
    assert_eq!(
        d.get("/api/messages").json()["messages"],
        json!([]),
        "nothing registered"
    );
}

#[test]
fn many_messages_register_in_one_request_and_one_write() {
    let d = Daemon::start();
    let first = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": B}),
    );
    assert_eq!(first.status, 201);
    let before = commits(&d);
    let r = d.post_api(
        "/api/messages",
        &json!({"messages": [
            {"to": "+15551230002", "batch_id": B, "client_reference": "a"},
            {"to": "+1 555 123 0001", "batch_id": B},
            {"to": "+15551230003", "batch_id": B, "sent_at": "2025-03-02T10:15:00Z"},
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(commits(&d), before + 1, "all in one write");
    let answers: Vec<(u64, bool)> = r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["created"].as_bool().unwrap()))
        .collect();
    assert_eq!(answers, [(2, true), (1, false), (3, true)], "in order");
    assert_eq!(
        d.get("/api/messages/3").json()["sent_at"],
        "2025-03-02T10:15:00.000Z"
    );
    // A bare array works the same.
    let r = d.post_api(
        "/api/messages",
        &json!([{"to": "+15551230004", "batch_id": B}]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["messages"][0]["created"], true);
}

#[test]
fn one_bad_message_in_a_bulk_registers_none_and_is_named() {
    let d = Daemon::start();
    for (body, names) in [
        (
            json!({"messages": [{"to": "+15551230001", "batch_id": B}, {"to": "nobody", "batch_id": B}]}),
            "messages[1].to:",
        ),
        (
            json!([{"to": "+15551230001", "batch_id": B}, {"to": "+15551230002"}]),
            "[1].batch_id: required",
        ),
        (
            json!([{"to": "+15551230001", "batch_id": B, "ref": "x"}]),
            "[0].unknown field ref",
        ),
        (json!({"messages": []}), "messages: 1 to 1000"),
        (json!({"messages": [], "extra": 1}), "unknown field extra"),
        (json!([1]), "[0]: must be a JSON object"),
    ] {
        let r = d.post_api("/api/messages", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(names), "{body}: {error}");
    }
    // A key given twice is ambiguous, in a bulk as in one message.
    let twice = br#"{"messages":[{"to":"+15551230001","batch_id":"B","to":"+15551230002"}]}"#;
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = d.request("POST", "/api/messages", &headers, twice);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("to given twice"), "{}", r.text());
    let listed: Value = d.get("/api/messages").json();
    assert_eq!(listed["messages"], json!([]), "nothing registered");
}

#[test]
fn send_uses_the_default_sender_and_records_when_it_sent() {
    let fake = FakeSinch::start(|_, _| batch_created(B, &["15551230001"]));
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_SERVICE_PLAN_ID", "plan-1"),
        ("SINCH_API_TOKEN", "sinch-token"),
        ("SINCH_API_BASE_URL", fake.url.as_str()),
        ("SINCH_DLR_RECONCILE_INTERVAL", "0"),
        ("SINCH_DLR_DEFAULT_FROM", "Acme"),
    ]);
    let r = d.post_api(
        "/api/messages/send",
        &json!({"to": "+15551230001", "body": "hi"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(fake.requests()[0].json()["from"], "Acme");
    let r = d.post_api(
        "/api/messages/send",
        &json!({"to": "+15551230001", "body": "hi", "from": "Other"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        fake.requests()[1].json()["from"],
        "Other",
        "the request wins"
    );
    assert_eq!(
        d.get("/api/messages/1").json()["sent_at"],
        "2025-03-02T10:15:29.120Z",
        "sent_at is Sinch's created_at for the batch"
    );
    let r = d.post_api(
        "/api/messages/send",
        &json!({"to": "+15551230001", "body": "hi", "sender": "Acme"}),
    );
    assert_eq!(r.status, 400, "sending refuses unknown fields too");
    assert!(r.text().contains("sender"), "{}", r.text());
    assert_eq!(fake.requests().len(), 2, "before Sinch is called");
}
