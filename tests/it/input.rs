//! Input the daemon must not trust (issue #13): the shape of signature
//! headers, recipients, CSV cells, `{id}` path segments, and the
//! dashboard session (login throttling, revocation, Origin, Secure).

use crate::support::*;
use serde_json::json;

/// Posts `body` signed with `SECRET` over the given nonce and timestamp
/// (the signature is genuine for exactly these three values).
fn post_signed(d: &Daemon, body: &[u8], nonce: &str, ts: &str) -> Response {
    let signature = sinch_dlr::auth::sign(SECRET, body, nonce, ts);
    d.request(
        "POST",
        "/api/sinchCallbacks",
        &[
            ("Content-Type", "application/json"),
            ("x-sinch-webhook-signature", &signature),
            ("x-sinch-webhook-signature-nonce", nonce),
            ("x-sinch-webhook-signature-timestamp", ts),
            ("x-sinch-webhook-signature-algorithm", "HmacSHA256"),
        ],
        body,
    )
}

fn quarantine(d: &Daemon) -> Vec<serde_json::Value> {
    d.get("/api/quarantine").json()["quarantine"]
        .as_array()
        .unwrap()
        .clone()
}

/// The signature covers `body.nonce.timestamp`, so a genuine body cut at
/// its last `.` with the rest moved into the nonce carries a valid HMAC.
/// Nonces with `.`, empty nonces and timestamps that are not plain digits
/// are refused as failed authentication (401), and nothing is stored.
#[test]
fn signature_nonce_and_timestamp_must_have_their_shape() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_CALLBACK_MAX_AGE", "300"),
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let genuine = recipient_report(
        "B1",
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:42.000Z",
    );
    let nonce = "01JTESTNONCE0000000000000";
    // Sinch sent `genuine` with `nonce`; an attacker replays the signature
    // with the body cut at its last '.' and the tail moved into the nonce.
    let text = String::from_utf8(genuine.clone()).unwrap();
    let (head, tail) = text.rsplit_once('.').unwrap();
    let signature = sinch_dlr::auth::sign(SECRET, &genuine, nonce, &now);
    let moved_nonce = format!("{tail}.{nonce}");
    assert_eq!(
        sinch_dlr::auth::sign(SECRET, head.as_bytes(), &moved_nonce, &now),
        signature,
        "the same signature verifies the cut body"
    );
    let cut = d.request(
        "POST",
        "/api/sinchCallbacks",
        &[
            ("x-sinch-webhook-signature", &signature),
            ("x-sinch-webhook-signature-nonce", &moved_nonce),
            ("x-sinch-webhook-signature-timestamp", &now),
        ],
        head.as_bytes(),
    );
    assert_eq!(cut.status, 401, "cut body: {}", cut.text());
    let cases: &[(&str, &str)] = &[
        ("", &now),
        ("a.b", &now),
        (nonce, ""),
        (nonce, "notanumber"),
        (nonce, "-1"),
        (nonce, "+1740910531"),
        (nonce, "0ts"),
        (nonce, " 1740910531x"),
    ];
    for (n, ts) in cases {
        let r = post_signed(&d, &genuine, n, ts);
        assert_eq!(r.status, 401, "nonce {n:?} timestamp {ts:?}: {}", r.text());
    }
    let stats = d.get("/api/stats").json();
    assert_eq!(stats["messages"], 0, "nothing merged");
    assert!(
        quarantine(&d).is_empty(),
        "nothing kept from refused bodies"
    );
    // The genuine triple still passes, with the freshness window on.
    let ok = post_signed(&d, &genuine, nonce, &now);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json(), json!({"result": "stored"}));
}

