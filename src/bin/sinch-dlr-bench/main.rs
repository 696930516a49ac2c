//! sinch-dlr-bench: drives the real daemon with signed Sinch callbacks over
//! keep-alive connections and prints one JSON line per phase (requests,
//! non-2xx by code, rps, latency percentiles, server CPU and peak RSS),
//! then verifies every message's stored state and fails loudly if anything
//! is missing. `--baseline` first runs the same load against a no-op
//! tiny_http server, for the side-by-side ratio. See docs/performance.md.

mod load;
mod proc;
mod store;

/// The daemon's allocator, so the no-op baseline and the load generator run
/// on the same one as the server they are compared with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use load::Measured;

const SECRET: &str = "bench-callback-secret";
const TOKEN: &str = "bench-api-token";
const REFERENCE: &str = "bench";

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
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        connections: 64,
        messages: 20_000,
        baseline: false,
        preload: 0,
        queries: false,
        log_level: "warn".into(),
        keep: false,
        store_only: None,
        group: 64,
    };
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
            "--serve-noop" => {
                serve_noop();
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!(
                    "sinch-dlr-bench [--connections 64] [--messages 20000] [--baseline] [--queries]\n\
                     \x20               [--preload N] [--log-level warn] [--keep]\n\
                     sinch-dlr-bench --store N [--group 64]   (the store's write path alone)\n\
                     Prints one JSON line per phase; exits 1 if the stored data does not verify."
                );
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
    server.stop();
    if o.keep {
        eprintln!("kept {}", dir.path().display());
        std::mem::forget(dir);
    }
    Ok(ok)
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
        &daemon_exe()?,
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

/// Every request of the run, built before any is sent.
struct Plan {
    registrations: Vec<Vec<Vec<u8>>>,
    callbacks_one: Vec<Vec<u8>>,
    callbacks_many: Vec<Vec<Vec<u8>>>,
}

fn batch_of(i: usize) -> String {
    format!("BENCHBATCH{:016}", i / 100)
}

fn recipient_of(i: usize) -> String {
    format!("1555{:07}", i)
}

impl Plan {
    /// Messages 0..n: registered; the first fifth get their callbacks on one
    /// connection, the rest over `c`. Each gets Dispatched and Delivered;
    /// every 20th gets them in the wrong order (late Dispatched), every 20th
    /// (offset) gets its Delivered sent twice (a Sinch retry).
    fn new(n: usize, c: usize) -> Plan {
        let auth = vec![
            ("Authorization".to_string(), format!("Bearer {TOKEN}")),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        let mut registrations = vec![Vec::new(); c];
        for i in 0..n {
            let body = json!({"to": format!("+{}", recipient_of(i)), "batch_id": batch_of(i), "client_reference": REFERENCE});
            registrations[i % c].push(load::build(
                "POST",
                "/api/messages",
                &auth,
                body.to_string().as_bytes(),
            ));
        }
        let one = n / 5;
        let callbacks_one = (0..one).flat_map(callbacks_for).collect();
        let mut callbacks_many = vec![Vec::new(); c];
        for i in one..n {
            callbacks_many[i % c].extend(callbacks_for(i));
        }
        Plan {
            registrations,
            callbacks_one,
            callbacks_many,
        }
    }

    fn callback_count(&self) -> usize {
        self.callbacks_one.len() + self.callbacks_many.iter().map(Vec::len).sum::<usize>()
    }
}

/// Message i's recipient delivery report, as Sinch sends it.
fn report_body(i: usize, status: &str, code: i64, at: &str) -> String {
    format!(
        r#"{{"at":"{at}","batch_id":"{}","code":{code},"recipient":"{}","status":"{status}","type":"recipient_delivery_report_sms"}}"#,
        batch_of(i),
        recipient_of(i)
    )
}

fn callbacks_for(i: usize) -> Vec<Vec<u8>> {
    let report =
        |status: &str, code: i64, at: &str| signed(report_body(i, status, code, at).as_bytes());
    let dispatched = report("Dispatched", 401, "2025-03-02T10:15:30.120Z");
    let delivered = report("Delivered", 0, "2025-03-02T10:15:41.002Z");
    match i % 20 {
        7 => vec![delivered, dispatched],
        13 => vec![dispatched, delivered.clone(), delivered],
        _ => vec![dispatched, delivered],
    }
}

fn signed(body: &[u8]) -> Vec<u8> {
    let (nonce, ts) = ("01JBENCHNONCE000000000000", "1740910531");
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "x-sinch-webhook-signature".to_string(),
            sinch_dlr::auth::sign(SECRET, body, nonce, ts),
        ),
        (
            "x-sinch-webhook-signature-nonce".to_string(),
            nonce.to_string(),
        ),
        (
            "x-sinch-webhook-signature-timestamp".to_string(),
            ts.to_string(),
        ),
        (
            "x-sinch-webhook-signature-algorithm".to_string(),
            "HmacSHA256".to_string(),
        ),
    ];
    load::build("POST", "/api/sinchCallbacks", &headers, body)
}

