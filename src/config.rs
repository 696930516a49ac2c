//! Configuration: defaults < `.env` < environment < flags, secrets also
//! from `*_FILE` paths and systemd credentials, all checked once by
//! `Config::from_raw`, which reports every problem at once. Nothing reads
//! the environment after this.

use base64::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::auth::{CallbackAuth, Secret};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8911";
pub const DEFAULT_DB: &str = "sinch-dlr.redb";
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
pub const DEFAULT_WORKERS: usize = 64;

/// Every variable the daemon reads, with its one-line meaning. `--help`,
/// the README and `systemd/sinch-dlr.env.example` follow this list.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "SINCH_DLR_LISTEN",
        "address to listen on (default 127.0.0.1:8911)",
    ),
    (
        "SINCH_DLR_DB",
        "redb file (default ./sinch-dlr.redb); DATABASE_URL=file:./x.db also works",
    ),
    (
        "SINCH_DLR_API_TOKEN",
        "bearer token for /api/* (unset: those endpoints answer 403)",
    ),
    (
        "SINCH_DLR_CALLBACK_SECRETS",
        "comma-separated HMAC secrets, newest first (SINCH_WEBHOOK_SECRET also works)",
    ),
    (
        "SINCH_DLR_CALLBACK_AUTH",
        "comma list of hmac, basic, legacy, or none (default hmac, plus basic when set)",
    ),
    (
        "SINCH_DLR_CALLBACK_BASIC",
        "user:password Sinch puts in the callback URL",
    ),
    (
        "SINCH_DLR_CALLBACK_MAX_AGE",
        "opt-in: refuse HMAC timestamps older/newer than this many seconds",
    ),
    (
        "SINCH_DLR_MAX_BODY",
        "largest accepted request body in bytes (default 65536)",
    ),
    ("SINCH_DLR_WORKERS", "request worker threads (default 64)"),
    (
        "SINCH_SERVICE_PLAN_ID",
        "Sinch service plan id (for sending and reconciliation)",
    ),
    ("SINCH_API_TOKEN", "Sinch API token of that service plan"),
    ("SINCH_REGION", "Sinch region: us (default), eu, au, br, ca"),
    (
        "SINCH_API_BASE_URL",
        "override the Sinch API base URL (tests, proxies)",
    ),
    (
        "SINCH_DLR_PUBLIC_URL",
        "public base URL of this daemon; default callback_url when sending",
    ),
    (
        "SINCH_DLR_RECONCILE_AFTER",
        "seconds before a message without final status is reconciled (default 7200)",
    ),
    (
        "SINCH_DLR_RECONCILE_INTERVAL",
        "seconds between reconciliation passes (default 300; 0 = off)",
    ),
    (
        "LOG_LEVEL",
        "error, warn, info (default), debug, trace; RUST_LOG also works",
    ),
    (
        "SINCH_DLR_STALE_AFTER",
        "hours after which a message without final status is stale (default 24)",
    ),
    (
        "SINCH_DLR_RETENTION_DAYS",
        "delete records older than this many days (default: keep forever)",
    ),
    (
        "SINCH_DLR_PRUNE_INTERVAL",
        "seconds between retention passes (default 600)",
    ),
    (
        "SINCH_DLR_METRICS_AUTH",
        "none (default) or token: whether /metrics needs the API token",
    ),
    (
        "SINCH_DLR_IO_TIMEOUT",
        "seconds one write of an answer may block on a client that does not read (default 30)",
    ),
    (
        "SINCH_DLR_MAX_CONNECTIONS",
        "connections open at once; when full the longest-waiting idle or slow one makes room, else 503 (default 1024)",
    ),
    (
        "SINCH_DLR_MAX_CONNECTIONS_PER_CLIENT",
        "connections open at once from one IP address, beyond: 429 (default 256; 0 = no limit, e.g. behind a proxy)",
    ),
    (
        "SINCH_DLR_HEAD_TIMEOUT",
        "seconds from a request's first byte to the end of its headers, beyond: 408 (default 10)",
    ),
    (
        "SINCH_DLR_BODY_TIMEOUT",
        "seconds from the end of the headers to the end of the body, beyond: 408 (default 30)",
    ),
    (
        "SINCH_DLR_IDLE_TIMEOUT",
        "seconds a kept-alive connection may wait for its next request (default 60)",
    ),
    (
        "SINCH_DLR_MAX_URL",
        "longest request URL in bytes, beyond: 414 (default 8192)",
    ),
    (
        "SINCH_DLR_MAX_HEADER_LINE",
        "longest header line in bytes, beyond: 431 (default 16384)",
    ),
    (
        "SINCH_DLR_MAX_HEAD",
        "largest request head (request line + headers) in bytes, beyond: 431 (default 65536)",
    ),
    (
        "SINCH_DLR_MAX_HEADERS",
        "most header lines in one request, beyond: 431 (default 100)",
    ),
    (
        "SINCH_DLR_TLS_CERT",
        "PEM certificate chain: serve HTTPS directly (with SINCH_DLR_TLS_KEY)",
    ),
    (
        "SINCH_DLR_TLS_KEY",
        "PEM private key for SINCH_DLR_TLS_CERT (must not be writable by group or others)",
    ),
];

