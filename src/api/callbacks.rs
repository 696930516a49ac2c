//! `POST /api/sinchCallbacks`: authenticate over the exact bytes, parse by
//! `type`, hand to the writer, answer after the commit.
//!
//! Sinch drops a callback for good on any 4xx and retries 5xx/429 for about
//! 23 h (docs/sinch.md#retries), so the answers are chosen with care: 401 only
//! when authentication fails, 400 only for bodies no version of this daemon
//! could use (not JSON, not an object; kept in quarantine anyway), and 503
//! whenever storing failed. Anything authenticated is stored somewhere.
//!
//! Back-pressure: when the writer is further behind than
//! SINCH_DLR_CALLBACK_MAX_WAIT, an authenticated callback is answered 429
//! with `Retry-After` before anything is queued (Sinch retries it and slows
//! down) instead of waiting until Sinch's own request times out.

use serde_json::json;
use std::time::Duration;

use crate::app::App;
use crate::auth::Verified;
use crate::clock::{now_micros, now_secs};
use crate::http::{ApiError, BUSY_RETRY_AFTER, Reply, Request};
use crate::log_limit::LogLimit;
use crate::sinch::{Callback, ParseError, parse_callback};
use crate::store::{CallbackResult, Quarantine, ReceiveCallback};

/// Anyone can send a callback that fails authentication: their warnings
/// are kept to a budget (the metric counts every one).
static REFUSALS_LOGGED: LogLimit = LogLimit::new(20, Duration::from_secs(10));

pub fn receive(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let received_at = now_micros();
    let verified = app
        .callback_auth
        .verify(&req.headers, &req.body, now_secs())
        .map_err(|e| {
            if let Some(note) = REFUSALS_LOGGED.admit() {
                log::warn!("callback refused: {e}{note}");
            }
            app.metrics.callback_unauthorized();
            ApiError::Unauthorized
        })?;
    if let Verified::Hmac { secret_index } | Verified::Legacy { secret_index } = verified {
        app.metrics.secret_used(secret_index, received_at);
    }
    if app.writer.lag() > app.load.callback_max_wait {
        app.metrics.sinch.callback_shed("writer");
        return Err(ApiError::Busy(BUSY_RETRY_AFTER));
    }
    let (submitted, kind, refuse) = match parse_callback(&req.body) {
        Ok(callback) => {
            let kind = callback_kind(&callback);
            let write = ReceiveCallback {
                callback,
                raw: req.body.clone(),
                received_at,
            };
            (app.writer.submit(write), kind, None)
        }
        Err(e) => {
            log::warn!("callback quarantined: {e}");
            let refuse = matches!(e, ParseError::NotJson(_) | ParseError::NotObject)
                .then(|| ApiError::BadRequest(e.to_string()));
            let write = Quarantine {
                raw: req.body.clone(),
                reason: e.to_string(),
                received_at,
            };
            (app.writer.submit(write), "invalid", refuse)
        }
    };
    let result = submitted.map_err(|_| ApiError::Unavailable)?;
    app.metrics.callback(kind, result.as_str());
    if let Some(refuse) = refuse {
        return Err(refuse);
    }
    Ok(answer(result))
}

fn answer(result: CallbackResult) -> Reply {
    Reply::json(200, &json!({ "result": result.as_str() }))
}

/// The metrics label for a callback: one of the seven known types, or
/// `unknown` (a static set, so labels cannot grow without bound).
fn callback_kind(cb: &Callback) -> &'static str {
    let kind = match cb {
        Callback::Recipient(r) => r.kind.as_str(),
        Callback::Batch(b) => b.kind.as_str(),
        Callback::Inbound(mo) => mo.kind.as_str(),
        Callback::Unknown { .. } => "unknown",
    };
    crate::sinch::KNOWN_TYPES
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("unknown")
}