/// One recipient rule for registrations and callbacks: after the usual
/// formatting only ASCII digits, 1 to 15 of them. A callback whose
/// recipient breaks it is authentic, so it is kept (200 `quarantined`,
/// with the reason and the raw body), never merged into a message.
#[test]
fn recipients_must_be_phone_numbers_on_both_paths() {
    let d = Daemon::start();
    let registered = d.post_api(
        "/api/messages",
        &json!({"to": "+1 (555) 123-0001", "batch_id": "B", "client_reference": "r1"}),
    );
    assert_eq!(registered.status, 201, "{}", registered.text());
    assert_eq!(registered.json()["recipient"], "15551230001");
    let bad = [
        "abc".to_string(),
        "+".to_string(),
        "١٥٥٥١٢٣٠٠٠١".to_string(),
        "１５５５１２３０００１".to_string(),
        "1555123000１".to_string(),
        "1234567890123456".to_string(),
        "1".repeat(400),
    ];
    for to in &bad {
        let r = d.post_api("/api/messages", &json!({"to": to, "batch_id": "B"}));
        assert_eq!(r.status, 400, "registration of {to:?}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().starts_with("to:"));
    }
    let mut bodies = Vec::new();
    for to in &bad {
        let body = recipient_report("B", to, "Delivered", 0, "2025-03-02T10:15:42Z");
        let r = d.callback(&body);
        assert_eq!(r.status, 200, "callback for {to:?}: {}", r.text());
        assert_eq!(r.json(), json!({"result": "quarantined"}), "{to:?}");
        bodies.push(String::from_utf8(body).unwrap());
    }
    // A batch report listing one bad recipient is not split: kept whole.
    let batch = r#"{"batch_id":"B","statuses":[{"code":0,"count":2,"recipients":["15551230001","abc"],"status":"Delivered"}],"type":"delivery_report_sms"}"#;
    let r = d.callback(batch.as_bytes());
    assert_eq!(r.json(), json!({"result": "quarantined"}));
    bodies.push(batch.to_string());

    let kept = quarantine(&d);
    assert_eq!(
        kept.len(),
        bodies.len(),
        "every body kept, none as duplicate"
    );
    for body in &bodies {
        let entry = kept
            .iter()
            .find(|q| q["raw"].as_str() == Some(body))
            .unwrap_or_else(|| panic!("{body} not in quarantine"));
        let reason = entry["reason"].as_str().unwrap();
        assert!(reason.contains("recipient"), "{reason}");
    }
    let stats = d.get("/api/stats").json();
    assert_eq!(stats["messages"], 1, "no message for a bad recipient");
    let m = d.get("/api/messages/1").json();
    assert_eq!(
        m["status_updates"],
        json!([]),
        "`1555123000１` is not merged"
    );
    // A well-formed callback (Sinch's digits, or formatted) still matches.
    let ok = d.callback(&recipient_report(
        "B",
        "+1 555-123-0001",
        "Delivered",
        0,
        "2025-03-02T10:15:42Z",
    ));
    assert_eq!(ok.json(), json!({"result": "stored"}));
    assert_eq!(
        d.get("/api/messages/1").json()["latest_status"],
        "Delivered"
    );
}

/// CSV exports neutralise text a spreadsheet would run as a formula
/// (leading `=`, `+`, `-`, `@`, tab, CR get a `'`); pure phone numbers
/// like `+15551230001` stay as they are; NDJSON keeps every byte.
#[test]
fn csv_export_neutralises_formulas_and_ndjson_stays_exact() {
    let d = Daemon::start();
    let reference = r#"=HYPERLINK("http://evil.example/?x","open")"#;
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": "B", "client_reference": reference, "body": "@SUM(1+1)"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = d.post_api(
        "/api/messages",
        &json!({"to": "15551230002", "batch_id": "B", "client_reference": "-2+3", "body": "\tcmd"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let csv = d.get("/api/export?format=csv").text();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("id,to,recipient,batch_id,client_reference,body,"));
    // Newest first: message 2, then message 1.
    assert!(
        lines[1].starts_with("2,15551230002,15551230002,B,'-2+3,'\tcmd,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            r#"1,+15551230001,15551230001,B,"'=HYPERLINK(""http://evil.example/?x"",""open"")",'@SUM(1+1),"#
        ),
        "{}",
        lines[2]
    );
    let ndjson = d.get("/api/export?format=ndjson").text();
    let rows: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[1]["client_reference"], reference);
    assert_eq!(rows[1]["body"], "@SUM(1+1)");
    assert_eq!(rows[1]["to"], "+15551230001");
    assert_eq!(rows[0]["body"], "\tcmd");
}

/// Every `{id}` route: a segment that is not an id (not a number, too
/// large, negative, `..`) names nothing that can exist, so it is a 404
/// like an unknown id, never a 400.
#[test]
fn ids_that_cannot_exist_are_not_found() {
    let d = Daemon::start();
    let token = format!("Bearer {TOKEN}");
    for bad in [
        "abc",
        "99999999999999999999999",
        "-1",
        "1.0",
        "..%2F..%2Fetc%2Fpasswd",
        "%20",
        "12345",
    ] {
        for (method, path) in [
            ("GET", format!("/api/messages/{bad}")),
            ("GET", format!("/api/inbound/{bad}")),
            ("POST", format!("/api/quarantine/{bad}/retry")),
            ("POST", format!("/api/messages/{bad}/feedback")),
            ("GET", format!("/api/endpoints/{bad}")),
            ("PATCH", format!("/api/endpoints/{bad}")),
            ("DELETE", format!("/api/endpoints/{bad}")),
            ("POST", format!("/api/endpoints/{bad}/replay")),
            ("POST", format!("/api/endpoints/{bad}/rotate-secret")),
            ("GET", format!("/ui/messages/{bad}")),
        ] {
            let headers = [
                ("Authorization", token.as_str()),
                ("Content-Type", "application/json"),
            ];
            let r = d.request(method, &path, &headers, b"{}");
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
        }
    }
}

/// A dashboard login form post with this daemon's own Origin.
fn login_with(d: &Daemon, token: &str) -> Response {
    let origin = format!("http://{}", d.addr);
    d.request(
        "POST",
        "/ui/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", &origin),
        ],
        format!("token={token}").as_bytes(),
    )
}

