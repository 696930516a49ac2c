//! The dashboard over HTTP: every page, login and logout, the cookie's
//! attributes, bearer access, and escaping of attacker-influenced text.

use crate::support::*;
use serde_json::json;

const EVIL: &str = "<script>alert(1)</script>";
const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

fn populated() -> Daemon {
    let d = Daemon::start();
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": BATCH, "client_reference": EVIL, "body": EVIL}),
    );
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230002", "batch_id": BATCH, "client_reference": "order-2"}),
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
        "15551230002",
        "Failed",
        402,
        "2025-03-02T10:15:42Z",
    ));
    d.callback(format!(r#"{{"type":"{EVIL}"}}"#).as_bytes());
    d
}

/// The dashboard's own origin, which every dashboard POST must name.
fn origin(d: &Daemon) -> String {
    format!("http://{}", d.addr)
}

fn login(d: &Daemon) -> String {
    let r = d.request(
        "POST",
        "/ui/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", &origin(d)),
        ],
        format!("token={TOKEN}").as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("Location"), Some("/"));
    let cookie = r.header("Set-Cookie").unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_string()
}

fn page(d: &Daemon, cookie: &str, path: &str) -> Response {
    d.request("GET", path, &[("Cookie", cookie)], b"")
}

#[test]
fn login_logout_and_access() {
    let d = populated();
    let r = d.request("GET", "/", &[], b"");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/ui/login"));
    let form = d.request("GET", "/ui/login", &[], b"");
    assert_eq!(form.status, 200);
    assert!(form.text().contains(r#"name="token""#));
    let wrong = d.request(
        "POST",
        "/ui/login",
        &[("Origin", &origin(&d))],
        b"token=guess",
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("Set-Cookie").is_none());
    let cookie = login(&d);
    assert_eq!(page(&d, &cookie, "/").status, 200);
    assert_eq!(
        page(&d, "sdlr_session=9999999999.forged", "/").status,
        303,
        "forged cookie"
    );
    let bearer = d.request(
        "GET",
        "/",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    );
    assert_eq!(bearer.status, 200, "scripts may use the token");
    let out = d.request(
        "POST",
        "/ui/logout",
        &[("Cookie", &cookie), ("Origin", &origin(&d))],
        b"",
    );
    assert_eq!(out.status, 303);
    assert!(out.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        d.request("PUT", "/ui/search", &[("Cookie", &cookie)], b"")
            .status,
        405,
        "read-only"
    );
    let disabled = Daemon::with_env(&[("SINCH_DLR_CALLBACK_SECRETS", SECRET)]);
    let r = disabled.request("GET", "/", &[], b"");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("SINCH_DLR_API_TOKEN"));
}

#[test]
fn every_page_renders_and_escapes() {
    let d = populated();
    let cookie = login(&d);
    let pages = [
        "/".to_string(),
        "/?hours=1".to_string(),
        format!("/ui/search?q={BATCH}"),
        "/ui/search?q=%2B1%20555-123-0002".to_string(),
        "/ui/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_string(),
        "/ui/messages/1".to_string(),
        format!("/ui/batches/{BATCH}"),
    ];
    for path in &pages {
        let r = page(&d, &cookie, path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
        assert!(
            r.header("Content-Security-Policy")
                .unwrap()
                .contains("default-src 'none'")
        );
        let html = r.text();
        assert!(
            !html.contains(EVIL),
            "{path} carries raw markup from a payload"
        );
        assert!(!html.contains("<script"), "{path} has a script element");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path} loads something from elsewhere"
        );
    }
    let message = page(&d, &cookie, "/ui/messages/1").text();
    assert!(
        message.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped, still readable"
    );
    assert!(message.contains("Delivered"));
    let overview = page(&d, &cookie, "/").text();
    assert!(overview.contains("<svg"), "chart");
    assert!(
        overview.contains("Message unroutable"),
        "failure code explained"
    );
    assert!(
        overview.contains("Quarantine") && overview.contains("&lt;script&gt;"),
        "quarantine shown, escaped"
    );
    assert!(overview.contains("Callback secrets"));
    let search = page(&d, &cookie, "/ui/search?q=%2B1%20555-123-0002").text();
    assert!(
        search.contains("/ui/messages/2") && !search.contains("/ui/messages/1\""),
        "digits rule"
    );
    let batch = page(&d, &cookie, &format!("/ui/batches/{BATCH}")).text();
    assert!(batch.contains("/ui/messages/1") && batch.contains("/ui/messages/2"));
    assert_eq!(page(&d, &cookie, "/ui/messages/99").status, 404);
    assert_eq!(page(&d, &cookie, "/ui/nothing").status, 404);
}
