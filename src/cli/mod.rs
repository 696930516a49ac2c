//! Command line: subcommands and flags -> `Command`; the usage text.
//! Flags that mirror variables are applied on top of the environment.
//! The commands, by purpose: reading messages (messages.rs), sending
//! (sending.rs), operating the file (file.rs), setting up (setup.rs);
//! target.rs is the client that reaches the daemon or the file.

pub mod file;
pub mod messages;
pub mod sending;
pub mod setup;
pub mod target;

use std::path::PathBuf;

use crate::config::{Raw, VARIABLES};
use crate::outbound::SendInput;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Serve,
    CheckConfig,
    CheckDb,
    Sign(SignArgs),
    /// `send`: the same request `POST /api/messages/send` takes.
    Send(SendInput),
    Reconcile {
        batch: Option<String>,
    },
    /// `messages`: a page of messages (query = API parameters).
    Messages {
        query: Vec<(String, String)>,
        format: String,
    },
    Show {
        id: String,
        format: String,
    },
    Export {
        query: Vec<(String, String)>,
        format: String,
    },
    Stats {
        since: Option<String>,
        format: String,
    },
    Backup {
        to: PathBuf,
    },
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignArgs {
    pub secret: Option<String>,
    pub file: Option<PathBuf>,
    pub url: Option<String>,
    pub nonce: Option<String>,
    pub timestamp: Option<String>,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub command: Command,
    /// `--env-file`, or `.env` unless `--no-env-file`.
    pub env_file: Option<PathBuf>,
    /// Variables set by flags (`--listen` -> `SINCH_DLR_LISTEN`, ...).
    pub overrides: Vec<(&'static str, String)>,
}

impl Args {
    pub fn apply(&self, raw: &mut Raw) {
        for (k, v) in &self.overrides {
            raw.set(k, v.clone());
        }
    }
}

/// Flags that set a variable, for every command.
const VARIABLE_FLAGS: &[(&str, &str)] = &[
    ("--listen", "SINCH_DLR_LISTEN"),
    ("--db", "SINCH_DLR_DB"),
    ("--workers", "SINCH_DLR_WORKERS"),
    ("--log-level", "LOG_LEVEL"),
];

/// Command-specific flags that take a value.
const VALUE_FLAGS: &[&str] = &[
    "--secret",
    "--file",
    "--url",
    "--nonce",
    "--timestamp",
    "--to",
    "--body",
    "--from",
    "--client-reference",
    "--delivery-report",
    "--callback-url",
    "--batch",
    "--status",
    "--since",
    "--until",
    "--limit",
    "--cursor",
    "--format",
];

const COMMANDS: &[&str] = &[
    "serve",
    "check-config",
    "check-db",
    "sign",
    "send",
    "reconcile",
    "messages",
    "show",
    "export",
    "stats",
    "backup",
    "help",
];

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        command: Command::Serve,
        env_file: Some(PathBuf::from(".env")),
        overrides: Vec::new(),
    };
    let mut name: Option<String> = None;
    let mut flags: Vec<(String, String)> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                return Ok(Args {
                    command: Command::Help,
                    ..out
                });
            }
            "-V" | "--version" => {
                return Ok(Args {
                    command: Command::Version,
                    ..out
                });
            }
            "--env-file" => out.env_file = Some(PathBuf::from(value()?)),
            "--no-env-file" => out.env_file = None,
            "--insecure-no-auth" => out
                .overrides
                .push(("SINCH_DLR_CALLBACK_AUTH", "none".into())),
            f if VARIABLE_FLAGS.iter().any(|(n, _)| *n == f) => {
                let var = VARIABLE_FLAGS
                    .iter()
                    .find(|(n, _)| *n == f)
                    .expect("matched")
                    .1;
                out.overrides.push((var, value()?));
            }
            f if VALUE_FLAGS.contains(&f) => flags.push((f.to_string(), value()?)),
            f if f.starts_with('-') => return Err(format!("unknown flag {f}; see --help")),
            c if name.is_none() && COMMANDS.contains(&c) => name = Some(c.to_string()),
            _ if name.is_some() => positional.push(arg),
            other => return Err(format!("unexpected argument {other:?}; see --help")),
        }
    }
    out.command = command(name.as_deref().unwrap_or("serve"), flags, positional)?;
    Ok(out)
}