fn metric(d: &Daemon, line_start: &str) -> u64 {
    let text = d.request("GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn retry_after(r: &Response) -> u64 {
    r.header("Retry-After").unwrap().parse().unwrap()
}

/// 300 wrong tokens, then the right one: after 5 failures the address is
/// answered 429 + Retry-After without the token being looked at (so the
/// right one is refused too), the wait doubles with each failure after a
/// block, a success resets the count, wrong bearer tokens count alike,
/// Sinch callbacks are never throttled, and a metric counts it all.
#[test]
fn failed_logins_and_bearer_guesses_are_throttled() {
    let d = Daemon::start();
    for i in 0..5 {
        assert_eq!(login_with(&d, &format!("guess-{i}")).status, 401);
    }
    // Blocked for 1 s from here. The right token is not even checked.
    let blocked_at = std::time::Instant::now();
    let right = login_with(&d, TOKEN);
    assert_eq!(right.status, 429, "blocked: the right token is not checked");
    assert!(right.header("Set-Cookie").is_none());
    assert_eq!(retry_after(&right), 1);
    // The API token guessed by bearer is the same secret: blocked too.
    let api = d.get("/api/stats");
    assert_eq!(api.status, 429, "{}", api.text());
    assert_eq!(retry_after(&api), 1);
    // Up to 295 more guesses, as fast as they go, while the block lasts
    // (asked only within its first 800 ms, so a slow machine cannot turn
    // the test into a different one): every one 429.
    let mut throttled: u64 = 1;
    for i in 5..300 {
        if blocked_at.elapsed() > std::time::Duration::from_millis(800) {
            break;
        }
        let answer = login_with(&d, &format!("guess-{i}"));
        assert_eq!(answer.status, 429, "guess {i}");
        throttled += 1;
    }
    assert!(throttled > 10, "only {throttled} guesses in 800 ms");
    // Callbacks are never throttled (a 4xx loses them): signed is stored,
    // unsigned is 401 as ever.
    let body = recipient_report("B", "15551230001", "Delivered", 0, "2025-03-02T10:15:42Z");
    assert_eq!(d.callback(&body).json(), json!({"result": "stored"}));
    let unsigned = d.request("POST", "/api/sinchCallbacks", &[], &body);
    assert_eq!(unsigned.status, 401);
    assert_eq!(
        metric(
            &d,
            r#"sinch_dlr_auth_refused_total{kind="login",reason="wrong"}"#
        ),
        5
    );
    assert_eq!(
        metric(
            &d,
            r#"sinch_dlr_auth_refused_total{kind="login",reason="throttled"}"#
        ),
        throttled
    );
    assert_eq!(
        metric(
            &d,
            r#"sinch_dlr_auth_refused_total{kind="bearer",reason="throttled"}"#
        ),
        1
    );
    std::thread::sleep(std::time::Duration::from_millis(1100).saturating_sub(blocked_at.elapsed()));
    // After the block, one more failure blocks twice as long.
    let wrong_bearer = d.request(
        "GET",
        "/api/stats",
        &[("Authorization", "Bearer wrong")],
        b"",
    );
    assert_eq!(wrong_bearer.status, 401);
    let blocked = login_with(&d, TOKEN);
    assert_eq!(blocked.status, 429);
    assert_eq!(retry_after(&blocked), 2, "the wait doubles");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let ok = login_with(&d, TOKEN);
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert!(ok.header("Set-Cookie").is_some());
    // A success starts again: five wrong guesses are 401 before a 429.
    for _ in 0..5 {
        assert_eq!(login_with(&d, "guess").status, 401);
    }
    assert_eq!(login_with(&d, "guess").status, 429);
}

/// The `name=value` part of a Set-Cookie header.
fn cookie_of(r: &Response) -> String {
    let set = r.header("Set-Cookie").expect("Set-Cookie");
    set.split(';').next().unwrap().to_string()
}

fn page_status(d: &Daemon, cookie: &str) -> u16 {
    d.request("GET", "/", &[("Cookie", cookie)], b"").status
}

fn logout_with(d: &Daemon, headers: &[(&str, &str)]) -> Response {
    d.request("POST", "/ui/logout", headers, b"")
}

/// Logout revokes sessions on the server (the generation kept in the redb
/// file goes up, so a copied cookie is worthless afterwards, also after a
/// restart); a logout without a valid session revokes nothing; a dashboard
/// POST from another origin (or naming none, or `null`) is refused 403.
#[test]
fn logout_revokes_sessions_and_dashboard_posts_need_our_origin() {
    let d = Daemon::start();
    let own = format!("http://{}", d.addr);
    let first = cookie_of(&login_with(&d, TOKEN));
    let second = cookie_of(&login_with(&d, TOKEN));
    assert_eq!(page_status(&d, &first), 200);
    // Cross-site: another site's form, a hidden origin, none at all.
    let evil_referer = "http://evil.example/page";
    for headers in [
        vec![
            ("Cookie", first.as_str()),
            ("Origin", "http://evil.example"),
        ],
        vec![("Cookie", first.as_str()), ("Origin", "null")],
        vec![("Cookie", first.as_str()), ("Referer", evil_referer)],
        vec![("Cookie", first.as_str())],
    ] {
        let r = logout_with(&d, &headers);
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.header("Set-Cookie").is_none());
    }
    let cross_login = d.request(
        "POST",
        "/ui/login",
        &[("Origin", "http://evil.example")],
        format!("token={TOKEN}").as_bytes(),
    );
    assert_eq!(cross_login.status, 403, "login from another origin");
    assert!(cross_login.header("Set-Cookie").is_none());
    assert_eq!(page_status(&d, &first), 200, "still logged in");
    // A logout without a valid session only clears the cookie.
    let stranger = logout_with(&d, &[("Origin", &own)]);
    assert_eq!(stranger.status, 303);
    assert_eq!(page_status(&d, &first), 200, "a stranger revokes nothing");
    // A real logout (Referer alone names the origin here) revokes it.
    let referer = format!("{own}/");
    let out = logout_with(&d, &[("Cookie", &first), ("Referer", &referer)]);
    assert_eq!(out.status, 303, "{}", out.text());
    assert!(out.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        page_status(&d, &first),
        303,
        "the old cookie no longer works"
    );
    assert_eq!(
        page_status(&d, &second),
        303,
        "logout ends every session issued before it"
    );
    let fresh = cookie_of(&login_with(&d, TOKEN));
    assert_eq!(page_status(&d, &fresh), 200);
    let d = d.restart();
    assert_eq!(
        page_status(&d, &first),
        303,
        "revocation survives a restart"
    );
    assert_eq!(page_status(&d, &fresh), 200, "later sessions survive too");
}

