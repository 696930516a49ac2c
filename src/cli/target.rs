//! Where CLI commands go. A redb file belongs to one process, so a command
//! asks the running daemon over its HTTP API (`SINCH_DLR_LISTEN`, with
//! `SINCH_DLR_API_TOKEN`); when nothing listens there, it opens the file
//! and runs the very same route handler in-process. Either way the command
//! sees the same status and the same bytes, so its output is identical.

use serde_json::Value;
use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::app::App;
use crate::auth::{Secret, generate_secret};
use crate::config::Config;
use crate::http::{self, Headers, Request};
use crate::routes;
use crate::store::Store;

/// Why a command failed: what it was asked (a usage or value error, exit
/// 2) or what happened while it ran (exit 1). Printed once, in CLI words.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    Usage(String),
    Runtime(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Runtime(_) => 1,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Runtime(message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Runtime(m) => f.write_str(m),
        }
    }
}

/// What a 401 from the daemon means for whoever runs the command.
const TOKEN_HINT: &str = "the daemon refused the API token (HTTP 401): set SINCH_DLR_API_TOKEN \
to the daemon's token, or use --env-file /etc/sinch-dlr/sinch-dlr.env";

/// An answer: status and a body to read.
pub struct Answer {
    pub status: u16,
    pub body: Box<dyn Read + Send>,
}

impl Answer {
    /// The body as JSON; an error status becomes `Err` with its message:
    /// a 400 is the caller's input (usage), a 401 says where the token
    /// comes from.
    pub fn json(mut self) -> Result<Value, Failure> {
        let mut text = String::new();
        self.body
            .read_to_string(&mut text)
            .map_err(|e| format!("reading the answer: {e}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&self.status) {
            Ok(value)
        } else {
            let error = value["error"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            Err(match self.status {
                400 => Failure::Usage(error),
                401 => Failure::Runtime(TOKEN_HINT.into()),
                status => Failure::Runtime(format!("{error} (HTTP {status})")),
            })
        }
    }

    /// The body read into one of the API's types (the store's views).
    pub fn view<T: serde::de::DeserializeOwned>(self) -> Result<T, Failure> {
        serde_json::from_value(self.json()?)
            .map_err(|e| Failure::Runtime(format!("unexpected answer: {e}")))
    }

    /// The body as a stream; an error status becomes `Err`.
    pub fn stream(self) -> Result<Box<dyn Read + Send>, Failure> {
        if (200..300).contains(&self.status) {
            return Ok(self.body);
        }
        // json() turns an error status into its message.
        match self.json() {
            Err(e) => Err(e),
            Ok(_) => unreachable!("json() is Ok only for a 2xx status"),
        }
    }
}

pub enum Target {
    Daemon {
        base: String,
        token: Option<String>,
        agent: ureq::Agent,
    },
    Local {
        /// None once closed.
        app: Option<Arc<App>>,
        token: Secret,
        writer: Option<JoinHandle<()>>,
    },
}

impl Target {
    /// The daemon if one answers on the configured address, else the file;
    /// `create`: a missing file may be created (else it is an error
    /// naming the address and the path tried).
    pub fn connect(config: &Config, create: bool) -> Result<Target, String> {
        // A daemon listening on all interfaces is reached on loopback.
        let listen = config
            .listen
            .replace("0.0.0.0", "127.0.0.1")
            .replace("[::]", "[::1]");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(2)))
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://{listen}");
        match agent.get(format!("{base}/healthz")).call() {
            Ok(_) => {
                log::info!("answer from the daemon at {base}");
                Ok(Target::Daemon {
                    base,
                    token: config.api_token.as_ref().map(|t| t.expose().to_string()),
                    agent,
                })
            }
            Err(ureq::Error::ConnectionFailed) => Target::local(config, create),
            Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Target::local(config, create)
            }
            Err(e) => Err(format!("talking to the daemon at {base}: {e}")),
        }
    }

    fn local(config: &Config, create: bool) -> Result<Target, String> {
        if !create && !config.db_path.exists() {
            return Err(format!(
                "no daemon answers at {} and there is no database at {}; start the \
                 daemon, or point --db (SINCH_DLR_DB) at the file",
                config.listen,
                config.db_path.display()
            ));
        }
        log::info!(
            "answer from the file {} (no daemon answers at {})",
            config.db_path.display(),
            config.listen
        );
        let store = Store::open(&config.db_path).map_err(|e| {
            format!(
                "no daemon answers at {} and {} cannot be opened: {e}",
                config.listen,
                config.db_path.display()
            )
        })?;
        let store = Arc::new(store);
        let (writer, thread) = crate::writer::start(store.clone(), config.load.commit_delay);
        let token = generate_secret().map_err(|e| e.to_string())?;
        let app = App {
            api_token: Some(token.clone()),
            ..App::new(config, store, writer)
        };
        Ok(Target::Local {
            app: Some(Arc::new(app)),
            token,
            writer: Some(thread),
        })
    }

    /// One API call. `path` may carry a query string.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("JSON"))
            .unwrap_or_default();
        match self {
            Target::Daemon { base, token, agent } => {
                let url = format!("{base}{path}");
                let auth = token.as_ref().map(|t| format!("Bearer {t}"));
                let result = match method {
                    "GET" => with_auth(agent.get(&url), auth.as_deref()).call(),
                    _ => with_auth(agent.post(&url), auth.as_deref())
                        .header("Content-Type", "application/json")
                        .send(&bytes[..]),
                };
                let response = result.map_err(|e| format!("talking to the daemon: {e}"))?;
                Ok(Answer {
                    status: response.status().as_u16(),
                    body: Box::new(response.into_body().into_reader()),
                })
            }
            Target::Local { app, token, .. } => {
                let (path, query) = http::split_url(path);
                let req = Request {
                    method: method.to_string(),
                    path,
                    query,
                    headers: Headers::from_pairs([(
                        "authorization".to_string(),
                        format!("Bearer {}", token.expose()),
                    )]),
                    body: bytes,
                    client_ip: None,
                };
                let app = app.as_ref().ok_or("the database is closed")?;
                let reply = routes::handle(app, &req).unwrap_or_else(http::ApiError::into_reply);
                let body: Box<dyn Read + Send> = match reply.stream {
                    Some(s) => s.0,
                    None => Box::new(std::io::Cursor::new(reply.body)),
                };
                Ok(Answer {
                    status: reply.status,
                    body,
                })
            }
        }
    }

    /// Lets a local writer commit and close the file.
    pub fn close(mut self) {
        if let Target::Local { app, writer, .. } = &mut self {
            // The App holds the last WriterHandle; dropping it ends the writer.
            drop(app.take());
            if let Some(t) = writer.take() {
                let _ = t.join();
            }
        }
    }
}

/// Connects, runs `f`, and always lets a local writer close the file.
pub fn with_target<T>(
    config: &Config,
    f: impl FnOnce(&Target) -> Result<T, Failure>,
) -> Result<T, Failure> {
    run_on(Target::connect(config, true)?, f)
}

/// As `with_target` for a command that only reads: it never creates a
/// database file.
pub fn reading<T>(
    config: &Config,
    f: impl FnOnce(&Target) -> Result<T, Failure>,
) -> Result<T, Failure> {
    run_on(Target::connect(config, false)?, f)
}

fn run_on<T>(target: Target, f: impl FnOnce(&Target) -> Result<T, Failure>) -> Result<T, Failure> {
    let result = f(&target);
    target.close();
    result
}

fn with_auth<B>(req: ureq::RequestBuilder<B>, auth: Option<&str>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(a) => req.header("Authorization", a),
        None => req,
    }
}
