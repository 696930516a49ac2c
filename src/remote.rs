//! The CLI's way to the running daemon: its own HTTP API on
//! `SINCH_DLR_LISTEN`, with `SINCH_DLR_API_TOKEN`. A redb file belongs to
//! one process, so commands ask the daemon first and open the file only
//! when no daemon answers.

use serde_json::Value;
use std::time::Duration;

use crate::config::Config;

pub struct Daemon {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

#[derive(Debug)]
pub enum RemoteError {
    /// Nothing listens there: use the file directly.
    NotRunning,
    /// The daemon answered with an error.
    Refused {
        status: u16,
        error: String,
    },
    Other(String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::NotRunning => f.write_str("no daemon is listening"),
            RemoteError::Refused { status, error } => {
                write!(f, "daemon answered {status}: {error}")
            }
            RemoteError::Other(e) => write!(f, "talking to the daemon: {e}"),
        }
    }
}

impl Daemon {
    pub fn new(config: &Config) -> Daemon {
        // A daemon listening on all interfaces is reached on loopback.
        let listen = config
            .listen
            .replace("0.0.0.0", "127.0.0.1")
            .replace("[::]", "[::1]");
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(2)))
            .timeout_global(Some(Duration::from_secs(600)))
            .http_status_as_error(false)
            .build()
            .into();
        Daemon {
            base: format!("http://{listen}"),
            token: config.api_token.as_ref().map(|t| t.expose().to_string()),
            agent,
        }
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.send(serde_json::to_vec(body).expect("JSON").as_slice()))
    }

    pub fn get(&self, path: &str) -> Result<Value, RemoteError> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.call())
    }
}

fn answer(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Value, RemoteError> {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::ConnectionFailed) => return Err(RemoteError::NotRunning),
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(RemoteError::NotRunning);
        }
        Err(e) => return Err(RemoteError::Other(e.to_string())),
    };
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .read_to_string()
        .map_err(|e| RemoteError::Other(e.to_string()))?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        let error = value["error"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        Err(RemoteError::Refused { status, error })
    }
}
