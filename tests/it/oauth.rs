//! Project access keys (issue #17, section 1): OAuth2 tokens from a fake
//! auth service on the same fake Sinch, which refuses expired or revoked
//! tokens like Sinch does (401).

use base64::Engine;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

const PROJECT: &str = "project-7";
const KEY_ID: &str = "key-id-1";
const KEY_SECRET: &str = "key-secret-5f2c9a";
const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

/// Tokens the fake has issued: (token, when, lifetime), and those it
/// refuses from now on.
#[derive(Default)]
struct Tokens {
    issued: Vec<(String, Instant, Duration)>,
    revoked: Vec<String>,
}

/// A fake Sinch whose token endpoint issues `tok-N` valid for `life`, and
/// whose API refuses a missing, unknown, expired or revoked token.
fn fake_with_auth(life: Duration, tokens: Arc<Mutex<Tokens>>) -> FakeSinch {
    FakeSinch::start(move |rq, _| {
        let mut t = tokens.lock().unwrap();
        if rq.url == "/oauth2/token" {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{KEY_ID}:{KEY_SECRET}"));
            if rq.header("Authorization") != Some(&*format!("Basic {basic}"))
                || rq.body != b"grant_type=client_credentials"
            {
                return (401, json!({"error": "invalid_client"}).to_string(), vec![]);
            }
            let token = format!("tok-{}", t.issued.len() + 1);
            t.issued.push((token.clone(), Instant::now(), life));
            let body = json!({"access_token": token, "token_type": "bearer",
                              "expires_in": life.as_secs(), "scope": ""});
            return (200, body.to_string(), vec![]);
        }
        let given = rq
            .header("Authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        let valid = t
            .issued
            .iter()
            .any(|(tok, at, life)| tok == given && at.elapsed() < *life);
        if !valid || t.revoked.iter().any(|r| r == given) {
            return (
                401,
                json!({"code": "unauthorized", "text": "token"}).to_string(),
                vec![],
            );
        }
        batch_created(BATCH, &["15551230001"])
    })
}

fn oauth_env(fake: &FakeSinch) -> Vec<(&'static str, String)> {
    vec![
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET.into()),
        ("SINCH_DLR_API_TOKEN", TOKEN.into()),
        ("SINCH_PROJECT_ID", PROJECT.into()),
        ("SINCH_KEY_ID", KEY_ID.into()),
        ("SINCH_KEY_SECRET", KEY_SECRET.into()),
        ("SINCH_API_BASE_URL", fake.url.clone()),
        ("SINCH_AUTH_BASE_URL", fake.url.clone()),
        ("SINCH_API_RETRY_FOR", "3".into()),
        ("SINCH_DLR_RECONCILE_INTERVAL", "0".into()),
        ("LOG_LEVEL", "trace".into()),
    ]
}

