//! `GET /healthz`, `/readyz` and `/metrics`: for systemd and monitoring.

use serde_json::json;
use std::sync::atomic::Ordering;

use crate::app::App;
use crate::http::{ApiError, Reply, Request};
use crate::metrics::{EdgeGauges, StoreGauges};

/// Alive: answers as long as the process serves.
pub fn live(_: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    Ok(Reply::json(200, &json!({"status": "ok"})))
}

/// Ready: the store takes writes (red after a failed commit until the
/// writer has reopened the file).
pub fn ready(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    if app.writer.stats().ready.load(Ordering::Relaxed) {
        Ok(Reply::json(200, &json!({"status": "ready"})))
    } else {
        Err(ApiError::Unavailable)
    }
}

/// Prometheus text: the daemon's counters, the store's gauges and the
/// connection layer's counters.
pub fn metrics(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
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
    Ok(Reply::text(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    ))
}
