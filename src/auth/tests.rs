//! The callback and token rules, case by case.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Vector {
    name: String,
    secret: String,
    body: String,
    headers: BTreeMap<String, String>,
    valid: bool,
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signature-vectors.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn headers(map: &BTreeMap<String, String>) -> Headers {
    Headers::from_pairs(map.iter().map(|(k, v)| (k.clone(), v.clone())))
}

fn hmac_only(secret: &str) -> CallbackAuth {
    CallbackAuth {
        hmac_secrets: vec![Secret::new(secret)],
        ..CallbackAuth::default()
    }
}

/// Every shared vector gets the answer it names, at function level
/// (header values verbatim, so the trailing-space vector is refused).
#[test]
fn debug_shows_no_key_material() {
    let auth = CallbackAuth {
        hmac_secrets: vec![Secret::new("hmac-secret")],
        legacy_keys: vec![b"legacy-key".to_vec()],
        basic: Some(Secret::new("user:pass")),
        ..CallbackAuth::default()
    };
    let shown = format!("{auth:?}");
    for leak in [
        "hmac-secret",
        "user:pass",
        "108, 101",
        "108,101",
        "legacy-key",
    ] {
        assert!(!shown.contains(leak), "{shown}");
    }
}

#[test]
fn shared_signature_vectors() {
    let all = vectors();
    assert_eq!(all.len(), 37);
    for v in all {
        let got = hmac_only(&v.secret).verify(&headers(&v.headers), v.body.as_bytes(), 0);
        assert_eq!(got.is_ok(), v.valid, "{}: {got:?}", v.name);
    }
}

#[test]
fn java_sdk_fixture_signature() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/payloads/recipient_delivery_report_sms.delivered.json"
    ))
    .unwrap();
    assert_eq!(
        sign(
            "SMSWebhooksSecret",
            &body,
            "01JHFFHWYY7HSS4FWTMDTQEK8V",
            "1736760161"
        ),
        "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0="
    );
}

#[test]
fn rotation_reports_which_secret_matched() {
    let v = &vectors()[1];
    let auth = CallbackAuth {
        hmac_secrets: vec![Secret::new("new-secret"), Secret::new(v.secret.clone())],
        ..CallbackAuth::default()
    };
    let got = auth.verify(&headers(&v.headers), v.body.as_bytes(), 0);
    assert_eq!(got, Ok(Verified::Hmac { secret_index: 1 }));
    let wrong = CallbackAuth {
        hmac_secrets: vec![Secret::new("a"), Secret::new("b")],
        ..CallbackAuth::default()
    };
    let got = wrong.verify(&headers(&v.headers), v.body.as_bytes(), 0);
    assert_eq!(got, Err(AuthError::BadSignature));
}

#[test]
fn freshness_window_is_opt_in() {
    let v = &vectors()[1];
    let ts: i64 = v.headers[TIMESTAMP].parse().unwrap();
    let mut auth = hmac_only(&v.secret);
    let h = headers(&v.headers);
    assert!(
        auth.verify(&h, v.body.as_bytes(), ts + 86_400 * 365)
            .is_ok()
    );
    auth.max_age_secs = Some(300);
    assert!(auth.verify(&h, v.body.as_bytes(), ts + 299).is_ok());
    assert!(auth.verify(&h, v.body.as_bytes(), ts - 299).is_ok());
    assert_eq!(
        auth.verify(&h, v.body.as_bytes(), ts + 301),
        Err(AuthError::Stale)
    );
}

#[test]
fn nonce_and_timestamp_shapes() {
    assert_eq!(check_shape("01JN8Q", "1740910531"), Ok(()));
    assert_eq!(check_shape("", "1"), Err(AuthError::BadNonce));
    assert_eq!(check_shape("a.b", "1"), Err(AuthError::BadNonce));
    for ts in ["", "notanumber", "-1", "+1", "0ts", " 1", "١٢"] {
        assert_eq!(check_shape("n", ts), Err(AuthError::BadTimestamp), "{ts:?}");
    }
}

#[test]
fn missing_headers_are_named() {
    let auth = hmac_only("s");
    let got = auth.verify(&Headers::default(), b"{}", 0);
    assert_eq!(got, Err(AuthError::MissingHeader(SIGNATURE)));
    let only_sig = Headers::from_pairs([(SIGNATURE.to_string(), "x".to_string())]);
    assert_eq!(
        auth.verify(&only_sig, b"{}", 0),
        Err(AuthError::MissingHeader(NONCE))
    );
}

