//! Setting up: `check-config` (every setting, where it came from) and
//! `sign` (a signed test callback). They read the configuration only.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use super::SignArgs;
use super::target::Failure;
use crate::auth::{self, ALGORITHM, NONCE, SIGNATURE, TIMESTAMP};
use crate::clock;
use crate::config::{Config, VARIABLES, Variable, shown_url};

/// Prints a curl command that posts the body with Sinch's signature headers.
pub fn sign(config: &Config, args: &SignArgs) -> Result<(), Failure> {
    let secret = match &args.secret {
        Some(s) if s.is_empty() => {
            return Err(Failure::Usage(
                "--secret is empty; give the callback secret, or leave --secret out to use the configured one".into(),
            ));
        }
        Some(s) => s.clone(),
        None => configured_secret(config)?,
    };
    let (body, data_arg) = match &args.file {
        Some(path) => {
            let body = std::fs::read(path)
                .map_err(|e| Failure::Usage(format!("--file {}: {e}", path.display())))?;
            (
                body,
                format!("@{}", shell_quote(&path.display().to_string())),
            )
        }
        None if std::io::stdin().is_terminal() => {
            return Err(Failure::Usage(
                "sign needs a body: --file BODY.json, or the body on standard input".into(),
            ));
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
    auth::check_shape(&nonce, &timestamp)
        .map_err(|e| Failure::Usage(format!("--nonce/--timestamp: {e}")))?;
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

/// `check-config`: every setting, its effective value (a secret only as
/// `[set]`) and where it came from, then any warnings.
pub fn check_config(config: &Config) {
    let mut rows = vec![["setting".to_string(), "value".into(), "from".into()]];
    rows.extend(settings(config));
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    for [name, value, from] in &rows {
        println!("{name:<w0$}  {value:<w1$}  {from}");
    }
    for w in &config.warnings {
        println!("warning: {w}");
    }
}

/// (name, effective value, origin) of every variable, in the list's order.
fn settings(c: &Config) -> Vec<[String; 3]> {
    VARIABLES
        .iter()
        .map(|v| {
            let from = match (v.name, c.generate_secret) {
                ("SINCH_DLR_CALLBACK_SECRETS", true) => "generated".to_string(),
                _ => origin(c, v),
            };
            [v.name.to_string(), value(c, v.name), from]
        })
        .collect()
}

/// The first of the name and its aliases that is set says where the value
/// came from.
fn origin(c: &Config, v: &Variable) -> String {
    std::iter::once(&v.name)
        .chain(v.aliases)
        .enumerate()
        .find_map(|(i, n)| {
            let origin = c.origins.get(*n)?;
            Some(match i {
                0 => origin.to_string(),
                _ => format!("{origin}, as {n}"),
            })
        })
        .unwrap_or_else(|| "default".into())
}

/// The effective value; a secret only as `[set]`. A listed variable
/// without a row here fails check-config's test.
fn value(c: &Config, name: &str) -> String {
    callback_value(c, name)
        .or_else(|| edge_value(c, name))
        .or_else(|| sinch_value(c, name))
        .or_else(|| upkeep_value(c, name))
        .or_else(|| webhook_value(c, name))
        .unwrap_or_else(|| panic!("check-config shows no value for {name}"))
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// `[set]` when the secret `name` is set, else `unset`.
fn secret(c: &Config, name: &str, unset: &str) -> String {
    match c.origins.contains_key(name) {
        true => "[set]".to_string(),
        false => unset.to_string(),
    }
}

fn callback_value(c: &Config, name: &str) -> Option<String> {
    let a = &c.callback_auth;
    Some(match name {
        "SINCH_DLR_API_TOKEN" => secret(c, name, "unset (/api/* answers 403)"),
        "SINCH_DLR_CALLBACK_AUTH" => auth_methods(c),
        "SINCH_DLR_CALLBACK_SECRETS" if c.generate_secret => {
            let path = c.generated_secret_path();
            match path.exists() {
                true => format!("[set] (generated, kept in {})", path.display()),
                false => format!("none yet: serve generates one into {}", path.display()),
            }
        }
        "SINCH_DLR_CALLBACK_SECRETS" if a.disabled => secret(c, name, "unset"),
        "SINCH_DLR_CALLBACK_SECRETS" if a.hmac_secrets.is_empty() => {
            secret(c, name, "unset (HMAC off)")
        }
        "SINCH_DLR_CALLBACK_SECRETS" => secret(c, name, "unset (HMAC with SINCH_WEBHOOK_SECRET)"),
        "SINCH_WEBHOOK_SECRET" | "SINCH_DLR_CALLBACK_BASIC" | "SINCH_DLR_CALLBACK_HEADER" => {
            secret(c, name, "unset")
        }
        "SINCH_DLR_CALLBACK_MAX_AGE" => a.max_age_secs.map_or("off".into(), |s| format!("{s} s")),
        _ => return None,
    })
}

fn edge_value(c: &Config, name: &str) -> Option<String> {
    let e = &c.edge;
    Some(match name {
        "SINCH_DLR_LISTEN" => c.listen.clone(),
        "SINCH_DLR_DB" => c.db_path.display().to_string(),
        "SINCH_DLR_MAX_BODY" => format!("{} bytes", c.max_body),
        "SINCH_DLR_WORKERS" => c.workers.to_string(),
        "SINCH_DLR_CALLBACK_MAX_WAIT" => secs(c.load.callback_max_wait),
        "SINCH_DLR_TEST_COMMIT_DELAY" => match c.load.commit_delay.is_zero() {
            true => "off".into(),
            false => format!("{} (for tests only)", secs(c.load.commit_delay)),
        },
        "SINCH_DLR_IO_TIMEOUT" => secs(c.io_timeout),
        "SINCH_DLR_MAX_CONNECTIONS" => e.max_connections.to_string(),
        "SINCH_DLR_MAX_CONNECTIONS_PER_CLIENT" => match e.max_connections_per_client {
            0 => "no limit".into(),
            n => n.to_string(),
        },
        "SINCH_DLR_HEAD_TIMEOUT" => secs(e.head_timeout),
        "SINCH_DLR_BODY_TIMEOUT" => secs(e.body_timeout),
        "SINCH_DLR_IDLE_TIMEOUT" => secs(e.idle_timeout),
        "SINCH_DLR_MAX_URL" => format!("{} bytes", e.max_url),
        "SINCH_DLR_MAX_HEADER_LINE" => format!("{} bytes", e.max_header_line),
        "SINCH_DLR_MAX_HEAD" => format!("{} bytes", e.max_head),
        "SINCH_DLR_MAX_HEADERS" => e.max_headers.to_string(),
        "SINCH_DLR_SEND_BUFFER" => format!("{} bytes", c.send_buffer),
        "SINCH_DLR_TLS_CERT" => c.tls.as_ref().map_or("unset (plain HTTP)".into(), |t| {
            format!("HTTPS ({} bytes of PEM)", t.cert.len())
        }),
        "SINCH_DLR_TLS_KEY" => secret(c, name, "unset"),
        "SINCH_DLR_METRICS_AUTH" => match c.metrics_need_token {
            true => "token".into(),
            false => "none".into(),
        },
        "LOG_LEVEL" => c.log_level.clone(),
        _ => return None,
    })
}

fn sinch_value(c: &Config, name: &str) -> Option<String> {
    const NO_API: &str = "unused (no Sinch API credentials)";
    Some(match name {
        "SINCH_SERVICE_PLAN_ID" => c
            .sinch
            .as_ref()
            .filter(|s| matches!(s.credentials, crate::config::Credentials::ApiToken(_)))
            .map_or("unset".into(), |s| s.path_id.clone()),
        "SINCH_API_TOKEN" | "SINCH_KEY_SECRET" => secret(c, name, "unset"),
        "SINCH_PROJECT_ID" | "SINCH_KEY_ID" | "SINCH_AUTH_BASE_URL" => project_key_value(c, name),
        "SINCH_REGION" => region(c),
        "SINCH_API_BASE_URL" => c
            .sinch
            .as_ref()
            .map_or(NO_API.into(), |s| shown_url(&s.base_url)),
        "SINCH_API_TIMEOUT" => secs(c.sinch_limits.request_timeout),
        "SINCH_API_RETRY_FOR" => secs(c.sinch_limits.retry_for),
        "SINCH_DLR_PUBLIC_URL" => c.public_url.as_deref().map_or("unset".into(), shown_url),
        "SINCH_DLR_DEFAULT_FROM" => c.default_from.clone().unwrap_or_else(|| "unset".into()),
        "SINCH_DLR_RECONCILE_AFTER" => secs(c.reconcile_after),
        "SINCH_DLR_RECONCILE_INTERVAL" => match (&c.sinch, c.reconcile_interval.is_zero()) {
            (None, _) => "off (no Sinch API credentials)".to_string(),
            (Some(_), true) => "off".to_string(),
            (Some(_), false) => secs(c.reconcile_interval),
        },
        _ => return None,
    })
}

fn upkeep_value(c: &Config, name: &str) -> Option<String> {
    Some(match name {
        "SINCH_DLR_STALE_AFTER" => format!("{} h", c.stale_after.as_secs_f64() / 3600.0),
        "SINCH_DLR_RETENTION_DAYS" => c.retention.map_or("keep forever".into(), |d| {
            format!("{} days", d.as_secs_f64() / 86_400.0)
        }),
        "SINCH_DLR_PRUNE_INTERVAL" => match c.retention {
            Some(_) => secs(c.prune_interval),
            None => "off (no retention)".into(),
        },
        _ => return None,
    })
}

fn webhook_value(c: &Config, name: &str) -> Option<String> {
    let w = &c.webhooks;
    Some(match name {
        "SINCH_DLR_WEBHOOK_URL" => w
            .endpoint
            .as_ref()
            .map_or("(none)".into(), |(url, _)| shown_url(url)),
        "SINCH_DLR_WEBHOOK_SECRET" => match w.endpoint {
            Some(_) => "[set]".into(),
            None => "(none)".into(),
        },
        "SINCH_DLR_WEBHOOK_TIMEOUT" => secs(w.timeout),
        "SINCH_DLR_WEBHOOK_RETRY_SCHEDULE" => {
            let s: Vec<String> = w
                .schedule
                .iter()
                .map(|d| d.as_secs_f64().to_string())
                .collect();
            format!("{} s", s.join(", "))
        }
        "SINCH_DLR_MAX_STREAMS" => w.max_streams.to_string(),
        _ => return None,
    })
}

/// The callback methods in force, with how many secrets each has.
fn auth_methods(c: &Config) -> String {
    let a = &c.callback_auth;
    if a.disabled {
        return "none (anyone can post callbacks)".into();
    }
    let mut methods = Vec::new();
    match (c.generate_secret, a.hmac_secrets.len()) {
        (true, _) => methods.push("hmac (generated secret)".to_string()),
        (false, 0) => {}
        (false, n) => methods.push(format!("hmac ({n} secret(s))")),
    }
    if a.basic.is_some() {
        methods.push("basic".into());
    }
    if a.header.is_some() {
        methods.push("header".into());
    }
    if !a.legacy_keys.is_empty() {
        methods.push(format!("legacy ({} key(s))", a.legacy_keys.len()));
    }
    methods.join(", ")
}

/// The project access key's settings, when it is the credential in use.
fn project_key_value(c: &Config, name: &str) -> String {
    let not_in_use = || match c.origins.contains_key(name) {
        true => "unused (no project access key in use)".to_string(),
        false => "unset".to_string(),
    };
    let Some(api) = &c.sinch else {
        return not_in_use();
    };
    let crate::config::Credentials::ProjectKey {
        key_id, token_url, ..
    } = &api.credentials
    else {
        return not_in_use();
    };
    match name {
        "SINCH_PROJECT_ID" => api.path_id.clone(),
        "SINCH_KEY_ID" => key_id.clone(),
        _ => shown_url(token_url.trim_end_matches("/oauth2/token")),
    }
}

/// The Sinch region in use, read back from the base URL it chose.
fn region(c: &Config) -> String {
    let Some(api) = &c.sinch else {
        return "unused (no Sinch API credentials)".into();
    };
    if c.origins.contains_key("SINCH_API_BASE_URL") {
        return "unused (SINCH_API_BASE_URL is set)".into();
    }
    api.base_url
        .trim_start_matches("https://")
        .trim_start_matches("zt.")
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}
