//! Callback authentication over HTTP: the shared vectors, Basic, the
//! tutorial's scheme (opt-in), and the explicit no-auth mode.

use crate::support::*;
use base64::Engine;

/// Every vector in signature-vectors.json, posted over HTTP to one daemon
/// configured with all of their secrets at once (rotation).
///
/// Two vectors are policy-dependent (their `sdk_notes` say so):
/// * `valid_per_python_node_but_algorithm_header_absent`: accepted. The HMAC
///   alone proves the sender; refusing would 401 a genuine callback, which
///   Sinch then drops for good. A present algorithm header must say
///   HmacSHA256 (never lets the sender pick a weaker one).
/// * `invalid_signature_trailing_space`: refused at function level (unit
///   test in src/auth/tests.rs compares verbatim). Over HTTP, tiny_http strips the
///   optional whitespace around header values (RFC 9110), so what reaches the
///   verifier is the genuine signature and the callback is accepted.
#[test]
fn shared_signature_vectors_over_http() {
    let vectors = vectors();
    let mut secrets: Vec<String> = vectors
        .iter()
        .map(|v| v["secret"].as_str().unwrap().to_string())
        .collect();
    secrets.sort();
    secrets.dedup();
    let d = Daemon::with_env(&[("SINCH_DLR_CALLBACK_SECRETS", &secrets.join(","))]);
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        for (k, val) in v["headers"].as_object().unwrap() {
            headers.push((k, val.as_str().unwrap()));
        }
        let r = d.request(
            "POST",
            "/api/sinchCallbacks",
            &headers,
            v["body"].as_str().unwrap().as_bytes(),
        );
        let expect_ok = v["valid"].as_bool().unwrap() || name == "invalid_signature_trailing_space";
        if expect_ok {
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            let result = r.json()["result"].as_str().unwrap().to_string();
            assert!(
                ["stored", "duplicate"].contains(&result.as_str()),
                "{name}: {result}"
            );
        } else {
            assert_eq!(r.status, 401, "{name}: {}", r.text());
            assert_eq!(
                r.json(),
                serde_json::json!({"error": "unauthorized"}),
                "{name}"
            );
        }
    }
}

#[test]
fn unsigned_and_wrongly_signed_callbacks_are_refused_and_not_stored() {
    let d = Daemon::start();
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let r = d.request(
        "POST",
        "/api/sinchCallbacks",
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(r.status, 401);
    let headers = signed_headers("not-the-secret", &body);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = d.request("POST", "/api/sinchCallbacks", &refs, &body);
    assert_eq!(r.status, 401);
    let expected = sinch_dlr::auth::sign(SECRET, &body, "01JTESTNONCE0000000000000", "1740910531");
    assert!(
        !r.text().contains(&expected),
        "401 must not reveal the expected signature"
    );
    assert!(
        !d.stderr().contains(&expected),
        "log must not reveal the expected signature"
    );
    assert!(
        !d.stderr().contains(SECRET),
        "log must not reveal the secret"
    );
    assert_eq!(d.get("/api/messages/1").status, 404, "nothing stored");
}

#[test]
fn basic_auth_callbacks() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_AUTH", "basic"),
        ("SINCH_DLR_CALLBACK_BASIC", "sinch:s3cret"),
        ("SINCH_DLR_API_TOKEN", TOKEN),
    ]);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("sinch:s3cret")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("sinch:guess")
    );
    let post = |auth: &str| {
        d.request(
            "POST",
            "/api/sinchCallbacks",
            &[("Authorization", auth)],
            &body,
        )
    };
    assert_eq!(post(&bad).status, 401);
    assert_eq!(post(&good).status, 200);
    assert_eq!(
        d.get("/api/messages/1").json()["latest_status"],
        "Delivered"
    );
    // HMAC is off in basic-only mode: a correct HMAC alone is not enough.
    assert_eq!(d.callback(&body).status, 401);
}

