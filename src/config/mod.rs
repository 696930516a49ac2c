//! Configuration: defaults < `.env` < environment < flags, secrets also
//! from `*_FILE` paths and systemd credentials, all checked once by
//! `Config::from_raw`, which reports every problem at once. Nothing reads
//! the environment after this. Every name read is in `VARIABLES`
//! (variables.rs); the parser is split by area, one shared `Reader`.

mod callbacks;
mod edge;
mod files;
mod load;
mod reader;
mod secrets;
mod sinch;
mod variables;
mod webhooks;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::auth::{CallbackAuth, Secret};
use reader::Reader;

pub use callbacks::MIN_API_TOKEN_CHARS;
pub use edge::Tls;
pub use load::Load;
pub use sinch::{Credentials, SinchApi, SinchLimits};
pub use variables::{VARIABLES, Variable, default_of, variable};
pub use webhooks::{Webhooks, check_url, shown_url};

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

/// Variables sinch-dlr reads, whose origin is kept (the rest of the
/// environment is not its business): the list's names and aliases, and
/// the `NAME_FILE` of its secrets.
fn is_ours(name: &str) -> bool {
    VARIABLES.iter().any(|v| {
        v.name == name
            || v.aliases.contains(&name)
            || (v.secret && name.strip_suffix("_FILE") == Some(v.name))
    })
}

/// Raw strings gathered from every source, before any checking.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// name -> value; later sources overwrite earlier ones.
    pub values: BTreeMap<String, String>,
    /// name -> where its value came from (absent: environment).
    pub origins: BTreeMap<String, Origin>,
    /// The listed variables the parser asked for (tests check that it asks
    /// for every one).
    read: std::cell::RefCell<std::collections::BTreeSet<&'static str>>,
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

    /// A listed variable's value (empty counts as unset). Panics on a name
    /// that is not in `VARIABLES`.
    fn get(&self, name: &str) -> Option<&str> {
        self.read.borrow_mut().insert(variable(name).name);
        self.lookup(name)
    }

    /// Any name: for `NAME_FILE` and `$CREDENTIALS_DIRECTORY`, which follow
    /// from a listed secret (secrets.rs), and for origins.
    fn lookup(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Where `name`'s value came from; `Default` when it is unset.
    pub fn origin(&self, name: &str) -> Origin {
        match self.lookup(name) {
            None => Origin::Default,
            Some(_) => self
                .origins
                .get(name)
                .cloned()
                .unwrap_or(Origin::Environment),
        }
    }
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
    /// The sender when a send request names none.
    pub default_from: Option<String>,
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
    /// SO_SNDBUF of every accepted connection (inherited from the listener).
    pub send_buffer: usize,
    /// Set when serving HTTPS.
    pub tls: Option<Tls>,
    pub sinch_limits: SinchLimits,
    /// Pushing events to webhook endpoints, and live streams.
    pub webhooks: webhooks::Webhooks,
    /// When callbacks are answered 429 instead of waiting.
    pub load: Load,
    /// Accepted but worth fixing; logged at start, shown by check-config.
    pub warnings: Vec<String>,
    /// Where each variable that is set came from.
    pub origins: BTreeMap<String, Origin>,
}

impl Config {
    /// Checks everything; on failure returns every problem found.
    pub fn from_raw(raw: &Raw) -> Result<Config, Vec<String>> {
        let mut r = Reader::new(raw);
        let secrets = callbacks::Secrets::read(&mut r);
        let api_token = callbacks::api_token(&mut r, secrets.api_token.clone());
        let auth = callbacks::read(&mut r, &secrets);
        let listen = edge::listen(&mut r);
        let files = files::read(&mut r);
        let serving = edge::read(&mut r);
        let log_level = r.get("LOG_LEVEL").or_else(|| r.get("RUST_LOG"));
        let log_level = log_level.unwrap_or(default_of("LOG_LEVEL")).to_string();
        let sinch = sinch::read(&mut r, secrets.sinch_token, secrets.key_secret);
        let default_from = r
            .get("SINCH_DLR_DEFAULT_FROM")
            .map(|f| f.trim().to_string());
        let upkeep = files::upkeep(&mut r);
        let webhooks = webhooks::read(&mut r);
        let load = load::read(&mut r);
        let (problems, warnings, origins) = r.finish();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            listen,
            db_path: files.db_path,
            api_token,
            callback_auth: auth.auth,
            generate_secret: auth.generate_secret,
            max_body: serving.max_body,
            workers: serving.workers,
            log_level,
            sinch: sinch.api,
            public_url: sinch.public_url,
            default_from,
            reconcile_after: sinch.reconcile_after,
            reconcile_interval: sinch.reconcile_interval,
            stale_after: upkeep.stale_after,
            retention: upkeep.retention,
            prune_interval: upkeep.prune_interval,
            metrics_need_token: serving.metrics_need_token,
            io_timeout: serving.io_timeout,
            edge: serving.edge,
            send_buffer: serving.send_buffer,
            tls: serving.tls,
            sinch_limits: sinch.limits,
            webhooks,
            load,
            warnings,
            origins,
        })
    }

    /// Where a generated callback secret is kept: beside the database.
    pub fn generated_secret_path(&self) -> PathBuf {
        files::generated_secret_path(&self.db_path)
    }
}
