//! `GET /ui/endpoints`: every webhook endpoint with the facts
//! `GET /api/endpoints/{id}` gives (state and why, position, lag, last and
//! next attempt, deliveries since start). Never the secret; URLs without
//! their credentials (`config::shown_url`).

use super::html::{self, esc, shown, table};
use super::html_reply;
use crate::api::endpoints::{EndpointView, view};
use crate::app::App;
use crate::config::shown_url;
use crate::http::{ApiError, Reply, Request};

const HEADERS: [&str; 10] = [
    "ID",
    "URL",
    "Types",
    "State",
    "Position",
    "Lag",
    "Last attempt",
    "Last result",
    "Next attempt",
    "Delivered / failed",
];

/// `GET /ui/endpoints`
pub fn list(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let all = app.store.endpoints().map_err(|e| {
        log::error!("dashboard: {e}");
        ApiError::Unavailable
    })?;
    let rows: Vec<Vec<String>> = all.into_iter().map(|e| row(&view(app, e))).collect();
    let body = format!(
        r#"<h1>Webhook endpoints</h1>
<div class="grid"><div class="card"><div class="muted">Last event seq</div><div class="kpi">{}</div></div>
<div class="card"><div class="muted">Event streams open (of {})</div><div class="kpi">{}</div></div></div>
<div class="card"><p class="muted">Manage endpoints with <code>/api/endpoints</code>: create (the secret is shown once), <code>PATCH</code> <code>{{"enabled": true}}</code> to resume a failing one from its position, <code>/replay</code> to deliver again. Deliveries and failed attempts count since start.</p>{}</div>"#,
        app.store.last_event_seq(),
        app.streams.max(),
        app.streams.taken(),
        table(&HEADERS, &rows)
    );
    Ok(html_reply(200, html::page("Webhook endpoints", "", &body)))
}

/// One endpoint's cells (escaped HTML).
fn row(v: &EndpointView) -> Vec<String> {
    let p = &v.progress;
    let mut url = esc(&shown_url(&v.url));
    if let Some(d) = &v.description {
        url += &format!(r#"<div class="muted">{}</div>"#, esc(d));
    }
    if v.from_config {
        url += r#"<div class="muted">from SINCH_DLR_WEBHOOK_URL</div>"#;
    }
    let types = if v.types.is_empty() {
        "all".to_string()
    } else {
        esc(&v.types.join(", "))
    };
    let state = v.state.as_str();
    let mut state_cell = format!(r#"<span class="e-{state}">{state}</span>"#);
    if let Some(reason) = &v.state_reason {
        state_cell += &format!(r#"<div class="muted">{}</div>"#, esc(reason));
    }
    vec![
        v.id.to_string(),
        url,
        types,
        state_cell,
        v.position.to_string(),
        format!("{} events / {:.1} s", v.lag_events, v.lag_seconds),
        shown(&p.last_attempt_at),
        last_result(v),
        shown(&p.next_attempt_at),
        format!("{} / {}", p.delivered, p.failed_attempts),
    ]
}

/// The last attempt's status code and error, and how many attempts the
/// current event has had.
fn last_result(v: &EndpointView) -> String {
    let p = &v.progress;
    let mut parts = Vec::new();
    if let Some(status) = p.last_status {
        parts.push(status.to_string());
    }
    if let Some(error) = &p.last_error {
        parts.push(esc(error));
    }
    if p.attempts > 0 {
        parts.push(format!("attempt {} at this event", p.attempts));
    }
    if parts.is_empty() {
        return "–".into();
    }
    parts.join("<br>")
}
