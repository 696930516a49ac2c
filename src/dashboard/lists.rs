//! The dashboard's lists: `/ui/messages` (any API filter, so every count
//! the dashboard shows links to the messages behind it) and `/ui/inbound`.
//! A page shows 100 rows with a "next" link carrying the API's cursor, and
//! "of N" when the total is a running count.

use super::html::{self, MESSAGE_HEADERS, esc, message_rows, shown, table};
use super::html_reply;
use crate::app::App;
use crate::http::{ApiError, Reply, Request, percent_encode};
use crate::query::{BadParam, InboundFilter, MessageFilter};
use crate::sinch::Status;
use crate::store::{InboundView, MessageView, StoreError};

/// Rows per dashboard page.
pub const PAGE: usize = 100;

fn unavailable(e: StoreError) -> ApiError {
    log::error!("dashboard: {e}");
    ApiError::Unavailable
}

fn bad(e: BadParam) -> ApiError {
    ApiError::BadRequest(e.0)
}

/// Where a list page stands: its filters (without `cursor` and `shown`),
/// how many rows earlier pages showed, and the parameters to query with
/// (the filters and the cursor).
struct Position {
    filters: Vec<(String, String)>,
    before: usize,
    query: Vec<(String, String)>,
}

fn position(req: &Request) -> Position {
    let before = req
        .query_param("shown")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let filters: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| !["cursor", "shown", "limit"].contains(&k.as_str()))
        .cloned()
        .collect();
    let cursor = req.query.iter().filter(|(k, _)| k == "cursor").cloned();
    let query = filters.iter().cloned().chain(cursor).collect();
    Position {
        filters,
        before,
        query,
    }
}

/// `path?filters&cursor=..&shown=..` for the next page.
fn next_href(path: &str, filters: &[(String, String)], cursor: &str, shown: usize) -> String {
    let mut q: Vec<String> = filters
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    q.push(format!("cursor={}", percent_encode(cursor)));
    q.push(format!("shown={shown}"));
    format!("{path}?{}", q.join("&"))
}

/// "Showing 1–100 of 5,091" and the next link.
fn pager(
    path: &str,
    filters: &[(String, String)],
    (before, on_page, total): (usize, usize, Option<String>),
    next: Option<&str>,
) -> String {
    let of = total.map_or(String::new(), |n| format!(" of {n}"));
    let range = match on_page {
        0 => "Showing none".to_string(),
        n => format!("Showing {}–{}{of}", before + 1, before + n),
    };
    let next = next.map_or(String::new(), |c| {
        let href = next_href(path, filters, c, before + on_page);
        format!(
            r#" · <a class="next" href="{}">next {PAGE} →</a>"#,
            esc(&href)
        )
    });
    format!(r#"<p class="pager muted">{range}{next}</p>"#)
}

/// In words, what the filters ask for (the page's heading).
fn described(filters: &[(String, String)]) -> String {
    let parts: Vec<String> = filters
        .iter()
        .map(|(k, v)| format!("{} {}", k.replace('_', " "), v))
        .collect();
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join(" · ")
    }
}

/// Most rows a list page counts for its "of N" (beyond: "of 10000+").
const COUNT_CAP: u64 = 10_000;

/// How many match: from the running counts when the filter is only on
/// latest statuses (`status`, `final`), else counted up to `COUNT_CAP`.
fn total(app: &App, f: &MessageFilter) -> Result<String, ApiError> {
    let only_status = MessageFilter {
        statuses: f.statuses.clone(),
        is_final: f.is_final,
        limit: f.limit,
        cursor: f.cursor,
        ..MessageFilter::default()
    };
    if *f != only_status {
        let (n, capped) = app
            .store
            .count_messages(f, COUNT_CAP)
            .map_err(unavailable)?;
        return Ok(format!("{n}{}", if capped { "+" } else { "" }));
    }
    let counts = app.store.counts().map_err(unavailable)?;
    // The counts name "no report yet" `none`.
    let wanted = |status: &str| {
        let s = (status != "none").then(|| Status::parse(status));
        f.wants_latest(s.as_ref().map(|s| (s, 0, 0)))
    };
    let n: u64 = counts
        .by_status
        .iter()
        .filter(|(status, _)| wanted(status))
        .map(|(_, n)| n)
        .sum();
    Ok(n.to_string())
}

