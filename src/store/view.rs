//! What the store hands out: typed views of its records, in the API's
//! shape. The JSON API serialises them (field order = key order), the CLI
//! deserialises a daemon's answer into them, and exports, CLI tables and
//! the dashboard render from them. Times are the RFC 3339 strings the API
//! prints (`clock::format_rfc3339`), filled in by the constructors.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::record::*;
use crate::clock::{Micros, format_rfc3339};
use crate::sinch::Status;

fn time(t: Option<Micros>) -> Option<String> {
    t.map(format_rfc3339)
}

/// One message: with its history (`status_updates`, oldest first) or, in
/// lists, as a summary (`update_count` instead of the history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: u64,
    pub to: String,
    pub recipient: String,
    pub batch_id: String,
    pub client_reference: Option<String>,
    pub body: Option<String>,
    pub sent_at: Option<String>,
    pub registered_at: Option<String>,
    pub created_at: String,
    pub discovered: bool,
    pub latest_status: Option<Status>,
    pub latest_status_code: Option<i64>,
    pub latest_status_at: Option<String>,
    pub status_conflict: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_updates: Option<Vec<UpdateView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_count: Option<u32>,
    /// When delivery feedback was given to Sinch for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback_at: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateView {
    pub status: Status,
    pub code: i64,
    pub at: String,
    pub operator_status_at: Option<String>,
    pub received_at: String,
    pub source: Source,
    #[serde(rename = "type")]
    pub kind: String,
    /// The callback body as received; only on the dashboard's message page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl MessageView {
    /// The message with its whole history (oldest first).
    pub fn full(m: &MessageRecord, updates: &[UpdateRecord]) -> MessageView {
        MessageView {
            status_updates: Some(updates.iter().map(UpdateView::new).collect()),
            ..MessageView::summary(m)
        }
        .without_count()
    }

    /// The message without its history; `update_count` says how long it is.
    pub fn summary(m: &MessageRecord) -> MessageView {
        let latest = m.latest.as_ref();
        MessageView {
            id: m.id,
            to: m.to.clone(),
            recipient: m.recipient.clone(),
            batch_id: m.batch_id.clone(),
            client_reference: m.client_reference.clone(),
            body: m.body.clone(),
            sent_at: time(m.sent_at),
            registered_at: time(m.registered_at),
            created_at: format_rfc3339(m.created_at),
            discovered: m.registered_at.is_none(),
            latest_status: latest.map(|l| l.status.clone()),
            latest_status_code: latest.map(|l| l.code),
            latest_status_at: time(latest.map(|l| l.at)),
            status_conflict: m.status_conflict,
            status_updates: None,
            update_count: Some(m.update_count),
            feedback_at: m.feedback.iter().copied().map(format_rfc3339).collect(),
        }
    }

    fn without_count(self) -> MessageView {
        MessageView {
            update_count: None,
            ..self
        }
    }

    /// How many status updates it has (summary or full).
    pub fn update_count(&self) -> Option<u64> {
        self.update_count
            .map(u64::from)
            .or_else(|| self.status_updates.as_ref().map(|u| u.len() as u64))
    }

    /// One field as a table cell (CSV, CLI tables, dashboard).
    pub fn cell(&self, field: Field) -> Cell<'_> {
        use Field::*;
        match field {
            Id => Cell::UInt(self.id),
            To => Cell::Text(&self.to),
            Recipient => Cell::Text(&self.recipient),
            BatchId => Cell::Text(&self.batch_id),
            ClientReference => Cell::from(&self.client_reference),
            Body => Cell::from(&self.body),
            LatestStatus => self.latest_status.as_ref().map_or(Cell::Null, Cell::from),
            LatestStatusCode => self.latest_status_code.map_or(Cell::Null, Cell::Int),
            LatestStatusAt => Cell::from(&self.latest_status_at),
            StatusConflict => Cell::Bool(self.status_conflict),
            Discovered => Cell::Bool(self.discovered),
            SentAt => Cell::from(&self.sent_at),
            RegisteredAt => Cell::from(&self.registered_at),
            CreatedAt => Cell::Text(&self.created_at),
            UpdateCount => self.update_count().map_or(Cell::Null, Cell::UInt),
        }
    }
}

impl UpdateView {
    pub(super) fn new(u: &UpdateRecord) -> UpdateView {
        UpdateView {
            status: u.status.clone(),
            code: u.code,
            at: format_rfc3339(u.at),
            operator_status_at: time(u.operator_status_at),
            received_at: format_rfc3339(u.received_at),
            source: u.source,
            kind: u.kind.clone(),
            raw: None,
        }
    }
}

/// A message's scalar fields, by their API key; what tables pick columns
/// from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    To,
    Recipient,
    BatchId,
    ClientReference,
    Body,
    LatestStatus,
    LatestStatusCode,
    LatestStatusAt,
    StatusConflict,
    Discovered,
    SentAt,
    RegisteredAt,
    CreatedAt,
    UpdateCount,
}

