//! The built-in dashboard: server-rendered HTML, no JavaScript, nothing
//! fetched from elsewhere, read-only. Protected like the API: a login form
//! sets an HttpOnly, SameSite=Strict session cookie (signed with the API
//! token, so no server-side session state), and `Authorization: Bearer`
//! works too. The only POSTs are login and logout; SameSite=Strict keeps
//! other sites from riding the cookie.

mod chart;
pub mod html;
mod pages;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::{Secret, ct_eq};
use crate::clock::now_secs;
use crate::http::{ApiError, Reply, Request};
use crate::routes::App;
use crate::throttle::Blocked;

const COOKIE: &str = "sdlr_session";
/// How long a login lasts.
const SESSION_SECS: i64 = 12 * 3600;

/// Routes under `/` and `/ui/`; None when the path is not the dashboard's.
pub fn handle(app: &App, req: &Request, path: &[&str]) -> Option<Result<Reply, ApiError>> {
    let method = req.method.as_str();
    let reply = match (method, path) {
        ("GET", ["ui", "login"]) => Ok(html_reply(200, html::login_page(None))),
        ("POST", ["ui", "login"]) => Ok(login(app, req)),
        ("POST", ["ui", "logout"]) => Ok(logout()),
        ("GET", [] | ["ui", ..]) => match authorised(app, req) {
            Ok(()) => pages::get(app, req, path),
            Err(reply) => Ok(reply),
        },
        (_, [] | ["ui", ..]) => Err(ApiError::MethodNotAllowed("GET")),
        _ => return None,
    };
    Some(reply)
}

fn html_reply(status: u16, body: String) -> Reply {
    Reply::text(status, "text/html; charset=utf-8", body)
        .with_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        )
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("Cache-Control", "no-store")
}

fn redirect(to: &str) -> Reply {
    Reply::text(303, "text/plain; charset=utf-8", "").with_header("Location", to)
}

/// Bearer token or a valid session cookie; otherwise the login page (or a
/// 403 page saying how to enable the dashboard).
fn authorised(app: &App, req: &Request) -> Result<(), Reply> {
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
    if session_valid(req, token, now_secs()) {
        return Ok(());
    }
    match crate::routes::bearer_guess(app, req, token) {
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

fn login(app: &App, req: &Request) -> Reply {
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
    let right = crate::routes::guess(app, req, "login", || {
        Some(ct_eq(given.as_bytes(), token.expose().as_bytes()))
    });
    match right {
        Ok(true) => {}
        Ok(false) => {
            log::warn!("dashboard login refused");
            return html_reply(401, html::login_page(Some("Wrong token.")));
        }
        Err(blocked) => {
            log::warn!("dashboard login throttled");
            return too_many(blocked);
        }
    }
    let expires = now_secs() + SESSION_SECS;
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}",
        session_value(token, expires)
    );
    redirect("/").with_header("Set-Cookie", cookie)
}

fn logout() -> Reply {
    redirect("/ui/login").with_header(
        "Set-Cookie",
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    )
}

/// `expiry.mac`: the MAC (keyed by the API token) of the expiry; changing
/// the token ends every session.
fn session_value(token: &Secret, expires: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.expose().as_bytes()).expect("any key length");
    mac.update(format!("sinch-dlr-ui-session|{expires}").as_bytes());
    format!(
        "{expires}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn session_valid(req: &Request, token: &Secret, now: i64) -> bool {
    let Some(cookies) = req.headers.get("cookie") else {
        return false;
    };
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
            expires > now && ct_eq(value.as_bytes(), session_value(token, expires).as_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn with_cookie(c: &str) -> Request {
        Request {
            headers: Headers::from_pairs([("Cookie".to_string(), c.to_string())]),
            ..Request::default()
        }
    }

    #[test]
    fn sessions_are_signed_and_expire() {
        let token = Secret::new("t0ken");
        let good = session_value(&token, 1000);
        assert!(session_valid(
            &with_cookie(&format!("a=b; {COOKIE}={good}")),
            &token,
            999
        ));
        assert!(
            !session_valid(&with_cookie(&format!("{COOKIE}={good}")), &token, 1000),
            "expired"
        );
        assert!(!session_valid(
            &with_cookie(&format!("{COOKIE}={good}")),
            &Secret::new("other"),
            999
        ));
        let forged = good.replacen("1000", "9999", 1);
        assert!(!session_valid(
            &with_cookie(&format!("{COOKIE}={forged}")),
            &token,
            999
        ));
        assert!(!session_valid(
            &with_cookie("sdlr_session=garbage"),
            &token,
            0
        ));
    }
}
