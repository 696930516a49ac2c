//! Running under systemd: Type=notify (READY, WATCHDOG, STOPPING over a
//! fake NOTIFY_SOCKET) and socket activation (a listening socket passed the
//! way systemd passes it, by systemd's own systemd-socket-activate).

use crate::support::*;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn receive(socket: &UnixDatagram, want: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        socket
            .set_read_timeout(Some(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            ))
            .unwrap();
        let Ok(n) = socket.recv(&mut buf) else { break };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        let found = msg.lines().any(|l| l == want);
        seen.push(msg);
        if found {
            return seen;
        }
    }
    panic!("no {want:?} within {within:?}; got {seen:?}");
}

#[test]
fn notify_ready_watchdog_and_stopping() {
    let sockdir = tempfile::tempdir().unwrap();
    let path = sockdir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("NOTIFY_SOCKET", path.to_str().unwrap()),
        ("WATCHDOG_USEC", "200000"),
    ]);
    let first = receive(&socket, "READY=1", Duration::from_secs(5));
    assert!(
        first.last().unwrap().contains("STATUS=listening on"),
        "{first:?}"
    );
    let pings = receive(&socket, "WATCHDOG=1", Duration::from_secs(5));
    assert!(!pings.is_empty());
    receive(&socket, "WATCHDOG=1", Duration::from_secs(2));
    assert!(d.terminate().success());
    receive(&socket, "STOPPING=1", Duration::from_secs(2));
}

#[test]
fn socket_activation_uses_the_passed_socket() {
    if Command::new("systemd-socket-activate")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-socket-activate not installed (.ci/run installs systemd)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new("systemd-socket-activate")
        .current_dir(dir.path())
        .env_clear()
        .args(["-l", &format!("127.0.0.1:{port}")])
        .args([
            "-E",
            &format!("SINCH_DLR_CALLBACK_SECRETS={SECRET}"),
            "-E",
            "LOG_LEVEL=info",
        ])
        .arg(env!("CARGO_BIN_EXE_sinch-dlr"))
        .args(["serve", "--db", "dlr.redb", "--no-env-file"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    // The first connection waits in the socket's backlog while the daemon
    // starts, and is then served by it.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        match std::panic::catch_unwind(|| request(addr, "GET", "/healthz", &[], b"").status) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => panic!("never answered"),
        }
    };
    assert_eq!(status, 200);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let headers = signed_headers(SECRET, &body);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        request(addr, "POST", "/api/sinchCallbacks", &refs, &body).status,
        200
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = wait_with_deadline(&mut child, Duration::from_secs(10));
    let stderr = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(
        stderr.contains("using the listening socket passed by systemd"),
        "{stderr}"
    );
    assert!(exit.success(), "{exit}: {stderr}");
}

/// HTTPS straight from the daemon with a self-signed certificate; a
/// client that trusts it gets answers, plain HTTP gets nothing useful.
#[test]
fn https_with_a_self_signed_certificate() {
    let Some((d, agent)) = tls_daemon() else {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    };
    let url = format!("https://localhost:{}/healthz", d.addr.port());
    let r = agent.get(&url).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let mut post = agent.post(format!(
        "https://localhost:{}/api/sinchCallbacks",
        d.addr.port()
    ));
    for (k, v) in signed_headers(SECRET, &body) {
        post = post.header(k, v);
    }
    let r = post.send(&body[..]).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.into_body().read_to_string().unwrap().contains("stored"));
    // An untrusting client refuses the self-signed certificate.
    let strict: ureq::Agent = ureq::Agent::config_builder().build().into();
    assert!(strict.get(&url).call().is_err());
}
