//! Connection handling. Regression test for tiny_http 0.12's thread pool
//! (see vendor/README.md): connections accepted in a burst could be queued
//! behind busy keep-alive connections and get no answer while those stayed
//! open.

use crate::support::*;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

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
            let answer = read_keep_alive_response(r).unwrap_or_else(|| {
                panic!("round {round}: connection {i} got no answer while the others stay open")
            });
            assert_eq!(answer.0, 200);
        }
        // Still alive: a second request on each gets an answer too.
        for r in &mut readers {
            r.get_mut()
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_keep_alive_response(r).unwrap().0, 200);
        }
    }
}