/// Variables whose value may instead come from `NAME_FILE` or from a
/// systemd credential called `NAME` in `$CREDENTIALS_DIRECTORY`.
const SECRET_VARIABLES: &[&str] = &[
    "SINCH_DLR_API_TOKEN",
    "SINCH_DLR_CALLBACK_SECRETS",
    "SINCH_WEBHOOK_SECRET",
    "SINCH_DLR_CALLBACK_BASIC",
    "SINCH_API_TOKEN",
];

/// Where a setting's value came from (`check-config` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// A `.env` file, with the line.
    EnvFile(PathBuf, usize),
    Environment,
    Flag,
    /// A secret read from the file `NAME_FILE` names.
    File(PathBuf),
    /// A systemd credential in `$CREDENTIALS_DIRECTORY`.
    Credential(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::EnvFile(path, line) => write!(f, ".env file ({}:{line})", path.display()),
            Origin::Environment => f.write_str("environment"),
            Origin::Flag => f.write_str("flag"),
            Origin::File(path) => write!(f, "file ({})", path.display()),
            Origin::Credential(path) => write!(f, "systemd credential ({})", path.display()),
        }
    }
}

/// Variables sinch-dlr reads (the rest of the environment is not its
/// business).
fn is_ours(name: &str) -> bool {
    name.starts_with("SINCH_") || ["DATABASE_URL", "LOG_LEVEL", "RUST_LOG"].contains(&name)
}

/// Raw strings gathered from every source, before any checking.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// name -> value; later sources overwrite earlier ones.
    pub values: BTreeMap<String, String>,
    /// name -> where its value came from (absent: environment).
    pub origins: BTreeMap<String, Origin>,
}

