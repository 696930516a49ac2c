//! Who may call what, beyond Sinch's own callback authentication (auth.rs):
//! the API token (bearer) and the throttling of wrong guesses at it, shared
//! by the API and the dashboard's login (throttle.rs).

use crate::app::App;
use crate::auth::{Secret, verify_bearer};
use crate::http::{ApiError, Request};
use crate::throttle::Blocked;

/// Everything under /api except the callback path needs the bearer token.
pub fn require_token(app: &App, req: &Request) -> Result<(), ApiError> {
    let Some(token) = &app.api_token else {
        return Err(ApiError::Forbidden(
            "the API is disabled: set SINCH_DLR_API_TOKEN (or SINCH_DLR_API_TOKEN_FILE) and restart".into(),
        ));
    };
    match bearer_guess(app, req, token) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::Unauthorized),
        Err(blocked) => Err(ApiError::TooManyRequests(blocked.retry_after_secs)),
    }
}

/// `Authorization: Bearer` as one guess at the token (throttle.rs). A
/// request without an Authorization header guesses nothing and is not
/// counted (but is refused while its address is blocked).
pub fn bearer_guess(app: &App, req: &Request, token: &Secret) -> Result<bool, Blocked> {
    let offered = req.headers.get("authorization").is_some();
    guess(app, req, "bearer", offered, || {
        verify_bearer(&req.headers, token)
    })
}

/// One guess at the API token from the request's address, `right` telling
/// whether it is right. Err when the address is blocked; then nothing was
/// checked. Without `offered` credentials nothing is guessed or counted.
/// Never for Sinch callbacks.
pub fn guess(
    app: &App,
    req: &Request,
    kind: &'static str,
    offered: bool,
    right: impl FnOnce() -> bool,
) -> Result<bool, Blocked> {
    let now = std::time::Instant::now();
    let allowed = if offered {
        app.throttle.attempt(req.client_ip, now)
    } else {
        app.throttle.check(req.client_ip, now)
    };
    if let Err(blocked) = allowed {
        app.metrics.auth_refused(kind, "throttled");
        return Err(blocked);
    }
    if !offered {
        return Ok(false);
    }
    if right() {
        app.throttle.success(req.client_ip);
        Ok(true)
    } else {
        app.metrics.auth_refused(kind, "wrong");
        Ok(false)
    }
}
