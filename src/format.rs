//! How the CLI prints: aligned tables for a terminal, CSV (RFC 4180,
//! shared with exports), pretty JSON. Input is always the API's answer,
//! read into the store's views, so daemon and file modes print the same.

use serde::Serialize;

use crate::export::{csv_header, csv_line, csv_row};
use crate::store::view::{Cell, Field};
use crate::store::{InboundPage, InboundView, MessagePage, MessageView, StatsView};

/// Columns of the `messages` table.
const TABLE: [(&str, Field); 7] = [
    ("ID", Field::Id),
    ("TO", Field::To),
    ("BATCH", Field::BatchId),
    ("STATUS", Field::LatestStatus),
    ("CODE", Field::LatestStatusCode),
    ("STATUS AT", Field::LatestStatusAt),
    ("CLIENT REF", Field::ClientReference),
];

/// The fields `show` lists, labelled by their key.
const SHOW: [Field; 13] = [
    Field::To,
    Field::Recipient,
    Field::BatchId,
    Field::ClientReference,
    Field::Body,
    Field::LatestStatus,
    Field::LatestStatusCode,
    Field::LatestStatusAt,
    Field::StatusConflict,
    Field::Discovered,
    Field::SentAt,
    Field::RegisteredAt,
    Field::CreatedAt,
];

fn cell<'a>(v: impl Into<Cell<'a>>) -> String {
    match v.into() {
        Cell::Text(s) => s.replace(['\n', '\r', '\t'], " "),
        other => other.plain().unwrap_or_else(|| "-".into()),
    }
}

/// Rows padded to the widest cell of each column.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A page of messages (`{"messages": [...], "next_cursor": ...}`).
pub fn messages(page: &MessagePage, format: &str) -> Result<String, String> {
    let items = &page.messages;
    match format {
        "json" => Ok(pretty(page)),
        "csv" => Ok(items.iter().fold(csv_header(), |mut out, m| {
            out.push_str(&csv_line(m));
            out
        })),
        "table" => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|m| TABLE.iter().map(|(_, f)| cell(m.cell(*f))).collect())
                .collect();
            let headers: Vec<&str> = TABLE.iter().map(|(h, _)| *h).collect();
            Ok(table(&headers, &rows))
        }
        other => Err(format!("--format {other:?}: use table, json or csv")),
    }
}

/// Columns of `inbound` (table and CSV).
const INBOUND: [&str; 8] = [
    "id",
    "from",
    "to",
    "type",
    "body",
    "received_at",
    "operator_id",
    "sinch_id",
];

/// An inbound message's body as text: the text (mo_text), the base64
/// (mo_binary), or the JSON object (mo_media).
fn inbound_body(m: &InboundView) -> String {
    match &m.body {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A page of inbound messages (`{"inbound": [...], "next_cursor": ...}`).
pub fn inbound(page: &InboundPage, format: &str) -> Result<String, String> {
    let rows: Vec<(&InboundView, String)> =
        page.inbound.iter().map(|m| (m, inbound_body(m))).collect();
    let cells = |(m, body): &(&InboundView, String)| -> [String; 8] {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            m.id.to_string(),
            m.from.clone(),
            m.to.clone(),
            m.kind.clone(),
            body.clone(),
            m.received_at.clone(),
            opt(&m.operator_id),
            m.sinch_id.clone(),
        ]
    };
    match format {
        "json" => Ok(pretty(page)),
        "csv" => Ok(rows
            .iter()
            .fold(csv_row(INBOUND.map(Cell::Text)), |mut out, r| {
                let c = cells(r);
                out.push_str(&csv_row(c.iter().map(|v| Cell::Text(v))));
                out
            })),
        "table" => {
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| cells(r).map(|c| cell(c.as_str())).to_vec())
                .collect();
            let headers = INBOUND.map(|h| h.to_uppercase());
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            Ok(table(&headers, &table_rows))
        }
        other => Err(format!("--format {other:?}: use table, json or csv")),
    }
}

