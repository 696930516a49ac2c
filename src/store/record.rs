//! What one table row holds, and how it is encoded: JSON bytes with a
//! version field `v`, decoded with `Result` (a bad row is an error, never a
//! panic in a worker). Times are UTC microseconds (`clock::Micros`).
//!
//! New optional fields may be added with `#[serde(default)]` without a
//! schema bump; anything else bumps `tables::SCHEMA_VERSION`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use crate::clock::Micros;
use crate::sinch::Status;

pub const RECORD_VERSION: u32 = 1;

fn v1() -> u32 {
    RECORD_VERSION
}

/// The latest status of a message, as decided by the store's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub status: Status,
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
    pub seen: Vec<(Status, i64)>,
    /// Number of status updates stored; the next one gets `update_count + 1`.
    #[serde(default)]
    pub update_count: u32,
    /// When the application told Sinch this message was received
    /// (delivery feedback), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<Micros>,
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

impl Source {
    /// Its name in the API (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Callback => "callback",
            Source::BatchReport => "batch_report",
            Source::Reconcile => "reconcile",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub status: Status,
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
    pub statuses: Vec<StatusCount>,
    pub received_at: Micros,
    pub raw: String,
}

/// One line of a batch-level report: how many messages have this status
/// (and code), and which recipients when the report lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: Status,
    pub code: i64,
    pub count: Option<u64>,
    pub recipients: Option<Vec<String>>,
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
