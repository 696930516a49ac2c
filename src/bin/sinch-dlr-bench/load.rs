//! The load generator: C keep-alive connections, each on its own thread,
//! sending pre-built requests back to back and timing each answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What one phase measured.
#[derive(Debug, Default)]
pub struct Measured {
    pub requests: usize,
    /// status -> count, for answers that were not 2xx.
    pub non_2xx: std::collections::BTreeMap<u16, usize>,
    /// Latency of every request, in microseconds, sorted.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
    pub errors: usize,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((p * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        f64::from(self.latencies[rank - 1]) / 1000.0
    }
}

/// Sends each connection's requests in order on its own connection; all
/// connections are opened first, then started together.
pub fn run(addr: SocketAddr, per_connection: Vec<Vec<Vec<u8>>>) -> Measured {
    run_paced(addr, per_connection, None)
}

/// As `run`, but each connection sends its k-th request no earlier than
/// k × `pace` after the start (a steady rate instead of as fast as the
/// server answers).
pub fn run_paced(
    addr: SocketAddr,
    per_connection: Vec<Vec<Vec<u8>>>,
    pace: Option<Duration>,
) -> Measured {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(per_connection.len() + 1));
    let threads: Vec<_> = per_connection
        .into_iter()
        .map(|requests| {
            let barrier = barrier.clone();
            std::thread::spawn(move || drive(addr, &requests, &barrier, pace))
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut total = Measured::default();
    for t in threads {
        let m = t.join().expect("load thread");
        total.requests += m.requests;
        total.errors += m.errors;
        total.latencies.extend(m.latencies);
        for (k, v) in m.non_2xx {
            *total.non_2xx.entry(k).or_default() += v;
        }
    }
    total.elapsed = started.elapsed();
    total.latencies.sort_unstable();
    total
}

fn drive(
    addr: SocketAddr,
    requests: &[Vec<u8>],
    barrier: &std::sync::Barrier,
    pace: Option<Duration>,
) -> Measured {
    let mut m = Measured::default();
    let stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    barrier.wait();
    let started = Instant::now();
    for (k, req) in requests.iter().enumerate() {
        if let Some(due) = pace.map(|p| started + p * k as u32) {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let t = Instant::now();
        if writer.write_all(req).is_err() {
            m.errors += 1;
            break;
        }
        match read_response(&mut reader) {
            Ok(status) => {
                m.latencies
                    .push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                m.requests += 1;
                if !(200..300).contains(&status) {
                    *m.non_2xx.entry(status).or_default() += 1;
                }
            }
            Err(_) => {
                m.errors += 1;
                break;
            }
        }
    }
    m
}

/// Reads one Content-Length framed response; returns its status.
pub fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    read_headers(reader, |k, v| {
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap_or(0);
        }
    })?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}

/// Reads header lines up to the blank one, handing each `(name, value)`
/// to `header`.
pub fn read_headers(
    reader: &mut BufReader<TcpStream>,
    mut header: impl FnMut(&str, &str),
) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            return Ok(());
        }
        if let Some((k, v)) = line.split_once(':') {
            header(k, v);
        }
    }
}

/// One request, ready to write.
pub fn build(method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}
