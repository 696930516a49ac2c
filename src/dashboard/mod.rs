//! The built-in dashboard: server-rendered HTML, no JavaScript, nothing
//! fetched from elsewhere, read-only. Protected like the API: a login form
//! sets an HttpOnly, SameSite=Strict session cookie (`Secure` when served
//! over HTTPS), and `Authorization: Bearer` works too. The cookie is signed
//! with the API token and the session generation kept in the redb file:
//! logout raises the generation, which revokes every session issued before
//! it. The only POSTs are login and logout; each must come from this
//! dashboard's own origin (origin.rs), and failed logins are throttled
//! (throttle.rs).

mod chart;
pub mod endpoints;
pub mod html;
pub mod lists;
mod origin;
pub mod pages;
mod reconciliation;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::Duration;

use crate::app::App;
use crate::auth::{Secret, ct_eq};
use crate::clock::now_secs;
use crate::http::{ApiError, Reply, Request};
use crate::log_limit::LogLimit;
use crate::store::EndSessions;
use crate::throttle::Blocked;

const COOKIE: &str = "sdlr_session";
/// How long a login lasts.
const SESSION_SECS: i64 = 12 * 3600;

/// `GET /ui/login`: the login form.
pub fn login_page(_: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    Ok(html_reply(200, html::login_page(None)))
}

/// Refused logins and cross-site posts can come from anyone: their
/// warnings are kept to a budget each (the metrics count every one), so a
/// flood of one kind does not hide the other.
static LOGINS_LOGGED: LogLimit = LogLimit::new(20, Duration::from_secs(10));
static CROSS_SITE_LOGGED: LogLimit = LogLimit::new(20, Duration::from_secs(10));
/// The gate for the dashboard's POSTs: sent from its own origin
/// (origin.rs), else a 403 page.
pub fn same_origin(app: &App, req: &Request) -> Result<(), Reply> {
    if origin::same_origin(req, app.public_url.as_deref()) {
        return Ok(());
    }
    if let Some(note) = CROSS_SITE_LOGGED.admit() {
        log::warn!("dashboard POST refused: Origin/Referer is not this dashboard{note}");
    }
    Err(html_reply(
        403,
        html::login_page(Some("Refused: this form was not sent from this dashboard.")),
    ))
}

fn html_reply(status: u16, body: String) -> Reply {
    Reply::text(status, "text/html; charset=utf-8", body)
        .with_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        )
        .with_header("X-Content-Type-Options", "nosniff")
        // Not no-referrer: under it a browser sends `Origin: null` with
        // the dashboard's own form posts, which origin.rs must refuse.
        .with_header("Referrer-Policy", "same-origin")
        .with_header("Cache-Control", "no-store")
}

fn redirect(to: &str) -> Reply {
    Reply::text(303, "text/plain; charset=utf-8", "").with_header("Location", to)
}

/// The gate for the dashboard's pages: a bearer token or a valid session
/// cookie; otherwise the login page (or a 403 page saying how to enable
/// the dashboard).
pub fn authorised(app: &App, req: &Request) -> Result<(), Reply> {
    let Some(token) = &app.api_token else {
        return Err(html_reply(
            403,
            html::page(
                "Disabled",
                "",
                "<h1>Dashboard disabled</h1><p>Set <code>SINCH_DLR_API_TOKEN</code> and restart to enable it.</p>",
            ),
        ));
    };
    if session_valid(app, req, token, now_secs()) {
        return Ok(());
    }
    match crate::access::bearer_guess(app, req, token) {
        Ok(true) => Ok(()),
        Ok(false) => Err(redirect("/ui/login")),
        Err(blocked) => Err(too_many(blocked)),
    }
}

/// 429 for an address that failed too often (throttle.rs).
fn too_many(blocked: Blocked) -> Reply {
    let secs = blocked.retry_after_secs;
    let why = format!("Too many failed attempts from your address; try again in {secs} s.");
    html_reply(429, html::login_page(Some(&why))).with_header("Retry-After", secs.to_string())
}

/// `POST /ui/login`: a session cookie for the right token.
pub fn login(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    Ok(login_reply(app, req))
}

