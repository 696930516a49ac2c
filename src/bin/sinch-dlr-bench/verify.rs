//! After the load: every message's stored state checked over the API, the
//! query load run alongside, and the preload of a large file.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::load::{self, Measured};
use crate::plan::*;
use crate::{REFERENCE, TOKEN};

/// One GET on a fresh connection; the JSON body (Null if it is not JSON).
pub(crate) fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Value)> {
    let (status, body) = get_text(addr, path)?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// One GET on a fresh connection: the status and the body as text.
pub(crate) fn get_text(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    call(addr, "GET", path, None)
}

/// One POST of JSON on a fresh connection; the JSON answer.
pub(crate) fn post(addr: SocketAddr, path: &str, body: &Value) -> std::io::Result<(u16, Value)> {
    let (status, text) = call(addr, "POST", path, Some(body))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// One API request with the token on a fresh connection: the status and
/// the body as text.
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    let body = json.map_or(String::new(), Value::to_string);
    let kind = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {TOKEN}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut data = Vec::new();
    s.read_to_end(&mut data)?;
    let text = String::from_utf8_lossy(&data);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// Undoes chunked transfer encoding (tiny_http chunks bodies over 32 KiB).
pub(crate) fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = data.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        data = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Reads back every bench message: latest status Delivered and exactly two
/// status updates (Dispatched + Delivered; duplicates stored once).
pub(crate) fn verify(
    addr: SocketAddr,
    n: usize,
    preloaded: usize,
    db: &Path,
    callbacks: usize,
) -> Result<bool, String> {
    let (mut good, mut bad, mut cursor) = (0usize, Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/messages?client_reference={REFERENCE}&limit=1000&cursor={c}"),
            None => format!("/api/messages?client_reference={REFERENCE}&limit=1000"),
        };
        let (status, page) = get(addr, &path).map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("verify: {path} answered {status}"));
        }
        for m in page["messages"].as_array().into_iter().flatten() {
            if m["latest_status"] == "Delivered" && m["update_count"] == 2 {
                good += 1;
            } else if bad.len() < 5 {
                bad.push(m.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let db_bytes = std::fs::metadata(db).map_or(0, |m| m.len());
    let stored_callbacks = (n * 2 + preloaded) as f64;
    let ok = good == n;
    println!(
        "{}",
        json!({"phase": "verify", "ok": ok, "messages_expected": n, "messages_verified": good,
               "callbacks_sent": callbacks, "db_bytes": db_bytes,
               "db_bytes_per_stored_callback": (db_bytes as f64 / stored_callbacks).round(),
               "first_bad": bad})
    );
    if !ok {
        eprintln!(
            "sinch-dlr-bench: VERIFY FAILED: {good} of {n} messages are Delivered with 2 updates"
        );
    }
    Ok(ok)
}

/// The delivery report of preloaded message `i` (see `preload`), if any.
fn preload_report(
    i: usize,
    r: &sinch_dlr::store::Registration,
) -> Result<Option<sinch_dlr::store::ReceiveCallback>, String> {
    let (status, code) = match i % 100 {
        0..78 => ("Delivered", 0),
        78..86 => ("Failed", 402),
        86..89 => ("Expired", 406),
        89..91 => ("Rejected", 408),
        91..93 => ("Dispatched", 401),
        93..95 => ("Queued", 400),
        _ => return Ok(None),
    };
    // Reported 3 to 9 seconds after it was sent.
    let at = r.sent_at.unwrap_or(0) + (3 + i as i64 % 7) * 1_000_000;
    let at = jiff::Timestamp::from_microsecond(at).map_err(|e| e.to_string())?;
    preload_callback(&format!(
        r#"{{"at":"{at}","batch_id":"{}","code":{code},"recipient":"{}","status":"{status}","type":"recipient_delivery_report_sms"}}"#,
        r.batch_id,
        &r.to[1..]
    ))
    .map(Some)
}

fn preload_callback(raw: &str) -> Result<sinch_dlr::store::ReceiveCallback, String> {
    let callback = sinch_dlr::sinch::parse_callback(raw.as_bytes()).map_err(|e| e.to_string())?;
    Ok(sinch_dlr::store::ReceiveCallback {
        callback,
        raw: raw.as_bytes().to_vec(),
        received_at: 1,
    })
}

/// Reads while the callbacks phase writes: one message by id and an indexed
/// list query, alternately, on one keep-alive connection.
pub(crate) struct QueryLoad {
    pub(crate) stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(crate) thread: std::thread::JoinHandle<Measured>,
}

impl QueryLoad {
    pub(crate) fn start(addr: SocketAddr, n: usize) -> QueryLoad {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let auth = vec![("Authorization".to_string(), format!("Bearer {TOKEN}"))];
            let mut reqs = Vec::new();
            for i in 0..1000 {
                let id = 1 + (i * 7919) % n;
                reqs.push(load::build(
                    "GET",
                    &format!("/api/messages/{id}"),
                    &auth,
                    b"",
                ));
                let to = recipient_of((i * 104_729) % n);
                reqs.push(load::build(
                    "GET",
                    &format!("/api/messages?to={to}&limit=10"),
                    &auth,
                    b"",
                ));
            }
            let mut all = Measured::default();
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let m = load::run(addr, vec![reqs.iter().take(20).cloned().collect()]);
                all.requests += m.requests;
                all.latencies.extend(m.latencies);
                for (k, v) in m.non_2xx {
                    *all.non_2xx.entry(k).or_default() += v;
                }
                reqs.rotate_left(20);
                std::thread::sleep(Duration::from_millis(2));
            }
            all.elapsed = started.elapsed();
            all.latencies.sort_unstable();
            all
        });
        QueryLoad { stop, thread }
    }

    pub(crate) fn stop(self) -> Measured {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("query thread")
    }
}

