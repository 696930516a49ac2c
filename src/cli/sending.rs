//! Sending: `send`, `reconcile`. Through the API, on the daemon or the
//! file (target.rs picks).

use serde_json::json;

use super::target::with_target;
use crate::config::Config;
use crate::http::percent_encode;
use crate::outbound::SendInput;

pub fn send(config: &Config, input: &SendInput) -> Result<(), String> {
    let body = serde_json::to_value(input).expect("plain data serialises");
    let result = with_target(config, |t| {
        t.call("POST", "/api/messages/send", Some(&body))?.json()
    })?;
    let ids: Vec<String> = result["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].to_string())
        .collect();
    println!(
        "sent batch {} to {} recipient(s); message id(s): {}",
        result["batch_id"].as_str().unwrap_or("?"),
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
    let report = with_target(config, |t| t.call("POST", &path, Some(&json!({})))?.json())?;
    for u in report["updated"].as_array().into_iter().flatten() {
        println!(
            "message {}: now {} (code {})",
            u["id"],
            u["status"].as_str().unwrap_or("?"),
            u["code"]
        );
    }
    for e in report["errors"].as_array().into_iter().flatten() {
        eprintln!("error: {}", e.as_str().unwrap_or(""));
    }
    println!(
        "checked {}, updated {}, unchanged {}, unknown at Sinch {}",
        report["checked"],
        report["updated"].as_array().map_or(0, Vec::len),
        report["unchanged"],
        report["unknown_at_sinch"]
    );
    Ok(())
}
