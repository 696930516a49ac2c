//! `sinch-dlr events`: the event log after a seq, as NDJSON (one event per
//! line, exactly as GET /api/events gives it) or a table; `--follow` keeps
//! long-polling and prints each event as it is stored, so
//! `sinch-dlr events --follow | <anything>` feeds another system.

use std::io::Write;

use serde_json::Value;

use super::target::{Failure, Target, reading};
use crate::config::Config;
use crate::http::percent_encode;

/// How long one poll of `--follow` is held.
const FOLLOW_WAIT_SECS: u32 = 30;

pub fn print(
    config: &Config,
    query: &[(String, String)],
    follow: bool,
    fmt: &str,
) -> Result<(), Failure> {
    if !matches!(fmt, "ndjson" | "table") {
        return Err(Failure::Usage(format!(
            "--format {fmt}: use ndjson or table"
        )));
    }
    let mut after: u64 = match query.iter().rev().find(|(k, _)| k == "after") {
        Some((_, v)) => v
            .parse()
            .map_err(|_| Failure::Usage(format!("--after {v}: not a seq")))?,
        None => 0,
    };
    let types = query
        .iter()
        .rev()
        .find(|(k, _)| k == "types")
        .map(|(_, v)| v.clone());
    reading(config, |t| {
        let mut out = std::io::stdout().lock();
        if fmt == "table" {
            writeln!(
                out,
                "{:>8}  {:<27}  {:<24}  SUBJECT",
                "SEQ", "TIMESTAMP", "TYPE"
            )
            .map_err(|e| Failure::from(e.to_string()))?;
        }
        loop {
            let wait = if follow { FOLLOW_WAIT_SECS } else { 0 };
            let page = fetch(t, after, types.as_deref(), wait)?;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            for e in &events {
                write_event(&mut out, e, fmt).map_err(|e| Failure::from(e.to_string()))?;
            }
            out.flush().map_err(|e| Failure::from(e.to_string()))?;
            after = page["next_after"].as_u64().unwrap_or(after);
            if events.is_empty() && !follow {
                return Ok(());
            }
        }
    })
}

fn fetch(t: &Target, after: u64, types: Option<&str>, wait: u32) -> Result<Value, Failure> {
    let mut path = format!("/api/events?after={after}&limit=1000&wait={wait}");
    if let Some(types) = types {
        path.push_str(&format!("&types={}", percent_encode(types)));
    }
    t.call("GET", &path, None)?.json()
}

fn write_event(out: &mut impl Write, e: &Value, fmt: &str) -> std::io::Result<()> {
    if fmt == "ndjson" {
        return writeln!(out, "{e}");
    }
    let data = &e["data"];
    let subject = match e["type"].as_str().unwrap_or("") {
        "message.registered" | "message.status_updated" => format!(
            "message {} {} {}",
            data["message"]["id"],
            data["message"]["to"].as_str().unwrap_or(""),
            data["update"]["status"].as_str().unwrap_or("")
        ),
        "inbound.received" => format!(
            "inbound {} from {}",
            data["inbound"]["id"],
            data["inbound"]["from"].as_str().unwrap_or("")
        ),
        "batch_report.received" => format!(
            "batch {}",
            data["batch_report"]["batch_id"].as_str().unwrap_or("")
        ),
        "callback.quarantined" => format!(
            "quarantine {}: {}",
            data["quarantine"]["id"],
            data["quarantine"]["reason"].as_str().unwrap_or("")
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "{:>8}  {:<27}  {:<24}  {}",
        e["seq"],
        e["timestamp"].as_str().unwrap_or(""),
        e["type"].as_str().unwrap_or(""),
        subject.trim_end()
    )
}
