//! The parser. lexopt splits the arguments (`--flag value`, `--flag=value`,
//! `--`); which flags exist, take a value, and belong to which command
//! comes from the table in flags.rs. Flags may come before the command.

use std::ffi::OsString;
use std::path::PathBuf;

use super::flags::{self, CommandSpec, Flag};
use super::{Args, Command, SignArgs};
use crate::query::{InboundFilter, MessageFilter};
use crate::sending::{SendFailure, SendInput};
use crate::suggest;

/// What the command line held, before it becomes a `Command`.
#[derive(Default)]
struct Given {
    command: Option<&'static CommandSpec>,
    /// `help` was the command; the next word is the topic.
    help: bool,
    flags: Vec<(&'static Flag, Option<String>)>,
    words: Vec<String>,
}

/// `Err(command)`: `--help` or `--version` ended the parse early.
type Early = Result<Given, Command>;

pub fn parse<I>(args: I) -> Result<Args, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let given = match split(lexopt::Parser::from_args(args))? {
        Ok(given) if given.help => return help_topic(&given).map(alone),
        Ok(given) => given,
        Err(command) => return Ok(alone(command)),
    };
    let spec = given
        .command
        .unwrap_or_else(|| flags::command("serve").expect("serve is listed"));
    let given = own_flags(spec, given)?;
    let (env_file, overrides) = common(&given);
    Ok(Args {
        command: build(spec, &given)?,
        env_file,
        overrides,
        verbose: given.flags.iter().any(|(f, _)| f.long == "--verbose"),
    })
}

/// Help or version: printed without reading any configuration.
fn alone(command: Command) -> Args {
    Args {
        command,
        env_file: Some(PathBuf::from(".env")),
        overrides: Vec::new(),
        verbose: false,
    }
}

/// Reads every argument: the command name, flags (with their values) and
/// other words.
fn split(mut parser: lexopt::Parser) -> Result<Early, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut given = Given::default();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let flag = match arg {
            Long(name) => flags::any_flag(&format!("--{name}")).ok_or_else(|| {
                let hint = suggest::hint(&format!("--{name}"), flags::every_flag_name());
                format!("unknown flag --{name}{hint}; see --help")
            })?,
            Short(c) => {
                flags::short_flag(c).ok_or_else(|| format!("unknown flag -{c}; see --help"))?
            }
            Value(word) => {
                let word = text(word)?;
                match (given.command, given.help) {
                    (None, false) if word == "help" => given.help = true,
                    (None, false) => {
                        given.command = Some(flags::command(&word).ok_or_else(|| {
                            let names = flags::COMMANDS.iter().map(|c| c.name);
                            let hint = suggest::hint(&word, names.chain(["help"]));
                            format!("unknown command {word:?}{hint}; see --help")
                        })?);
                    }
                    _ => given.words.push(word),
                }
                continue;
            }
        };
        match flag.long {
            "--help" => return Ok(Err(Command::Help(given.command.map(|c| c.name)))),
            "--version" => return Ok(Err(Command::Version)),
            _ => {}
        }
        let value = match flag.value {
            Some(_) => Some(text(parser.value().map_err(|e| e.to_string())?)?),
            None => None,
        };
        given.flags.push((flag, value));
    }
    Ok(Ok(given))
}

fn text(s: OsString) -> Result<String, String> {
    s.into_string()
        .map_err(|s| format!("{} is not valid UTF-8", s.to_string_lossy()))
}

/// `help` or `help COMMAND`.
fn help_topic(given: &Given) -> Result<Command, String> {
    match given.words.as_slice() {
        [] => Ok(Command::Help(None)),
        [name] => flags::command(name)
            .map(|c| Command::Help(Some(c.name)))
            .ok_or_else(|| format!("no command {name:?}; see --help")),
        [_, extra, ..] => Err(format!("unexpected argument {extra:?}; see --help")),
    }
}

