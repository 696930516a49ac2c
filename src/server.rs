//! The daemon: open the store, start the writer, listen, run N workers on
//! tiny_http's request queue, log one line per request, turn a handler
//! panic into a 500, and stop cleanly on SIGINT/SIGTERM: stop taking
//! requests, finish those in flight, let the writer commit, close the file.

use std::io::{Read, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::app::App;
use crate::auth::{self, Secret};
use crate::config::Config;
use crate::http::{self, ApiError, Headers, Reply};
use crate::periodic::Periodic;
use crate::retention;
use crate::routes;
use crate::store::Store;
use crate::systemd;
use crate::webhooks::Deliveries;
use crate::writer;

/// Runs until SIGINT/SIGTERM. `Err` is a start-up or runtime failure.
pub fn run(mut config: Config) -> Result<(), String> {
    // First, before any file is opened: see systemd::listener_from_fd3.
    let activated = systemd::activated_listener()?;
    let notifier = systemd::Notifier::from_env();
    // Bind before the database is created or a secret generated and
    // printed: a busy port must fail the start having changed nothing.
    let socket = bind(&config, activated)?;
    let store = open_store(&mut config)?;
    let (writer, writer_thread) = writer::start(store.clone(), config.load.commit_delay);
    let app = Arc::new(App::new(&config, store, writer));
    start_deliveries(&config, &app)?;
    let background = start_background(&config, &app)?;
    let handler = request_handler(app.clone(), config.workers);
    let server = Arc::new(listen(&config, socket, handler)?);
    let _ = app.edge.set(Arc::downgrade(&server));
    // The handler is in place before anyone can learn the address, so a
    // SIGTERM sent right after "listening on" is always a clean stop.
    let stop = stop_signal()?;
    announce(&config, &server, &notifier);
    let watchdog = start_watchdog(&notifier)?;
    let _ = stop.recv();
    log::info!("signal received, stopping");
    let running = Running {
        server,
        app,
        background,
        watchdog,
        writer_thread,
    };
    running.stop(config.io_timeout, &notifier);
    Ok(())
}

/// The store, and the generated callback secret when one is needed.
fn open_store(config: &mut Config) -> Result<Arc<Store>, String> {
    let store =
        Store::open(&config.db_path).map_err(|e| format!("{}: {e}", config.db_path.display()))?;
    if config.generate_secret {
        config.callback_auth.hmac_secrets =
            vec![load_or_generate_secret(&config.generated_secret_path())?];
    }
    announce_auth(config);
    Ok(Arc::new(store))
}

/// Once per start, on stdout (the journal under systemd): the address
/// first, so scripts take the third word; then READY=1 for systemd.
fn announce(config: &Config, server: &tiny_http::Server, notifier: &systemd::Notifier) {
    let addr = server.server_addr();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "listening on {addr} ({scheme}, database {})",
        config.db_path.display()
    );
    let _ = std::io::stdout().flush();
    notifier.notify(&format!("READY=1\nSTATUS=listening on {addr}"));
}