/// Builds the command from its name and flags; a flag it does not take is
/// an error.
fn command(
    name: &str,
    flags: Vec<(String, String)>,
    positional: Vec<String>,
) -> Result<Command, String> {
    const FILTERS: &[&str] = &[
        "--batch",
        "--to",
        "--client-reference",
        "--status",
        "--since",
        "--until",
    ];
    let accepts: Vec<&str> = match name {
        "sign" => vec!["--secret", "--file", "--url", "--nonce", "--timestamp"],
        "send" => vec![
            "--to",
            "--body",
            "--from",
            "--client-reference",
            "--delivery-report",
            "--callback-url",
        ],
        "reconcile" => vec!["--batch"],
        "messages" => [FILTERS, &["--limit", "--cursor", "--format"]].concat(),
        "export" => [FILTERS, &["--format"]].concat(),
        "show" => vec!["--format"],
        "stats" => vec!["--since", "--format"],
        "backup" => vec!["--to"],
        _ => vec![],
    };
    if let Some((f, _)) = flags.iter().find(|(f, _)| !accepts.contains(&f.as_str())) {
        return Err(format!("{name} does not take {f}; see --help"));
    }
    let wants_positional = name == "show";
    if positional.len() != usize::from(wants_positional) {
        return Err(match wants_positional {
            true => "show needs one message id: sinch-dlr show ID".to_string(),
            false => format!("unexpected argument {:?}; see --help", positional[0]),
        });
    }
    let last = |flag: &str| {
        flags
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.clone())
    };
    // CLI filter flags -> the API's query parameters.
    let query = || -> Vec<(String, String)> {
        flags
            .iter()
            .filter(|(f, _)| FILTERS.contains(&f.as_str()) || f == "--limit" || f == "--cursor")
            .map(|(f, v)| {
                let key = match f.as_str() {
                    "--batch" => "batch_id".to_string(),
                    other => other.trim_start_matches("--").replace('-', "_"),
                };
                (key, v.clone())
            })
            .collect()
    };
    Ok(match name {
        "help" => Command::Help,
        "check-config" => Command::CheckConfig,
        "check-db" => Command::CheckDb,
        "sign" => Command::Sign(SignArgs {
            secret: last("--secret"),
            file: last("--file").map(PathBuf::from),
            url: last("--url"),
            nonce: last("--nonce"),
            timestamp: last("--timestamp"),
        }),
        "send" => Command::Send(SendInput {
            to: flags
                .iter()
                .filter(|(f, _)| f == "--to")
                .map(|(_, v)| v.clone())
                .collect(),
            body: last("--body"),
            from: last("--from"),
            client_reference: last("--client-reference"),
            delivery_report: last("--delivery-report"),
            callback_url: last("--callback-url"),
        }),
        "reconcile" => Command::Reconcile {
            batch: last("--batch"),
        },
        "messages" => Command::Messages {
            query: query(),
            format: last("--format").unwrap_or_else(|| "table".into()),
        },
        "show" => Command::Show {
            id: positional[0].clone(),
            format: last("--format").unwrap_or_else(|| "text".into()),
        },
        "export" => Command::Export {
            query: query(),
            format: last("--format").unwrap_or_else(|| "ndjson".into()),
        },
        "stats" => Command::Stats {
            since: last("--since"),
            format: last("--format").unwrap_or_else(|| "text".into()),
        },
        "backup" => Command::Backup {
            to: PathBuf::from(last("--to").ok_or("backup needs --to FILE")?),
        },
        _ => Command::Serve,
    })
}