/// One message with its history.
pub fn message(m: &MessageView, format: &str) -> Result<String, String> {
    match format {
        "json" => return Ok(pretty(m)),
        "text" => {}
        other => return Err(format!("--format {other:?}: use text or json")),
    }
    let mut out = format!("message {}\n", m.id);
    for field in SHOW {
        let key = field.name();
        out.push_str(&format!("  {key:<20} {}\n", cell(m.cell(field))));
    }
    let updates = m.status_updates.as_deref().unwrap_or_default();
    out.push_str(&format!(
        "history ({} update(s), oldest first):\n",
        updates.len()
    ));
    let rows: Vec<Vec<String>> = updates
        .iter()
        .map(|u| {
            vec![
                cell(&u.at),
                cell(&u.status),
                cell(u.code),
                cell(u.source.as_str()),
                cell(&u.operator_status_at),
                cell(&u.received_at),
            ]
        })
        .collect();
    for line in table(
        &["AT", "STATUS", "CODE", "SOURCE", "OPERATOR AT", "RECEIVED"],
        &rows,
    )
    .lines()
    {
        out.push_str(&format!("  {line}\n"));
    }
    Ok(out)
}

/// The `stats` answer.
pub fn stats(s: &StatsView, format: &str) -> Result<String, String> {
    match format {
        "json" => return Ok(pretty(s)),
        "text" => {}
        other => return Err(format!("--format {other:?}: use text or json")),
    }
    let mut out = format!("messages: {}\n", s.messages);
    let rate = s
        .delivery_rate
        .map_or("-".to_string(), |r| format!("{:.1} %", r * 100.0));
    out.push_str(&format!("delivery rate (Delivered / final): {rate}\n"));
    out.push_str("by latest status:\n");
    for (k, v) in &s.by_latest_status {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    out.push_str("callbacks by result:\n");
    for (k, v) in &s.callbacks {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    let t = &s.time_to_delivered;
    out.push_str(&format!(
        "time to Delivered (messages since {}: {}): median {} s, p95 {} s\n",
        cell(&t.since),
        t.messages,
        cell(t.median_seconds),
        cell(t.p95_seconds)
    ));
    let st = &s.stale;
    out.push_str(&format!(
        "stale (no final status after {} h): {}{}\n",
        cell(st.after_hours),
        st.count,
        if st.count_is_lower_bound { "+" } else { "" }
    ));
    if !st.oldest_ids.is_empty() {
        let ids: Vec<String> = st.oldest_ids.iter().map(u64::to_string).collect();
        out.push_str(&format!("  oldest: {}\n", ids.join(", ")));
    }
    Ok(out)
}

fn pretty(v: &impl Serialize) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).expect("JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "LONGER"],
            &[
                vec!["wide cell".into(), "x".into()],
                vec!["y".into(), "z".into()],
            ],
        );
        assert_eq!(t, "A          LONGER\nwide cell  x\ny          z\n");
    }

    #[test]
    fn message_page_formats() {
        let page = json!({"messages": [{"id": 1, "to": "+1555", "recipient": "1555", "batch_id": "B",
            "client_reference": "a,b", "body": null, "sent_at": null, "registered_at": null,
            "created_at": "2025-03-02T10:15:29.120Z", "discovered": true, "latest_status": null,
            "latest_status_code": null, "latest_status_at": null, "status_conflict": false,
            "update_count": 0}], "next_cursor": null});
        let page: MessagePage = serde_json::from_value(page).unwrap();
        let t = messages(&page, "table").unwrap();
        assert!(t.starts_with("ID  TO"), "{t}");
        assert!(t.contains("1   +1555  B      -"), "{t}");
        let csv = messages(&page, "csv").unwrap();
        assert!(csv.starts_with("id,to,recipient,"));
        assert!(csv.contains("\"a,b\""));
        assert!(messages(&page, "xml").is_err());
    }
}