fn login_reply(app: &App, req: &Request) -> Reply {
    let Some(token) = &app.api_token else {
        return html_reply(
            403,
            html::login_page(Some(
                "The API token is not configured (SINCH_DLR_API_TOKEN).",
            )),
        );
    };
    let given = crate::http::split_url(&format!("?{}", String::from_utf8_lossy(&req.body)))
        .1
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let right = crate::access::guess(app, req, "login", true, || {
        ct_eq(given.as_bytes(), token.expose().as_bytes())
    });
    match right {
        Ok(true) => {}
        Ok(false) => {
            if let Some(note) = LOGINS_LOGGED.admit() {
                log::warn!("dashboard login refused{note}");
            }
            return html_reply(401, html::login_page(Some("Wrong token.")));
        }
        Err(blocked) => {
            if let Some(note) = LOGINS_LOGGED.admit() {
                log::warn!("dashboard login throttled{note}");
            }
            return too_many(blocked);
        }
    }
    let Some(generation) = generation(app) else {
        return html_reply(
            503,
            html::login_page(Some("Storage unavailable, retry later.")),
        );
    };
    let expires = now_secs() + SESSION_SECS;
    let value = session_value(token, generation, expires);
    redirect("/").with_header("Set-Cookie", cookie(app, &value, SESSION_SECS))
}

/// Ends the session, and with a valid one revokes every session issued so
/// far (the generation in the redb file goes up; answered after the commit).
/// Without a valid session there is nothing to revoke: only the cookie is
/// cleared, so a stranger cannot log everyone out.
pub fn logout(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    Ok(logout_reply(app, req))
}

fn logout_reply(app: &App, req: &Request) -> Reply {
    let valid = app
        .api_token
        .as_ref()
        .is_some_and(|token| session_valid(app, req, token, now_secs()));
    if valid {
        match app.writer.submit(EndSessions) {
            Ok(generation) => {
                log::info!("dashboard logout: sessions of generation < {generation} revoked");
            }
            Err(e) => {
                log::error!("dashboard logout could not revoke sessions: {e:?}");
                return html_reply(
                    503,
                    html::login_page(Some("Storage unavailable, retry later.")),
                );
            }
        }
    }
    redirect("/ui/login").with_header("Set-Cookie", cookie(app, "", 0))
}

/// The session cookie's header value; `Secure` when the dashboard is served
/// over HTTPS (this daemon's own TLS, or an https SINCH_DLR_PUBLIC_URL for
/// a TLS proxy in front).
fn cookie(app: &App, value: &str, max_age: i64) -> String {
    let https = app.tls
        || app.public_url.as_deref().is_some_and(|u| {
            u.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        });
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The current session generation; None (logged) when the store cannot say.
fn generation(app: &App) -> Option<u64> {
    app.store
        .session_generation()
        .map_err(|e| log::error!("dashboard: reading the session generation: {e}"))
        .ok()
}

/// `expiry.mac`: the MAC (keyed by the API token) of the generation and the
/// expiry; changing the token or logging out ends every session.
fn session_value(token: &Secret, generation: u64, expires: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.expose().as_bytes()).expect("any key length");
    mac.update(format!("sinch-dlr-ui-session|{generation}|{expires}").as_bytes());
    format!(
        "{expires}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A session cookie of the current generation that has not expired.
fn session_valid(app: &App, req: &Request, token: &Secret, now: i64) -> bool {
    let Some(cookies) = req.headers.get("cookie") else {
        return false;
    };
    if !cookies.contains(COOKIE) {
        return false;
    }
    generation(app).is_some_and(|g| cookie_valid(cookies, token, g, now))
}

fn cookie_valid(cookies: &str, token: &Secret, generation: u64, now: i64) -> bool {
    cookies
        .split(';')
        .filter_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))
        .any(|value| {
            let Some((expires, _)) = value.split_once('.') else {
                return false;
            };
            let Ok(expires) = expires.parse::<i64>() else {
                return false;
            };
            let expected = session_value(token, generation, expires);
            expires > now && ct_eq(value.as_bytes(), expected.as_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_signed_expire_and_belong_to_a_generation() {
        let token = Secret::new("t0ken");
        let good = session_value(&token, 3, 1000);
        let valid = |cookies: &str, token: &Secret, generation, now| {
            cookie_valid(cookies, token, generation, now)
        };
        assert!(valid(&format!("a=b; {COOKIE}={good}"), &token, 3, 999));
        assert!(
            !valid(&format!("{COOKIE}={good}"), &token, 3, 1000),
            "expired"
        );
        assert!(
            !valid(&format!("{COOKIE}={good}"), &token, 4, 999),
            "revoked"
        );
        assert!(!valid(
            &format!("{COOKIE}={good}"),
            &Secret::new("other"),
            3,
            999
        ));
        let forged = good.replacen("1000", "9999", 1);
        assert!(!valid(&format!("{COOKIE}={forged}"), &token, 3, 999));
        assert!(!valid("sdlr_session=garbage", &token, 3, 0));
    }
}
