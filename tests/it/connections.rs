//! Connection handling. Regression test for tiny_http 0.12's thread pool
//! (see vendor/README.md): connections accepted in a burst could be queued
//! behind busy keep-alive connections and get no answer while those stayed
//! open.

use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads one HTTP response (Content-Length framed) from a kept-alive
/// connection and returns its status.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}

/// 64 keep-alive connections opened at once, all held open: every one
/// gets its first answer. With the unpatched pool several wait until
/// others close, i.e. for ever here.
#[test]
fn burst_of_keep_alive_connections_are_all_served() {
    for round in 0..3 {
        let d = Daemon::start();
        let mut conns: Vec<TcpStream> = (0..64)
            .map(|_| TcpStream::connect(d.addr).unwrap())
            .collect();
        for c in &mut conns {
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut readers: Vec<BufReader<TcpStream>> =
            conns.into_iter().map(BufReader::new).collect();
        for (i, r) in readers.iter_mut().enumerate() {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10));
            r.get_ref().set_read_timeout(Some(left)).unwrap();
            let status = read_response(r).unwrap_or_else(|e| {
                panic!(
                    "round {round}: connection {i} got no answer while the others stay open: {e}"
                )
            });
            assert_eq!(status, 200);
        }
        // Still alive: a second request on each gets an answer too.
        for r in &mut readers {
            r.get_mut()
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_response(r).unwrap(), 200);
        }
    }
}
