//! How the CLI prints: aligned tables for a terminal, CSV (RFC 4180,
//! shared with exports), pretty JSON. Input is always the API's JSON, so
//! daemon and file modes print the same.

use serde_json::Value;

use crate::export::{CSV_COLUMNS, csv_header, csv_line};

/// Columns of the `messages` table: (header, JSON key).
const TABLE: [(&str, &str); 7] = [
    ("ID", "id"),
    ("TO", "to"),
    ("BATCH", "batch_id"),
    ("STATUS", "latest_status"),
    ("CODE", "latest_status_code"),
    ("STATUS AT", "latest_status_at"),
    ("CLIENT REF", "client_reference"),
];

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.replace(['\n', '\r', '\t'], " "),
        other => other.to_string(),
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
pub fn messages(page: &Value, format: &str) -> Result<String, String> {
    let items = page["messages"].as_array().cloned().unwrap_or_default();
    match format {
        "json" => Ok(pretty(page)),
        "csv" => Ok(items.iter().fold(csv_header(&CSV_COLUMNS), |mut out, m| {
            out.push_str(&csv_line(&CSV_COLUMNS, m));
            out
        })),
        "table" => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|m| TABLE.iter().map(|(_, k)| cell(&m[*k])).collect())
                .collect();
            let headers: Vec<&str> = TABLE.iter().map(|(h, _)| *h).collect();
            Ok(table(&headers, &rows))
        }
        other => Err(format!("--format {other:?}: use table, json or csv")),
    }
}

/// One message with its history.
pub fn message(m: &Value, format: &str) -> Result<String, String> {
    match format {
        "json" => return Ok(pretty(m)),
        "text" => {}
        other => return Err(format!("--format {other:?}: use text or json")),
    }
    let mut out = format!("message {}\n", m["id"]);
    for key in [
        "to",
        "recipient",
        "batch_id",
        "client_reference",
        "body",
        "latest_status",
        "latest_status_code",
        "latest_status_at",
        "status_conflict",
        "discovered",
        "sent_at",
        "registered_at",
        "created_at",
    ] {
        out.push_str(&format!("  {key:<20} {}\n", cell(&m[key])));
    }
    let updates = m["status_updates"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!(
        "history ({} update(s), oldest first):\n",
        updates.len()
    ));
    let cols = [
        "at",
        "status",
        "code",
        "source",
        "operator_status_at",
        "received_at",
    ];
    let rows: Vec<Vec<String>> = updates
        .iter()
        .map(|u| cols.iter().map(|k| cell(&u[*k])).collect())
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
pub fn stats(s: &Value, format: &str) -> Result<String, String> {
    match format {
        "json" => return Ok(pretty(s)),
        "text" => {}
        other => return Err(format!("--format {other:?}: use text or json")),
    }
    let mut out = format!("messages: {}\n", s["messages"]);
    let rate = s["delivery_rate"]
        .as_f64()
        .map_or("-".to_string(), |r| format!("{:.1} %", r * 100.0));
    out.push_str(&format!("delivery rate (Delivered / final): {rate}\n"));
    out.push_str("by latest status:\n");
    for (k, v) in s["by_latest_status"].as_object().into_iter().flatten() {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    out.push_str("callbacks by result:\n");
    for (k, v) in s["callbacks"].as_object().into_iter().flatten() {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    let t = &s["time_to_delivered"];
    out.push_str(&format!(
        "time to Delivered (messages since {}: {}): median {} s, p95 {} s\n",
        cell(&t["since"]),
        t["messages"],
        cell(&t["median_seconds"]),
        cell(&t["p95_seconds"])
    ));
    let st = &s["stale"];
    out.push_str(&format!(
        "stale (no final status after {} h): {}{}\n",
        st["after_hours"],
        st["count"],
        if st["count_is_lower_bound"] == true {
            "+"
        } else {
            ""
        }
    ));
    if let Some(ids) = st["oldest_ids"].as_array().filter(|a| !a.is_empty()) {
        let ids: Vec<String> = ids.iter().map(Value::to_string).collect();
        out.push_str(&format!("  oldest: {}\n", ids.join(", ")));
    }
    Ok(out)
}

fn pretty(v: &Value) -> String {
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
        let page = json!({"messages": [{"id": 1, "to": "+1555", "batch_id": "B", "latest_status": null,
            "client_reference": "a,b", "update_count": 0}], "next_cursor": null});
        let t = messages(&page, "table").unwrap();
        assert!(t.starts_with("ID  TO"), "{t}");
        assert!(t.contains("1   +1555  B      -"), "{t}");
        let csv = messages(&page, "csv").unwrap();
        assert!(csv.starts_with("id,to,recipient,"));
        assert!(csv.contains("\"a,b\""));
        assert!(messages(&page, "xml").is_err());
    }
}
