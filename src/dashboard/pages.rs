//! The dashboard's pages: overview, search, one message, one batch. Every
//! number comes from an indexed query or a running count.

use super::html::{
    self, BATCH_HEADERS, MESSAGE_HEADERS, batch_link, batch_rows, esc, message_rows, shown, status,
    table, url,
};
use super::{chart, html_reply};
use crate::app::App;
use crate::clock::{format_rfc3339, now_micros};
use crate::http::{ApiError, Reply, Request};
use crate::query::{MessageFilter, parse_time};
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

/// The overview's period: `?hours=N` back from now (default 24), or a
/// custom `?since=&until=` (RFC 3339, a date, or a browser's
/// `YYYY-MM-DDTHH:MM`, UTC). Returns (since, until, label).
fn period_of(req: &Request, now: i64) -> Result<(i64, i64, String), ApiError> {
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        let Some(v) = req.query_param(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let minutes = format!("{v}:00Z");
        let text = if v.len() == 16 { minutes.as_str() } else { v };
        parse_time(name, text)
            .map(Some)
            .map_err(|e| ApiError::BadRequest(e.0))
    };
    if let (since, until) = (time("since")?, time("until")?)
        && (since.is_some() || until.is_some())
    {
        let until = until.unwrap_or(now + 1);
        let since = since.unwrap_or(until - 24 * HOUR);
        if since >= until {
            return Err(ApiError::BadRequest("since: must be before until".into()));
        }
        let label = format!("{} to {}", format_rfc3339(since), format_rfc3339(until));
        return Ok((since, until, label));
    }
    let hours: i64 = req
        .query_param("hours")
        .and_then(|h| h.parse().ok())
        .filter(|h| (1..=24 * 90).contains(h))
        .unwrap_or(24);
    let label = match hours {
        h if h < 48 => format!("last {h} h"),
        h => format!("last {} d", h / 24),
    };
    Ok((now - hours * HOUR, now + 1, label))
}

const HOUR: i64 = 3_600_000_000;