impl Raw {
    /// `.env` lines, then the environment (which wins), then flags. A
    /// `.env` line that cannot be read exactly is an error (see dotenv.rs).
    pub fn gather(
        env_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Raw, String> {
        let mut raw = Raw::default();
        if let Some(path) = env_file {
            for e in crate::dotenv::read(path)? {
                raw.origins
                    .insert(e.key.clone(), Origin::EnvFile(path.to_path_buf(), e.line));
                raw.values.insert(e.key, e.value);
            }
        }
        for (k, v) in env {
            raw.origins.insert(k.clone(), Origin::Environment);
            raw.values.insert(k, v);
        }
        Ok(raw)
    }

    /// A value set by a flag.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), value.into());
        self.origins.insert(name.to_string(), Origin::Flag);
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Where `name`'s value came from; `Default` when it is unset.
    pub fn origin(&self, name: &str) -> Origin {
        match self.get(name) {
            None => Origin::Default,
            Some(_) => self
                .origins
                .get(name)
                .cloned()
                .unwrap_or(Origin::Environment),
        }
    }
}

/// Sinch REST API access (sending, reconciliation).
#[derive(Debug, Clone)]
pub struct SinchApi {
    pub service_plan_id: String,
    pub api_token: Secret,
    pub base_url: String,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub db_path: PathBuf,
    pub api_token: Option<Secret>,
    pub callback_auth: CallbackAuth,
    /// HMAC is on but no secret is configured: one is generated and kept
    /// beside the database at start.
    pub generate_secret: bool,
    pub max_body: usize,
    pub workers: usize,
    pub log_level: String,
    pub sinch: Option<SinchApi>,
    pub public_url: Option<String>,
    pub reconcile_after: Duration,
    pub reconcile_interval: Duration,
    pub stale_after: Duration,
    /// None = keep forever.
    pub retention: Option<Duration>,
    pub prune_interval: Duration,
    pub metrics_need_token: bool,
    /// How long one write of an answer may block; also the grace period
    /// for requests in flight at shutdown.
    pub io_timeout: Duration,
    /// What one client may cost before its request reaches a handler.
    pub edge: tiny_http::Limits,
    /// Set when serving HTTPS.
    pub tls: Option<Tls>,
    pub sinch_limits: crate::send::Limits,
    /// Accepted but worth fixing; logged at start, shown by check-config.
    pub warnings: Vec<String>,
    /// Where each variable that is set came from.
    pub origins: BTreeMap<String, Origin>,
}

impl Config {
    /// Checks everything; on failure returns every problem found.
    pub fn from_raw(raw: &Raw) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut origins: BTreeMap<String, Origin> = raw
            .values
            .keys()
            .filter(|k| is_ours(k) && raw.get(k).is_some())
            .map(|k| (k.clone(), raw.origin(k)))
            .collect();
        let mut secret = |name: &str| match read_secret(raw, name, &mut warnings) {
            Ok(Some((value, origin))) => {
                origins.insert(name.to_string(), origin);
                Some(value)
            }
            Ok(None) => None,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let api_token = secret("SINCH_DLR_API_TOKEN");
        let callback_secrets = secret("SINCH_DLR_CALLBACK_SECRETS");
        let tutorial_secret = secret("SINCH_WEBHOOK_SECRET");
        let basic = secret("SINCH_DLR_CALLBACK_BASIC");
        let sinch_token = secret("SINCH_API_TOKEN");
        if api_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < MIN_API_TOKEN_CHARS)
        {
            warnings.push(format!(
                "SINCH_DLR_API_TOKEN is shorter than {MIN_API_TOKEN_CHARS} characters and easy \
                 to guess; use a long random one (openssl rand -hex 32)"
            ));
        }

        let mut secrets: Vec<Secret> = callback_secrets
            .iter()
            .flat_map(|s| s.split([',', '\n']))
            .chain(tutorial_secret.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect();
        secrets.dedup();

        let modes = auth_modes(raw, basic.is_some(), &mut problems);
        let mut auth = CallbackAuth {
            disabled: modes.contains(&"none"),
            ..CallbackAuth::default()
        };
        let generate_secret = modes.contains(&"hmac") && secrets.is_empty();
        if modes.contains(&"hmac") {
            auth.hmac_secrets = secrets.clone();
        }
        if modes.contains(&"basic") {
            match &basic {
                Some(b) if b.contains(':') => auth.basic = Some(Secret::new(b.clone())),
                Some(_) => problems.push("SINCH_DLR_CALLBACK_BASIC must be user:password".into()),
                None => problems.push(
                    "callback auth basic needs SINCH_DLR_CALLBACK_BASIC=user:password".into(),
                ),
            }
        }
        if modes.contains(&"legacy") {
            auth.legacy_keys = legacy_keys(&secrets, &mut problems);
        }
        auth.max_age_secs = number(raw, "SINCH_DLR_CALLBACK_MAX_AGE", &mut problems);

        let listen = raw
            .get("SINCH_DLR_LISTEN")
            .unwrap_or(DEFAULT_LISTEN)
            .to_string();
        if listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "SINCH_DLR_LISTEN: {listen:?} is not an address like 127.0.0.1:8911"
            ));
        }
        let db_path = db_path(raw, &mut problems);
        warn_if_shared(&db_path, "the database", &mut warnings);
        let generated = generated_secret_path(&db_path);
        warn_if_shared(&generated, "the generated callback secret", &mut warnings);
        let max_body = number(raw, "SINCH_DLR_MAX_BODY", &mut problems)
            .unwrap_or(DEFAULT_MAX_BODY as u64) as usize;
        let workers = number(raw, "SINCH_DLR_WORKERS", &mut problems)
            .unwrap_or(DEFAULT_WORKERS as u64) as usize;
        if workers == 0 || workers > 4096 {
            problems.push("SINCH_DLR_WORKERS must be between 1 and 4096".into());
        }
        let log_level = raw
            .get("LOG_LEVEL")
            .or_else(|| raw.get("RUST_LOG"))
            .unwrap_or("info")
            .to_string();
        let sinch = sinch_api(raw, sinch_token, &mut problems);
        let public_url = raw
            .get("SINCH_DLR_PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_string());
        let reconcile_after = seconds(raw, "SINCH_DLR_RECONCILE_AFTER", 7200.0, &mut problems);
        let reconcile_interval = seconds(raw, "SINCH_DLR_RECONCILE_INTERVAL", 300.0, &mut problems);
        let stale_after = seconds(raw, "SINCH_DLR_STALE_AFTER", 24.0, &mut problems) * 3600;
        let retention = raw.get("SINCH_DLR_RETENTION_DAYS").map(|_| {
            seconds(raw, "SINCH_DLR_RETENTION_DAYS", 0.0, &mut problems).mul_f64(86_400.0)
        });
        let prune_interval = seconds(raw, "SINCH_DLR_PRUNE_INTERVAL", 600.0, &mut problems);
        let io_timeout = seconds(raw, "SINCH_DLR_IO_TIMEOUT", 30.0, &mut problems);
        if io_timeout.is_zero() {
            problems.push("SINCH_DLR_IO_TIMEOUT must be more than 0".into());
        }
        let edge = edge_limits(raw, max_body, io_timeout, &mut problems);
        let tls = tls_files(raw, &mut problems, &mut warnings);
        let metrics_need_token = match raw.get("SINCH_DLR_METRICS_AUTH").unwrap_or("none") {
            "none" => false,
            "token" => true,
            other => {
                problems.push(format!(
                    "SINCH_DLR_METRICS_AUTH: {other:?} is not none or token"
                ));
                false
            }
        };
        let sinch_limits = crate::send::Limits {
            request_timeout: seconds(raw, "SINCH_API_TIMEOUT", 15.0, &mut problems),
            retry_for: seconds(raw, "SINCH_API_RETRY_FOR", 30.0, &mut problems),
            ..crate::send::Limits::default()
        };

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            listen,
            db_path,
            api_token: api_token.map(Secret::new),
            callback_auth: auth,
            generate_secret,
            max_body,
            workers,
            log_level,
            sinch,
            public_url,
            reconcile_after,
            reconcile_interval,
            stale_after,
            retention,
            prune_interval,
            metrics_need_token,
            io_timeout,
            edge,
            tls,
            sinch_limits,
            warnings,
            origins,
        })
    }

    /// Where a generated callback secret is kept: beside the database.
    pub fn generated_secret_path(&self) -> PathBuf {
        generated_secret_path(&self.db_path)
    }
}

