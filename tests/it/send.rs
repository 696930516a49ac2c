//! Sending through a fake Sinch, and reconciliation. Checks the exact
//! request Sinch receives and every way Sinch can answer.

use crate::support::*;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PLAN: &str = "plan-1";
const SINCH_TOKEN: &str = "sinch-api-token";
const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

fn daemon_for(fake: &FakeSinch, extra: &[(&str, &str)]) -> Daemon {
    let mut env = vec![
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_SERVICE_PLAN_ID", PLAN),
        ("SINCH_API_TOKEN", SINCH_TOKEN),
        ("SINCH_API_BASE_URL", fake.url.as_str()),
        ("SINCH_API_RETRY_FOR", "3"),
        ("SINCH_API_TIMEOUT", "2"),
        ("SINCH_DLR_RECONCILE_INTERVAL", "0"),
    ];
    env.extend_from_slice(extra);
    Daemon::with_env(&env)
}

fn send(d: &Daemon, body: serde_json::Value) -> Response {
    d.post_api("/api/messages/send", &body)
}

#[test]
fn send_posts_the_batch_and_registers_every_recipient() {
    let fake = FakeSinch::start(|_, _| batch_created(BATCH, &["15551230001", "15551230002"]));
    let d = daemon_for(
        &fake,
        &[("SINCH_DLR_PUBLIC_URL", "https://dlr.example.com/")],
    );
    let r = send(
        &d,
        json!({"to": ["+15551230001", "+1 555-123-0002"], "body": "hi", "client_reference": "order-1", "from": "Acme"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].url, format!("/xms/v1/{PLAN}/batches"));
    assert_eq!(
        reqs[0].header("Authorization"),
        Some(&*format!("Bearer {SINCH_TOKEN}"))
    );
    assert!(
        reqs[0]
            .header("Content-Type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        reqs[0].json(),
        json!({"to": ["+15551230001", "+1 555-123-0002"], "body": "hi", "from": "Acme",
               "delivery_report": "per_recipient",
               "callback_url": "https://dlr.example.com/api/sinchCallbacks", "client_reference": "order-1"})
    );
    let out = r.json();
    assert_eq!(out["batch_id"], BATCH);
    assert_eq!(out["messages"].as_array().unwrap().len(), 2);
    let m = d.get("/api/messages/2").json();
    assert_eq!(
        (m["batch_id"].as_str(), m["recipient"].as_str()),
        (Some(BATCH), Some("15551230002"))
    );
    assert_eq!(m["client_reference"], "order-1");
    // The callback for it (digits only) lands on the registered message.
    d.callback(&recipient_report(
        BATCH,
        "15551230002",
        "Delivered",
        0,
        "2025-03-02T10:16:00Z",
    ));
    assert_eq!(
        d.get("/api/messages/2").json()["latest_status"],
        "Delivered"
    );
}

#[test]
fn request_options_are_passed_through() {
    let fake = FakeSinch::start(|_, _| batch_created(BATCH, &["15551230001"]));
    let d = daemon_for(&fake, &[]);
    let r = send(
        &d,
        json!({"to": "+15551230001", "body": "x", "delivery_report": "per_recipient_final", "callback_url": "https://cb.example.com/x"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let sent = fake.requests()[0].json();
    assert_eq!(sent["delivery_report"], "per_recipient_final");
    assert_eq!(sent["callback_url"], "https://cb.example.com/x");
    assert!(sent.get("client_reference").is_none());
}

#[test]
fn sinch_refusals_become_502_with_its_code_and_nothing_is_registered() {
    let cases = [
        (
            400,
            r#"{"code":"syntax_invalid_parameter_format","text":"Invalid to number"}"#,
            "syntax_invalid_parameter_format",
        ),
        (
            401,
            r#"{"code":"unauthorized","text":"Bad credentials"}"#,
            "Bad credentials",
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Forbidden for this plan","status":"PERMISSION_DENIED"}}"#,
            "Forbidden for this plan",
        ),
    ];
    for (status, body, expect) in cases {
        let fake = FakeSinch::start(move |_, _| (status, body.to_string(), vec![]));
        let d = daemon_for(&fake, &[]);
        let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
        assert_eq!(r.status, 502, "{status}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            error.contains(&status.to_string()) && error.contains(expect),
            "{error}"
        );
        assert_eq!(fake.requests().len(), 1, "a {status} is never retried");
        assert_eq!(d.get("/api/messages/1").status, 404, "nothing registered");
    }
}

#[test]
fn rate_limit_then_success() {
    let fake = FakeSinch::start(|_, n| {
        if n == 0 {
            (
                429,
                r#"{"code":"too_many_requests","text":"slow down"}"#.into(),
                vec![("Retry-After".into(), "1".into())],
            )
        } else {
            batch_created(BATCH, &["15551230001"])
        }
    });
    let d = daemon_for(&fake, &[]);
    let started = Instant::now();
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(fake.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let fake = FakeSinch::start(|_, _| (503, "upstream down".into(), vec![]));
    let d = daemon_for(&fake, &[("SINCH_API_RETRY_FOR", "1")]);
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("503"));
    let n = fake.requests().len();
    assert!(
        (2..=6).contains(&n),
        "retried a bounded number of times: {n}"
    );
    assert_eq!(d.get("/api/messages/1").status, 404);
}

/// A Sinch whose accept queue is full: the TCP handshake never completes.
#[test]
fn connect_timeout_is_bounded() {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue (never accepted) so further SYNs are dropped.
    let fillers: Vec<_> = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
        })
        .collect();
    assert!(!fillers.is_empty());
    let url = format!("http://{addr}");
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_SERVICE_PLAN_ID", PLAN),
        ("SINCH_API_TOKEN", SINCH_TOKEN),
        ("SINCH_API_BASE_URL", &url),
        ("SINCH_API_TIMEOUT", "1"),
        ("SINCH_API_RETRY_FOR", "2"),
    ]);
    let started = Instant::now();
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert!(
        r.status == 502 || r.status == 504,
        "{}: {}",
        r.status,
        r.text()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(d.get("/api/messages/1").status, 404);
}

/// Sinch got the request but never answers: not retried (it may have sent
/// the SMS), reported as a gateway timeout.
#[test]
fn no_answer_is_504_and_not_retried() {
    let fake = FakeSinch::start(|_, _| {
        std::thread::sleep(Duration::from_secs(3));
        batch_created(BATCH, &["15551230001"])
    });
    let d = daemon_for(&fake, &[("SINCH_API_TIMEOUT", "1")]);
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("outcome is unknown")
    );
    assert_eq!(fake.requests().len(), 1);
}

/// Sinch posts the first callback before its answer to the send call; the
/// callback and the registration end up on one message.
#[test]
fn callback_before_send_response_lands_on_the_same_message() {
    let daemon_addr: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
    let seen = daemon_addr.clone();
    let fake = FakeSinch::start(move |_, _| {
        let addr = seen.lock().unwrap().expect("daemon address");
        let body = recipient_report(
            BATCH,
            "15551230001",
            "Dispatched",
            401,
            "2025-03-02T10:15:30Z",
        );
        let headers = signed_headers(SECRET, &body);
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = request(addr, "POST", "/api/sinchCallbacks", &refs, &body);
        assert_eq!(r.status, 200);
        batch_created(BATCH, &["15551230001"])
    });
    let d = daemon_for(&fake, &[]);
    *daemon_addr.lock().unwrap() = Some(d.addr);
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["discovered"], false);
    assert_eq!(m["body"], "hi");
    assert_eq!(m["latest_status"], "Dispatched");
    assert_eq!(d.get("/api/messages/2").status, 404, "one message, not two");
}

