//! What the benchmark sends: registrations and signed callbacks for N
//! messages, split over connections.

use serde_json::json;

use crate::load::{self};
use crate::{REFERENCE, SECRET, TOKEN};

/// Messages per registration request (well under the default body cap).
const REGISTER_PER_REQUEST: usize = 100;

/// Every request of the run, built before any is sent.
pub(crate) struct Plan {
    pub(crate) registrations: Vec<Vec<Vec<u8>>>,
    pub(crate) callbacks_one: Vec<Vec<u8>>,
    pub(crate) callbacks_many: Vec<Vec<Vec<u8>>>,
}

pub(crate) fn batch_of(i: usize) -> String {
    format!("BENCHBATCH{:016}", i / 100)
}

pub(crate) fn recipient_of(i: usize) -> String {
    format!("1555{:07}", i)
}

impl Plan {
    /// Messages 0..n: registered; the first fifth get their callbacks on one
    /// connection, the rest over `c`. Each gets Dispatched and Delivered;
    /// every 20th gets them in the wrong order (late Dispatched), every 20th
    /// (offset) gets its Delivered sent twice (a Sinch retry).
    pub(crate) fn new(n: usize, c: usize) -> Plan {
        let auth = vec![
            ("Authorization".to_string(), format!("Bearer {TOKEN}")),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        // Registered as an application registers a batch: many messages
        // per request (one write each), spread over the connections.
        let mut registrations = vec![Vec::new(); c];
        let messages: Vec<_> = (0..n)
            .map(|i| json!({"to": format!("+{}", recipient_of(i)), "batch_id": batch_of(i), "client_reference": REFERENCE}))
            .collect();
        for (k, bulk) in messages.chunks(REGISTER_PER_REQUEST).enumerate() {
            let body = json!({ "messages": bulk });
            registrations[k % c].push(load::build(
                "POST",
                "/api/messages",
                &auth,
                body.to_string().as_bytes(),
            ));
        }
        let one = n / 5;
        Plan {
            registrations,
            callbacks_one: (0..one).flat_map(callbacks_for).collect(),
            callbacks_many: spread(one..n, c),
        }
    }

    pub(crate) fn callback_count(&self) -> usize {
        self.callbacks_one.len() + self.callbacks_many.iter().map(Vec::len).sum::<usize>()
    }
}

/// The callbacks of messages `range` over `c` connections (each message's
/// on one connection, in order).
pub(crate) fn spread(range: std::ops::Range<usize>, c: usize) -> Vec<Vec<Vec<u8>>> {
    let mut per_connection = vec![Vec::new(); c];
    for i in range {
        per_connection[i % c].extend(callbacks_for(i));
    }
    per_connection
}

/// Message i's recipient delivery report, as Sinch sends it.
pub(crate) fn report_body(i: usize, status: &str, code: i64, at: &str) -> String {
    format!(
        r#"{{"at":"{at}","batch_id":"{}","code":{code},"recipient":"{}","status":"{status}","type":"recipient_delivery_report_sms"}}"#,
        batch_of(i),
        recipient_of(i)
    )
}

pub(crate) fn callbacks_for(i: usize) -> Vec<Vec<u8>> {
    let report =
        |status: &str, code: i64, at: &str| signed(report_body(i, status, code, at).as_bytes());
    let dispatched = report("Dispatched", 401, "2025-03-02T10:15:30.120Z");
    let delivered = report("Delivered", 0, "2025-03-02T10:15:41.002Z");
    match i % 20 {
        7 => vec![delivered, dispatched],
        13 => vec![dispatched, delivered.clone(), delivered],
        _ => vec![dispatched, delivered],
    }
}

pub(crate) fn signed(body: &[u8]) -> Vec<u8> {
    let (nonce, ts) = ("01JBENCHNONCE000000000000", "1740910531");
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "x-sinch-webhook-signature".to_string(),
            sinch_dlr::auth::sign(SECRET, body, nonce, ts),
        ),
        (
            "x-sinch-webhook-signature-nonce".to_string(),
            nonce.to_string(),
        ),
        (
            "x-sinch-webhook-signature-timestamp".to_string(),
            ts.to_string(),
        ),
        (
            "x-sinch-webhook-signature-algorithm".to_string(),
            "HmacSHA256".to_string(),
        ),
    ];
    load::build("POST", "/api/sinchCallbacks", &headers, body)
}