fn generated_secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".secret");
    db_path.with_file_name(name)
}

/// sinch-dlr creates its files 0600; one made by an older version (or by
/// hand) may still be open to others: say so, it holds phone numbers and
/// message bodies, or the callback secret.
fn warn_if_shared(path: &Path, what: &str, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        warnings.push(format!(
            "{} ({what}) is open to other users (mode {mode:04o}); run chmod 600 on it",
            path.display()
        ));
    }
}

/// A secret from `NAME`, `NAME_FILE`, or `$CREDENTIALS_DIRECTORY/NAME`,
/// with where it came from. Set in two of those places is an error: which
/// one should win is not obvious, and the wrong one answers callbacks 401.
fn read_secret(
    raw: &Raw,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<(String, Origin)>, String> {
    debug_assert!(SECRET_VARIABLES.contains(&name));
    let file_var = format!("{name}_FILE");
    let credential = raw
        .get("CREDENTIALS_DIRECTORY")
        .map(|dir| Path::new(dir).join(name))
        .filter(|p| p.exists());
    let places: Vec<String> = [name, file_var.as_str()]
        .into_iter()
        .filter(|n| raw.get(n).is_some())
        .map(str::to_string)
        .chain(
            credential
                .iter()
                .map(|c| format!("the systemd credential {}", c.display())),
        )
        .collect();
    if places.len() > 1 {
        return Err(format!(
            "{name} is set in more than one place ({}); keep only one",
            places.join(" and ")
        ));
    }
    if let Some(v) = raw.get(name) {
        return Ok(Some((v.to_string(), raw.origin(name))));
    }
    let (path, label, origin) = match (raw.get(&file_var), credential) {
        (Some(p), _) => (PathBuf::from(p), file_var, Origin::File(PathBuf::from(p))),
        (None, Some(c)) => (
            c.clone(),
            format!("{name} (systemd credential)"),
            Origin::Credential(c),
        ),
        (None, None) => return Ok(None),
    };
    check_secret_file_mode(&path, &label, warnings)?;
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("{label}: {}: {e}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        // Empty would mean "no secret": a generated one, or no API token.
        return Err(format!(
            "{label}: {} is empty; write the secret into it",
            path.display()
        ));
    }
    Ok(Some((value.to_string(), origin)))
}

/// A secret file others can change is refused (they would choose the
/// secret). One every user can read is accepted with a warning: Docker
/// secrets are 0444 and Kubernetes mounts them 0644 by default, on
/// read-only mounts where chmod is impossible.
fn check_secret_file_mode(
    path: &Path,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{label}: {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{label}: {} is writable by group or others (mode {mode:04o}); run chmod go-w on it",
            path.display()
        ));
    }
    if mode & 0o004 != 0 {
        warnings.push(format!(
            "{label}: {} is readable by every user (mode {mode:04o}); fine in a container's \
             secret mount, elsewhere run chmod o-r on it",
            path.display()
        ));
    }
    Ok(())
}