/// Fills the file with `n` messages before the daemon starts (scale test),
/// in large group commits through the library. The mix is an operator's
/// file: per 100 messages 78 Delivered, 8 Failed (402), 3 Expired, 2
/// Rejected, 2 Dispatched, 2 Queued and 5 with no report yet; one inbound
/// reply per 200 messages.
pub(crate) fn preload(db: &Path, n: usize) -> Result<(), String> {
    use sinch_dlr::store::{Register, Registration, Store, Write};
    let started = Instant::now();
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let chunk = 20_000;
    for start in (0..n).step_by(chunk) {
        let regs = (start..(start + chunk).min(n))
            .map(|i| Registration {
                to: format!("+4{:010}", i),
                batch_id: format!("PRELOAD{:012}", i / 100),
                body: Some("preloaded".into()),
                client_reference: Some(format!("pre-{}", i % 1000)),
                sent_at: Some(1_735_689_600_000_000 + i as i64 * 1_000_000),
            })
            .collect::<Vec<_>>();
        let mut ops = Vec::with_capacity(chunk);
        for (i, r) in (start..).zip(&regs) {
            ops.extend(preload_report(i, r)?);
            if i % 200 == 199 {
                ops.push(preload_callback(&format!(
                    r#"{{"type":"mo_text","id":"PRELOADMO{i}","from":"{}","to":"12345","body":"STOP","received_at":"2025-01-01T01:00:00Z"}}"#,
                    &r.to[1..]
                ))?);
            }
        }
        let register = Register(regs);
        store
            .apply_group(|tx| {
                register.apply(tx)?;
                ops.iter().try_for_each(|op| op.apply(tx).map(drop))
            })
            .map_err(|e| e.to_string())?;
    }
    let bytes = std::fs::metadata(db).map_or(0, |m| m.len());
    println!(
        "{}",
        json!({"phase": "preload", "messages": n, "seconds": started.elapsed().as_secs(), "db_bytes": bytes})
    );
    Ok(())
}