/// What runs while the daemon serves, stopped in order by `stop`.
struct Running {
    server: Arc<tiny_http::Server>,
    app: Arc<App>,
    background: Vec<Periodic>,
    watchdog: Option<Periodic>,
    writer_thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Requests being answered finish (idle and half-read connections are
    /// closed: their clients retry, Sinch for ~23 h), the jobs stop, the
    /// writer commits what it holds, the file closes.
    fn stop(self, grace: std::time::Duration, notifier: &systemd::Notifier) {
        // Held long polls answer and live streams end now, not at the grace.
        self.app.store.bell().close();
        if !self.server.shutdown(grace) {
            log::warn!("connections still open after {grace:?}; stopping anyway");
        }
        notifier.notify("STOPPING=1");
        self.watchdog.into_iter().for_each(Periodic::stop);
        log::info!("stopping: requests finished, committing");
        if let Some(r) = &self.app.reconciler {
            r.stopping.store(true, Ordering::Relaxed);
        }
        self.background.into_iter().for_each(Periodic::stop);
        if let Some(d) = self.app.deliveries.get() {
            d.stop(); // each endpoint stores its position
        }
        drop(self.server);
        drop(self.app); // the last WriterHandle: the writer drains its queue and ends
        let _ = self.writer_thread.join();
        log::info!("stopped cleanly");
    }
}

/// A delivery thread per webhook endpoint (SINCH_DLR_WEBHOOK_URL's is kept
/// in step with the configuration first).
fn start_deliveries(config: &Config, app: &Arc<App>) -> Result<(), String> {
    let d = Deliveries::start(app.store.clone(), app.writer.clone(), &config.webhooks)?;
    let _ = app.deliveries.set(d);
    Ok(())
}

/// Reconciliation (with Sinch credentials and a non-zero interval) and
/// retention (with SINCH_DLR_RETENTION_DAYS), each on its own thread.
fn start_background(config: &Config, app: &Arc<App>) -> Result<Vec<Periodic>, String> {
    let mut jobs = Vec::new();
    match (&app.reconciler, config.reconcile_interval.is_zero()) {
        (None, _) => log::info!("reconciliation off: no Sinch API credentials"),
        (Some(_), true) => log::info!("reconciliation off: SINCH_DLR_RECONCILE_INTERVAL=0"),
        (Some(r), false) => {
            let (r, app) = (r.clone(), app.clone());
            jobs.push(Periodic::start(
                "reconcile",
                config.reconcile_interval,
                false,
                move || {
                    r.run_pass(&app.store, &app.writer, None);
                },
            )?);
        }
    }
    if let Some(keep) = config.retention {
        log::info!(
            "retention: keeping {:.1} day(s)",
            keep.as_secs_f64() / 86_400.0
        );
        let app = app.clone();
        jobs.push(Periodic::start(
            "retention",
            config.prune_interval,
            true,
            move || {
                retention::prune(&app.writer, &app.metrics, keep);
            },
        )?);
    }
    Ok(jobs)
}

/// The listening socket: systemd's, or bound here (then `true`).
fn bind(
    config: &Config,
    activated: Option<std::net::TcpListener>,
) -> Result<(std::net::TcpListener, bool), String> {
    use socket2::{Domain, SockRef, Socket, Type};
    // Accepted connections inherit the listener's send buffer: what a
    // client that does not read can make the kernel hold for it.
    let buffer = |sock: SockRef<'_>| {
        sock.set_send_buffer_size(config.send_buffer)
            .map_err(|e| format!("SINCH_DLR_SEND_BUFFER: {e}"))
    };
    if let Some(listener) = activated {
        buffer(SockRef::from(&listener))?;
        return Ok((listener, false));
    }
    let fail = |e: std::io::Error| format!("cannot listen on {}: {e}", config.listen);
    let addr: std::net::SocketAddr = config
        .listen
        .parse()
        .map_err(|_| format!("bad address {}", config.listen))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    buffer(SockRef::from(&socket))?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    Ok((socket.into(), true))
}

/// The server on the socket `bind` gave, with the connection layer's
/// limits: a request reaches `handler` only once read whole.
fn listen(
    config: &Config,
    (listener, bound_here): (std::net::TcpListener, bool),
    handler: Arc<dyn Fn(tiny_http::Request) + Send + Sync>,
) -> Result<tiny_http::Server, String> {
    let handling = tiny_http::Handling::Inline(handler);
    if !bound_here {
        log::info!("using the listening socket passed by systemd");
    }
    tiny_http::Server::from_listener_with(listener, tls(config), config.edge.clone(), handling)
        .map_err(|e| match bound_here {
            true => format!("cannot listen on {}: {e}", config.listen),
            false => format!("cannot use the socket systemd passed: {e}"),
        })
}