/// The period choices and the custom range form.
fn period_nav(since: i64, until: i64) -> String {
    let links: String = [1, 24, 24 * 7, 24 * 30]
        .iter()
        .map(|h| {
            let name = if *h < 48 {
                format!("{h} h")
            } else {
                format!("{} d", h / 24)
            };
            format!(r#"<a href="/?hours={h}">{name}</a>"#)
        })
        .collect();
    let local = |t: i64| format_rfc3339(t).chars().take(16).collect::<String>();
    format!(
        r#"<nav class="periods muted">Period: {links}<form class="range" action="/" method="get"><label>from <input type="datetime-local" name="since" value="{}"></label> <label>to <input type="datetime-local" name="until" value="{}"></label> (UTC) <button>Show</button></form></nav>"#,
        local(since),
        local(until)
    )
}

/// `GET /?hours=24` or `/?since=&until=`: funnel, rates, chart, stale,
/// failures, quarantine, secrets. Every count links to its list.
pub fn overview(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let now = now_micros();
    let (since, until, label) = period_of(req, now)?;
    let period = app.store.period(since, until).map_err(unavailable)?;
    let stats = app
        .store
        .stats(now, since, app.stale_after.as_secs())
        .map_err(unavailable)?;
    let created = Created { since, until, now };
    let mut body = format!("<h1>Overview</h1>{}", period_nav(since, until));
    body += &kpis(&period, &stats, &label, &created, app);
    body += &format!(
        r#"<div class="card"><h2>Messages per hour by outcome</h2>{}</div>"#,
        chart::hourly(&every_hour(&period.hourly, since, until.min(now)))
    );
    body += r#"<div class="grid">"#;
    body += &funnel(&period, &created);
    body += &stale(app, &stats, now)?;
    body += "</div>";
    body += &failures(app)?;
    body += &quarantine(app)?;
    body += &secrets(app);
    body += &super::reconciliation::card(app);
    Ok(html_reply(200, html::page("Overview", "", &body)))
}

/// The period as list filters on creation time.
struct Created {
    since: i64,
    until: i64,
    now: i64,
}

impl Created {
    /// `/ui/messages?since=..[&until=..]&` + `more`.
    fn list(&self, more: &str) -> String {
        let mut href = format!("/ui/messages?since={}", url(&format_rfc3339(self.since)));
        if self.until <= self.now {
            href += &format!("&until={}", url(&format_rfc3339(self.until)));
        }
        if !more.is_empty() {
            href += "&";
            href += more;
        }
        href
    }
}

/// Where the stale messages are listed: created before the stale cutoff
/// and not yet final.
fn stale_href(app: &App, now: i64) -> String {
    let cutoff = now - app.stale_after.as_micros() as i64;
    format!(
        "/ui/messages?final=false&until={}",
        url(&format_rfc3339(cutoff))
    )
}

/// The period's hours in order, empty ones included, so the chart's x axis
/// is time.
fn every_hour(hourly: &[HourView], since: i64, now: i64) -> Vec<HourView> {
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

fn kpis(
    period: &PeriodView,
    stats: &StatsView,
    label: &str,
    created: &Created,
    app: &App,
) -> String {
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
<div class="card"><div class="muted">Messages, {label}</div><div class="kpi"><a href="{}">{total}</a>{capped}</div></div>
<div class="card"><div class="muted">Delivered rate (of final)</div><div class="kpi">{rate}</div></div>
<div class="card"><div class="muted">Time to Delivered, median / p95</div><div class="kpi">{} / {}</div></div>
<div class="card"><div class="muted">Stale (no final status after {} h)</div><div class="kpi"><a href="{}">{}</a></div></div></div>"#,
        esc(&created.list("")),
        secs(t.median_seconds),
        secs(t.p95_seconds),
        shown(stats.stale.after_hours),
        esc(&stale_href(app, created.now)),
        stats.stale.count
    )
}

fn funnel(period: &PeriodView, created: &Created) -> String {
    let by = &period.by_latest_status;
    let max = by.values().copied().max().unwrap_or(1).max(1);
    let mut rows: Vec<(&String, u64)> = by.iter().map(|(s, n)| (s, *n)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(s, n)| {
            let width = (*n as f64 / max as f64 * 100.0).max(1.0);
            let href = esc(&created.list(&format!("status={}", url(s))));
            vec![
                format!(r#"<a href="{href}">{}</a>"#, status(Some(s))),
                format!(r#"<a class="count" href="{href}">{n}</a>"#),
                format!(r#"<span class="bar" style="width:{width:.0}%"></span>"#),
            ]
        })
        .collect();
    // A big period is counted on its newest messages only: say so.
    let sample = if period.capped {
        format!(
            r#"<p class="muted">A sample: the newest {} messages of the period. Each list shows them all.</p>"#,
            period.messages
        )
    } else {
        String::new()
    };
    format!(
        r#"<div class="card"><h2>By latest status</h2>{sample}{}</div>"#,
        table(&["Status", "Messages", ""], &rows)
    )
}

fn stale(app: &App, stats: &StatsView, now: i64) -> Result<String, ApiError> {
    let mut rows = Vec::new();
    for id in stats.stale.oldest_ids.iter().take(10) {
        if let Some(m) = app.store.message(*id).map_err(unavailable)? {
            rows.push(m);
        }
    }
    let plus = if stats.stale.count_is_lower_bound {
        "+"
    } else {
        ""
    };
    Ok(format!(
        r#"<div class="card"><h2>Stale: chase these</h2><p class="muted">The oldest 10 of <a href="{}">all {}{plus} stale messages</a>.</p>{}</div>"#,
        esc(&stale_href(app, now)),
        stats.stale.count,
        table(&MESSAGE_HEADERS, &message_rows(&rows))
    ))
}

/// The newest failed messages (every final status but Delivered), with
/// the code's meaning; a code links to every failure with that code.
fn failures(app: &App) -> Result<String, ApiError> {
    let failed: Vec<Option<Status>> = Status::FINAL
        .into_iter()
        .filter(|s| *s != Status::Delivered)
        .map(Some)
        .collect();
    let names: Vec<&str> = failed.iter().flatten().map(Status::as_str).collect();
    let statuses = names.join(",");
    let all = list(
        app,
        MessageFilter {
            statuses: failed.clone(),
            limit: 15,
            ..MessageFilter::default()
        },
    )?;
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|m| {
            let code = m.latest_status_code.unwrap_or(-1);
            let mut row = message_rows(std::slice::from_ref(m)).remove(0);
            let href = format!("/ui/messages?status={}&code={code}", url(&statuses));
            row[3] = format!(r#"<a href="{}">{code}</a>"#, esc(&href));
            row.insert(4, esc(code_meaning(code)));
            row
        })
        .collect();
    Ok(format!(
        r#"<div class="card"><h2>Recent failures</h2><p class="muted"><a href="/ui/messages?status={}">Every failure</a>; a code lists every failure with it.</p>{}</div>"#,
        esc(&url(&statuses)),
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

pub fn message(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let raw_id = params[0];
    let id = crate::http::path_id(raw_id)?;
    let Some(m) = app.store.message_with_raw(id).map_err(unavailable)? else {
        return Err(ApiError::NotFound);
    };
    let (facts, history) = (message_facts(&m), message_history(&m));
    let body = format!(
        r#"<h1>Message {id}</h1><div class="card">{}</div><div class="card"><h2>History (oldest first)</h2>{}</div>"#,
        table(&["", ""], &facts),
        table(
            &[
                "At",
                "Status",
                "Code",
                "Meaning",
                "Source",
                "Received",
                "Callback body"
            ],
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
        ("Sent", shown(&m.sent_at)),
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
                u.raw.as_deref().map_or_else(
                    || r#"<span class="muted">(in the batch report)</span>"#.into(),
                    |raw| format!("<pre>{}</pre>", esc(raw)),
                ),
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
        table(&BATCH_HEADERS, &batch_rows(messages))
    );
    Ok(html_reply(
        200,
        html::page(&format!("Batch {batch_id}"), batch_id, &body),
    ))
}
