//! Sending: `send`, `reconcile`. Through the API, on the daemon or the
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

pub fn reconcile(config: &Config, batch: Option<&str>) -> Result<(), Failure> {
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