/// Below this many characters the API token draws a warning.
pub const MIN_API_TOKEN_CHARS: usize = 16;

fn auth_modes(raw: &Raw, basic_set: bool, problems: &mut Vec<String>) -> Vec<&'static str> {
    let Some(list) = raw.get("SINCH_DLR_CALLBACK_AUTH") else {
        return if basic_set {
            vec!["hmac", "basic"]
        } else {
            vec!["hmac"]
        };
    };
    let mut modes = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        match ["hmac", "basic", "legacy", "none"]
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(m))
        {
            Some(k) => modes.push(k),
            None => problems.push(format!(
                "SINCH_DLR_CALLBACK_AUTH: unknown method {m:?} (use hmac, basic, legacy or none)"
            )),
        }
    }
    if modes.contains(&"none") && modes.len() > 1 {
        problems.push("SINCH_DLR_CALLBACK_AUTH: none cannot be combined with other methods".into());
    }
    if modes.is_empty() {
        problems.push("SINCH_DLR_CALLBACK_AUTH is empty".into());
    }
    modes
}

/// The tutorial's scheme keys HMAC with the base64-decoded secret.
fn legacy_keys(secrets: &[Secret], problems: &mut Vec<String>) -> Vec<Vec<u8>> {
    if secrets.is_empty() {
        problems.push("callback auth legacy needs SINCH_WEBHOOK_SECRET (base64)".into());
    }
    secrets
        .iter()
        .filter_map(|s| {
            let decoded = base64::engine::general_purpose::STANDARD.decode(s.expose());
            if decoded.is_err() {
                problems.push("callback auth legacy: a secret is not valid base64".into());
            }
            decoded.ok()
        })
        .collect()
}

/// The connection layer's limits (README, "Limits").
fn edge_limits(
    raw: &Raw,
    max_body: usize,
    write_timeout: Duration,
    problems: &mut Vec<String>,
) -> tiny_http::Limits {
    let mut count = |name: &str, default: usize, min: usize| {
        let n = number(raw, name, problems).map_or(default, |n| n as usize);
        if n < min {
            problems.push(format!("{name} must be at least {min}"));
        }
        n
    };
    let limits = tiny_http::Limits {
        max_url: count("SINCH_DLR_MAX_URL", 8 * 1024, 64),
        max_header_line: count("SINCH_DLR_MAX_HEADER_LINE", 16 * 1024, 256),
        max_head: count("SINCH_DLR_MAX_HEAD", 64 * 1024, 1024),
        max_headers: count("SINCH_DLR_MAX_HEADERS", 100, 8),
        max_connections: count("SINCH_DLR_MAX_CONNECTIONS", 1024, 1),
        max_connections_per_client: count("SINCH_DLR_MAX_CONNECTIONS_PER_CLIENT", 256, 0),
        max_body,
        head_timeout: seconds(raw, "SINCH_DLR_HEAD_TIMEOUT", 10.0, problems),
        body_timeout: seconds(raw, "SINCH_DLR_BODY_TIMEOUT", 30.0, problems),
        idle_timeout: seconds(raw, "SINCH_DLR_IDLE_TIMEOUT", 60.0, problems),
        write_timeout,
    };
    for (name, t) in [
        ("SINCH_DLR_HEAD_TIMEOUT", limits.head_timeout),
        ("SINCH_DLR_BODY_TIMEOUT", limits.body_timeout),
        ("SINCH_DLR_IDLE_TIMEOUT", limits.idle_timeout),
    ] {
        if t.is_zero() {
            problems.push(format!("{name} must be more than 0"));
        }
    }
    limits
}

