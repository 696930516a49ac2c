//! Command line: subcommands and flags -> `Command`. One table
//! (flags.rs) says which flags each command takes; the parser (parse.rs)
//! and the help texts (usage.rs) both follow it. Flags that mirror
//! variables are applied on top of the environment.
//! The commands, by purpose: reading messages (messages.rs), sending
//! (sending.rs), operating the file (file.rs), setting up (setup.rs);
//! target.rs is the client that reaches the daemon or the file.

pub mod events;
pub mod file;
pub mod flags;
pub mod messages;
mod parse;
pub mod sending;
pub mod setup;
pub mod target;
mod usage;

#[cfg(test)]
mod tests;

pub use flags::{COMMANDS, COMMON_FLAGS, CommandSpec, Flag};
pub use parse::parse;
pub use target::Failure;
pub use usage::{command_usage, usage};

use std::path::PathBuf;

use crate::config::Raw;
use crate::sending::SendInput;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Serve,
    CheckConfig,
    CheckDb,
    Sign(SignArgs),
    /// `send`: the same request `POST /api/messages/send` takes.
    Send(SendInput),
    /// `reconcile`: per recipient (all pending, or `batch`), or Sinch's
    /// list of finished reports (`since`/`until`, or `all`).
    Reconcile {
        batch: Option<String>,
        since: Option<String>,
        until: Option<String>,
        all: bool,
    },
    /// `feedback`: delivery feedback for one message, or for a batch
    /// (all its recipients, or those in `to`).
    Feedback {
        message: Option<String>,
        batch: Option<String>,
        to: Vec<String>,
    },
    /// `messages`: a page of messages (query = API parameters).
    Messages {
        query: Vec<(String, String)>,
        format: String,
    },
    /// `inbound`: a page of inbound messages (query = API parameters).
    Inbound {
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
    /// `events`: the log after a seq (query = API parameters).
    Events {
        query: Vec<(String, String)>,
        follow: bool,
        format: String,
    },
    Backup {
        to: PathBuf,
    },
    /// `--help`: the whole usage, or one command's (`send --help`,
    /// `help send`).
    Help(Option<&'static str>),
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
    /// `-v`: say on stderr where the answer came from (info-level lines).
    pub verbose: bool,
}

impl Args {
    pub fn apply(&self, raw: &mut Raw) {
        for (k, v) in &self.overrides {
            raw.set(k, v.clone());
        }
    }
}
