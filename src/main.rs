//! Thin: parse the command line, gather configuration, start logging, run
//! one command, map the result to an exit code (0 ok, 1 failure, 2 usage or
//! configuration error; the systemd unit does not restart on 2).

use std::process::ExitCode;

use sinch_dlr::cli::{self, Command, Failure, events, file, messages, sending, setup};
use sinch_dlr::config::{Config, Raw};
use sinch_dlr::server;

/// mimalloc instead of the C library's allocator: the shipped static (musl)
/// binary spent ~60 % more CPU per callback with musl's malloc, where the
/// workers and the writer contend on one lock (docs/performance.md, "What
/// changed this round").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sinch-dlr: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(text) = help_or_version(&args.command) {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    let config = match load_config(&args) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("sinch-dlr: configuration problems:");
            for p in problems {
                eprintln!("  - {p}");
            }
            return ExitCode::from(2);
        }
    };
    init_logging(&log_level(&args, &config), args.command == Command::Serve);
    if args.command == Command::Serve {
        for w in &config.warnings {
            log::warn!("{w}");
        }
    }
    match run(args.command, config) {
        Ok(true) => ExitCode::SUCCESS,
        // check-db found problems and listed them.
        Ok(false) => ExitCode::from(1),
        // Said once, here (not also as a log line).
        Err(e) => {
            eprintln!("sinch-dlr: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What `--help`, `COMMAND --help` and `--version` print; they need no
/// configuration.
fn help_or_version(command: &Command) -> Option<String> {
    match command {
        Command::Help(None) => Some(cli::usage()),
        Command::Help(Some(name)) => cli::command_usage(name).or_else(|| Some(cli::usage())),
        Command::Version => Some(format!("sinch-dlr {}\n", env!("CARGO_PKG_VERSION"))),
        _ => None,
    }
}

/// Runs one command; `Ok(false)`: it ran and found problems (exit 1).
fn run(command: Command, config: Config) -> Result<bool, Failure> {
    let done = match &command {
        Command::Serve => server::run(config).map_err(Failure::from),
        Command::CheckConfig => {
            setup::check_config(&config);
            Ok(())
        }
        Command::CheckDb => return file::check_db(&config).map_err(Failure::from),
        Command::Sign(s) => setup::sign(&config, s),
        Command::Send(s) => sending::send(&config, s),
        Command::Reconcile {
            batch,
            since,
            until,
            all,
        } => sending::reconcile(
            &config,
            &sending::reconcile_query(batch, since, until, *all),
        ),
        Command::Feedback { message, batch, to } => {
            sending::feedback(&config, message.as_deref(), batch.as_deref(), to)
        }
        Command::Messages { query, format } => messages::messages(&config, query, format),
        Command::Inbound { query, format } => messages::inbound(&config, query, format),
        Command::Show { id, format } => messages::show(&config, id, format),
        Command::Export { query, format } => messages::export(&config, query, format),
        Command::Stats { since, format } => messages::stats(&config, since.as_deref(), format),
        Command::Events {
            query,
            follow,
            format,
        } => events::print(&config, query, *follow, format),
        Command::Backup { to } => file::backup(&config, to),
        Command::Help(_) | Command::Version => unreachable!("printed before configuration"),
    };
    done.map(|()| true)
}

fn load_config(args: &cli::Args) -> Result<Config, Vec<String>> {
    let mut raw = Raw::gather(args.env_file.as_deref(), std::env::vars()).map_err(|e| vec![e])?;
    args.apply(&mut raw);
    Config::from_raw(&raw)
}

/// The daemon logs at `LOG_LEVEL`; a CLI command only warns unless `-v`
/// (then it says where its answer came from) or `--log-level` asks for more.
fn log_level(args: &cli::Args, config: &Config) -> String {
    let flagged = args.overrides.iter().any(|(k, _)| *k == "LOG_LEVEL");
    match (&args.command, flagged, args.verbose) {
        (Command::Serve, _, _) | (_, true, _) => config.log_level.clone(),
        (_, false, true) => "info".into(),
        (_, false, false) => "warn".into(),
    }
}

/// `LOG_LEVEL` (or `RUST_LOG`); under systemd the journal adds timestamps.
/// A CLI command's lines read like its other messages.
fn init_logging(level: &str, daemon: bool) {
    use std::io::Write;
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(level);
    // At trace level the HTTP client dumps the raw bytes it sends and
    // receives: Sinch API tokens, access keys and OAuth tokens. Never.
    if level.to_ascii_lowercase().contains("trace") {
        for module in ["ureq", "ureq_proto"] {
            builder.filter_module(module, log::LevelFilter::Debug);
        }
    }
    if !daemon {
        builder.format(|buf, record| writeln!(buf, "sinch-dlr: {}", record.args()));
    } else if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format_timestamp(None);
    }
    builder.init();
}