/// `WATCHDOG=1` every half `WatchdogSec`, from its own thread (a process
/// that hangs or dies stops the pings and systemd restarts it).
fn start_watchdog(notifier: &systemd::Notifier) -> Result<Option<Periodic>, String> {
    let (Some(interval), true) = (systemd::watchdog_interval(), notifier.enabled()) else {
        return Ok(None);
    };
    log::info!("systemd watchdog: pinging every {interval:?}");
    let notifier = systemd::Notifier::from_env();
    Periodic::start("watchdog", interval, true, move || {
        notifier.notify("WATCHDOG=1")
    })
    .map(Some)
}

fn tls(config: &Config) -> Option<tiny_http::SslConfig> {
    config.tls.as_ref().map(|t| tiny_http::SslConfig {
        certificate: t.cert.clone(),
        private_key: t.key.expose().as_bytes().to_vec(),
    })
}

/// A channel that receives once on SIGINT or SIGTERM.
fn stop_signal() -> Result<std::sync::mpsc::Receiver<()>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot install signal handler: {e}"))?;
    Ok(rx)
}

/// The secret kept beside the database, or a new one written there (0600).
fn load_or_generate_secret(path: &Path) -> Result<Secret, String> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => {
            log::info!(
                "callback HMAC secret: using the one generated earlier in {}",
                path.display()
            );
            return Ok(Secret::new(s.trim()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    let secret = auth::generate_secret().map_err(|e| format!("cannot generate a secret: {e}"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(file, "{}", secret.expose())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // Printed once, at generation; later starts only name the file.
    eprintln!(
        "generated callback secret (kept in {}): {}\n\
         Ask your Sinch account manager to enable HMAC signing of SMS callbacks for your service plan with this secret, \
         or set SINCH_DLR_CALLBACK_SECRETS to the secret Sinch gave you.",
        path.display(),
        secret.expose()
    );
    Ok(secret)
}

fn announce_auth(config: &Config) {
    let a = &config.callback_auth;
    if a.disabled {
        log::warn!(
            "callback authentication is OFF (SINCH_DLR_CALLBACK_AUTH=none): anyone can post callbacks; use only for local development"
        );
        return;
    }
    let mut methods = Vec::new();
    if !a.hmac_secrets.is_empty() {
        methods.push(format!("hmac ({} secret(s))", a.hmac_secrets.len()));
    }
    if a.basic.is_some() {
        methods.push("basic".into());
    }
    if a.header.is_some() {
        methods.push("custom header".into());
    }
    if !a.legacy_keys.is_empty() {
        methods.push("legacy tutorial scheme".into());
    }
    log::info!("callback authentication: {}", methods.join(", "));
    if config.api_token.is_none() {
        log::info!("API disabled (/api/* answers 403): set SINCH_DLR_API_TOKEN to enable it");
    }
}

/// What the connection layer calls with each whole request, on the
/// connection's own thread: at most `workers` run at once.
fn request_handler(app: Arc<App>, workers: usize) -> Arc<dyn Fn(tiny_http::Request) + Send + Sync> {
    static REQUEST_ID: AtomicU64 = AtomicU64::new(1);
    let permits = Permits::new(workers);
    Arc::new(move |request| {
        let rid = REQUEST_ID.fetch_add(1, Ordering::Relaxed);
        serve_one(&app, request, rid, &permits);
    })
}

/// A counting semaphore: how many requests are handled at once.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// A permit if one frees within `limit`.
    fn acquire_within(&self, limit: std::time::Duration) -> Option<Permit<'_>> {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let (mut free, _) = self
            .freed
            .wait_timeout_while(free, limit, |n| *n == 0)
            .unwrap_or_else(|e| e.into_inner());
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Permit(self))
    }

    fn acquire(&self) -> Permit<'_> {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let mut free = self
            .freed
            .wait_while(free, |n| *n == 0)
            .unwrap_or_else(|e| e.into_inner());
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

fn serve_one(app: &App, mut request: tiny_http::Request, rid: u64, permits: &Permits) {
    let method = request.method().as_str().to_ascii_uppercase();
    let (path, query) = http::split_url(request.url());
    // Every worker busy for longer than a callback should wait: Sinch is
    // told 429 (it retries later and slows down); other clients wait.
    let permit = match permits.acquire_within(app.load.callback_max_wait) {
        Some(permit) => permit,
        None if routes::sheds_load(&method, &path) => {
            return shed(app, request, rid, &method, &path);
        }
        None => permits.acquire(),
    };
    let started = Instant::now();
    let headers = Headers::from_pairs(
        request
            .headers()
            .iter()
            .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string())),
    );
    // The connection layer read the body whole, within SINCH_DLR_MAX_BODY
    // (413 beyond it); it is handed over, not read again.
    let reply = match request.take_body() {
        Ok(body) => {
            let req = http::Request {
                method: method.clone(),
                path: path.clone(),
                query,
                headers,
                body,
                client_ip: request.remote_addr().map(|a| a.ip()),
            };
            dispatch(app, &req, rid)
        }
        Err(e) => {
            log::debug!("rid={rid:04x} reading body: {e}");
            ApiError::BadRequest("could not read the request body".into()).into_reply()
        }
    };
    // Writing the answer is not handling it: a client that does not read
    // holds its own connection, never a worker. A streamed answer reads
    // the store while it is written and keeps its place.
    // One waiting for events (long poll, live stream) holds none.
    let _permit = (reply.stream.is_some() && !reply.detached).then_some(permit);
    let status = reply.status;
    let took = started.elapsed();
    app.metrics.request(status, took);
    let head = method == "HEAD";
    if let Err(e) = request.respond(into_response(reply, rid, head)) {
        log::debug!("rid={rid:04x} client went away: {e}");
    }
    // The path only: query strings can hold phone numbers.
    log::info!(
        "rid={rid:04x} {} {} {status} {}ms",
        http::logged_method(&method),
        http::logged_path(&path),
        took.as_millis()
    );
}

