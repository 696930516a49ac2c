//! What one table row holds, and how it is encoded: JSON bytes with a
//! version field `v`, decoded with `Result` (a bad row is an error, never a
//! panic in a worker). Times are UTC microseconds (`clock::Micros`).
//!
//! New optional fields may be added with `#[serde(default)]` without a
//! schema bump; anything else bumps `tables::SCHEMA_VERSION`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::StoreError;
use crate::clock::{Micros, format_rfc3339};

pub const RECORD_VERSION: u32 = 1;

fn v1() -> u32 {
    RECORD_VERSION
}

/// The latest status of a message, as decided by the store's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub status: String,
    pub code: i64,
    pub at: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub id: u64,
    /// The number as the application sent it (or as Sinch reported it for a
    /// discovered message); for display.
    pub to: String,
    /// Digits only: the matching key.
    pub recipient: String,
    pub batch_id: String,
    pub client_reference: Option<String>,
    pub body: Option<String>,
    pub sent_at: Option<Micros>,
    /// When the application registered it; None = discovered from a callback.
    pub registered_at: Option<Micros>,
    pub created_at: Micros,
    /// The earliest `at` of its status updates.
    #[serde(default)]
    pub first_at: Option<Micros>,
    pub latest: Option<Latest>,
    #[serde(default)]
    pub status_conflict: bool,
    /// (status, code) pairs already stored: the duplicate rule's memory.
    #[serde(default)]
    pub seen: Vec<(String, i64)>,
    /// Number of status updates stored; the next one gets `update_count + 1`.
    #[serde(default)]
    pub update_count: u32,
}

/// Where a status update came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A per-recipient delivery report callback.
    Callback,
    /// A recipient listed in a batch-level (`full`) report.
    BatchReport,
    /// Learned by asking Sinch's API.
    Reconcile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub status: String,
    pub code: i64,
    pub at: Micros,
    pub operator_status_at: Option<Micros>,
    pub received_at: Micros,
    pub source: Source,
    /// The callback type (`recipient_delivery_report_sms`, ...).
    pub kind: String,
    /// The exact body as received (per-recipient reports).
    pub raw: Option<String>,
    /// The batch report this came from (batch-level reports keep the raw
    /// body once, there).
    pub batch_report_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReportRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub id: u64,
    pub batch_id: String,
    pub kind: String,
    pub client_reference: Option<String>,
    pub total_message_count: Option<u64>,
    pub statuses: Value,
    pub received_at: Micros,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub id: u64,
    pub sinch_id: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub body: Value,
    pub received_at: Micros,
    pub sent_at: Option<Micros>,
    pub operator_id: Option<String>,
    pub client_reference: Option<String>,
    pub stored_at: Micros,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub id: u64,
    pub reason: String,
    pub received_at: Micros,
    /// The body, when it is UTF-8.
    pub raw: Option<String>,
    /// The body in base64, when it is not.
    pub raw_base64: Option<String>,
}

pub fn encode(record: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(record).expect("records always serialise")
}

pub fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))
}

fn time(t: Option<Micros>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_rfc3339(t)))
}

/// The API shape of one message with its history (oldest first).
pub fn message_json(m: &MessageRecord, updates: &[UpdateRecord]) -> Value {
    let latest = m.latest.as_ref();
    json!({
        "id": m.id,
        "to": m.to,
        "recipient": m.recipient,
        "batch_id": m.batch_id,
        "client_reference": m.client_reference,
        "body": m.body,
        "sent_at": time(m.sent_at),
        "registered_at": time(m.registered_at),
        "created_at": time(Some(m.created_at)),
        "discovered": m.registered_at.is_none(),
        "latest_status": latest.map(|l| l.status.as_str()),
        "latest_status_code": latest.map(|l| l.code),
        "latest_status_at": time(latest.map(|l| l.at)),
        "status_conflict": m.status_conflict,
        "status_updates": updates.iter().map(update_json).collect::<Vec<_>>(),
    })
}

fn update_json(u: &UpdateRecord) -> Value {
    json!({
        "status": u.status,
        "code": u.code,
        "at": time(Some(u.at)),
        "operator_status_at": time(u.operator_status_at),
        "received_at": time(Some(u.received_at)),
        "source": u.source,
        "type": u.kind,
    })
}

pub fn inbound_json(r: &InboundRecord) -> Value {
    json!({
        "id": r.id,
        "sinch_id": r.sinch_id,
        "type": r.kind,
        "from": r.from,
        "to": r.to,
        "body": r.body,
        "received_at": time(Some(r.received_at)),
        "sent_at": time(r.sent_at),
        "operator_id": r.operator_id,
        "client_reference": r.client_reference,
        "stored_at": time(Some(r.stored_at)),
    })
}

pub fn batch_report_json(r: &BatchReportRecord) -> Value {
    json!({
        "id": r.id,
        "type": r.kind,
        "client_reference": r.client_reference,
        "total_message_count": r.total_message_count,
        "statuses": r.statuses,
        "received_at": time(Some(r.received_at)),
    })
}

pub fn quarantine_json(r: &QuarantineRecord) -> Value {
    json!({
        "id": r.id,
        "reason": r.reason,
        "received_at": time(Some(r.received_at)),
        "raw": r.raw,
        "raw_base64": r.raw_base64,
    })
}
