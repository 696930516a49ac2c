//! sinch-dlr-bench: drives the real daemon with signed Sinch callbacks over
//! keep-alive connections and prints one JSON line per phase (requests,
//! non-2xx by code, rps, latency percentiles, server CPU and peak RSS),
//! then verifies every message's stored state and fails loudly if anything
//! is missing. `--baseline` first runs the same load against a no-op
//! tiny_http server, for the side-by-side ratio. Then the events phase
//! (events.rs): webhook delivery rate and lag to a local receiver. See
//! docs/performance.md.

mod daemon;
mod events;
mod load;
mod plan;
mod proc;
mod receiver;
mod store;
mod verify;

use daemon::{Server, Usage, bench_exe, daemon_exe, serve_noop, wait_ready};
use events::EventOptions;
use plan::Plan;
use verify::{QueryLoad, preload, verify};

/// The daemon's allocator, so the no-op baseline and the load generator run
/// on the same one as the server they are compared with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use load::Measured;

const SECRET: &str = "bench-callback-secret";
const TOKEN: &str = "bench-api-token";
const REFERENCE: &str = "bench";

const USAGE: &str = "sinch-dlr-bench [--connections 64] [--messages 20000] [--baseline] [--queries]\n\
    \x20               [--preload N] [--log-level warn] [--keep] [--daemon PATH]\n\
    \x20               [--no-events | --events-only] [--event-rate 1000] [--event-seconds S]\n\
    sinch-dlr-bench --store N [--group 64]   (the store's write path alone)\n\
    --daemon: the sinch-dlr binary to run (default: the one next to this).\n\
    Events phase: webhook delivery rate (replay of the whole log) and lag at\n\
    --event-rate callbacks/s for --event-seconds (default messages/2000, 1..10);\n\
    --events-only fills the log with the messages' callbacks first.\n\
    Prints one JSON line per phase; exits 1 if the stored data does not verify\n\
    or an event never reached the receiver.";