fn daemon(fake: &FakeSinch) -> Daemon {
    let env = oauth_env(fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Daemon::with_env(&env)
}

fn send(d: &Daemon) -> Response {
    d.post_api(
        "/api/messages/send",
        &json!({"to": ["+15551230001"], "body": "hi"}),
    )
}

fn paths(fake: &FakeSinch) -> Vec<String> {
    fake.requests().iter().map(|r| r.url.clone()).collect()
}

#[test]
fn a_token_is_fetched_once_and_used_on_the_project_path() {
    let tokens = Arc::new(Mutex::new(Tokens::default()));
    let fake = fake_with_auth(Duration::from_secs(3600), tokens);
    let d = daemon(&fake);
    for _ in 0..2 {
        let r = send(&d);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let batches = format!("/xms/v1/{PROJECT}/batches");
    assert_eq!(paths(&fake), ["/oauth2/token", &batches, &batches]);
    // Reconciliation uses the same token.
    d.post_api(&format!("/api/reconcile?batch_id={BATCH}"), &json!({}));
    let asked = &fake.requests()[3];
    assert_eq!(
        asked.url,
        format!("/xms/v1/{PROJECT}/batches/{BATCH}/delivery_report/15551230001")
    );
    assert_eq!(asked.header("Authorization"), Some("Bearer tok-1"));
    let reqs = fake.requests();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(
        reqs[0].header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(reqs[2].header("Authorization"), Some("Bearer tok-1"));
    let log = d.stderr();
    assert!(!log.contains(KEY_SECRET), "key secret logged");
    assert!(!log.contains("tok-1"), "token logged");
    let metrics = d.get("/metrics").text();
    assert!(
        metrics.contains("sinch_dlr_sinch_token_fetches_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sinch_dlr_sinch_requests_total{endpoint=\"batches\",class=\"2xx\"} 2"),
        "{metrics}"
    );
}

#[test]
fn a_refused_token_is_replaced_once_and_the_request_repeated() {
    let tokens = Arc::new(Mutex::new(Tokens::default()));
    let fake = fake_with_auth(Duration::from_secs(3600), tokens.clone());
    let d = daemon(&fake);
    assert_eq!(send(&d).status, 201);
    tokens.lock().unwrap().revoked.push("tok-1".into());
    let r = send(&d);
    assert_eq!(r.status, 201, "{}", r.text());
    let batches = format!("/xms/v1/{PROJECT}/batches");
    assert_eq!(
        paths(&fake),
        [
            "/oauth2/token",
            &batches,
            &batches,
            "/oauth2/token",
            &batches
        ]
    );
    assert_eq!(
        fake.requests()[4].header("Authorization"),
        Some("Bearer tok-2")
    );
    // A key whose every token is refused: one new token, then the error.
    tokens.lock().unwrap().revoked.push("tok-2".into());
    tokens.lock().unwrap().revoked.push("tok-3".into());
    let r = send(&d);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(fake.requests().len(), 8, "{:?}", paths(&fake));
}

#[test]
fn a_token_is_renewed_shortly_before_it_expires() {
    let tokens = Arc::new(Mutex::new(Tokens::default()));
    // Two seconds of life: renewed after one (half its life, as it is short).
    let fake = fake_with_auth(Duration::from_secs(2), tokens);
    let d = daemon(&fake);
    assert_eq!(send(&d).status, 201);
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(send(&d).status, 201);
    let batches = format!("/xms/v1/{PROJECT}/batches");
    // No 401 on the way: the new token came before the old one lapsed.
    assert_eq!(
        paths(&fake),
        ["/oauth2/token", &batches, "/oauth2/token", &batches]
    );
}

#[test]
fn a_wrong_key_is_reported_without_calling_the_api() {
    let tokens = Arc::new(Mutex::new(Tokens::default()));
    let fake = fake_with_auth(Duration::from_secs(3600), tokens);
    let mut env = oauth_env(&fake);
    env.retain(|(k, _)| *k != "SINCH_KEY_SECRET");
    env.push(("SINCH_KEY_SECRET", "wrong".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let d = Daemon::with_env(&env);
    let r = send(&d);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.text().contains("project access key"), "{}", r.text());
    assert_eq!(paths(&fake), ["/oauth2/token"]);
}

fn check_config(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = binary(std::env::temp_dir().as_path())
        .arg("check-config")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn project_keys_outside_us_and_eu_are_refused_naming_the_region() {
    let keys = [
        ("SINCH_PROJECT_ID", PROJECT),
        ("SINCH_KEY_ID", KEY_ID),
        ("SINCH_KEY_SECRET", KEY_SECRET),
    ];
    for region in ["au", "br", "ca"] {
        let mut env = keys.to_vec();
        env.push(("SINCH_REGION", region));
        let (code, text) = check_config(&env);
        assert_eq!(code, Some(2), "{region}: {text}");
        assert!(text.contains("SINCH_REGION"), "{region}: {text}");
        assert!(!text.contains(KEY_SECRET), "{text}");
    }
    let mut env = keys.to_vec();
    env.push(("SINCH_REGION", "eu"));
    let (code, text) = check_config(&env);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("https://zt.eu.sms.api.sinch.com"), "{text}");
    assert!(!text.contains(KEY_SECRET), "{text}");
}

#[test]
fn half_a_project_key_or_both_credential_kinds_are_refused() {
    let (code, text) = check_config(&[("SINCH_PROJECT_ID", PROJECT), ("SINCH_KEY_ID", KEY_ID)]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("SINCH_KEY_SECRET"), "{text}");
    let (code, text) = check_config(&[
        ("SINCH_PROJECT_ID", PROJECT),
        ("SINCH_KEY_ID", KEY_ID),
        ("SINCH_KEY_SECRET", KEY_SECRET),
        ("SINCH_SERVICE_PLAN_ID", "plan"),
        ("SINCH_API_TOKEN", "token"),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not both"), "{text}");
}

#[test]
fn sending_metrics_count_results_classes_and_retries() {
    // First attempt 503 (retried), then created; the next send is refused.
    let fake = FakeSinch::start(|_, n| match n {
        0 => (503, "{}".into(), vec![]),
        1 => batch_created(BATCH, &["15551230001"]),
        _ => (
            400,
            json!({"code": "syntax_invalid_parameter_format", "text": "to"}).to_string(),
            vec![],
        ),
    });
    let d = daemon_with_sinch(&fake, "plan-1");
    assert_eq!(send(&d).status, 201);
    assert_eq!(send(&d).status, 502);
    let metrics = d.get("/metrics").text();
    for line in [
        "sinch_dlr_sinch_sends_total{result=\"sent\"} 1",
        "sinch_dlr_sinch_sends_total{result=\"refused\"} 1",
        "sinch_dlr_sinch_requests_total{endpoint=\"batches\",class=\"5xx\"} 1",
        "sinch_dlr_sinch_requests_total{endpoint=\"batches\",class=\"2xx\"} 1",
        "sinch_dlr_sinch_requests_total{endpoint=\"batches\",class=\"4xx\"} 1",
        "sinch_dlr_sinch_retries_total{endpoint=\"batches\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}
