//! CLI commands that go through the API (remote.rs picks the daemon or the
//! file): send, reconcile, messages, show, export, stats, backup.

use serde_json::json;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::config::Config;
use crate::format;
use crate::http::percent_encode;
use crate::outbound::{SendInput, SentBatch};
use crate::reconcile::PassReport;
use crate::remote::Target;
use crate::store::{MessagePage, MessageView, StatsView};

/// Connects, runs `f`, and always lets a local writer close the file.
fn with_target<T>(
    config: &Config,
    f: impl FnOnce(&Target) -> Result<T, String>,
) -> Result<T, String> {
    let target = Target::connect(config)?;
    let result = f(&target);
    target.close();
    result
}

fn query_string(params: &[(String, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

pub fn send(config: &Config, input: &SendInput) -> Result<(), String> {
    let body = serde_json::to_value(input).expect("plain data serialises");
    let result: SentBatch = with_target(config, |t| {
        t.call("POST", "/api/messages/send", Some(&body))?.view()
    })?;
    let ids: Vec<String> = result.messages.iter().map(|m| m.id.to_string()).collect();
    println!(
        "sent batch {} to {} recipient(s); message id(s): {}",
        result.batch_id,
        ids.len(),
        ids.join(", ")
    );
    Ok(())
}

pub fn reconcile(config: &Config, batch: Option<&str>) -> Result<(), String> {
    let path = match batch {
        Some(b) => format!("/api/reconcile?batch_id={}", percent_encode(b)),
        None => "/api/reconcile".to_string(),
    };
    let report: PassReport =
        with_target(config, |t| t.call("POST", &path, Some(&json!({})))?.view())?;
    for u in &report.updated {
        println!("message {}: now {} (code {})", u.id, u.status, u.code);
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    println!(
        "checked {}, updated {}, unchanged {}, unknown at Sinch {}",
        report.checked,
        report.updated.len(),
        report.unchanged,
        report.unknown_at_sinch
    );
    Ok(())
}

pub fn messages(config: &Config, query: &[(String, String)], fmt: &str) -> Result<(), String> {
    let page: MessagePage = with_target(config, |t| {
        t.call(
            "GET",
            &format!("/api/messages{}", query_string(query)),
            None,
        )?
        .view()
    })?;
    print!("{}", format::messages(&page, fmt)?);
    if let (Some(c), "table") = (page.next_cursor.as_deref(), fmt) {
        eprintln!("more: add --cursor {c}");
    }
    Ok(())
}

pub fn show(config: &Config, id: &str, fmt: &str) -> Result<(), String> {
    let m: MessageView = with_target(config, |t| {
        t.call(
            "GET",
            &format!("/api/messages/{}", percent_encode(id)),
            None,
        )?
        .view()
    })?;
    print!("{}", format::message(&m, fmt)?);
    Ok(())
}

pub fn stats(config: &Config, since: Option<&str>, fmt: &str) -> Result<(), String> {
    let path = match since {
        Some(s) => format!("/api/stats?since={}", percent_encode(s)),
        None => "/api/stats".into(),
    };
    let s: StatsView = with_target(config, |t| t.call("GET", &path, None)?.view())?;
    print!("{}", format::stats(&s, fmt)?);
    Ok(())
}

/// Streams the export to stdout; progress on stderr when it is a terminal.
pub fn export(config: &Config, query: &[(String, String)], fmt: &str) -> Result<(), String> {
    let mut params = vec![("format".to_string(), fmt.to_string())];
    params.extend_from_slice(query);
    with_target(config, |t| {
        let body = t
            .call(
                "GET",
                &format!("/api/export{}", query_string(&params)),
                None,
            )?
            .stream()?;
        copy_with_progress(body, &mut std::io::stdout().lock())
    })
}

fn copy_with_progress(mut from: Box<dyn Read + Send>, to: &mut impl Write) -> Result<(), String> {
    let progress = std::io::stderr().is_terminal();
    let (mut buf, mut lines, mut next_report) = (vec![0u8; 64 * 1024], 0usize, 10_000usize);
    loop {
        let n = from.read(&mut buf).map_err(|e| format!("export: {e}"))?;
        if n == 0 {
            break;
        }
        to.write_all(&buf[..n])
            .map_err(|e| format!("writing the export: {e}"))?;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        if progress && lines >= next_report {
            eprint!("\rexported {lines} lines");
            next_report += 10_000;
        }
    }
    if progress {
        eprintln!("\rexported {lines} lines");
    }
    to.flush().map_err(|e| e.to_string())
}

/// A consistent copy of the database, written to `to` (never overwritten;
/// written under a temporary name and renamed when complete).
pub fn backup(config: &Config, to: &Path) -> Result<(), String> {
    if to.exists() {
        return Err(format!("{} already exists", to.display()));
    }
    let tmp = to.with_extension("partial");
    with_target(config, |t| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut body = t.call("GET", "/api/backup", None)?.stream()?;
        // Phone numbers and message bodies: readable by the owner only.
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::io::copy(&mut body, &mut file).map_err(|e| format!("{}: {e}", tmp.display()))?;
        file.sync_all().map_err(|e| e.to_string())
    })?;
    std::fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))?;
    println!("backup written to {}", to.display());
    Ok(())
}
