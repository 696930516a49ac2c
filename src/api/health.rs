//! `GET /healthz`, `/readyz` and `/metrics`: for systemd and monitoring.

use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::http::{ApiError, Reply, Request};
use crate::metrics::{EdgeGauges, EndpointGauges, EventGauges, StoreGauges};
use crate::store::endpoints::EndpointState;

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

/// Prometheus text: the daemon's counters, the store's gauges, the
/// connection layer's counters, and the event log's and webhook
/// endpoints' gauges.
pub fn metrics(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let now = crate::clock::now_micros();
    let counts = app.store.counts().unwrap_or_default();
    let gauges = StoreGauges {
        db_bytes: std::fs::metadata(app.store.path()).map_or(0, |m| m.len()),
        messages: counts.messages,
        by_status: counts.by_status,
        stale: stale_count(app, now),
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
    crate::metrics::render_events(&mut text, &event_gauges(app));
    Ok(Reply::text(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    ))
}

/// The log's last seq, open streams, and every endpoint as the API shows
/// it (by id; never its URL or secret).
fn event_gauges(app: &App) -> EventGauges {
    let endpoints = app.store.endpoints().unwrap_or_else(|e| {
        log::warn!("metrics: reading the webhook endpoints: {e}");
        Vec::new()
    });
    EventGauges {
        last_seq: app.store.last_event_seq(),
        streams_open: app.streams.taken() as u64,
        streams_max: app.streams.max() as u64,
        states: &EndpointState::NAMES,
        endpoints: endpoints
            .into_iter()
            .map(|e| {
                let v = super::endpoints::view(app, e);
                EndpointGauges {
                    id: v.id,
                    state: v.state.as_str(),
                    position: v.position,
                    lag_events: v.lag_events,
                    lag_seconds: v.lag_seconds,
                    delivered: v.progress.delivered,
                    failed: v.progress.failed_attempts,
                }
            })
            .collect(),
    }
}

/// How often /metrics works the stale count out again; scrapes in between
/// (and any flood of them) get the last count.
const STALE_EVERY: Duration = Duration::from_secs(10);

fn stale_count(app: &App, now: i64) -> usize {
    let mut gauge = app.stale_gauge.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, count)) = *gauge
        && at.elapsed() < STALE_EVERY
    {
        return count;
    }
    let since = now - app.stale_after.as_micros() as i64;
    match app.store.stale_count(since) {
        Ok(count) => {
            *gauge = Some((Instant::now(), count));
            count
        }
        // Not kept: the next scrape tries again.
        Err(_) => 0,
    }
}
