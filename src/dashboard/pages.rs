//! The dashboard's pages: overview, search, one message, one batch. Every
//! number comes from an indexed query or a running count.

use super::html::{self, MESSAGE_HEADERS, batch_link, esc, message_rows, shown, status, table};
use super::{chart, html_reply};
use crate::app::App;
use crate::clock::{format_rfc3339, now_micros};
use crate::http::{ApiError, Reply, Request};
use crate::query::MessageFilter;
use crate::sinch::{Status, code_meaning};
use crate::store::{HourView, MessageView, PeriodView, StatsView, StoreError};

fn unavailable(e: StoreError) -> ApiError {
    log::error!("dashboard: {e}");
    ApiError::Unavailable
}

/// Any other path under /ui.
pub fn not_found(_: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    Err(ApiError::NotFound)
}

fn list(app: &App, filter: MessageFilter) -> Result<Vec<MessageView>, ApiError> {
    Ok(app.store.list_messages(&filter).map_err(unavailable)?.items)
}

/// `GET /?hours=24`: funnel, rates, chart, stale, failures, quarantine, secrets.
pub fn overview(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let hours: i64 = req
        .query_param("hours")
        .and_then(|h| h.parse().ok())
        .filter(|h| (1..=24 * 90).contains(h))
        .unwrap_or(24);
    let now = now_micros();
    let since = now - hours * 3_600_000_000;
    let period = app.store.period(since, now + 1).map_err(unavailable)?;
    let stats = app
        .store
        .stats(now, since, app.stale_after.as_secs())
        .map_err(unavailable)?;
    let mut body = format!(
        r#"<h1>Overview</h1><nav class="periods muted">Period: {}</nav>"#,
        [1, 24, 24 * 7, 24 * 30]
            .iter()
            .map(|h| format!(
                r#"<a href="/?hours={h}">{}</a>"#,
                if *h < 48 {
                    format!("{h} h")
                } else {
                    format!("{} d", h / 24)
                }
            ))
            .collect::<String>()
    );
    body += &kpis(&period, &stats, hours);
    body += &format!(
        r#"<div class="card"><h2>Messages per hour by outcome</h2>{}</div>"#,
        chart::hourly(&every_hour(&period.hourly, since, now))
    );
    body += r#"<div class="grid">"#;
    body += &funnel(&period);
    body += &stale(app, &stats)?;
    body += "</div>";
    body += &failures(app)?;
    body += &quarantine(app)?;
    body += &secrets(app);
    body += &super::reconciliation::card(app);
    Ok(html_reply(200, html::page("Overview", "", &body)))
}

/// The period's hours in order, empty ones included, so the chart's x axis
/// is time.
fn every_hour(hourly: &[HourView], since: i64, now: i64) -> Vec<HourView> {
    const HOUR: i64 = 3_600_000_000;
    let known: std::collections::BTreeMap<&str, &HourView> =
        hourly.iter().map(|h| (h.hour.as_str(), h)).collect();
    let mut out = Vec::new();
    let mut t = since.div_euclid(HOUR) * HOUR;
    while t <= now {
        let hour = format_rfc3339(t);
        out.push(match known.get(hour.as_str()) {
            Some(h) => (*h).clone(),
            None => HourView {
                hour,
                delivered: 0,
                failed: 0,
                pending: 0,
            },
        });
        t += HOUR;
    }
    out
}

fn kpis(period: &PeriodView, stats: &StatsView, hours: i64) -> String {
    let total = period.messages;
    let by = &period.by_latest_status;
    let delivered = by.get(Status::Delivered.as_str()).copied().unwrap_or(0);
    let finals: u64 = by
        .iter()
        .filter(|(s, _)| Status::parse(s).is_final())
        .map(|(_, n)| n)
        .sum();
    let rate = if finals > 0 {
        format!("{:.1} %", delivered as f64 * 100.0 / finals as f64)
    } else {
        "–".into()
    };
    let t = &stats.time_to_delivered;
    // Funnel and chart look at the newest 100,000 messages of the period.
    let capped = if period.capped {
        r#"+ <span class="muted">(newest sampled)</span>"#
    } else {
        ""
    };
    let secs = |v: Option<f64>| v.map_or("–".to_string(), |s| format!("{s:.1} s"));
    format!(
        r#"<div class="grid">
<div class="card"><div class="muted">Messages, last {hours} h</div><div class="kpi">{total}{capped}</div></div>
<div class="card"><div class="muted">Delivered rate (of final)</div><div class="kpi">{rate}</div></div>
<div class="card"><div class="muted">Time to Delivered, median / p95</div><div class="kpi">{} / {}</div></div>
<div class="card"><div class="muted">Stale (no final status after {} h)</div><div class="kpi">{}</div></div></div>"#,
        secs(t.median_seconds),
        secs(t.p95_seconds),
        shown(stats.stale.after_hours),
        stats.stale.count
    )
}

