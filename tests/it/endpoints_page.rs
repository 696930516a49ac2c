//! The webhook endpoints page (`/ui/endpoints`) and the endpoints' rows in
//! `/metrics`: each endpoint with its state, lag and last attempt, labelled
//! by id, and never a signing secret or the credentials in its URL.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Polls `path` until its body satisfies `done` (10 s deadline).
fn wait_for(d: &Daemon, path: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = d.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let text = r.text();
        if done(&text) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The secret of a new endpoint whose URL carries
/// credentials in its userinfo and its query.
fn endpoint(d: &Daemon, receiver: &FakeSinch, description: &str) -> String {
    let addr = receiver.url.trim_start_matches("http://");
    let r = d.post_api(
        "/api/endpoints",
        &json!({
            "url": format!("http://hookuser:hookpass@{addr}/in?token=querytoken"),
            "description": description,
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

fn assert_no_credentials(what: &str, text: &str, secrets: &[&str]) {
    for hidden in ["hookpass", "hookuser", "querytoken", "whsec_"]
        .iter()
        .chain(secrets)
    {
        assert!(!text.contains(hidden), "{what} shows {hidden}:\n{text}");
    }
}

#[test]
fn endpoints_page_shows_each_endpoint_and_never_its_secret() {
    let ok = FakeSinch::start(|_, _| (200, "{}".into(), vec![]));
    let down = FakeSinch::start(|_, _| (503, "{}".into(), vec![]));
    // A failed attempt is retried an hour later: the page holds still.
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_WEBHOOK_RETRY_SCHEDULE", "0,3600"),
    ]);
    let secret_ok = endpoint(&d, &ok, "orders <b>app</b>");
    let secret_down = endpoint(&d, &down, "warehouse");
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": "B1"}),
    );
    assert!(r.status == 201, "{}", r.text());

    let page = wait_for(&d, "/ui/endpoints", |p| {
        p.contains("<td>1 / 0</td>") && p.contains("<td>0 / 1</td>")
    });
    assert!(page.contains("<h1>Webhook endpoints</h1>"), "{page}");
    let ok_addr = ok.url.trim_start_matches("http://");
    assert!(
        page.contains(&format!("http://[set]@{ok_addr}/in?token=[set]")),
        "URL without its credentials:\n{page}"
    );
    assert!(page.contains("orders &lt;b&gt;app&lt;/b&gt;"), "{page}");
    assert!(page.contains(r#"<span class="e-active">active</span>"#));
    assert!(
        page.contains("<td>1 / 0</td>"),
        "endpoint 1 delivered one event:\n{page}"
    );
    assert!(
        page.contains("<td>0 / 1</td>") && page.contains("<td>503<br>"),
        "endpoint 2's one failed attempt and its answer:\n{page}"
    );
    assert!(page.contains("attempt 1 at this event"), "{page}");
    assert_no_credentials("the page", &page, &[&secret_ok, &secret_down]);
    assert_eq!(ok.requests().len(), 1);

    let metrics = wait_for(&d, "/metrics", |m| m.contains("result=\"failed\"} 1"));
    for line in [
        "sinch_dlr_webhook_deliveries_total{endpoint=\"1\",result=\"delivered\"} 1\n",
        "sinch_dlr_webhook_deliveries_total{endpoint=\"2\",result=\"failed\"} 1\n",
        "sinch_dlr_webhook_endpoint_state{endpoint=\"2\",state=\"active\"} 1\n",
        "sinch_dlr_webhook_lag_events{endpoint=\"1\"} 0\n",
        "sinch_dlr_webhook_lag_events{endpoint=\"2\"} 1\n",
        "sinch_dlr_webhook_position{endpoint=\"1\"} 1\n",
        "sinch_dlr_events_last_seq 1\n",
        "sinch_dlr_event_streams_open 0\n",
    ] {
        assert!(metrics.contains(line), "missing {line:?}:\n{metrics}");
    }
    assert!(!metrics.contains(ok_addr), "metrics name endpoints by id");
    assert_no_credentials("/metrics", &metrics, &[&secret_ok, &secret_down]);
}

#[test]
fn endpoints_page_needs_a_login_and_is_linked_from_every_page() {
    let d = Daemon::start();
    let r = d.request("GET", "/ui/endpoints", &[], b"");
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("Location"), Some("/ui/login"));
    let empty = d.get("/ui/endpoints");
    assert_eq!(empty.status, 200);
    assert!(empty.text().contains("Nothing here."), "{}", empty.text());
    let overview = d.get("/").text();
    assert!(
        overview.contains(r#"<a href="/ui/endpoints">Webhooks</a>"#),
        "{overview}"
    );
}
