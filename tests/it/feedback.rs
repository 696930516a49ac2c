//! Delivery feedback (issue #17, section 2): sent with the right body to a
//! fake Sinch, kept in the message's history, shown on the message page.

use serde_json::json;

use crate::support::*;

const PLAN: &str = "plan-1";
const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

fn fake() -> FakeSinch {
    FakeSinch::start(|rq, _| {
        if rq.url.ends_with("/delivery_feedback") {
            if rq.json()["recipients"]
                .as_array()
                .is_some_and(|r| r.iter().any(|n| n == "+15559999999"))
            {
                return (
                    403,
                    json!({"code": "forbidden", "text": "no"}).to_string(),
                    vec![],
                );
            }
            return (202, String::new(), vec![]);
        }
        batch_created(BATCH, &["15551230001", "15551230002"])
    })
}

#[test]
fn feedback_is_sent_with_the_right_body_and_kept_with_the_message() {
    let fake = fake();
    let d = daemon_with_sinch(&fake, PLAN);
    let r = d.post_api(
        "/api/messages/send",
        &json!({"to": ["+15551230001", "+15551230002"], "body": "code 1234", "feedback_enabled": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(fake.requests()[0].json()["feedback_enabled"], true);
    let r = d.post_api("/api/messages/1/feedback", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    let asked = &fake.requests()[1];
    assert_eq!(asked.method, "POST");
    assert_eq!(
        asked.url,
        format!("/xms/v1/{PLAN}/batches/{BATCH}/delivery_feedback")
    );
    assert_eq!(asked.json(), json!({"recipients": ["+15551230001"]}));
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["feedback_at"].as_array().map(Vec::len), Some(1), "{m}");
    assert_eq!(
        m["latest_status"],
        serde_json::Value::Null,
        "feedback is not a status"
    );
    assert!(d.get("/api/messages/2").json().get("feedback_at").is_none());
    let page = d.get("/ui/messages/1").text();
    let at = m["feedback_at"][0].as_str().unwrap();
    assert!(
        page.contains("Delivery feedback") && page.contains(at),
        "{page}"
    );
    batch_feedback_then_the_cli(&d, &fake);
}

/// The whole batch (an empty list tells Sinch "every recipient"), named
/// recipients, and the CLI, after message 1 got its feedback.
fn batch_feedback_then_the_cli(d: &Daemon, fake: &FakeSinch) {
    let r = d.request(
        "POST",
        &format!("/api/batches/{BATCH}/feedback"),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(fake.requests()[2].json(), json!({"recipients": []}));
    assert_eq!(
        r.json()["recipients"],
        json!(["15551230001", "15551230002"])
    );
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["feedback_at"].as_array().map(Vec::len), Some(2), "{m}");
    // Named recipients, and the CLI.
    let r = d.post_api(
        &format!("/api/batches/{BATCH}/feedback"),
        &json!({"recipients": ["+1 555 123 0002"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        fake.requests()[3].json(),
        json!({"recipients": ["+15551230002"]})
    );
    let text = stdout_of(
        binary(d.path())
            .args([
                "feedback",
                "--message",
                "2",
                "--listen",
                &d.addr.to_string(),
            ])
            .env("SINCH_DLR_API_TOKEN", TOKEN),
    );
    assert!(text.contains("feedback sent for message 2"), "{text}");
    let m = d.get("/api/messages/2").json();
    assert_eq!(m["feedback_at"].as_array().map(Vec::len), Some(3), "{m}");
}

#[test]
fn feedback_for_strangers_or_refused_by_sinch_is_not_kept() {
    let fake = fake();
    let d = daemon_with_sinch(&fake, PLAN);
    d.post_api(
        "/api/messages",
        &json!({"to": "+15559999999", "batch_id": BATCH}),
    );
    let r = d.post_api(
        &format!("/api/batches/{BATCH}/feedback"),
        &json!({"recipients": ["+15550000000"]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        fake.requests().is_empty(),
        "a stranger is refused before Sinch is asked"
    );
    assert_eq!(
        d.post_api("/api/messages/99/feedback", &json!({})).status,
        404
    );
    assert_eq!(
        d.post_api("/api/batches/nope/feedback", &json!({})).status,
        404
    );
    let r = d.post_api("/api/messages/1/feedback", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(d.get("/api/messages/1").json().get("feedback_at").is_none());
    let metrics = d.get("/metrics").text();
    assert!(
        metrics.contains(
            "sinch_dlr_sinch_requests_total{endpoint=\"delivery_feedback\",class=\"4xx\"} 1"
        ),
        "{metrics}"
    );
}
