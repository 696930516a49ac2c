//! Sinch in tests: the fixtures' exact bytes, signature headers, callback
//! bodies, and a fake Sinch REST API on loopback.

use serde_json::Value;
use std::path::PathBuf;

use super::{Daemon, SECRET, TOKEN};

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
