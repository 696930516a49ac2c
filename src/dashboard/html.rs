//! HTML building blocks: escaping (every value from a payload is
//! attacker-influenced text), the page layout with its embedded CSS, and
//! small tables. No JavaScript, nothing loaded from elsewhere.

use crate::sinch::Status;
use crate::store::MessageView;
use crate::store::view::Cell;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value as escaped text ("–" for none).
pub fn shown<'a>(value: impl Into<Cell<'a>>) -> String {
    match value.into() {
        Cell::Text(s) => esc(s),
        other => other.plain().map_or_else(|| "–".into(), |p| esc(&p)),
    }
}

/// Percent-encodes a path segment or query value for an href.
pub fn url(s: &str) -> String {
    crate::http::percent_encode(s)
}

/// The stylesheet; `{STATUS_COLOURS}` is filled in by `css`.
const CSS_TEMPLATE: &str = r#"
:root{--fg:#1d2430;--muted:#5b6575;--line:#dde2ea;--bg:#f6f8fb;--card:#fff;--ok:#1f8a4c;--bad:#c0392b;--wait:#b7791f;--accent:#2457c5}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#14213d;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto;display:flex;gap:.4rem;flex:1 1 16rem;max-width:28rem}
header input[type=search]{flex:1;min-width:0;padding:.35rem .5rem;border-radius:4px;border:0}
button{padding:.35rem .7rem;border:0;border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:0 0 .6rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin-bottom:1rem;overflow-x:auto}
.kpi{font-size:1.8rem;font-weight:700}.muted{color:var(--muted);font-size:.85rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
th{font-size:.8rem;color:var(--muted);font-weight:600;white-space:nowrap}td span[class^=s-]{white-space:nowrap}
.pager a.next{font-weight:600}form.range{display:inline;margin-left:.6rem}form.range input{font:inherit;font-size:.85rem}
{STATUS_COLOURS}
.bar{height:.7rem;border-radius:3px;background:var(--accent);display:inline-block;vertical-align:middle}
pre{white-space:pre-wrap;word-break:break-all;background:#f0f2f6;padding:.5rem;border-radius:4px;font-size:.8rem}
.login{max-width:22rem;margin:4rem auto}.login input{width:100%;padding:.5rem;margin:.4rem 0 .8rem}.error{color:var(--bad)}
nav.periods a{margin-right:.6rem}
.e-active{color:var(--ok);font-weight:600}.e-failing{color:var(--bad);font-weight:600}.e-disabled{color:var(--wait);font-weight:600}
@media (max-width:40rem){main{padding:.6rem}.kpi{font-size:1.4rem}th:nth-child(n+5),td:nth-child(n+5){display:none}}
"#;

/// The stylesheet, with a colour for every status class `status` emits:
/// Delivered good, the other final statuses bad, the rest waiting.
fn css() -> &'static str {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSS.get_or_init(|| {
        let class = |s: &Status| format!(".s-{s}");
        let bad: Vec<String> = Status::FINAL
            .iter()
            .filter(|s| **s != Status::Delivered)
            .map(class)
            .collect();
        let mut waiting: Vec<String> = Status::INTERMEDIATE.iter().map(class).collect();
        waiting.push(".s-none".into());
        let colours = format!(
            "{}{{color:var(--ok);font-weight:600}}{}{{color:var(--bad);font-weight:600}}\n{}{{color:var(--wait)}}",
            class(&Status::Delivered),
            bad.join(","),
            waiting.join(",")
        );
        CSS_TEMPLATE.replace("{STATUS_COLOURS}", &colours)
    })
}

/// A whole page. `body` must already be escaped HTML.
pub fn page(title: &str, query: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · sinch-dlr</title><style>{css}</style></head><body>
<header><a href="/">sinch-dlr</a><a href="/ui/messages">Messages</a><a href="/ui/inbound">Inbound</a><a href="/ui/endpoints">Webhooks</a>
<form action="/ui/search" method="get" role="search"><input type="search" name="q" value="{q}" placeholder="batch id, client reference or phone number" aria-label="search"><button>Search</button></form>
<form action="/ui/logout" method="post"><button>Log out</button></form></header>
<main>{body}</main></body></html>"#,
        title = esc(title),
        q = esc(query),
        css = css(),
    )
}

/// The login page (no header).
pub fn login_page(error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!(r#"<p class="error">{}</p>"#, esc(e))
    });
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Log in · sinch-dlr</title><style>{css}</style></head><body><main><div class="card login">
<h1>sinch-dlr</h1>{error}<form action="/ui/login" method="post">
<label for="token">API token (<code>SINCH_DLR_API_TOKEN</code>)</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button id="login">Log in</button></form></div></main></body></html>"#,
        css = css(),
    )
}

/// A table from rows of already-escaped cells.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return r#"<p class="muted">Nothing here.</p>"#.into();
    }
    let head: String = headers
        .iter()
        .map(|h| format!("<th>{}</th>", esc(h)))
        .collect();
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr>{}</tr>",
                r.iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            )
        })
        .collect();
    format!("<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
}

/// A status with its colour class.
pub fn status(value: Option<&str>) -> String {
    let s = value.unwrap_or("none");
    let class: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    format!(r#"<span class="s-{class}">{}</span>"#, esc(s))
}

/// One row per message summary: id link, to, batch link, status, code, at, reference.
pub fn message_rows(messages: &[MessageView]) -> Vec<Vec<String>> {
    messages
        .iter()
        .map(|m| {
            let id = m.id;
            vec![
                format!(r#"<a href="/ui/messages/{id}">{id}</a>"#),
                shown(&m.to),
                status(m.latest_status.as_ref().map(Status::as_str)),
                shown(m.latest_status_code),
                shown(&m.latest_status_at),
                batch_link(&m.batch_id),
                shown(&m.client_reference),
            ]
        })
        .collect()
}

/// A batch id linking to its page.
pub fn batch_link(batch: &str) -> String {
    format!(r#"<a href="/ui/batches/{}">{}</a>"#, url(batch), esc(batch))
}

/// Message rows on a batch's page: the batch column would repeat its id.
pub fn batch_rows(messages: &[MessageView]) -> Vec<Vec<String>> {
    let mut rows = message_rows(messages);
    for row in &mut rows {
        row.remove(BATCH_COLUMN);
    }
    rows
}

/// Where `message_rows` puts the batch.
const BATCH_COLUMN: usize = 5;

pub const BATCH_HEADERS: [&str; 6] = ["ID", "To", "Status", "Code", "Status at", "Client ref"];

pub const MESSAGE_HEADERS: [&str; 7] = [
    "ID",
    "To",
    "Status",
    "Code",
    "Status at",
    "Batch",
    "Client ref",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_colour() {
        assert!(css().contains(
            ".s-Delivered{color:var(--ok);font-weight:600}.s-Failed,.s-Aborted,.s-Rejected,\
             .s-Expired,.s-Deleted,.s-Cancelled,.s-Unknown{color:var(--bad);font-weight:600}\n\
             .s-Queued,.s-Dispatched,.s-none{color:var(--wait)}\n"
        ));
        assert!(!css().contains("STATUS_COLOURS"));
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(shown("<b>"), "&lt;b&gt;");
        assert_eq!(
            status(Some("<img>")),
            r#"<span class="s-img">&lt;img&gt;</span>"#
        );
    }
}