#[test]
fn invalid_send_requests_name_the_field_and_reach_no_one() {
    let fake = FakeSinch::start(|_, _| batch_created(BATCH, &["15551230001"]));
    let d = daemon_for(&fake, &[]);
    let many: Vec<String> = (0..1001).map(|i| format!("+1555{i:07}")).collect();
    let cases = [
        (json!({"body": "hi"}), "to"),
        (json!({"to": [], "body": "hi"}), "to:"),
        (json!({"to": many, "body": "hi"}), "to:"),
        (
            json!({"to": ["+15551230001", "hello"], "body": "hi"}),
            "to[1]",
        ),
        (json!({"to": ["+15551230001"]}), "body"),
        (
            json!({"to": ["+15551230001"], "body": "hi", "delivery_report": "sometimes"}),
            "delivery_report",
        ),
    ];
    for (body, field) in cases {
        let r = send(&d, body.clone());
        assert_eq!(r.status, 400, "{body}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(field),
            "{field}: {}",
            r.text()
        );
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn without_sinch_credentials_send_is_409() {
    let d = Daemon::start();
    let r = send(&d, json!({"to": ["+15551230001"], "body": "hi"}));
    assert_eq!(r.status, 409);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("SINCH_SERVICE_PLAN_ID")
    );
}

#[test]
fn cli_send_uses_the_daemon_or_the_file() {
    let fake = FakeSinch::start(|_, _| batch_created(BATCH, &["15551230001"]));
    let mut d = daemon_for(&fake, &[]);
    let run = |d: &Daemon, listen: &str| {
        let mut cmd = binary(d.path());
        cmd.args([
            "send",
            "--to",
            "+15551230001",
            "--body",
            "hi from cli",
            "--listen",
            listen,
            "--db",
            "dlr.redb",
        ])
        .envs([
            ("SINCH_DLR_API_TOKEN", TOKEN),
            ("SINCH_SERVICE_PLAN_ID", PLAN),
            ("SINCH_API_TOKEN", SINCH_TOKEN),
            ("SINCH_API_BASE_URL", fake.url.as_str()),
        ]);
        cmd
    };
    let text = stdout_of(&mut run(&d, &d.addr.to_string()));
    assert!(text.contains(&format!("sent batch {BATCH}")));
    assert_eq!(d.get("/api/messages/1").json()["body"], "hi from cli");
    // Daemon stopped: the CLI opens the file itself.
    let addr = d.addr.to_string();
    assert!(d.terminate().success());
    stdout_of(&mut run(&d, &addr));
    assert_eq!(fake.requests().len(), 2);
}

/// A Delivered report Sinch has but never delivered as a callback is found
/// by reconciliation; messages already final are not asked about.
#[test]
fn reconciliation_fills_in_missing_final_status() {
    let fake = FakeSinch::start(|rq, _| {
        let prefix = format!("/xms/v1/{PLAN}/batches/{BATCH}/delivery_report/");
        match rq.url.strip_prefix(&prefix) {
            Some(recipient) => {
                let body =
                    recipient_report(BATCH, recipient, "Delivered", 0, "2025-03-02T10:16:00.500Z");
                (200, String::from_utf8(body).unwrap(), vec![])
            }
            None => (404, r#"{"code":"not_found","text":"?"}"#.into(), vec![]),
        }
    });
    let d = daemon_for(&fake, &[]);
    for to in ["+15551230001", "+15551230002"] {
        assert_eq!(
            d.post_api("/api/messages", &json!({"to": to, "batch_id": BATCH}))
                .status,
            201
        );
    }
    d.callback(&recipient_report(
        BATCH,
        "15551230002",
        "Failed",
        15,
        "2025-03-02T10:16:00Z",
    ));
    let r = d.post_api(&format!("/api/reconcile?batch_id={BATCH}"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["updated"].as_array().unwrap().len(),
        1,
        "{}",
        r.text()
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "the final one is left alone");
    assert_eq!(
        reqs[0].url,
        format!("/xms/v1/{PLAN}/batches/{BATCH}/delivery_report/15551230001")
    );
    assert_eq!(
        reqs[0].header("Authorization"),
        Some(&*format!("Bearer {SINCH_TOKEN}"))
    );
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["latest_status"], "Delivered");
    assert_eq!(m["status_updates"][0]["source"], "reconcile");
    assert_eq!(d.get("/api/messages/2").json()["latest_status"], "Failed");
    // A second pass learns nothing new and asks nobody already final.
    let again = d
        .post_api(&format!("/api/reconcile?batch_id={BATCH}"), &json!({}))
        .json();
    assert_eq!(again["checked"], 0);
}

#[test]
fn background_reconciliation_and_cli() {
    let fake = FakeSinch::start(|rq, _| {
        let recipient = rq.url.rsplit('/').next().unwrap().to_string();
        let body = recipient_report(BATCH, &recipient, "Expired", 0, "2025-03-05T10:16:00Z");
        (200, String::from_utf8(body).unwrap(), vec![])
    });
    let d = daemon_for(
        &fake,
        &[
            ("SINCH_DLR_RECONCILE_AFTER", "0"),
            ("SINCH_DLR_RECONCILE_INTERVAL", "0.2"),
        ],
    );
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH}),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.get("/api/messages/1").json()["latest_status"] != "Expired" {
        assert!(
            Instant::now() < deadline,
            "background reconciliation did not run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The CLI runs a pass on demand through the daemon.
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230009", "batch_id": BATCH}),
    );
    let text = stdout_of(
        binary(d.path())
            .args([
                "reconcile",
                "--batch",
                BATCH,
                "--listen",
                &d.addr.to_string(),
            ])
            .env("SINCH_DLR_API_TOKEN", TOKEN),
    );
    assert!(text.contains("checked"), "{text}");
    // With the daemon stopped, the CLI runs the pass on the file itself.
    let mut d = d;
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230008", "batch_id": BATCH}),
    );
    let listen = d.addr.to_string();
    assert!(d.terminate().success());
    let text = stdout_of(
        binary(d.path())
            .args([
                "reconcile",
                "--batch",
                BATCH,
                "--listen",
                &listen,
                "--db",
                "dlr.redb",
            ])
            .envs([
                ("SINCH_SERVICE_PLAN_ID", PLAN),
                ("SINCH_API_TOKEN", SINCH_TOKEN),
                ("SINCH_API_BASE_URL", fake.url.as_str()),
            ]),
    );
    assert!(text.contains("now Expired"), "{text}");
}

#[test]
fn reconciliation_stops_at_rate_limit() {
    let fake = FakeSinch::start(|_, _| (429, r#"{"code":"too_many_requests"}"#.into(), vec![]));
    let d = daemon_for(&fake, &[("SINCH_API_RETRY_FOR", "0.5")]);
    for i in 0..3 {
        d.post_api(
            "/api/messages",
            &json!({"to": format!("+1555123000{i}"), "batch_id": BATCH}),
        );
    }
    let r = d
        .post_api(&format!("/api/reconcile?batch_id={BATCH}"), &json!({}))
        .json();
    assert_eq!(r["rate_limited"], true, "{r}");
    assert_eq!(r["checked"], 1, "stopped after the first 429: {r}");
}