/// Answers a callback 429 without a worker (README, "Back-pressure").
fn shed(app: &App, request: tiny_http::Request, rid: u64, method: &str, path: &str) {
    app.metrics.sinch.callback_shed("workers");
    let reply = ApiError::Busy(http::BUSY_RETRY_AFTER).into_reply();
    let status = reply.status;
    // Like every request, timed from when it got (here: gave up) a place.
    app.metrics.request(status, std::time::Duration::ZERO);
    if let Err(e) = request.respond(into_response(reply, rid, false)) {
        log::debug!("rid={rid:04x} client went away: {e}");
    }
    log::info!(
        "rid={rid:04x} {} {} {status} busy: every worker taken",
        http::logged_method(method),
        http::logged_path(path)
    );
}

fn dispatch(app: &App, req: &http::Request, rid: u64) -> Reply {
    match catch_unwind(AssertUnwindSafe(|| routes::handle(app, req))) {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            if e.status() >= 500 {
                log::debug!("rid={rid:04x} {e}");
            }
            e.into_reply()
        }
        Err(_) => {
            log::error!("rid={rid:04x} handler panicked; answered 500");
            ApiError::Internal.into_reply()
        }
    }
}

fn into_response(reply: Reply, rid: u64, head: bool) -> tiny_http::Response<Box<dyn Read + Send>> {
    let header = |k: &str, v: &str| {
        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes())
            .expect("our header names and values are ASCII")
    };
    let mut headers = vec![
        header("Content-Type", reply.content_type),
        header("X-Request-Id", &format!("{rid:04x}")),
    ];
    headers.extend(reply.headers.iter().map(|(k, v)| header(k, v)));
    let (body, length): (Box<dyn Read + Send>, Option<usize>) = match (head, reply.stream) {
        (true, _) => (Box::new(std::io::empty()), Some(0)),
        (false, Some(stream)) => (stream.0, None), // sent chunked
        (false, None) => {
            let n = reply.body.len();
            (Box::new(std::io::Cursor::new(reply.body)), Some(n))
        }
    };
    tiny_http::Response::new(
        tiny_http::StatusCode(reply.status),
        headers,
        body,
        length,
        None,
    )
}