/// The tutorial's scheme (x-sinch-signature + x-sinch-timestamp, decoded
/// key) is refused by default and accepted only when asked for.
#[test]
fn legacy_tutorial_scheme_is_opt_in() {
    let v = vectors()
        .into_iter()
        .find(|v| v["name"] == "invalid_tutorial_scheme_headers")
        .unwrap();
    let secret = v["secret"].as_str().unwrap();
    let body = v["body"].as_str().unwrap().as_bytes().to_vec();
    let headers: Vec<(String, String)> = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, val)| (k.clone(), val.as_str().unwrap().to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let default = Daemon::with_env(&[("SINCH_WEBHOOK_SECRET", secret)]);
    assert_eq!(
        default
            .request("POST", "/api/sinchCallbacks", &refs, &body)
            .status,
        401
    );
    let legacy = Daemon::with_env(&[
        ("SINCH_WEBHOOK_SECRET", secret),
        ("SINCH_DLR_CALLBACK_AUTH", "hmac,legacy"),
    ]);
    let r = legacy.request("POST", "/api/sinchCallbacks", &refs, &body);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn no_auth_mode_is_explicit_and_loud() {
    let d = Daemon::with_env(&[("SINCH_DLR_CALLBACK_AUTH", "none")]);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let r = d.request("POST", "/api/sinchCallbacks", &[], &body);
    assert_eq!(r.status, 200);
    assert!(
        d.stderr().contains("callback authentication is OFF"),
        "{}",
        d.stderr()
    );
}

#[test]
fn metrics_tell_which_secret_verified() {
    let d = Daemon::with_env(&[(
        "SINCH_DLR_CALLBACK_SECRETS",
        &format!("new-secret,{SECRET}"),
    )]);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    assert_eq!(d.callback(&body).status, 200);
    let m = d.request("GET", "/metrics", &[], b"").text();
    assert!(
        m.contains("sinch_dlr_callback_secret_used_total{secret=\"1\"} 1"),
        "{m}"
    );
}

#[test]
fn custom_header_callbacks_right_wrong_and_missing() {
    let value = "k3y-6f1e0c2a9b7d4e5f";
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_AUTH", "header"),
        (
            "SINCH_DLR_CALLBACK_HEADER",
            &format!("X-Callback-Key: {value}"),
        ),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("LOG_LEVEL", "trace"),
    ]);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let post = |headers: &[(&str, &str)]| d.request("POST", "/api/sinchCallbacks", headers, &body);
    assert_eq!(post(&[]).status, 401, "missing");
    assert_eq!(
        post(&[("X-Callback-Key", "k3y-wrong")]).status,
        401,
        "wrong"
    );
    assert_eq!(
        post(&[("X-Callback-Key", "k3y-6f1e0c2a9b7d4e5")]).status,
        401,
        "prefix"
    );
    assert_eq!(post(&[("X-Other", value)]).status, 401, "other name");
    assert_eq!(d.get("/api/messages/1").status, 404, "nothing stored");
    let r = post(&[("x-callback-key", value)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["result"], "stored");
    assert!(!d.stderr().contains(value), "the value is never logged");
}

#[test]
fn custom_header_combines_with_hmac_and_stays_out_of_check_config() {
    let value = "k3y-0a1b2c3d4e5f6a7b";
    let env = [
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        (
            "SINCH_DLR_CALLBACK_HEADER",
            &format!("X-Callback-Key: {value}") as &str,
        ),
        ("SINCH_DLR_API_TOKEN", TOKEN),
    ];
    let d = Daemon::with_env(&env);
    // Unset SINCH_DLR_CALLBACK_AUTH: hmac plus header, either lets a callback in.
    let signed = recipient_report("B2", "15551230002", "Delivered", 0, "2025-01-01T00:00:00Z");
    assert_eq!(d.callback(&signed).status, 200);
    let body = recipient_report("B3", "15551230003", "Delivered", 0, "2025-01-01T00:00:00Z");
    let r = d.request(
        "POST",
        "/api/sinchCallbacks",
        &[("X-Callback-Key", value)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d.request(
        "POST",
        "/api/sinchCallbacks",
        &[("X-Callback-Key", "nope")],
        &body,
    );
    assert_eq!(r.status, 401);
    let out = binary(d.path())
        .arg("check-config")
        .envs(env)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SINCH_DLR_CALLBACK_HEADER"), "{text}");
    assert!(
        !text.contains(value),
        "check-config shows the value: {text}"
    );
}

#[test]
fn a_malformed_custom_header_setting_is_refused_naming_the_variable() {
    for bad in ["no colon here", ": value", "Bad Name: v", "X-Key:   "] {
        let out = binary(std::env::temp_dir().as_path())
            .args(["check-config"])
            .env("SINCH_DLR_CALLBACK_HEADER", bad)
            .env("SINCH_DLR_CALLBACK_AUTH", "header")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.contains("SINCH_DLR_CALLBACK_HEADER"), "{bad:?}: {err}");
    }
}