/// The session cookie is `Secure` when the dashboard is served over HTTPS:
/// an https SINCH_DLR_PUBLIC_URL (a TLS proxy in front; its Origin is
/// accepted although the proxy may rewrite Host) or the daemon's own TLS.
/// Plain HTTP without a public https URL has no `Secure` (the browser
/// would drop the cookie).
#[test]
fn session_cookie_is_secure_over_https() {
    let plain = Daemon::start();
    let set = login_with(&plain, TOKEN);
    assert!(!set.header("Set-Cookie").unwrap().contains("Secure"));

    let proxied = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_PUBLIC_URL", "https://dlr.example.com"),
    ]);
    let r = proxied.request(
        "POST",
        "/ui/login",
        &[("Origin", "https://dlr.example.com")],
        format!("token={TOKEN}").as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let set = r.header("Set-Cookie").unwrap();
    assert!(set.contains("; Secure"), "{set}");
    let cookie = cookie_of(&r);
    let out = proxied.request(
        "POST",
        "/ui/logout",
        &[("Cookie", &cookie), ("Origin", "https://dlr.example.com")],
        b"",
    );
    assert_eq!(out.status, 303);
    assert!(out.header("Set-Cookie").unwrap().contains("; Secure"));
    let wrong_scheme = proxied.request(
        "POST",
        "/ui/login",
        &[("Origin", "http://dlr.example.com")],
        format!("token={TOKEN}").as_bytes(),
    );
    assert_eq!(wrong_scheme.status, 403);
}

/// The daemon's own TLS (SINCH_DLR_TLS_CERT/KEY): the login over HTTPS
/// sets a `Secure` cookie. Skipped without openssl to make a certificate.
#[test]
fn session_cookie_is_secure_with_the_daemons_own_tls() {
    let Some((d, agent)) = tls_daemon() else {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    };
    let base = format!("https://localhost:{}", d.addr.port());
    let r = agent
        .post(format!("{base}/ui/login"))
        .header("Origin", &base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("token={TOKEN}").as_bytes())
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

/// Guesses sent all at once (one per worker thread) are counted as they
/// are let through, so a burst gets no more tries than a sequence.
#[test]
fn a_burst_of_guesses_gets_no_more_tries_than_a_sequence() {
    let d = Daemon::start();
    let addr = d.addr;
    let origin = format!("http://{addr}");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(48));
    let threads: Vec<_> = (0..48)
        .map(|i| {
            let (barrier, origin) = (barrier.clone(), origin.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let body = format!("token=guess-{i}");
                request(
                    addr,
                    "POST",
                    "/ui/login",
                    &[("Origin", &origin)],
                    body.as_bytes(),
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((wrong, throttled), (5, 43), "{statuses:?}");
}
