//! One match on (method, path segments); each arm calls a handler. Also the
//! shared state handlers see (`App`) and the API token gate.

use serde_json::json;

use crate::api;
use crate::auth::{CallbackAuth, Secret, verify_bearer};
use crate::browse;
use crate::callback;
use crate::http::{ApiError, Reply, Request};
use crate::metrics::{EdgeGauges, Metrics, StoreGauges};
use crate::reconcile::Reconciler;
use crate::send::SinchClient;
use crate::store::Store;
use crate::throttle::{Blocked, Throttle};
use crate::writer::WriterHandle;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What every handler may use.
pub struct App {
    pub store: Arc<Store>,
    pub writer: WriterHandle,
    pub callback_auth: CallbackAuth,
    pub api_token: Option<Secret>,
    pub metrics: Metrics,
    /// Sinch API access for sending; None without credentials.
    pub sinch: Option<SinchClient>,
    pub reconciler: Option<Arc<Reconciler>>,
    /// This daemon's public base URL (default callback_url when sending).
    pub public_url: Option<String>,
    /// Messages without a final status after this long are stale.
    pub stale_after: Duration,
    /// Whether /metrics needs the API token.
    pub metrics_need_token: bool,
    /// The HTTP server, for its connection-layer counters (set once it
    /// listens; unset in CLI commands).
    pub edge: std::sync::OnceLock<std::sync::Weak<tiny_http::Server>>,
    /// Failed token guesses per client address (login and bearer).
    pub throttle: Throttle,
    /// Whether this daemon serves HTTPS itself (SINCH_DLR_TLS_*).
    pub tls: bool,
}

pub fn handle(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let segments = req.segments();
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    if let Some(reply) = crate::dashboard::handle(app, req, &path) {
        return reply;
    }
    match (method, path.as_slice()) {
        ("POST", ["api", "sinchCallbacks"]) => callback::receive(app, req),
        (_, ["api", "sinchCallbacks"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("GET" | "HEAD", ["healthz"]) => Ok(Reply::json(200, &json!({"status": "ok"}))),
        ("GET" | "HEAD", ["readyz"]) => readyz(app),
        ("GET" | "HEAD", ["metrics"]) => {
            if app.metrics_need_token {
                require_token(app, req)?;
            }
            Ok(metrics(app))
        }
        (_, ["healthz" | "readyz" | "metrics"]) => Err(ApiError::MethodNotAllowed("GET")),
        (_, ["api", ..]) => {
            require_token(app, req)?;
            api_routes(app, req, method, &path[1..])
        }
        _ => Err(ApiError::NotFound),
    }
}

fn api_routes(app: &App, req: &Request, method: &str, path: &[&str]) -> Result<Reply, ApiError> {
    match (method, path) {
        ("POST", ["messages"]) => api::register(app, req),
        ("GET", ["messages"]) => browse::messages(app, req),
        (_, ["messages"]) => Err(ApiError::MethodNotAllowed("GET, POST")),
        ("POST", ["messages", "send"]) => api::send(app, req),
        (_, ["messages", "send"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("POST", ["reconcile"]) => api::reconcile(app, req),
        (_, ["reconcile"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("GET", ["messages", id]) => api::message(app, id),
        (_, ["messages", _]) => Err(ApiError::MethodNotAllowed("GET")),
        ("GET", ["batches", id]) => browse::batch(app, id),
        ("GET", ["inbound"]) => browse::inbound_list(app, req),
        ("GET", ["inbound", id]) => browse::inbound_one(app, id),
        ("GET", ["quarantine"]) => browse::quarantine(app, req),
        ("POST", ["quarantine", id, "retry"]) => browse::quarantine_retry(app, id),
        ("GET", ["stats"]) => browse::stats(app, req, app.stale_after),
        ("GET", ["export"]) => browse::export(app, req),
        ("GET", ["backup"]) => browse::backup(app),
        (
            _,
            ["batches", _]
            | ["inbound"]
            | ["inbound", _]
            | ["quarantine"]
            | ["stats"]
            | ["export"]
            | ["backup"],
        ) => Err(ApiError::MethodNotAllowed("GET")),
        (_, ["quarantine", _, "retry"]) => Err(ApiError::MethodNotAllowed("POST")),
        _ => Err(ApiError::NotFound),
    }
}

/// Everything under /api except the callback path needs the bearer token.
fn require_token(app: &App, req: &Request) -> Result<(), ApiError> {
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

fn readyz(app: &App) -> Result<Reply, ApiError> {
    if app.writer.stats().ready.load(Ordering::Relaxed) {
        Ok(Reply::json(200, &json!({"status": "ready"})))
    } else {
        Err(ApiError::Unavailable)
    }
}

fn metrics(app: &App) -> Reply {
    let now = crate::clock::now_micros();
    let gauges = StoreGauges {
        db_bytes: std::fs::metadata(app.store.path()).map_or(0, |m| m.len()),
        counts: app.store.counts().unwrap_or_default(),
        stale: app
            .store
            .stale_count(now - app.stale_after.as_micros() as i64)
            .unwrap_or(0),
    };
    let mut text = app.metrics.render(app.writer.stats(), &gauges);
    if let Some(server) = app.edge.get().and_then(std::sync::Weak::upgrade) {
        let edge = server.edge_stats();
        crate::metrics::render_edge(
            &mut text,
            &EdgeGauges {
                open: edge.open as u64,
                accepted: edge.accepted,
                evicted: edge.evicted,
                refused: edge.refused,
            },
        );
    }
    Reply::text(200, "text/plain; version=0.0.4; charset=utf-8", text)
}