fn funnel(period: &PeriodView) -> String {
    let by = &period.by_latest_status;
    let max = by.values().copied().max().unwrap_or(1).max(1);
    let mut rows: Vec<(&String, u64)> = by.iter().map(|(s, n)| (s, *n)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(s, n)| {
            let width = (*n as f64 / max as f64 * 100.0).max(1.0);
            vec![
                status(Some(s)),
                n.to_string(),
                format!(r#"<span class="bar" style="width:{width:.0}%"></span>"#),
            ]
        })
        .collect();
    format!(
        r#"<div class="card"><h2>By latest status</h2>{}</div>"#,
        table(&["Status", "Messages", ""], &rows)
    )
}

fn stale(app: &App, stats: &StatsView) -> Result<String, ApiError> {
    let mut rows = Vec::new();
    for id in stats.stale.oldest_ids.iter().take(10) {
        if let Some(m) = app.store.message(*id).map_err(unavailable)? {
            rows.push(m);
        }
    }
    Ok(format!(
        r#"<div class="card"><h2>Stale: chase these</h2>{}</div>"#,
        table(&MESSAGE_HEADERS, &message_rows(&rows))
    ))
}

/// The newest failed messages of every failure status, with the code's meaning.
fn failures(app: &App) -> Result<String, ApiError> {
    let mut all = Vec::new();
    let failures = Status::FINAL
        .into_iter()
        .filter(|s| *s != Status::Delivered);
    for s in failures {
        all.extend(list(
            app,
            MessageFilter {
                status: Some(s),
                limit: 10,
                ..MessageFilter::default()
            },
        )?);
    }
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    all.truncate(15);
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|m| {
            let code = m.latest_status_code.unwrap_or(-1);
            let mut row = message_rows(std::slice::from_ref(m)).remove(0);
            row.insert(4, esc(code_meaning(code)));
            row
        })
        .collect();
    Ok(format!(
        r#"<div class="card"><h2>Recent failures</h2>{}</div>"#,
        table(
            &[
                "ID",
                "To",
                "Status",
                "Code",
                "Meaning",
                "Status at",
                "Batch",
                "Client ref"
            ],
            &rows
        )
    ))
}

fn quarantine(app: &App) -> Result<String, ApiError> {
    let page = app.store.list_quarantine(10, None).map_err(unavailable)?;
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|q| {
            let raw = q.raw.as_deref().or(q.raw_base64.as_deref()).unwrap_or("");
            let raw: String = raw.chars().take(300).collect();
            vec![
                shown(q.id),
                shown(&q.received_at),
                shown(&q.reason),
                format!("<pre>{}</pre>", esc(&raw)),
            ]
        })
        .collect();
    Ok(format!(
        r#"<div class="card"><h2>Quarantine</h2><p class="muted">Authenticated bodies that could not be used; retry with <code>POST /api/quarantine/ID/retry</code> after an upgrade.</p>{}</div>"#,
        table(&["ID", "Received", "Reason", "Body"], &rows)
    ))
}

/// Which configured secret verified callbacks, and when last (rotation).
fn secrets(app: &App) -> String {
    let used = app.metrics.secret_use();
    let rows: Vec<Vec<String>> = (0..app.callback_auth.hmac_secrets.len())
        .map(|i| {
            let (n, last) = used.get(&i).copied().unwrap_or((0, 0));
            let last = if n == 0 {
                "not since start".to_string()
            } else {
                format_rfc3339(last)
            };
            vec![
                format!("#{i}{}", if i == 0 { " (newest)" } else { "" }),
                n.to_string(),
                esc(&last),
            ]
        })
        .collect();
    format!(
        r#"<div class="card"><h2>Callback secrets</h2><p class="muted">In the order configured. A secret not used for a while can be retired.</p>{}</div>"#,
        table(&["Secret", "Callbacks verified", "Last used"], &rows)
    )
}

