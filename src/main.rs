//! Thin: parse the command line, gather configuration, start logging, run
//! one command, map the result to an exit code (0 ok, 1 failure, 2 usage or
//! configuration error; the systemd unit does not restart on 2).

use std::process::ExitCode;

use sinch_dlr::cli::{self, Command, file, messages, sending, setup};
use sinch_dlr::config::{Config, Raw};
use sinch_dlr::server;

/// mimalloc instead of the C library's allocator: the shipped static (musl)
/// binary spent ~60 % more CPU per callback with musl's malloc, where the
/// workers and the writer contend on one lock (docs/performance.md, "What
/// changed this round").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sinch-dlr: {e}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        Command::Help => {
            print!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("sinch-dlr {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
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
    init_logging(&config.log_level);
    if args.command == Command::Serve {
        for w in &config.warnings {
            log::warn!("{w}");
        }
    }
    let result = match &args.command {
        Command::Serve => server::run(config),
        Command::CheckConfig => {
            setup::check_config(&config);
            Ok(())
        }
        Command::CheckDb => match file::check_db(&config) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Sign(s) => setup::sign(&config, s),
        Command::Send(s) => sending::send(&config, s),
        Command::Reconcile { batch } => sending::reconcile(&config, batch.as_deref()),
        Command::Messages { query, format } => messages::messages(&config, query, format),
        Command::Show { id, format } => messages::show(&config, id, format),
        Command::Export { query, format } => messages::export(&config, query, format),
        Command::Stats { since, format } => messages::stats(&config, since.as_deref(), format),
        Command::Backup { to } => file::backup(&config, to),
        Command::Help | Command::Version => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("sinch-dlr: {e}");
            ExitCode::from(1)
        }
    }
}

fn load_config(args: &cli::Args) -> Result<Config, Vec<String>> {
    let mut raw = Raw::gather(args.env_file.as_deref(), std::env::vars()).map_err(|e| vec![e])?;
    args.apply(&mut raw);
    Config::from_raw(&raw)
}

/// `LOG_LEVEL` (or `RUST_LOG`); under systemd the journal adds timestamps.
fn init_logging(level: &str) {
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(level);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format_timestamp(None);
    }
    builder.init();
}