/// What a phase cost the server: CPU seconds, peak RSS in bytes, and for
/// the daemon (commits, writes committed) from its /metrics.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    cpu: f64,
    rss: u64,
    context_switches: u64,
    commits: Option<(f64, f64)>,
}

/// The daemon's running totals of group commits and the writes in them;
/// None for a server without those metrics (the no-op baseline).
fn commit_totals(addr: SocketAddr) -> Option<(f64, f64)> {
    let (_, text) = get_text(addr, "/metrics").ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    Some((
        value("sinch_dlr_commit_group_size_count ")?,
        value("sinch_dlr_commit_group_size_sum ")?,
    ))
}

/// A server child process (the daemon or the no-op baseline).
struct Server {
    child: Child,
    addr: SocketAddr,
    last: Usage,
}

impl Server {
    fn spawn(
        exe: &Path,
        args: &[&str],
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut child = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(rest) = l.strip_prefix("listening on ") {
                        let a = rest.split(' ').next().unwrap_or_default();
                        break a.parse().map_err(|_| format!("bad address {a}"))?;
                    }
                }
                _ => return Err(format!("{} exited before listening", exe.display())),
            }
        };
        Ok(Server {
            child,
            addr,
            last: Usage::default(),
        })
    }

    /// CPU and commits since the last call, and peak RSS so far.
    fn take_usage(&mut self) -> Usage {
        let (cpu, rss, context_switches) = proc::usage(self.child.id());
        let now = Usage {
            cpu,
            rss,
            context_switches,
            commits: commit_totals(self.addr),
        };
        let (c0, w0) = self.last.commits.unwrap_or_default();
        let since = Usage {
            cpu: cpu - self.last.cpu,
            rss,
            context_switches: context_switches.saturating_sub(self.last.context_switches),
            commits: now.commits.map(|(c, w)| (c - c0, w - w0)),
        };
        self.last = now;
        since
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it first (cargo build --release)",
            path.display()
        ))
    }
}

fn daemon_exe() -> Result<PathBuf, String> {
    sibling("sinch-dlr")
}

fn bench_exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| e.to_string())
}