/// Checks the flags against the command's own list, its argument and its
/// required flags; each flag becomes the command's entry (the same name
/// may mean another filter elsewhere).
fn own_flags(spec: &'static CommandSpec, mut given: Given) -> Result<Given, String> {
    let name = spec.name;
    for (flag, value) in &mut given.flags {
        *flag = spec.takes(flag.long).ok_or_else(|| {
            let hint = suggest::hint(flag.long, spec.all_flags().map(|f| f.long));
            format!(
                "{name} does not take {}{hint}; see sinch-dlr {name} --help",
                flag.long
            )
        })?;
        one_of(flag, value.as_deref())?;
    }
    match (spec.argument, given.words.as_slice()) {
        (Some(_), [_]) | (None, []) => {}
        (Some(arg), _) => return Err(format!("{name} needs one {arg}: sinch-dlr {name} {arg}")),
        (None, [word, ..]) => return Err(format!("unexpected argument {word:?}; see --help")),
    }
    for f in spec.flags.iter().filter(|f| f.required) {
        if !given.flags.iter().any(|(g, _)| g.long == f.long) {
            let value = f.value.unwrap_or_default();
            return Err(format!(
                "{} is required: sinch-dlr {name} {} {value}",
                f.long, f.long
            ));
        }
    }
    Ok(given)
}

/// A value from a fixed list (the placeholder `table|json|csv` lists it).
fn one_of(flag: &Flag, value: Option<&str>) -> Result<(), String> {
    let (Some(choices), Some(value)) = (flag.value, value) else {
        return Ok(());
    };
    let listed = choices.contains('|') && choices.chars().all(|c| c == '|' || c.is_lowercase());
    if !listed || choices.split('|').any(|c| c == value) {
        return Ok(());
    }
    let hint = suggest::hint(value, choices.split('|'));
    Err(format!(
        "{} {value:?} is not one of {}{hint}",
        flag.long,
        choices.replace('|', ", ")
    ))
}

/// The listing filters, checked as the API will check them, so a bad one
/// is a usage error before anything is opened; the problem is named by
/// its flag.
fn filters(g: &Given) -> Result<Vec<(String, String)>, String> {
    let query = g.query();
    if let Err(e) = MessageFilter::parse(&query) {
        return Err(in_flag_words(&e.0, g));
    }
    Ok(query)
}

/// `show ID`: a message id is a number.
fn message_id(word: &str) -> Result<String, String> {
    match word.parse::<u64>() {
        Ok(_) => Ok(word.to_string()),
        Err(_) => Err(format!(
            "show needs a message ID (a number, as `messages` lists), got {word:?}"
        )),
    }
}

/// `--since T` as the API will read it.
fn checked_time(value: Option<String>) -> Result<Option<String>, String> {
    if let Some(v) = &value {
        crate::query::parse_time("--since", v).map_err(|e| e.0)?;
    }
    Ok(value)
}

/// As `filters`, for `inbound`.
fn inbound_filters(g: &Given) -> Result<Vec<(String, String)>, String> {
    let query = g.query();
    if let Err(e) = InboundFilter::parse(&query) {
        return Err(in_flag_words(&e.0, g));
    }
    Ok(query)
}

/// `status: ...` -> `--status: ...`: an API problem in CLI words.
fn in_flag_words(problem: &str, g: &Given) -> String {
    let param = problem.split(':').next().unwrap_or_default();
    match g.flags.iter().find(|(f, _)| f.param == Some(param)) {
        Some((f, _)) => format!("{}{}", f.long, &problem[param.len()..]),
        None => problem.to_string(),
    }
}

/// `body: required` -> `--body is required`, `to[0]: ...` -> `--to: ...`:
/// a request field's problem named by the command's flag.
fn field_in_flag_words(problem: &str, spec: &CommandSpec) -> String {
    let Some((field, rest)) = problem.split_once(':') else {
        return problem.to_string();
    };
    let name = field.split('[').next().unwrap_or(field).replace('_', "-");
    match spec.takes(&format!("--{name}")) {
        Some(f) if rest.trim() == "required" => format!("{} is required", f.long),
        Some(f) => format!("{}:{rest}", f.long),
        None => problem.to_string(),
    }
}

