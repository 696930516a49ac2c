//! How the daemon serves: address, workers, the connection layer's limits
//! (README, "Limits"), HTTPS, and who may read /metrics.

use std::path::Path;
use std::time::Duration;

use super::reader::Reader;
use super::secrets::check_secret_file_mode;
use crate::auth::Secret;

pub(super) fn listen(r: &mut Reader) -> String {
    let listen = r.get_or_default("SINCH_DLR_LISTEN").to_string();
    if listen.parse::<std::net::SocketAddr>().is_err() {
        r.problem(format!(
            "SINCH_DLR_LISTEN: {listen:?} is not an address like 127.0.0.1:8911"
        ));
    }
    listen
}

pub(super) struct Serving {
    pub max_body: usize,
    pub workers: usize,
    pub io_timeout: Duration,
    pub edge: tiny_http::Limits,
    pub send_buffer: usize,
    pub tls: Option<Tls>,
    pub metrics_need_token: bool,
}

pub(super) fn read(r: &mut Reader) -> Serving {
    let max_body = r.number_or_default("SINCH_DLR_MAX_BODY") as usize;
    let workers = r.number_or_default("SINCH_DLR_WORKERS") as usize;
    if workers == 0 || workers > 4096 {
        r.problem("SINCH_DLR_WORKERS must be between 1 and 4096");
    }
    let io_timeout = r.positive_seconds("SINCH_DLR_IO_TIMEOUT");
    let edge = edge_limits(r, max_body, io_timeout);
    let send_buffer = r.number_or_default("SINCH_DLR_SEND_BUFFER") as usize;
    if send_buffer < 4096 {
        r.problem("SINCH_DLR_SEND_BUFFER must be at least 4096");
    }
    let tls = tls_files(r);
    let metrics_need_token = match r.get_or_default("SINCH_DLR_METRICS_AUTH") {
        "none" => false,
        "token" => true,
        other => {
            r.problem(format!(
                "SINCH_DLR_METRICS_AUTH: {other:?} is not none or token"
            ));
            false
        }
    };
    Serving {
        max_body,
        workers,
        io_timeout,
        edge,
        send_buffer,
        tls,
        metrics_need_token,
    }
}

/// The connection layer's limits.
fn edge_limits(r: &mut Reader, max_body: usize, write_timeout: Duration) -> tiny_http::Limits {
    let mut count = |name: &str, min: usize| {
        let n = r.number_or_default(name) as usize;
        if n < min {
            r.problem(format!("{name} must be at least {min}"));
        }
        n
    };
    tiny_http::Limits {
        max_url: count("SINCH_DLR_MAX_URL", 64),
        max_header_line: count("SINCH_DLR_MAX_HEADER_LINE", 256),
        max_head: count("SINCH_DLR_MAX_HEAD", 1024),
        max_headers: count("SINCH_DLR_MAX_HEADERS", 8),
        max_connections: count("SINCH_DLR_MAX_CONNECTIONS", 1),
        max_connections_per_client: count("SINCH_DLR_MAX_CONNECTIONS_PER_CLIENT", 0),
        max_body,
        head_timeout: r.positive_seconds("SINCH_DLR_HEAD_TIMEOUT"),
        body_timeout: r.positive_seconds("SINCH_DLR_BODY_TIMEOUT"),
        idle_timeout: r.positive_seconds("SINCH_DLR_IDLE_TIMEOUT"),
        write_timeout,
    }
}

/// The certificate chain and private key (PEM) for HTTPS.
#[derive(Clone)]
pub struct Tls {
    pub cert: Vec<u8>,
    pub key: Secret,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tls {{ cert: {} bytes, key: [redacted] }}",
            self.cert.len()
        )
    }
}

/// Both TLS files or neither; read now so a bad path fails the start.
fn tls_files(r: &mut Reader) -> Option<Tls> {
    let (cert, key) = match (r.get("SINCH_DLR_TLS_CERT"), r.get("SINCH_DLR_TLS_KEY")) {
        (None, None) => return None,
        (Some(c), Some(k)) => (c, k),
        _ => {
            r.problem("SINCH_DLR_TLS_CERT and SINCH_DLR_TLS_KEY go together");
            return None;
        }
    };
    let cert = std::fs::read(cert).map_err(|e| format!("SINCH_DLR_TLS_CERT: {cert}: {e}"));
    let key =
        check_secret_file_mode(Path::new(key), "SINCH_DLR_TLS_KEY", r.warnings()).and_then(|()| {
            std::fs::read_to_string(key).map_err(|e| format!("SINCH_DLR_TLS_KEY: {key}: {e}"))
        });
    match (cert, key) {
        (Ok(cert), Ok(key)) => Some(Tls {
            cert,
            key: Secret::new(key),
        }),
        (c, k) => {
            for e in c.err().into_iter().chain(k.err()) {
                r.problem(e);
            }
            None
        }
    }
}