struct Options {
    connections: usize,
    messages: usize,
    baseline: bool,
    preload: usize,
    queries: bool,
    log_level: String,
    keep: bool,
    /// `--store N`: only the store's write path (see store.rs).
    store_only: Option<usize>,
    group: usize,
    /// The daemon binary (default: sinch-dlr next to this one).
    daemon: Option<PathBuf>,
    /// Run the events phase after the others / only it.
    events: bool,
    events_only: bool,
    event_rate: usize,
    event_seconds: Option<f64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            connections: 64,
            messages: 20_000,
            baseline: false,
            preload: 0,
            queries: false,
            log_level: "warn".into(),
            keep: false,
            store_only: None,
            group: 64,
            daemon: None,
            events: true,
            events_only: false,
            event_rate: 1000,
            event_seconds: None,
        }
    }
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match a.as_str() {
            "--connections" => o.connections = num("--connections")?.max(1),
            "--messages" => o.messages = num("--messages")?.max(10),
            "--preload" => o.preload = num("--preload")?,
            "--baseline" => o.baseline = true,
            "--queries" => o.queries = true,
            "--keep" => o.keep = true,
            "--store" => o.store_only = Some(num("--store")?.max(1)),
            "--group" => o.group = num("--group")?.max(1),
            "--log-level" => o.log_level = args.next().ok_or("--log-level needs a value")?,
            "--daemon" => o.daemon = Some(args.next().ok_or("--daemon needs a path")?.into()),
            "--no-events" => o.events = false,
            "--events-only" => o.events_only = true,
            "--event-rate" => o.event_rate = num("--event-rate")?.max(1),
            "--event-seconds" => o.event_seconds = Some(num("--event-seconds")?.max(1) as f64),
            "--serve-noop" => {
                serve_noop();
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sinch-dlr-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sinch-dlr-bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(o: &Options) -> Result<bool, String> {
    let dir = TempDir::new()?;
    if let Some(n) = o.store_only {
        return store::run(dir.path(), n, o.group).map(|()| true);
    }
    if o.events_only {
        let mut server = start_daemon(o, dir.path())?;
        events::prefill(&mut server, o.messages, o.connections)?;
        let delivered = events::run(&mut server, &event_options(o))?;
        server.stop();
        return Ok(delivered);
    }
    let plan = Plan::new(o.messages, o.connections);
    let noop_rps = if o.baseline {
        Some(run_noop(&plan, o.connections, dir.path())?)
    } else {
        None
    };
    if o.preload > 0 {
        preload(&dir.path().join("dlr.redb"), o.preload)?;
    }
    let mut server = start_daemon(o, dir.path())?;
    let rps = run_phases(o, &plan, &mut server);
    if let Some(base) = noop_rps {
        println!(
            "{}",
            json!({"phase": "ratio", "callbacks_rps": rps.round(), "noop_rps": base.round(), "ratio": (rps / base * 1000.0).round() / 1000.0})
        );
    }
    let ok = verify(
        server.addr,
        o.messages,
        o.preload,
        &dir.path().join("dlr.redb"),
        plan.callback_count(),
    )?;
    let delivered = !o.events || events::run(&mut server, &event_options(o))?;
    server.stop();
    if o.keep {
        eprintln!("kept {}", dir.path().display());
        std::mem::forget(dir);
    }
    Ok(ok && delivered)
}

/// The lag part lasts messages/2,000 s (10 s by default), 1 s at least.
fn event_options(o: &Options) -> EventOptions {
    EventOptions {
        rate: o.event_rate,
        seconds: o
            .event_seconds
            .unwrap_or((o.messages as f64 / 2000.0).clamp(1.0, 10.0)),
    }
}

/// The same callback load against a no-op tiny_http server; its rps.
fn run_noop(plan: &Plan, connections: usize, dir: &Path) -> Result<f64, String> {
    let mut server = Server::spawn(&bench_exe()?, &["--serve-noop"], dir, &[])?;
    let m = load::run(server.addr, plan.callbacks_many.clone());
    report(
        "baseline_noop_tiny_http",
        connections,
        &m,
        server.take_usage(),
    );
    server.stop();
    Ok(m.rps())
}

/// The daemon on a fresh port in `dir`, ready.
fn start_daemon(o: &Options, dir: &Path) -> Result<Server, String> {
    let started = Instant::now();
    let mut server = Server::spawn(
        &daemon_exe(o.daemon.as_deref())?,
        &["serve", "--listen", "127.0.0.1:0", "--db", "dlr.redb"],
        dir,
        &[
            ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
            ("SINCH_DLR_API_TOKEN", TOKEN),
            ("LOG_LEVEL", &o.log_level),
        ],
    )?;
    wait_ready(server.addr)?;
    println!(
        "{}",
        json!({"phase": "startup", "preloaded_messages": o.preload, "ready_ms": started.elapsed().as_millis()})
    );
    server.take_usage();
    Ok(server)
}

/// Registration, one-connection and many-connection callbacks (with
/// queries alongside when asked); the many-connection rps.
fn run_phases(o: &Options, plan: &Plan, server: &mut Server) -> f64 {
    let m = load::run(server.addr, plan.registrations.clone());
    report("register", o.connections, &m, server.take_usage());
    let m = load::run(server.addr, vec![plan.callbacks_one.clone()]);
    report("callbacks_1_connection", 1, &m, server.take_usage());
    let queries = o.queries.then(|| QueryLoad::start(server.addr, o.messages));
    let m = load::run(server.addr, plan.callbacks_many.clone());
    report("callbacks", o.connections, &m, server.take_usage());
    if let Some(q) = queries {
        let qm = q.stop();
        report("queries_during_callbacks", 1, &qm, Usage::default());
    }
    m.rps()
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("sinch-dlr-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn report(phase: &str, connections: usize, m: &Measured, usage: Usage) {
    let mut line = json!({
        "phase": phase,
        "connections": connections,
        "requests": m.requests,
        "non_2xx": m.non_2xx,
        "errors": m.errors,
        "seconds": (m.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "rps": m.rps().round(),
        "p50_ms": round3(m.percentile_ms(0.50)),
        "p90_ms": round3(m.percentile_ms(0.90)),
        "p99_ms": round3(m.percentile_ms(0.99)),
        "max_ms": round3(m.percentile_ms(1.0)),
        "server_cpu_seconds": round3(usage.cpu),
        "server_peak_rss_mib": (usage.rss as f64 / 1048576.0 * 10.0).round() / 10.0,
    });
    if m.requests > 0 && usage.cpu > 0.0 {
        let per_request = |v: f64| (v / m.requests as f64 * 100.0).round() / 100.0;
        line["server_cpu_us_per_request"] = json!(per_request(usage.cpu * 1e6));
        line["context_switches_per_request"] = json!(per_request(usage.context_switches as f64));
    }
    if let Some((commits, writes)) = usage.commits {
        // Group commit at work: how many writes shared each fsync.
        line["commits"] = json!(commits);
        line["writes_per_commit"] = json!((writes / commits.max(1.0) * 10.0).round() / 10.0);
    }
    println!("{line}");
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
