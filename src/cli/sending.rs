//! Sending: `send`, `feedback`, `reconcile`. Through the API, on the daemon or the
//! file (target.rs picks).

use serde_json::json;

use super::target::{Failure, with_target};
use crate::config::Config;
use crate::http::percent_encode;
use crate::reconcile::PassReport;
use crate::sending::{SendInput, SentBatch};

pub fn send(config: &Config, input: &SendInput) -> Result<(), Failure> {
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

/// `feedback --message ID` or `feedback --batch B [--to N]...`.
pub fn feedback(
    config: &Config,
    message: Option<&str>,
    batch: Option<&str>,
    to: &[String],
) -> Result<(), Failure> {
    let (path, body) = match (message, batch) {
        (Some(id), _) => (
            format!("/api/messages/{}/feedback", percent_encode(id)),
            json!({}),
        ),
        (None, Some(b)) => (
            format!("/api/batches/{}/feedback", percent_encode(b)),
            json!({ "recipients": to }),
        ),
        (None, None) => return Err(Failure::Usage("feedback needs --message or --batch".into())),
    };
    let answer: serde_json::Value =
        with_target(config, |t| t.call("POST", &path, Some(&body))?.view())?;
    match (message, answer["recipients"].as_array()) {
        (Some(id), _) => println!("feedback sent for message {id}"),
        (None, Some(list)) => println!("feedback sent for {} recipient(s)", list.len()),
        (None, None) => println!("feedback sent"),
    }
    Ok(())
}

/// The `POST /api/reconcile` parameters of `reconcile`'s flags.
pub fn reconcile_query(
    batch: &Option<String>,
    since: &Option<String>,
    until: &Option<String>,
    all: bool,
) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    let named = [("batch_id", batch), ("since", since), ("until", until)];
    for (name, value) in named {
        if let Some(v) = value {
            query.push((name, v.clone()));
        }
    }
    if all {
        query.push(("all", "true".to_string()));
    }
    query
}

pub fn reconcile(config: &Config, query: &[(&str, String)]) -> Result<(), Failure> {
    let params: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let path = match params.is_empty() {
        true => "/api/reconcile".to_string(),
        false => format!("/api/reconcile?{}", params.join("&")),
    };
    let report: PassReport =
        with_target(config, |t| t.call("POST", &path, Some(&json!({})))?.view())?;
    for u in &report.updated {
        println!("message {}: now {} (code {})", u.id, u.status, u.code);
    }
    for u in &report.discovered {
        println!(
            "message {}: discovered, {} (code {})",
            u.id, u.status, u.code
        );
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    println!(
        "checked {}, updated {}, discovered {}, unchanged {}, unknown at Sinch {}, errors {}",
        report.checked,
        report.updated.len(),
        report.discovered.len(),
        report.unchanged,
        report.unknown_at_sinch,
        report.errors.len()
    );
    Ok(())
}
