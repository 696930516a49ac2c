//! Test support: the real binary as a `Daemon` (temp dir, 127.0.0.1:0,
//! cleared environment, killed on drop, its stderr printed when a test
//! fails), a raw HTTP/1.1 client, and the shared Sinch fixtures.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
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

/// Sinch signature headers for `body` (nonce and timestamp fixed per body).
pub fn signed_headers(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let nonce = "01JTESTNONCE0000000000000";
    let ts = "1740910531";
    vec![
        ("Content-Type".into(), "application/json".into()),
        (
            "x-sinch-webhook-signature".into(),
            sinch_dlr::auth::sign(secret, body, nonce, ts),
        ),
        ("x-sinch-webhook-signature-nonce".into(), nonce.into()),
        ("x-sinch-webhook-signature-timestamp".into(), ts.into()),
        (
            "x-sinch-webhook-signature-algorithm".into(),
            "HmacSHA256".into(),
        ),
    ]
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    raw_request(addr, &raw)
}

/// Sends bytes as they are and parses the response.
pub fn raw_request(addr: SocketAddr, bytes: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(bytes).expect("send");
    let mut data = Vec::new();
    // The server may close early (413); read what it sent either way.
    let _ = stream.read_to_end(&mut data);
    parse_response(&data)
}

pub fn parse_response(data: &[u8]) -> Response {
    let split = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(data)));
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = data[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
    out
}

/// Reads one response from a kept-alive connection: (status, body), or
/// None when the connection ended.
pub fn read_keep_alive_response(reader: &mut BufReader<TcpStream>) -> Option<(u16, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status = line.split(' ').nth(1)?.parse().ok()?;
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A shared payload's exact bytes.
pub fn payload(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("payloads").join(format!("{name}.json"))).unwrap()
}

/// Every shared payload: (name, bytes).
pub fn all_payloads() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(fixtures().join("payloads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

pub fn vectors() -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(fixtures().join("signature-vectors.json")).unwrap())
        .unwrap()
}

/// A per-recipient report body, compact like Sinch sends.
pub fn recipient_report(
    batch: &str,
    recipient: &str,
    status: &str,
    code: i64,
    at: &str,
) -> Vec<u8> {
    format!(
        r#"{{"at":"{at}","batch_id":"{batch}","code":{code},"recipient":"{recipient}","status":"{status}","type":"recipient_delivery_report_sms"}}"#
    )
    .into_bytes()
}

/// One request the fake Sinch received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the fake answers: status, body, extra headers.
pub type Answer = (u16, String, Vec<(String, String)>);

/// A fake Sinch REST API: tiny_http on 127.0.0.1:0 that records every
/// request and answers as the test's responder says (it also gets the
/// request's index, 0-based).
pub struct FakeSinch {
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>,
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSinch {
    pub fn start(responder: impl Fn(&Recorded, usize) -> Answer + Send + 'static) -> FakeSinch {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr());
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (srv, log) = (server.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            while let Ok(mut rq) = srv.recv() {
                let mut body = Vec::new();
                rq.as_reader().read_to_end(&mut body).unwrap();
                let rec = Recorded {
                    method: rq.method().as_str().to_string(),
                    url: rq.url().to_string(),
                    headers: rq
                        .headers()
                        .iter()
                        .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
                        .collect(),
                    body,
                };
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(rec.clone());
                    log.len() - 1
                };
                let (status, text, headers) = responder(&rec, n);
                let mut response = tiny_http::Response::from_string(text)
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    );
                for (k, v) in headers {
                    response.add_header(
                        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                    );
                }
                let _ = rq.respond(response);
            }
        });
        FakeSinch {
            url,
            requests,
            server,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeSinch {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A daemon that talks to `fake` as Sinch, with service plan `plan` and
/// no background reconciliation.
pub fn daemon_with_sinch(fake: &FakeSinch, plan: &str) -> Daemon {
    Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", TOKEN),
        ("SINCH_SERVICE_PLAN_ID", plan),
        ("SINCH_API_TOKEN", "sinch-api-token"),
        ("SINCH_API_BASE_URL", fake.url.as_str()),
        ("SINCH_DLR_RECONCILE_INTERVAL", "0"),
    ])
}

/// Sinch's 201 answer to a batch send.
pub fn batch_created(id: &str, to: &[&str]) -> Answer {
    let to: Vec<String> = to
        .iter()
        .map(|n| n.trim_start_matches('+').to_string())
        .collect();
    let body = serde_json::json!({
        "id": id, "to": to, "from": "12345", "body": "hi", "type": "mt_text", "canceled": false,
        "created_at": "2025-03-02T10:15:29.120Z", "modified_at": "2025-03-02T10:15:29.120Z",
        "delivery_report": "per_recipient", "expire_at": "2025-03-05T10:15:29.120Z",
    });
    (201, body.to_string(), vec![])
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