/// `GET /ui/messages?` + the API's filters: a page of 100.
pub fn messages(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let at = position(req);
    let mut filter = MessageFilter::parse(&at.query).map_err(bad)?;
    filter.limit = PAGE;
    let page = app.store.list_messages(&filter).map_err(unavailable)?;
    let count = (at.before, page.items.len(), Some(total(app, &filter)?));
    let (kept, next) = (&at.filters, page.next_cursor.as_deref());
    let pager = pager("/ui/messages", kept, count, next);
    let body = format!(
        r#"<h1>Messages: {}</h1><div class="card">{pager}{}{pager}</div>"#,
        esc(&described(kept)),
        table(&MESSAGE_HEADERS, &message_rows(&page.items))
    );
    Ok(html_reply(200, html::page("Messages", "", &body)))
}

/// Inbound rows: id, from, to, type, body, received.
pub fn inbound_rows(items: &[InboundView]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|m| {
            let body = match &m.body {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            vec![
                shown(m.id),
                shown(&m.from),
                shown(&m.to),
                shown(&m.kind),
                esc(&body),
                shown(&m.received_at),
            ]
        })
        .collect()
}

pub const INBOUND_HEADERS: [&str; 6] = ["ID", "From", "To", "Type", "Body", "Received"];

/// `GET /ui/inbound?from=&to=&since=&until=`: replies, STOP, HELP.
pub fn inbound(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let at = position(req);
    let mut filter = InboundFilter::parse(&at.query).map_err(bad)?;
    filter.limit = PAGE;
    let page = app.store.list_inbound(&filter).map_err(unavailable)?;
    let count = (at.before, page.items.len(), None);
    let (kept, next) = (&at.filters, page.next_cursor.as_deref());
    let pager = pager("/ui/inbound", kept, count, next);
    let body = format!(
        r#"<h1>Inbound messages: {}</h1><div class="card">{pager}{}{pager}</div>"#,
        esc(&described(kept)),
        table(&INBOUND_HEADERS, &inbound_rows(&page.items))
    );
    Ok(html_reply(200, html::page("Inbound", "", &body)))
}

/// `GET /ui/search?q=`: a phone number (digits rule), batch id or client
/// reference; a number also finds the inbound messages it sent or got.
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
            let filter = MessageFilter {
                limit: PAGE,
                ..filter
            };
            found.extend(app.store.list_messages(&filter).map_err(unavailable)?.items);
        }
        found.sort_by_key(|m| std::cmp::Reverse(m.id));
        found.dedup_by_key(|m| m.id);
    }
    let inbound = match crate::phone::normalize(&q) {
        Ok(digits) => inbound_of(app, &digits)?,
        Err(_) => Vec::new(),
    };
    let body = format!(
        r#"<h1>Search: {}</h1><div class="card"><h2>Messages</h2>{}</div><div class="card"><h2>Inbound messages</h2>{}</div>"#,
        esc(&q),
        table(&MESSAGE_HEADERS, &message_rows(&found)),
        table(&INBOUND_HEADERS, &inbound_rows(&inbound))
    );
    Ok(html_reply(200, html::page("Search", &q, &body)))
}

/// Inbound messages from or to this number (digits), newest first.
fn inbound_of(app: &App, digits: &str) -> Result<Vec<InboundView>, ApiError> {
    let mut found = Vec::new();
    for (from, to) in [(Some(digits), None), (None, Some(digits))] {
        let filter = InboundFilter {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            limit: PAGE,
            ..InboundFilter::default()
        };
        found.extend(app.store.list_inbound(&filter).map_err(unavailable)?.items);
    }
    found.sort_by_key(|m| std::cmp::Reverse(m.id));
    found.dedup_by_key(|m| m.id);
    Ok(found)
}
