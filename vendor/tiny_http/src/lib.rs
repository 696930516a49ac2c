//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use zeroize::Zeroizing;

use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use connection::Connection;
use util::MessagesQueue;

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use edge::limits::Limits;
pub use edge::EdgeStats;
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use test::TestRequest;

mod common;
mod connection;
mod edge;
mod request;
mod response;
mod ssl;
mod test;
mod util;

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,

    // who holds a connection (sinch-dlr patch)
    admission: Arc<edge::admission::Admission>,
    counters: Arc<edge::EdgeCounters>,
    accept_thread: std::sync::Mutex<Option<thread::JoinHandle<()>>>,
}

/// Where whole requests go (sinch-dlr patch, see vendor/README.md).
pub enum Handling {
    /// To `recv()` / `incoming_requests()`, as tiny_http always did.
    Queue,
    /// To this function, on the connection's own thread: no hand-off
    /// between threads. `recv()` then never returns a request.
    Inline(Arc<dyn Fn(Request) + Send + Sync>),
}

pub(crate) enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
#[allow(dead_code)]
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    /// Shortcut for an HTTPS server on a specific address.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    #[inline]
    pub fn https<A>(
        addr: A,
        config: SslConfig,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: Some(config),
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::from_listener_with(listener, ssl_config, Limits::default(), Handling::Queue)
    }

    /// Like `from_listener`, with the connection layer's `limits` and a
    /// choice of where whole requests go. (sinch-dlr patch, see
    /// vendor/README.md.)
    pub fn from_listener_with<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
        limits: Limits,
        handling: Handling,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = listener.into();
        let close_trigger = Arc::new(AtomicBool::new(false));
        let local_addr = listener.local_addr()?;
        log::debug!("Server listening on {}", local_addr);
        let ssl = ssl_context(ssl_config)?;
        let messages = MessagesQueue::with_capacity(8);
        let dispatch = match handling {
            Handling::Queue => edge::Dispatch::Queue(messages.clone()),
            Handling::Inline(handler) => edge::Dispatch::Inline(handler),
        };
        let counters = Arc::new(edge::EdgeCounters::default());
        let admission = edge::admission::Admission::new(
            limits.max_connections,
            limits.max_connections_per_client,
            counters.clone(),
        );
        let acceptor = Acceptor {
            listener,
            close: close_trigger.clone(),
            shared: Arc::new(Shared {
                ssl,
                limits,
                dispatch,
                admission: admission.clone(),
                waiting: std::sync::atomic::AtomicUsize::new(0),
            }),
        };
        let accept_thread = thread::Builder::new()
            .name("accept".into())
            .spawn(move || acceptor.run())?;
        Ok(Server {
            messages,
            close: close_trigger,
            listening_addr: local_addr,
            admission,
            counters,
            accept_thread: std::sync::Mutex::new(Some(accept_thread)),
        })
    }

    /// Stops accepting, closes every connection that waits for a request,
    /// lets those being answered finish, and waits for all to close (at
    /// most `grace`); true if they all did. (sinch-dlr patch.)
    pub fn shutdown(&self, grace: Duration) -> bool {
        self.admission.close_waiting();
        self.close.store(true, Relaxed);
        self.wake_acceptor();
        let accept_thread = self.accept_thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = accept_thread {
            let _ = t.join();
        }
        self.admission.wait_drained(grace)
    }

    /// What the connection layer has done so far. (sinch-dlr patch.)
    pub fn edge_stats(&self) -> EdgeStats {
        EdgeStats::read(&self.counters, self.admission.open())
    }

    /// Connects to ourselves once, so a blocked `accept` sees `close`.
    fn wake_acceptor(&self) {
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        self.admission.open()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        self.wake_acceptor();

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
type SslContext = ();
#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
type SslContext = crate::ssl::SslContextImpl;

#[cfg(all(feature = "ssl-openssl", feature = "ssl-rustls"))]
compile_error!("Features 'ssl-openssl' and 'ssl-rustls' must not be enabled at the same time");

fn ssl_context(
    ssl_config: Option<SslConfig>,
) -> Result<Option<SslContext>, Box<dyn Error + Send + Sync + 'static>> {
    match ssl_config {
        #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
        Some(config) => Ok(Some(SslContext::from_pem(
            config.certificate,
            Zeroizing::new(config.private_key),
        )?)),
        #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
        Some(_) => Err(
            "Building a server with SSL requires enabling the `ssl` feature in tiny-http".into(),
        ),
        None => Ok(None),
    }
}

