//! Crash safety: SIGKILL at random moments while callbacks arrive on
//! several connections; after each restart every callback that was answered
//! 200 is stored exactly once, the indexes are consistent, and the daemon
//! takes new callbacks.

use crate::support::*;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUNDS: usize = 5;
const CONNECTIONS: usize = 6;

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos) | 1
}

/// Sends unique Delivered callbacks on one keep-alive connection until it
/// breaks; returns the recipients whose callback was answered 200 stored.
fn send_until_killed(
    addr: std::net::SocketAddr,
    round: usize,
    conn: usize,
    stop: &AtomicBool,
) -> Vec<String> {
    let mut acked = Vec::new();
    let Ok(stream) = TcpStream::connect(addr) else {
        return acked;
    };
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let recipient = format!("1{round}{conn:02}{i:07}");
        let body = recipient_report(
            "CRASHBATCH",
            &recipient,
            "Delivered",
            0,
            "2025-03-02T10:15:41Z",
        );
        let mut req = format!(
            "POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in signed_headers(SECRET, &body) {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(&body);
        if writer.write_all(&bytes).is_err() {
            break;
        }
        match read_keep_alive_response(&mut reader) {
            Some((200, body)) if body.contains("stored") => acked.push(recipient),
            Some(_) => {}
            None => break,
        }
    }
    acked
}

#[test]
fn sigkill_never_loses_an_acknowledged_callback() {
    let mut rand = seed();
    eprintln!("crash test seed {rand}");
    let mut next = move |n: u64| {
        rand ^= rand << 13;
        rand ^= rand >> 7;
        rand ^= rand << 17;
        rand % n
    };
    let mut d = Daemon::start();
    let mut all_acked: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..CONNECTIONS)
            .map(|conn| {
                let (stop, acked, addr) = (stop.clone(), acked.clone(), d.addr);
                std::thread::spawn(move || {
                    let got = send_until_killed(addr, round, conn, &stop);
                    acked.lock().unwrap().extend(got);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + next(400)));
        d.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(
            !acked.is_empty(),
            "round {round}: nothing was acknowledged before the kill"
        );
        eprintln!(
            "round {round}: {} callbacks acknowledged before SIGKILL",
            acked.len()
        );
        all_acked.extend(acked);
        d = d.restart_stopped();
        // Every acknowledged callback of every round: stored exactly once.
        for recipient in &all_acked {
            let page = d.get(&format!("/api/messages?to={recipient}")).json();
            let found = page["messages"].as_array().unwrap();
            assert_eq!(
                found.len(),
                1,
                "round {round}: {recipient} stored {} times",
                found.len()
            );
            assert_eq!(found[0]["latest_status"], "Delivered", "{recipient}");
            assert_eq!(found[0]["update_count"], 1, "{recipient}");
        }
        // Still takes callbacks; an acknowledged one again is a duplicate.
        let again = recipient_report(
            "CRASHBATCH",
            &all_acked[0],
            "Delivered",
            0,
            "2025-03-02T10:15:41Z",
        );
        assert_eq!(d.callback(&again).json()["result"], "duplicate");
        let fresh = recipient_report(
            "CRASHBATCH",
            &format!("2{round}0000001"),
            "Delivered",
            0,
            "2025-03-02T10:15:41Z",
        );
        assert_eq!(d.callback(&fresh).json()["result"], "stored");
        all_acked.push(format!("2{round}0000001"));
        // Indexes consistent: stop cleanly, check the file, start again.
        assert!(d.terminate().success());
        d.assert_consistent();
        d = d.restart_stopped();
    }
    eprintln!(
        "{ROUNDS} SIGKILL rounds, {} acknowledged callbacks verified",
        all_acked.len()
    );
}
