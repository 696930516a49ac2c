//! Registering messages and reading them back, linked to callbacks.

use crate::support::*;
use serde_json::json;

const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

#[test]
fn register_then_callback_then_read() {
    let d = Daemon::start();
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH, "body": "hi", "client_reference": "order-42"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();
    // Sinch reports the number without '+'.
    let cb = recipient_report(
        BATCH,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41.002Z",
    );
    assert_eq!(d.callback(&cb).json()["result"], "stored");
    let m = d.get(&format!("/api/messages/{id}")).json();
    assert_eq!(m["id"], id);
    assert_eq!(m["to"], "+15551230001");
    assert_eq!(m["batch_id"], BATCH);
    assert_eq!(m["client_reference"], "order-42");
    assert_eq!(m["body"], "hi");
    assert_eq!(m["latest_status"], "Delivered");
    assert_eq!(m["latest_status_code"], 0);
    assert_eq!(m["latest_status_at"], "2025-03-02T10:15:41.002Z");
    let updates = m["status_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["status"], "Delivered");
    assert!(updates[0]["received_at"].is_string());
}

#[test]
fn registration_is_idempotent() {
    let d = Daemon::start();
    let first = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH}),
    );
    assert_eq!(first.status, 201);
    let again = d.post_api(
        "/api/messages",
        &json!({"to": "+1 555-123-0001", "batch_id": BATCH, "body": "late body", "client_reference": "r"}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(
        again.json()["body"],
        "late body",
        "missing fields get filled in"
    );
    assert_eq!(again.json()["client_reference"], "r");
}

#[test]
fn late_dispatched_does_not_replace_delivered() {
    let d = Daemon::start();
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH}),
    );
    d.callback(&recipient_report(
        BATCH,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    d.callback(&recipient_report(
        BATCH,
        "15551230001",
        "Dispatched",
        401,
        "2025-03-02T10:15:30Z",
    ));
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["latest_status"], "Delivered");
    let history: Vec<_> = m["status_updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].clone())
        .collect();
    assert_eq!(
        history,
        [json!("Delivered"), json!("Dispatched")],
        "history keeps everything, in arrival order"
    );
}

#[test]
fn duplicate_callback_is_stored_once() {
    let d = Daemon::start();
    let cb = recipient_report(BATCH, "15551230001", "Delivered", 0, "2025-03-02T10:15:41Z");
    assert_eq!(d.callback(&cb).json()["result"], "stored");
    assert_eq!(d.callback(&cb).json()["result"], "duplicate");
    assert_eq!(
        d.get("/api/messages/1").json()["status_updates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn conflicting_finals_are_flagged() {
    let d = Daemon::start();
    d.callback(&recipient_report(
        BATCH,
        "15551230001",
        "Failed",
        15,
        "2025-03-02T10:15:41Z",
    ));
    d.callback(&recipient_report(
        BATCH,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:16:00Z",
    ));
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["latest_status"], "Delivered");
    assert_eq!(m["status_conflict"], true);
}

#[test]
fn callback_before_registration_is_linked() {
    let d = Daemon::start();
    let cb = recipient_report(
        BATCH,
        "15551230001",
        "Dispatched",
        401,
        "2025-03-02T10:15:30Z",
    );
    assert_eq!(d.callback(&cb).json()["result"], "stored");
    let discovered = d.get("/api/messages/1").json();
    assert_eq!(discovered["discovered"], true);
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH, "body": "hi"}),
    );
    assert_eq!(r.status, 201, "first registration of a discovered message");
    let m = r.json();
    assert_eq!(m["id"], 1);
    assert_eq!(m["discovered"], false);
    assert_eq!(m["latest_status"], "Dispatched");
    assert_eq!(m["body"], "hi");
}

#[test]
fn bad_registrations_name_the_field() {
    let d = Daemon::start();
    let cases = [
        (json!({"batch_id": BATCH}), "to"),
        (json!({"to": "+1555"}), "batch_id"),
        (json!({"to": "nobody", "batch_id": BATCH}), "to"),
        (
            json!({"to": "+1555", "batch_id": BATCH, "sent_at": "yesterday"}),
            "sent_at",
        ),
        (json!([1]), "JSON object"),
    ];
    for (body, field) in cases {
        let r = d.post_api("/api/messages", &body);
        assert_eq!(r.status, 400, "{body}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(field),
            "{body}: {}",
            r.text()
        );
    }
}

#[test]
fn api_needs_a_configured_and_correct_token() {
    let without = Daemon::with_env(&[("SINCH_DLR_CALLBACK_SECRETS", SECRET)]);
    let r = without.get("/api/messages/1");
    assert_eq!(r.status, 403);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("SINCH_DLR_API_TOKEN")
    );
    let d = Daemon::start();
    let wrong = d.request(
        "GET",
        "/api/messages/1",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let missing = d.request(
        "POST",
        "/api/messages",
        &[],
        br#"{"to":"+1555","batch_id":"B"}"#,
    );
    assert_eq!(missing.status, 401);
    assert_eq!(d.get("/api/messages/1").status, 404);
    assert_eq!(
        d.get("/api/messages/abc").status,
        404,
        "cannot exist: not found"
    );
}
