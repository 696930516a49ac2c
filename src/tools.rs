//! Operator commands that are not the server: `sign`, `check-config`,
//! `check-db`.

use std::io::Read;

use crate::auth::{self, ALGORITHM, NONCE, SIGNATURE, TIMESTAMP};
use serde_json::json;
use std::sync::Arc;

use crate::cli::{SendArgs, SignArgs};
use crate::clock;
use crate::config::Config;
use crate::outbound::{self, SendInput};
use crate::reconcile::Reconciler;
use crate::remote::{Daemon, RemoteError};
use crate::send::SinchClient;
use crate::store::Store;
use crate::writer::{self, WriterHandle};

/// Prints a curl command that posts the body with Sinch's signature headers.
pub fn sign(config: &Config, args: &SignArgs) -> Result<(), String> {
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => configured_secret(config)?,
    };
    let (body, data_arg) = match &args.file {
        Some(path) => {
            let body = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            (
                body,
                format!("@{}", shell_quote(&path.display().to_string())),
            )
        }
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("stdin: {e}"))?;
            let text = String::from_utf8(body.clone())
                .map_err(|_| "stdin is not UTF-8; use --file".to_string())?;
            (body, shell_quote(&text))
        }
    };
    let nonce = args
        .nonce
        .clone()
        .unwrap_or_else(|| format!("sdlr{}", clock::now_micros()));
    let timestamp = args
        .timestamp
        .clone()
        .unwrap_or_else(|| clock::now_secs().to_string());
    let signature = auth::sign(&secret, &body, &nonce, &timestamp);
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}/api/sinchCallbacks", config.listen));
    println!(
        "curl -sS -X POST {} \\\n  -H 'Content-Type: application/json' \\\n  -H '{SIGNATURE}: {signature}' \\\n  -H '{NONCE}: {nonce}' \\\n  -H '{TIMESTAMP}: {timestamp}' \\\n  -H '{ALGORITHM}: HmacSHA256' \\\n  --data-binary {data_arg}",
        shell_quote(&url)
    );
    Ok(())
}

fn configured_secret(config: &Config) -> Result<String, String> {
    if let Some(s) = config.callback_auth.hmac_secrets.first() {
        return Ok(s.expose().to_string());
    }
    let path = config.generated_secret_path();
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            format!(
                "no secret configured and none generated yet at {}; pass --secret",
                path.display()
            )
        })
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn check_config(config: &Config) {
    println!("{config:#?}");
}

/// Opens the file (the daemon must be stopped) and checks every index.
pub fn check_db(config: &Config) -> Result<bool, String> {
    let store =
        Store::open(&config.db_path).map_err(|e| format!("{}: {e}", config.db_path.display()))?;
    let problems = store.check().map_err(|e| e.to_string())?;
    for p in &problems {
        println!("{p}");
    }
    println!(
        "{}: {} problem(s)",
        config.db_path.display(),
        problems.len()
    );
    Ok(problems.is_empty())
}

/// `sinch-dlr send`: through the daemon, or directly when none runs.
pub fn send(config: &Config, args: &SendArgs) -> Result<(), String> {
    let input = SendInput {
        to: args.to.clone(),
        body: args.body.clone(),
        from: args.from.clone(),
        client_reference: args.client_reference.clone(),
        delivery_report: args.delivery_report.clone(),
        callback_url: args.callback_url.clone(),
    };
    outbound::validate(&input).map_err(|e| e.to_string())?;
    let body = serde_json::to_value(&input).expect("plain data serialises");
    let result = match Daemon::new(config).post("/api/messages/send", &body) {
        Err(RemoteError::NotRunning) => with_local_store(config, |_, writer| {
            let client = sinch_client(config)?;
            outbound::send_and_register(&client, writer, input, config.public_url.as_deref())
                .map_err(|e| e.to_string())
        })?,
        other => other.map_err(|e| e.to_string())?,
    };
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

/// `sinch-dlr reconcile`: one pass, through the daemon or directly.
pub fn reconcile(config: &Config, batch: Option<&str>) -> Result<(), String> {
    let path = match batch {
        Some(b) => format!("/api/reconcile?batch_id={}", crate::http::percent_encode(b)),
        None => "/api/reconcile".to_string(),
    };
    let report = match Daemon::new(config).post(&path, &json!({})) {
        Err(RemoteError::NotRunning) => with_local_store(config, |store, writer| {
            let reconciler = Reconciler::new(sinch_client(config)?, config.reconcile_after);
            Ok(reconciler.run_pass(store, writer, batch).to_json())
        })?,
        other => other.map_err(|e| e.to_string())?,
    };
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

const NO_SINCH: &str = "needs SINCH_SERVICE_PLAN_ID and SINCH_API_TOKEN";

fn sinch_client(config: &Config) -> Result<SinchClient, String> {
    let api = config.sinch.clone().ok_or(NO_SINCH)?;
    Ok(SinchClient::new(api, config.sinch_limits))
}

/// Opens the file (no daemon runs), starts a writer, runs `f`, then lets
/// the writer commit and close.
fn with_local_store<T>(
    config: &Config,
    f: impl FnOnce(&Store, &WriterHandle) -> Result<T, String>,
) -> Result<T, String> {
    let store = Arc::new(Store::open(&config.db_path).map_err(|e| {
        format!(
            "no daemon at {} and cannot open {}: {e}",
            config.listen,
            config.db_path.display()
        )
    })?);
    let (writer, thread) = writer::start(store.clone());
    let result = f(&store, &writer);
    drop(writer);
    let _ = thread.join();
    result
}