/// The accept thread: admits each connection and serves it on a thread of
/// the pool; when every place is busy, a newcomer waits on a pool thread
/// for one to free up (a moment), then is answered 503. (sinch-dlr patch.)
struct Acceptor {
    listener: Listener,
    close: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

/// What the accept thread and the threads it starts share.
struct Shared {
    ssl: Option<SslContext>,
    limits: Limits,
    dispatch: edge::Dispatch,
    admission: Arc<edge::admission::Admission>,
    /// Newcomers waiting for a place.
    waiting: std::sync::atomic::AtomicUsize,
}

/// Newcomers that may wait for a place at once, and for how long.
const MAX_WAITING: usize = 64;
const WAIT_FOR_ROOM: Duration = Duration::from_secs(1);

impl Acceptor {
    fn run(self) {
        let tasks_pool = util::TaskPool::new();
        log::debug!("Running accept thread");
        while !self.close.load(Relaxed) {
            match self.listener.accept() {
                Ok((sock, remote)) => self.admit(&tasks_pool, sock, remote),
                // sinch-dlr patch: an accept error (EMFILE when file
                // descriptors run out, ECONNABORTED, ...) used to end this
                // loop, and with it the server, for good. Log it, let the
                // condition pass, keep accepting.
                Err(e) => {
                    log::error!("Error accepting new client: {}", e);
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
        log::debug!("Terminating accept thread");
    }

    fn admit(
        &self,
        tasks_pool: &util::TaskPool,
        sock: Connection,
        remote: Option<std::net::SocketAddr>,
    ) {
        use edge::admission::Verdict;
        let shared = self.shared.clone();
        let admission = &self.shared.admission;
        let client = remote.map(|a| a.ip());
        let verdict = match admission.admit(&sock, client, false) {
            Verdict::Full if self.shared.waiting.fetch_add(1, Relaxed) < MAX_WAITING => {
                return spawn(tasks_pool, move || shared.wait_for_room(sock, remote));
            }
            Verdict::Full => {
                self.shared.waiting.fetch_sub(1, Relaxed);
                admission.admit(&sock, client, true)
            }
            other => other,
        };
        match verdict {
            Verdict::Admitted(ticket) => spawn(tasks_pool, move || shared.serve(ticket, sock, remote)),
            Verdict::Full => {
                turn_away(&self.shared, sock, remote, 503, "every connection slot is busy", false)
            }
            Verdict::ClientFull => turn_away(
                &self.shared,
                sock,
                remote,
                429,
                "too many connections from this address",
                false,
            ),
            Verdict::Closing => {}
        }
    }
}

fn spawn(tasks_pool: &util::TaskPool, task: impl FnOnce() + Send + 'static) {
    let mut task = Some(task);
    tasks_pool.spawn(Box::new(move || {
        if let Some(task) = task.take() {
            task();
        }
    }));
}

impl Shared {
    /// Tries again for a moment to admit a connection that found every
    /// place busy; serves it here if a place frees up.
    fn wait_for_room(&self, sock: Connection, remote: Option<std::net::SocketAddr>) {
        use edge::admission::Verdict;
        let until = std::time::Instant::now() + WAIT_FOR_ROOM;
        let client = remote.map(|a| a.ip());
        let verdict = loop {
            thread::sleep(Duration::from_millis(10));
            let pressed = std::time::Instant::now() >= until;
            match self.admission.admit(&sock, client, pressed) {
                Verdict::Full if !pressed => continue,
                other => break other,
            }
        };
        self.waiting.fetch_sub(1, Relaxed);
        match verdict {
            Verdict::Admitted(ticket) => self.serve(ticket, sock, remote),
            Verdict::Full => turn_away(self, sock, remote, 503, "every connection slot is busy", true),
            Verdict::ClientFull => {
                turn_away(self, sock, remote, 429, "too many connections from this address", true)
            }
            Verdict::Closing => {}
        }
    }

    /// Serves an admitted connection on this thread until it closes.
    fn serve(&self, ticket: edge::admission::Ticket, sock: Connection, remote: Option<std::net::SocketAddr>) {
        self.admission.counters.accepted.fetch_add(1, Relaxed);
        let Ok(control) = sock.try_clone() else {
            return;
        };
        let deadline = edge::Deadline::default();
        let (read, write) = match &self.ssl {
            None => util::RefinedTcpStream::new(sock),
            #[cfg(feature = "ssl-rustls")]
            Some(ssl) => match ssl.accept(edge::Guarded::new(sock, deadline.clone())) {
                Ok(s) => util::RefinedTcpStream::new(s),
                Err(_) => return,
            },
            #[cfg(feature = "ssl-openssl")]
            Some(ssl) => match ssl.accept(sock) {
                Ok(s) => util::RefinedTcpStream::new(s),
                Err(_) => return,
            },
            #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
            Some(_) => unreachable!(),
        };
        let secure = read.secure();
        edge::serve_connection(read, write, control, deadline, remote, secure, &self.limits, ticket, &self.dispatch)
    }
}

/// Answers a connection that cannot be admitted and closes it. From the
/// accept thread it never blocks (a fresh socket's buffer is empty) and
/// closes at once; from a pool thread (`linger`) it also reads what the
/// client still sends for a moment, so the answer is not lost to a reset.
fn turn_away(
    shared: &Shared,
    sock: Connection,
    remote: Option<std::net::SocketAddr>,
    status: u16,
    reason: &'static str,
    linger: bool,
) {
    shared.admission.counters.refused(status);
    let client = remote.map_or("-".to_string(), |a| a.ip().to_string());
    edge::log_refusal(&client, status, reason);
    if shared.ssl.is_some() {
        return;
    }
    let _ = sock.set_nonblocking(!linger);
    let _ = sock.set_write_timeout(Some(Duration::from_secs(1)));
    let mut sock = sock;
    let _ = std::io::Write::write_all(
        &mut sock,
        &edge::refusal_bytes(edge::head::Refusal { status, reason }),
    );
    if linger {
        let _ = sock.shutdown(std::net::Shutdown::Write);
        let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < 256 * 1024 {
            match std::io::Read::read(&mut sock, &mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}