/// `GET /ui/search?q=`: a phone number (digits rule), batch id or client
/// reference.
pub fn search(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let q = req.query_param("q").unwrap_or("").trim().to_string();
    let mut found: Vec<MessageView> = Vec::new();
    if !q.is_empty() {
        let number = crate::phone::normalize(&q).ok();
        // Each reading of the query is one indexed list; the union is shown.
        let mut filters = vec![
            MessageFilter {
                batch_id: Some(q.clone()),
                ..MessageFilter::default()
            },
            MessageFilter {
                client_reference: Some(q.clone()),
                ..MessageFilter::default()
            },
        ];
        if let Some(digits) = number {
            filters.push(MessageFilter {
                to: Some(digits),
                ..MessageFilter::default()
            });
        }
        for filter in filters {
            found.extend(list(
                app,
                MessageFilter {
                    limit: 100,
                    ..filter
                },
            )?);
        }
        found.sort_by_key(|m| std::cmp::Reverse(m.id));
        found.dedup_by_key(|m| m.id);
    }
    let body = format!(
        r#"<h1>Search: {}</h1><div class="card">{}</div>"#,
        esc(&q),
        table(&MESSAGE_HEADERS, &message_rows(&found))
    );
    Ok(html_reply(200, html::page("Search", &q, &body)))
}

pub fn message(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let raw_id = params[0];
    let id = crate::http::path_id(raw_id)?;
    let Some(m) = app.store.message(id).map_err(unavailable)? else {
        return Err(ApiError::NotFound);
    };
    let (facts, history) = (message_facts(&m), message_history(&m));
    let body = format!(
        r#"<h1>Message {id}</h1><div class="card">{}</div><div class="card"><h2>History (oldest first)</h2>{}</div>"#,
        table(&["", ""], &facts),
        table(
            &["At", "Status", "Code", "Meaning", "Source", "Received"],
            &history
        )
    );
    Ok(html_reply(
        200,
        html::page(&format!("Message {id}"), "", &body),
    ))
}

/// The message page's table of facts: (label, HTML) rows.
fn message_facts(m: &MessageView) -> Vec<Vec<String>> {
    [
        ("To", shown(&m.to)),
        ("Batch", batch_link(&m.batch_id)),
        ("Client reference", shown(&m.client_reference)),
        ("Body", shown(&m.body)),
        (
            "Latest status",
            format!(
                "{} (code {})",
                status(m.latest_status.as_ref().map(Status::as_str)),
                shown(m.latest_status_code)
            ),
        ),
        ("Status at", shown(&m.latest_status_at)),
        ("Conflicting finals", shown(m.status_conflict)),
        (
            "Delivery feedback",
            match m.feedback_at.is_empty() {
                true => "none given".into(),
                false => esc(&m.feedback_at.join(", ")),
            },
        ),
        (
            "Registered",
            if m.discovered {
                "no (discovered from a callback)".into()
            } else {
                shown(&m.registered_at)
            },
        ),
        ("Created", shown(&m.created_at)),
    ]
    .into_iter()
    .map(|(k, val)| vec![esc(k), val])
    .collect()
}

/// The message page's history rows, oldest first.
fn message_history(m: &MessageView) -> Vec<Vec<String>> {
    m.status_updates
        .iter()
        .flatten()
        .map(|u| {
            vec![
                shown(&u.at),
                status(Some(u.status.as_str())),
                shown(u.code),
                esc(code_meaning(u.code)),
                shown(u.source.as_str()),
                shown(&u.received_at),
            ]
        })
        .collect()
}

pub fn batch(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let batch_id = params[0];
    let Some(b) = app.store.batch(batch_id).map_err(unavailable)? else {
        return Err(ApiError::NotFound);
    };
    let counts: Vec<Vec<String>> = b
        .counts
        .iter()
        .map(|(s, n)| vec![status(Some(s)), shown(*n)])
        .collect();
    let messages = &b.messages;
    let reports: Vec<Vec<String>> = b
        .batch_reports
        .iter()
        .map(|r| {
            let statuses = serde_json::to_string(&r.statuses).expect("views serialise");
            vec![
                shown(&r.received_at),
                shown(&r.kind),
                format!("<pre>{}</pre>", esc(&statuses)),
            ]
        })
        .collect();
    let body = format!(
        r#"<h1>Batch {}</h1><div class="grid"><div class="card"><h2>By latest status</h2>{}</div><div class="card"><h2>Batch-level reports</h2>{}</div></div><div class="card"><h2>Messages ({})</h2>{}</div>"#,
        esc(batch_id),
        table(&["Status", "Messages"], &counts),
        table(&["Received", "Type", "Statuses"], &reports),
        messages.len(),
        table(&MESSAGE_HEADERS, &message_rows(messages))
    );
    Ok(html_reply(
        200,
        html::page(&format!("Batch {batch_id}"), batch_id, &body),
    ))
}