#[test]
fn basic_auth() {
    let auth = CallbackAuth {
        basic: Some(Secret::new("sinch:pa:ss")),
        ..CallbackAuth::default()
    };
    let with = |v: &str| Headers::from_pairs([("Authorization".to_string(), v.to_string())]);
    let good = format!("Basic {}", STANDARD.encode("sinch:pa:ss"));
    assert_eq!(auth.verify(&with(&good), b"", 0), Ok(Verified::Basic));
    let lower = format!("basic {}", STANDARD.encode("sinch:pa:ss"));
    assert_eq!(auth.verify(&with(&lower), b"", 0), Ok(Verified::Basic));
    let bad = format!("Basic {}", STANDARD.encode("sinch:wrong"));
    assert_eq!(auth.verify(&with(&bad), b"", 0), Err(AuthError::BadBasic));
    assert_eq!(
        auth.verify(&with("Bearer x"), b"", 0),
        Err(AuthError::BadBasic)
    );
    assert_eq!(
        auth.verify(&Headers::default(), b"", 0),
        Err(AuthError::NoCredentials)
    );
}

/// The tutorial-scheme vector is refused by default and accepted only in
/// the opt-in legacy mode.
#[test]
fn legacy_scheme_is_opt_in() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "invalid_tutorial_scheme_headers")
        .unwrap();
    let h = headers(&v.headers);
    assert!(
        hmac_only(&v.secret)
            .verify(&h, v.body.as_bytes(), 0)
            .is_err()
    );
    let legacy = CallbackAuth {
        legacy_keys: vec![STANDARD.decode(&v.secret).unwrap()],
        ..CallbackAuth::default()
    };
    assert_eq!(
        legacy.verify(&h, v.body.as_bytes(), 0),
        Ok(Verified::Legacy { secret_index: 0 })
    );
    let mut tampered = v.body.clone().into_bytes();
    tampered[5] ^= 1;
    assert!(legacy.verify(&h, &tampered, 0).is_err());
}

#[test]
fn bearer_token() {
    let token = Secret::new("t0ken");
    let with = |v: &str| Headers::from_pairs([("authorization".to_string(), v.to_string())]);
    assert!(verify_bearer(&with("Bearer t0ken"), &token));
    assert!(verify_bearer(&with("bearer t0ken"), &token));
    assert!(!verify_bearer(&with("Bearer t0ke"), &token));
    assert!(!verify_bearer(&with("Bearer t0kenX"), &token));
    assert!(!verify_bearer(&with("Basic t0ken"), &token));
    assert!(!verify_bearer(&Headers::default(), &token));
}

#[test]
fn secrets_never_print() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
    let auth = hmac_only("hunter2");
    assert!(!format!("{auth:?}").contains("hunter2"));
}

#[test]
fn generated_secrets_are_long_and_distinct() {
    let a = generate_secret().unwrap();
    let b = generate_secret().unwrap();
    assert_eq!(a.expose().len(), 43);
    assert_ne!(a, b);
}

#[test]
fn flipping_any_byte_rejects() {
    let v = &vectors()[0];
    let h = headers(&v.headers);
    let auth = hmac_only(&v.secret);
    for i in 0..v.body.len() {
        let mut body = v.body.clone().into_bytes();
        body[i] ^= 0x01;
        assert!(auth.verify(&h, &body, 0).is_err(), "byte {i}");
    }
}

#[test]
fn custom_header_parses_name_and_value_and_compares_whole_values() {
    let h = CustomHeader::parse("X-Callback-Key:  abc 123 ").unwrap();
    assert_eq!(h.name, "X-Callback-Key");
    assert_eq!(h.value.expose(), "abc 123");
    for bad in ["", "novalue", ":v", "X Key: v", "X-Key:", "X-Key: \u{7f}"] {
        assert!(CustomHeader::parse(bad).is_err(), "{bad:?}");
    }
    let auth = CallbackAuth {
        header: Some(h),
        ..CallbackAuth::default()
    };
    let with = |v: &str| Headers::from_pairs([("x-callback-key".to_string(), v.to_string())]);
    assert_eq!(
        auth.verify(&with("abc 123"), b"{}", 0),
        Ok(Verified::Header)
    );
    assert_eq!(
        auth.verify(&with("abc 12"), b"{}", 0),
        Err(AuthError::BadHeader)
    );
    assert_eq!(
        auth.verify(&with("abc 1234"), b"{}", 0),
        Err(AuthError::BadHeader)
    );
    let none = Headers::from_pairs([]);
    assert_eq!(auth.verify(&none, b"{}", 0), Err(AuthError::NoCredentials));
    assert!(!format!("{auth:?}").contains("abc"));
}