impl Field {
    /// The field's JSON key (also the CSV column name).
    pub fn name(self) -> &'static str {
        use Field::*;
        match self {
            Id => "id",
            To => "to",
            Recipient => "recipient",
            BatchId => "batch_id",
            ClientReference => "client_reference",
            Body => "body",
            LatestStatus => "latest_status",
            LatestStatusCode => "latest_status_code",
            LatestStatusAt => "latest_status_at",
            StatusConflict => "status_conflict",
            Discovered => "discovered",
            SentAt => "sent_at",
            RegisteredAt => "registered_at",
            CreatedAt => "created_at",
            UpdateCount => "update_count",
        }
    }
}

/// The CSV columns of a message, in order (exports and `--format csv`).
pub const CSV_FIELDS: [Field; 14] = [
    Field::Id,
    Field::To,
    Field::Recipient,
    Field::BatchId,
    Field::ClientReference,
    Field::Body,
    Field::LatestStatus,
    Field::LatestStatusCode,
    Field::LatestStatusAt,
    Field::StatusConflict,
    Field::SentAt,
    Field::RegisteredAt,
    Field::CreatedAt,
    Field::UpdateCount,
];

/// One value to show: text, a number, a flag, or nothing. Each renderer
/// decides how (CSV neutralises text, HTML escapes it, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    UInt(u64),
    /// Printed as JSON prints it (`24.0`, not `24`).
    Float(f64),
    Bool(bool),
}

impl<'a> From<&'a Option<String>> for Cell<'a> {
    fn from(v: &'a Option<String>) -> Cell<'a> {
        v.as_deref().map_or(Cell::Null, Cell::Text)
    }
}

impl<'a> From<&'a Status> for Cell<'a> {
    fn from(v: &'a Status) -> Cell<'a> {
        Cell::Text(v.as_str())
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Cell<'a> {
        Cell::Text(v)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(v: &'a String) -> Cell<'a> {
        Cell::Text(v)
    }
}

impl From<Option<i64>> for Cell<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Cell::Null, Cell::Int)
    }
}

impl From<Option<f64>> for Cell<'_> {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Null, Cell::Float)
    }
}

impl From<f64> for Cell<'_> {
    fn from(v: f64) -> Self {
        Cell::Float(v)
    }
}

impl From<i64> for Cell<'_> {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<u64> for Cell<'_> {
    fn from(v: u64) -> Self {
        Cell::UInt(v)
    }
}

impl From<bool> for Cell<'_> {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}

impl Cell<'_> {
    /// Numbers and flags as JSON prints them; None for null and text.
    pub fn plain(self) -> Option<String> {
        match self {
            Cell::Int(n) => Some(n.to_string()),
            Cell::UInt(n) => Some(n.to_string()),
            Cell::Float(n) => Some(serde_json::to_string(&n).expect("numbers serialise")),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Null | Cell::Text(_) => None,
        }
    }
}

/// An inbound (MO) message; `raw` (the exact body) only when asked for one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundView {
    pub id: u64,
    pub sinch_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub from: String,
    pub to: String,
    /// Text (mo_text), base64 (mo_binary) or an object (mo_media), as Sinch
    /// sent it.
    pub body: Value,
    pub received_at: String,
    pub sent_at: Option<String>,
    pub operator_id: Option<String>,
    pub client_reference: Option<String>,
    pub stored_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl InboundView {
    pub fn new(r: &InboundRecord) -> InboundView {
        InboundView {
            id: r.id,
            sinch_id: r.sinch_id.clone(),
            kind: r.kind.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            body: r.body.clone(),
            received_at: format_rfc3339(r.received_at),
            sent_at: time(r.sent_at),
            operator_id: r.operator_id.clone(),
            client_reference: r.client_reference.clone(),
            stored_at: format_rfc3339(r.stored_at),
            raw: None,
        }
    }

    /// With the exact body as received.
    pub fn with_raw(r: &InboundRecord) -> InboundView {
        InboundView {
            raw: Some(r.raw.clone()),
            ..InboundView::new(r)
        }
    }
}

/// A batch-level delivery report as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReportView {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub client_reference: Option<String>,
    pub total_message_count: Option<u64>,
    pub statuses: Vec<StatusCount>,
    pub received_at: String,
}

impl BatchReportView {
    pub fn new(r: &BatchReportRecord) -> BatchReportView {
        BatchReportView {
            id: r.id,
            kind: r.kind.clone(),
            client_reference: r.client_reference.clone(),
            total_message_count: r.total_message_count,
            statuses: r.statuses.clone(),
            received_at: format_rfc3339(r.received_at),
        }
    }
}

/// An authenticated body that could not be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineView {
    pub id: u64,
    pub reason: String,
    pub received_at: String,
    pub raw: Option<String>,
    pub raw_base64: Option<String>,
}

impl QuarantineView {
    pub fn new(r: &QuarantineRecord) -> QuarantineView {
        QuarantineView {
            id: r.id,
            reason: r.reason.clone(),
            received_at: format_rfc3339(r.received_at),
            raw: r.raw.clone(),
            raw_base64: r.raw_base64.clone(),
        }
    }
}

/// A batch: its messages (summaries, newest first), counts by latest
/// status (`none` = no report yet) and its batch-level reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchView {
    pub batch_id: String,
    pub message_count: usize,
    pub counts: BTreeMap<String, u64>,
    pub messages: Vec<MessageView>,
    pub batch_reports: Vec<BatchReportView>,
}

#[cfg(test)]
mod tests;