/// `send`'s request, checked as the API will check it.
fn send_input(spec: &CommandSpec, g: &Given) -> Result<SendInput, String> {
    let input = SendInput {
        to: g.all("--to"),
        body: g.last("--body"),
        from: g.last("--from"),
        client_reference: g.last("--client-reference"),
        delivery_report: g.last("--delivery-report"),
        callback_url: g.last("--callback-url"),
        feedback_enabled: g.has("--feedback").then_some(true),
    };
    match crate::sending::validate(&input) {
        Err(SendFailure::Invalid(problem)) => Err(field_in_flag_words(&problem, spec)),
        _ => Ok(input),
    }
}

/// The `.env` file to read and the variables set by flags.
fn common(given: &Given) -> (Option<PathBuf>, Vec<(&'static str, String)>) {
    let mut env_file = Some(PathBuf::from(".env"));
    let mut overrides = Vec::new();
    for (flag, value) in &given.flags {
        match (flag.long, flag.variable, value) {
            ("--env-file", _, Some(path)) => env_file = Some(PathBuf::from(path)),
            ("--no-env-file", _, _) => env_file = None,
            ("--insecure-no-auth", _, _) => {
                overrides.push(("SINCH_DLR_CALLBACK_AUTH", "none".to_string()));
            }
            (_, Some(variable), Some(value)) => overrides.push((variable, value.clone())),
            _ => {}
        }
    }
    (env_file, overrides)
}

impl Given {
    /// The last value of `long` (a later flag wins).
    fn last(&self, long: &str) -> Option<String> {
        self.all(long).pop()
    }

    fn all(&self, long: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(f, _)| f.long == long)
            .filter_map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the flag `long` was given.
    fn has(&self, long: &str) -> bool {
        self.flags.iter().any(|(f, _)| f.long == long)
    }

    fn format(&self, default: &str) -> String {
        self.last("--format").unwrap_or_else(|| default.into())
    }

    /// Listing flags -> the API's query parameters, in order.
    fn query(&self) -> Vec<(String, String)> {
        self.flags
            .iter()
            .filter_map(|(f, v)| Some((f.param?.to_string(), v.clone()?)))
            .collect()
    }
}

fn build(spec: &CommandSpec, g: &Given) -> Result<Command, String> {
    Ok(match spec.name {
        "serve" => Command::Serve,
        "check-config" => Command::CheckConfig,
        "check-db" => Command::CheckDb,
        "sign" => Command::Sign(SignArgs {
            secret: g.last("--secret"),
            file: g.last("--file").map(PathBuf::from),
            url: g.last("--url"),
            nonce: g.last("--nonce"),
            timestamp: g.last("--timestamp"),
        }),
        "send" => Command::Send(send_input(spec, g)?),
        "reconcile" => Command::Reconcile {
            batch: g.last("--batch"),
            since: g.last("--since"),
            until: g.last("--until"),
            all: g.has("--all"),
        },
        "feedback" => Command::Feedback {
            message: g.last("--message"),
            batch: g.last("--batch"),
            to: g.all("--to"),
        },
        "messages" => Command::Messages {
            query: filters(g)?,
            format: g.format("table"),
        },
        "inbound" => Command::Inbound {
            query: inbound_filters(g)?,
            format: g.format("table"),
        },
        "show" => Command::Show {
            id: message_id(&g.words[0])?,
            format: g.format("text"),
        },
        "export" => Command::Export {
            query: filters(g)?,
            format: g.format("ndjson"),
        },
        "stats" => Command::Stats {
            since: checked_time(g.last("--since"))?,
            format: g.format("text"),
        },
        "events" => Command::Events {
            query: g.query(),
            follow: g.flags.iter().any(|(f, _)| f.long == "--follow"),
            format: g.format("ndjson"),
        },
        "backup" => Command::Backup {
            to: PathBuf::from(g.last("--to").expect("required")),
        },
        other => unreachable!("{other} is in COMMANDS but not built"),
    })
}
