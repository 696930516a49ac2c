//! Operator commands that work on configuration or the file itself:
//! `sign`, `check-config`, `check-db`. (Commands that go through the API
//! are in commands.rs.)

use std::io::Read;

use crate::auth::{self, ALGORITHM, NONCE, SIGNATURE, TIMESTAMP};
use crate::cli::SignArgs;
use crate::clock;
use crate::config::Config;
use crate::store::Store;

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
    // The daemon refuses other shapes; say so here rather than print a
    // command that gets 401.
    auth::check_shape(&nonce, &timestamp).map_err(|e| format!("--nonce/--timestamp: {e}"))?;
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