pub fn usage() -> String {
    let mut s = String::from(
        "sinch-dlr: receives Sinch SMS delivery reports and inbound SMS, verifies and stores them.

USAGE:
    sinch-dlr [serve] [--listen ADDR] [--db PATH] [--workers N] [--insecure-no-auth]
    sinch-dlr send --to NUMBER [--to NUMBER ...] --body TEXT [--from SENDER]
                   [--client-reference REF] [--delivery-report KIND] [--callback-url URL]
    sinch-dlr reconcile [--batch BATCH_ID]
    sinch-dlr messages [--batch ID] [--to NUMBER] [--client-reference R] [--status S]
                       [--since T] [--until T] [--limit N] [--cursor C] [--format table|json|csv]
    sinch-dlr show ID [--format text|json]
    sinch-dlr export [--format ndjson|csv] [--since T] [--until T] [message filters]
    sinch-dlr stats [--since T] [--format text|json]
    sinch-dlr backup --to FILE  a consistent copy, also while the daemon runs
    sinch-dlr sign --file BODY.json [--secret S] [--url URL] [--nonce N] [--timestamp T]
    sinch-dlr check-config      print the effective configuration (secrets redacted)
    sinch-dlr check-db          check the database's indexes (daemon stopped)

FLAGS:
    --listen ADDR        address to listen on (SINCH_DLR_LISTEN, default 127.0.0.1:8911)
    --db PATH            redb file (SINCH_DLR_DB, default ./sinch-dlr.redb)
    --workers N          request worker threads (SINCH_DLR_WORKERS, default 64)
    --log-level LEVEL    error, warn, info, debug, trace (LOG_LEVEL)
    --insecure-no-auth   accept unauthenticated callbacks (development only)
    --env-file PATH      read variables from PATH instead of ./.env
    --no-env-file        read no .env file
    -h, --help           this text
    -V, --version        version

send, reconcile, messages, show, export, stats and backup use the running
daemon's API (SINCH_DLR_LISTEN and SINCH_DLR_API_TOKEN); when no daemon
answers they open the database directly, with identical output.
Times (T) are RFC 3339 (2025-03-02T10:15:00Z) or dates (2025-03-02).
sign prints a curl command that posts BODY.json with correct Sinch signature
headers (secret: --secret, else the configured or generated one).

ENVIRONMENT (also read from .env; secrets, marked *, also from NAME_FILE or a
systemd credential NAME in $CREDENTIALS_DIRECTORY):
",
    );
    for v in VARIABLES {
        let default = v
            .default
            .map_or(String::new(), |d| format!(" (default {d})"));
        let secret = if v.secret { " *" } else { "" };
        s.push_str(&format!("    {:<30} {}{default}{secret}\n", v.name, v.help));
    }
    s.push_str("\nEXIT STATUS: 0 success or clean stop, 1 runtime failure, 2 usage or configuration error.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn serve_is_the_default() {
        let a = p(&[]).unwrap();
        assert_eq!(a.command, Command::Serve);
        assert_eq!(a.env_file, Some(PathBuf::from(".env")));
    }

    #[test]
    fn flags_become_overrides() {
        let a = p(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db=/tmp/x.redb",
            "--no-env-file",
        ])
        .unwrap();
        assert_eq!(
            a.overrides,
            vec![
                ("SINCH_DLR_LISTEN", "127.0.0.1:0".into()),
                ("SINCH_DLR_DB", "/tmp/x.redb".into())
            ]
        );
        assert_eq!(a.env_file, None);
    }

    #[test]
    fn sign_arguments() {
        let a = p(&["sign", "--secret", "s", "--file", "b.json"]).unwrap();
        let Command::Sign(s) = a.command else {
            panic!()
        };
        assert_eq!(s.secret.as_deref(), Some("s"));
        assert_eq!(s.file, Some(PathBuf::from("b.json")));
    }

    #[test]
    fn send_takes_many_recipients() {
        let a = p(&["send", "--to", "+1555", "--to=+1666", "--body", "hi there"]).unwrap();
        let Command::Send(s) = a.command else {
            panic!()
        };
        assert_eq!(s.to, vec!["+1555", "+1666"]);
        assert_eq!(s.body.as_deref(), Some("hi there"));
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--listen"]).is_err());
        assert!(p(&["serve", "serve"]).is_err());
        assert!(
            p(&["serve", "--to", "+1555"]).is_err(),
            "serve takes no --to"
        );
        assert_eq!(p(&["--help"]).unwrap().command, Command::Help);
        assert_eq!(
            p(&["reconcile", "--batch", "B"]).unwrap().command,
            Command::Reconcile {
                batch: Some("B".into())
            }
        );
    }

    #[test]
    fn listing_flags_become_api_parameters() {
        let a = p(&[
            "messages",
            "--batch",
            "B1",
            "--client-reference",
            "r",
            "--limit",
            "5",
            "--format",
            "csv",
        ])
        .unwrap();
        let Command::Messages { query, format } = a.command else {
            panic!()
        };
        let q: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            q,
            [
                ("batch_id", "B1"),
                ("client_reference", "r"),
                ("limit", "5")
            ]
        );
        assert_eq!(format, "csv");
        let a = p(&["show", "42"]).unwrap();
        assert_eq!(
            a.command,
            Command::Show {
                id: "42".into(),
                format: "text".into()
            }
        );
        assert!(p(&["show"]).is_err());
        assert!(p(&["messages", "extra"]).is_err());
        assert!(p(&["backup"]).is_err());
        assert!(
            p(&["export", "--limit", "3"]).is_err(),
            "exports are not paged"
        );
    }
}
