//! What one client may cost the server. Every number here bounds memory,
//! a thread or time that a client holds *before* its request reaches the
//! application. (sinch-dlr patch, see vendor/README.md.)

use std::time::Duration;

/// Limits the connection layer enforces while it reads a request. A
/// request reaches the application only once its head and body are read
/// whole, inside these limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest request-target (URL); a longer one is answered 414.
    pub max_url: usize,
    /// Longest header line; a longer one is answered 431.
    pub max_header_line: usize,
    /// Largest whole head (request line and headers); beyond: 431.
    pub max_head: usize,
    /// Most header lines; beyond: 431.
    pub max_headers: usize,
    /// Largest body; a larger `Content-Length` (or chunked body) is
    /// answered 413 before the body is read.
    pub max_body: usize,
    /// From a request's first byte to the end of its head; beyond: 408.
    pub head_timeout: Duration,
    /// From the end of the head to the end of the body; beyond: 408.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long one write of an answer may block (a client that does not
    /// read); beyond: the connection is closed.
    pub write_timeout: Duration,
    /// Connections open at once. When full, a new connection takes the
    /// place of the one that has waited longest without a whole request
    /// (idle or slow); when none is waiting, it is answered 503.
    pub max_connections: usize,
    /// Connections open at once from one IP address (0 = no limit); a
    /// new one beyond takes the place of that address's longest-waiting
    /// connection, or is answered 429 when all of them are busy.
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_url: 8 * 1024,
            max_header_line: 16 * 1024,
            max_head: 64 * 1024,
            max_headers: 100,
            max_body: 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_client: 0,
        }
    }
}
