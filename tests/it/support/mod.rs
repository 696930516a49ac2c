//! Test support: the real binary as a `Daemon` (temp dir, 127.0.0.1:0,
//! cleared environment, killed on drop, its stderr printed when a test
//! fails) and its CLI; `http.rs` a raw HTTP/1.1 client; `sinch.rs` the
//! shared Sinch fixtures, signatures and a fake Sinch REST API.

#![allow(dead_code)]

mod http;
mod sinch;

pub use http::*;
pub use sinch::*;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-api-token";
pub const SECRET: &str = "KayakingTheSwell";

/// A running sinch-dlr.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Option<Child>,
    env: Vec<(String, String)>,
    /// Lines the daemon printed on stdout, after "listening on".
    pub stdout: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts with the test secret and API token.
    pub fn start() -> Daemon {
        Daemon::with_env(&[
            ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
            ("SINCH_DLR_API_TOKEN", TOKEN),
        ])
    }

    /// Prepares the directory with `setup` (before the daemon starts).
    pub fn with_setup(env: &[(&str, &str)], setup: impl FnOnce(&Path)) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        setup(dir.path());
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Daemon::spawn_in(dir, env)
    }

    pub fn with_env(env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Daemon::spawn_in(dir, env)
    }

    fn spawn_in(dir: tempfile::TempDir, env: Vec<(String, String)>) -> Daemon {
        let mut child = binary(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--db", "dlr.redb"])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("stderr.log")).unwrap(),
            ))
            .spawn()
            .expect("spawning sinch-dlr");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon {
            dir,
            addr: "127.0.0.1:1".parse().unwrap(),
            child: Some(child),
            env,
            stdout: rx,
        };
        daemon.addr = daemon.wait_listening();
        daemon
    }

    fn wait_listening(&mut self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.stdout.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("listening on ") {
                        let addr = rest.split(' ').next().unwrap_or_default();
                        return addr.parse().expect("address in 'listening on' line");
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                        panic!(
                            "sinch-dlr exited with {status} before listening:\n{}",
                            self.stderr()
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().unwrap().wait().unwrap();
                    panic!(
                        "sinch-dlr exited with {status} before listening:\n{}",
                        self.stderr()
                    );
                }
            }
        }
        panic!(
            "sinch-dlr did not print 'listening on' within 20 s:\n{}",
            self.stderr()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sends SIGTERM and waits (with a deadline) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("daemon running");
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        wait_with_deadline(&mut child, Duration::from_secs(20))
    }

    /// Runs `sinch-dlr check-db` on the file (the daemon must be stopped)
    /// and fails the test on any inconsistency.
    pub fn assert_consistent(&self) {
        let out = binary(self.path())
            .args(["check-db", "--db", "dlr.redb"])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && report.contains("0 problem(s)"),
            "check-db: {report}"
        );
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("daemon running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then start again on the same directory and file.
    pub fn restart(mut self) -> Daemon {
        let status = self.terminate();
        assert!(
            status.success(),
            "exit after SIGTERM: {status}\n{}",
            self.stderr()
        );
        let env = std::mem::take(&mut self.env);
        let dir = tempfile::TempDir::new().unwrap();
        let dir = std::mem::replace(&mut self.dir, dir);
        Daemon::spawn_in(dir, env)
    }

    /// Starts again on the same directory after `terminate`.
    pub fn restart_stopped(mut self) -> Daemon {
        assert!(self.child.is_none(), "terminate first");
        let env = std::mem::take(&mut self.env);
        let dir = std::mem::replace(&mut self.dir, tempfile::TempDir::new().unwrap());
        Daemon::spawn_in(dir, env)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(self.addr, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            b"",
        )
    }

    /// Posts JSON to the API with the test token.
    pub fn post_api(&self, path: &str, body: &Value) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        self.request(
            "POST",
            path,
            &[
                ("Authorization", &format!("Bearer {TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
    }

    /// Posts a callback signed with `SECRET`.
    pub fn callback(&self, body: &[u8]) -> Response {
        let headers = signed_headers(SECRET, body);
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.request("POST", "/api/sinchCallbacks", &refs, body)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- sinch-dlr stderr ---\n{}", self.stderr());
        }
    }
}

/// The binary, run in `dir` with an empty environment.
pub fn binary(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sinch-dlr"));
    cmd.current_dir(dir).env_clear().env("LOG_LEVEL", "info");
    cmd
}

/// Runs a CLI command that must succeed (its stderr is the failure
/// message) and returns what it printed.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running sinch-dlr");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A daemon serving HTTPS itself with a fresh self-signed certificate for
/// localhost (made by openssl in its directory), and a client that trusts
/// that certificate, reports 4xx/5xx as answers and follows no redirects.
/// None when openssl is not installed.
pub fn tls_daemon() -> Option<(Daemon, ureq::Agent)> {
    tls_daemon_with(&[])
}

/// `tls_daemon` with `extra` environment variables.
pub fn tls_daemon_with(extra: &[(&str, &str)]) -> Option<(Daemon, ureq::Agent)> {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // A server certificate, not a CA (webpki refuses a CA as end entity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return None;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut env = vec![
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_DLR_TLS_CERT", cert.to_str().unwrap()),
        ("SINCH_DLR_TLS_KEY", key.to_str().unwrap()),
    ];
    env.extend_from_slice(extra);
    let d = Daemon::with_env(&env);
    let pem = std::fs::read(&cert).unwrap();
    let root = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            root,
        ])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    Some((d, agent))
}

/// What a CLI command did: exit code, stdout, stderr.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Runs a CLI command in `dir` against `listen` and the file `dlr.redb`,
/// with the test API token.
pub fn run_cli(dir: &Path, listen: &str, args: &[&str]) -> Ran {
    let out = binary(dir)
        .args(args)
        .args(["--listen", listen, "--db", "dlr.redb"])
        .env("SINCH_DLR_API_TOKEN", TOKEN)
        .output()
        .expect("running sinch-dlr");
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The ids of the objects in the list `v[key]` (a page of messages, ...).
pub fn ids(v: &Value, key: &str) -> Vec<u64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect()
}

/// A daemon with the test secret and token (and `extra` settings).
pub fn secret_daemon(extra: &[(&str, &str)]) -> Daemon {
    let mut env = vec![
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
    ];
    env.extend_from_slice(extra);
    Daemon::with_env(&env)
}

/// Reads SSE events (id, event, data) until `n` have come.
pub fn read_sse(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<(u64, String, Value)> {
    let mut out = Vec::new();
    let (mut id, mut kind) = (0, String::new());
    let mut line = String::new();
    while out.len() < n {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "stream ended");
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("id: ") {
            id = v.parse().unwrap();
        } else if let Some(v) = l.strip_prefix("event: ") {
            kind = v.to_string();
        } else if let Some(v) = l.strip_prefix("data: ") {
            out.push((id, kind.clone(), serde_json::from_str(v).unwrap()));
        }
    }
    out
}

/// Opens `GET /api/events/stream` with the test token and `headers`
/// (each ending in CRLF); the status line must be 200.
pub fn open_event_stream(d: &Daemon, headers: &str) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /api/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{headers}\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    reader
}