fn number(raw: &Raw, name: &str, problems: &mut Vec<String>) -> Option<u64> {
    let v = raw.get(name)?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            problems.push(format!("{name}: {v:?} is not a whole number"));
            None
        }
    }
}

/// The certificate chain and private key (PEM) for HTTPS.
#[derive(Clone)]
pub struct Tls {
    pub cert: Vec<u8>,
    pub key: Secret,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tls {{ cert: {} bytes, key: [redacted] }}",
            self.cert.len()
        )
    }
}

/// Both TLS files or neither; read now so a bad path fails the start.
fn tls_files(raw: &Raw, problems: &mut Vec<String>, warnings: &mut Vec<String>) -> Option<Tls> {
    let (cert, key) = match (raw.get("SINCH_DLR_TLS_CERT"), raw.get("SINCH_DLR_TLS_KEY")) {
        (None, None) => return None,
        (Some(c), Some(k)) => (c, k),
        _ => {
            problems.push("SINCH_DLR_TLS_CERT and SINCH_DLR_TLS_KEY go together".into());
            return None;
        }
    };
    let cert = std::fs::read(cert).map_err(|e| format!("SINCH_DLR_TLS_CERT: {cert}: {e}"));
    let key =
        check_secret_file_mode(Path::new(key), "SINCH_DLR_TLS_KEY", warnings).and_then(|()| {
            std::fs::read_to_string(key).map_err(|e| format!("SINCH_DLR_TLS_KEY: {key}: {e}"))
        });
    match (cert, key) {
        (Ok(cert), Ok(key)) => Some(Tls {
            cert,
            key: Secret::new(key),
        }),
        (c, k) => {
            problems.extend(c.err().into_iter().chain(k.err()));
            None
        }
    }
}

/// Seconds, fractions allowed (`0.5`).
fn seconds(raw: &Raw, name: &str, default: f64, problems: &mut Vec<String>) -> Duration {
    let Some(v) = raw.get(name) else {
        return Duration::from_secs_f64(default);
    };
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && (0.0..=1e9).contains(&n) => Duration::from_secs_f64(n),
        _ => {
            problems.push(format!("{name}: {v:?} is not a number of seconds"));
            Duration::from_secs_f64(default)
        }
    }
}

fn db_path(raw: &Raw, problems: &mut Vec<String>) -> PathBuf {
    if let Some(p) = raw.get("SINCH_DLR_DB") {
        return PathBuf::from(p);
    }
    let Some(url) = raw.get("DATABASE_URL") else {
        return PathBuf::from(DEFAULT_DB);
    };
    match url.strip_prefix("file:") {
        Some(p) => PathBuf::from(p.strip_prefix("//").unwrap_or(p)),
        None if !url.contains("://") => PathBuf::from(url),
        None => {
            problems.push(format!(
                "DATABASE_URL: {url:?} is not a file; sinch-dlr keeps its data in one local redb file (file:./sinch-dlr.redb)"
            ));
            PathBuf::from(DEFAULT_DB)
        }
    }
}

