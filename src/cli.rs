//! Command line: subcommands and flags -> `Command`; the usage text.
//! Flags that mirror variables are applied on top of the environment.

use std::path::PathBuf;

use crate::config::{Raw, VARIABLES};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Serve,
    CheckConfig,
    CheckDb,
    Sign(SignArgs),
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

/// Flags that set a variable.
const VALUE_FLAGS: &[(&str, &str)] = &[
    ("--listen", "SINCH_DLR_LISTEN"),
    ("--db", "SINCH_DLR_DB"),
    ("--workers", "SINCH_DLR_WORKERS"),
    ("--log-level", "LOG_LEVEL"),
];

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        command: Command::Serve,
        env_file: Some(PathBuf::from(".env")),
        overrides: Vec::new(),
    };
    let mut sign = SignArgs::default();
    let mut command: Option<&str> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" | "help" => out.command = Command::Help,
            "-V" | "--version" => out.command = Command::Version,
            "--env-file" => out.env_file = Some(PathBuf::from(value(&flag)?)),
            "--no-env-file" => out.env_file = None,
            "--insecure-no-auth" => out
                .overrides
                .push(("SINCH_DLR_CALLBACK_AUTH", "none".into())),
            "--secret" => sign.secret = Some(value(&flag)?),
            "--file" => sign.file = Some(PathBuf::from(value(&flag)?)),
            "--url" => sign.url = Some(value(&flag)?),
            "--nonce" => sign.nonce = Some(value(&flag)?),
            "--timestamp" => sign.timestamp = Some(value(&flag)?),
            f if f.starts_with('-') => match VALUE_FLAGS.iter().find(|(name, _)| *name == f) {
                Some((_, var)) => out.overrides.push((var, value(f)?)),
                None => return Err(format!("unknown flag {f}; see --help")),
            },
            "serve" | "check-config" | "check-db" | "sign" if command.is_none() => {
                command = Some(match arg.as_str() {
                    "serve" => "serve",
                    "check-config" => "check-config",
                    "check-db" => "check-db",
                    _ => "sign",
                });
            }
            other => return Err(format!("unexpected argument {other:?}; see --help")),
        }
    }
    if matches!(out.command, Command::Help | Command::Version) {
        return Ok(out);
    }
    out.command = match command.unwrap_or("serve") {
        "check-config" => Command::CheckConfig,
        "check-db" => Command::CheckDb,
        "sign" => Command::Sign(sign),
        _ => Command::Serve,
    };
    Ok(out)
}

pub fn usage() -> String {
    let mut s = String::from(
        "sinch-dlr: receives Sinch SMS delivery reports and inbound SMS, verifies and stores them.

USAGE:
    sinch-dlr [serve] [--listen ADDR] [--db PATH] [--workers N] [--insecure-no-auth]
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

sign prints a curl command that posts BODY.json with correct Sinch signature
headers (secret: --secret, else the configured or generated one).

ENVIRONMENT (also read from .env; secrets also from NAME_FILE or a systemd
credential NAME in $CREDENTIALS_DIRECTORY):
",
    );
    for (name, help) in VARIABLES {
        s.push_str(&format!("    {name:<30} {help}\n"));
    }
    s.push_str("\nEXIT STATUS: 0 clean stop, 1 runtime failure, 2 usage or configuration error.\n");
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
    fn mistakes_are_errors() {
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--listen"]).is_err());
        assert!(p(&["serve", "serve"]).is_err());
        assert_eq!(p(&["--help"]).unwrap().command, Command::Help);
    }
}