/// The baseline: tiny_http answering every request with a fixed 200, on
/// as many worker threads as the daemon uses.
fn serve_noop() {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    println!("listening on {}", server.server_addr());
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                while let Ok(rq) = server.recv() {
                    let header =
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
                    let _ = rq.respond(
                        tiny_http::Response::from_data(&b"{\"result\":\"stored\"}"[..])
                            .with_header(header),
                    );
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

fn wait_ready(addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if get(addr, "/readyz").is_ok_and(|(s, _)| s == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err("daemon never became ready".into())
}

/// One GET on a fresh connection; the JSON body (Null if it is not JSON).
fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Value)> {
    let (status, body) = get_text(addr, path)?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// One GET on a fresh connection: the status and the body as text.
fn get_text(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )?;
    let mut data = Vec::new();
    s.read_to_end(&mut data)?;
    let text = String::from_utf8_lossy(&data);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// Undoes chunked transfer encoding (tiny_http chunks bodies over 32 KiB).
fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = data.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        data = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Reads back every bench message: latest status Delivered and exactly two
/// status updates (Dispatched + Delivered; duplicates stored once).
fn verify(
    addr: SocketAddr,
    n: usize,
    preloaded: usize,
    db: &Path,
    callbacks: usize,
) -> Result<bool, String> {
    let (mut good, mut bad, mut cursor) = (0usize, Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/messages?client_reference={REFERENCE}&limit=1000&cursor={c}"),
            None => format!("/api/messages?client_reference={REFERENCE}&limit=1000"),
        };
        let (status, page) = get(addr, &path).map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("verify: {path} answered {status}"));
        }
        for m in page["messages"].as_array().into_iter().flatten() {
            if m["latest_status"] == "Delivered" && m["update_count"] == 2 {
                good += 1;
            } else if bad.len() < 5 {
                bad.push(m.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let db_bytes = std::fs::metadata(db).map_or(0, |m| m.len());
    let stored_callbacks = (n * 2 + preloaded) as f64;
    let ok = good == n;
    println!(
        "{}",
        json!({"phase": "verify", "ok": ok, "messages_expected": n, "messages_verified": good,
               "callbacks_sent": callbacks, "db_bytes": db_bytes,
               "db_bytes_per_stored_callback": (db_bytes as f64 / stored_callbacks).round(),
               "first_bad": bad})
    );
    if !ok {
        eprintln!(
            "sinch-dlr-bench: VERIFY FAILED: {good} of {n} messages are Delivered with 2 updates"
        );
    }
    Ok(ok)
}

/// Reads while the callbacks phase writes: one message by id and an indexed
/// list query, alternately, on one keep-alive connection.
struct QueryLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Measured>,
}

impl QueryLoad {
    fn start(addr: SocketAddr, n: usize) -> QueryLoad {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let auth = vec![("Authorization".to_string(), format!("Bearer {TOKEN}"))];
            let mut reqs = Vec::new();
            for i in 0..1000 {
                let id = 1 + (i * 7919) % n;
                reqs.push(load::build(
                    "GET",
                    &format!("/api/messages/{id}"),
                    &auth,
                    b"",
                ));
                let to = recipient_of((i * 104_729) % n);
                reqs.push(load::build(
                    "GET",
                    &format!("/api/messages?to={to}&limit=10"),
                    &auth,
                    b"",
                ));
            }
            let mut all = Measured::default();
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let m = load::run(addr, vec![reqs.iter().take(20).cloned().collect()]);
                all.requests += m.requests;
                all.latencies.extend(m.latencies);
                for (k, v) in m.non_2xx {
                    *all.non_2xx.entry(k).or_default() += v;
                }
                reqs.rotate_left(20);
                std::thread::sleep(Duration::from_millis(2));
            }
            all.elapsed = started.elapsed();
            all.latencies.sort_unstable();
            all
        });
        QueryLoad { stop, thread }
    }

    fn stop(self) -> Measured {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("query thread")
    }
}

/// Fills the file with `n` delivered messages before the daemon starts
/// (scale test), in large group commits through the library.
fn preload(db: &Path, n: usize) -> Result<(), String> {
    use sinch_dlr::sinch::parse_callback;
    use sinch_dlr::store::{ReceiveCallback, Register, Registration, Store, Write};
    let started = Instant::now();
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let chunk = 20_000;
    for start in (0..n).step_by(chunk) {
        let mut ops = Vec::with_capacity(chunk * 2);
        let regs = (start..(start + chunk).min(n))
            .map(|i| Registration {
                to: format!("+4{:010}", i),
                batch_id: format!("PRELOAD{:012}", i / 100),
                body: Some("preloaded".into()),
                client_reference: Some(format!("pre-{}", i % 1000)),
                sent_at: None,
            })
            .collect::<Vec<_>>();
        for r in &regs {
            let raw = format!(
                r#"{{"at":"2025-01-01T00:00:00.000Z","batch_id":"{}","code":0,"recipient":"{}","status":"Delivered","type":"recipient_delivery_report_sms"}}"#,
                r.batch_id,
                &r.to[1..]
            );
            let callback = parse_callback(raw.as_bytes()).map_err(|e| e.to_string())?;
            ops.push(ReceiveCallback {
                callback,
                raw: raw.into_bytes(),
                received_at: 1,
            });
        }
        let register = Register(regs);
        store
            .apply_group(|tx| {
                register.apply(tx)?;
                ops.iter().try_for_each(|op| op.apply(tx).map(drop))
            })
            .map_err(|e| e.to_string())?;
    }
    let bytes = std::fs::metadata(db).map_or(0, |m| m.len());
    println!(
        "{}",
        json!({"phase": "preload", "messages": n, "seconds": started.elapsed().as_secs(), "db_bytes": bytes})
    );
    Ok(())
}