fn sinch_api(raw: &Raw, token: Option<String>, problems: &mut Vec<String>) -> Option<SinchApi> {
    let plan = raw.get("SINCH_SERVICE_PLAN_ID");
    let base_url = match (raw.get("SINCH_API_BASE_URL"), raw.get("SINCH_REGION")) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, region) => {
            let region = region.unwrap_or("us").to_ascii_lowercase();
            if !["us", "eu", "au", "br", "ca"].contains(&region.as_str()) {
                problems.push(format!(
                    "SINCH_REGION: {region:?} is not one of us, eu, au, br, ca"
                ));
            }
            format!("https://{region}.sms.api.sinch.com")
        }
    };
    match (plan, token) {
        (Some(plan), Some(token)) => Some(SinchApi {
            service_plan_id: plan.to_string(),
            api_token: Secret::new(token),
            base_url,
        }),
        (None, None) => None,
        (Some(_), None) => {
            problems.push("SINCH_SERVICE_PLAN_ID is set but SINCH_API_TOKEN is not".into());
            None
        }
        (None, Some(_)) => {
            problems.push("SINCH_API_TOKEN is set but SINCH_SERVICE_PLAN_ID is not".into());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> Raw {
        Raw {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Raw::default()
        }
    }

    #[test]
    fn defaults_are_safe() {
        let c = Config::from_raw(&Raw::default()).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.db_path, PathBuf::from(DEFAULT_DB));
        assert!(
            c.generate_secret,
            "no secret: one is generated, never no auth"
        );
        assert!(!c.callback_auth.disabled);
        assert!(c.api_token.is_none());
        assert_eq!(
            c.generated_secret_path(),
            PathBuf::from("sinch-dlr.redb.secret")
        );
    }

    #[test]
    fn tutorial_names_work() {
        let c = Config::from_raw(&raw(&[
            ("DATABASE_URL", "file:./dev.db"),
            ("SINCH_WEBHOOK_SECRET", "s1"),
            ("SINCH_DLR_CALLBACK_SECRETS", "s0, s2"),
            ("SINCH_SERVICE_PLAN_ID", "plan"),
            ("SINCH_API_TOKEN", "tok"),
            ("LOG_LEVEL", "debug"),
        ]))
        .unwrap();
        assert_eq!(c.db_path, PathBuf::from("./dev.db"));
        let secrets: Vec<_> = c
            .callback_auth
            .hmac_secrets
            .iter()
            .map(|s| s.expose())
            .collect();
        assert_eq!(secrets, ["s0", "s2", "s1"]);
        assert!(!c.generate_secret);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.sinch.unwrap().base_url, "https://us.sms.api.sinch.com");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = Config::from_raw(&raw(&[
            ("SINCH_DLR_LISTEN", "nowhere"),
            ("SINCH_DLR_MAX_BODY", "big"),
            ("SINCH_DLR_CALLBACK_AUTH", "hmac,telepathy"),
            ("DATABASE_URL", "postgres://x/y"),
            ("SINCH_SERVICE_PLAN_ID", "p"),
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn no_auth_only_when_asked() {
        let c = Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "none")])).unwrap();
        assert!(c.callback_auth.disabled);
        assert!(!c.generate_secret);
        assert!(Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "none,hmac")])).is_err());
    }

    #[test]
    fn basic_turns_on_with_its_credentials() {
        let c = Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_BASIC", "u:p")])).unwrap();
        assert!(c.callback_auth.basic.is_some());
        assert!(c.generate_secret, "HMAC stays on beside Basic");
        let c = Config::from_raw(&raw(&[
            ("SINCH_DLR_CALLBACK_BASIC", "u:p"),
            ("SINCH_DLR_CALLBACK_AUTH", "basic"),
        ]))
        .unwrap();
        assert!(!c.generate_secret);
        assert!(Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "basic")])).is_err());
    }

    #[test]
    fn secret_files_and_credentials() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("SINCH_DLR_API_TOKEN");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let via_file = raw(&[("SINCH_DLR_API_TOKEN_FILE", file.to_str().unwrap())]);
        assert_eq!(
            Config::from_raw(&via_file)
                .unwrap()
                .api_token
                .unwrap()
                .expose(),
            "from-file"
        );
        let via_creds = raw(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
        assert_eq!(
            Config::from_raw(&via_creds)
                .unwrap()
                .api_token
                .unwrap()
                .expose(),
            "from-file"
        );
        // Docker and Kubernetes secret mounts: readable by all, accepted
        // with a warning; writable by others: refused.
        for mode in [0o444, 0o644] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let c = Config::from_raw(&via_file).unwrap();
            assert_eq!(c.api_token.unwrap().expose(), "from-file");
            assert!(c.warnings[0].contains("chmod o-r"), "{:?}", c.warnings);
        }
        for mode in [0o664, 0o646] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let problems = Config::from_raw(&via_file).unwrap_err();
            assert!(problems[0].contains("chmod go-w"), "{problems:?}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut both = via_file.clone();
        both.values
            .insert("SINCH_DLR_API_TOKEN".into(), "from-env".into());
        let problems = Config::from_raw(&both).unwrap_err();
        assert!(
            problems[0].contains("SINCH_DLR_API_TOKEN_FILE"),
            "{problems:?}"
        );
        std::fs::write(&file, " \n").unwrap();
        let problems = Config::from_raw(&via_file).unwrap_err();
        assert!(problems[0].contains("is empty"), "{problems:?}");
    }
}
