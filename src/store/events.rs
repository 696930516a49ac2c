//! The event log: every stored change appends one event in the same
//! transaction as the change itself, so nothing acknowledged is missing
//! from the log and nothing is in it that was not stored. `seq` (the
//! cursor) grows by one per event and is never reused; `id` adds the
//! file's random log id, so ids stay unique across several boxes.
//! Duplicates store nothing and so append nothing.

use redb::{ReadTransaction, ReadableTable};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::StoreError;
use super::read;
use super::record::{MessageRecord, decode};
use super::tables::{EVENTS, STATUS_UPDATES};
use super::view::{MessageView, UpdateView};
use crate::clock::{Micros, format_rfc3339};

/// What happened; the dotted names are the wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    MessageRegistered,
    MessageStatusUpdated,
    InboundReceived,
    BatchReportReceived,
    CallbackQuarantined,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::MessageRegistered,
        EventType::MessageStatusUpdated,
        EventType::InboundReceived,
        EventType::BatchReportReceived,
        EventType::CallbackQuarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageRegistered => "message.registered",
            EventType::MessageStatusUpdated => "message.status_updated",
            EventType::InboundReceived => "inbound.received",
            EventType::BatchReportReceived => "batch_report.received",
            EventType::CallbackQuarantined => "callback.quarantined",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The wire names, comma-separated (for error messages).
    pub fn names() -> String {
        EventType::ALL.map(EventType::as_str).join(", ")
    }
}

/// One row of EVENTS: the data is kept as the JSON it will be sent as.
#[derive(Serialize, Deserialize)]
pub(super) struct EventRecord {
    pub v: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Micros,
    /// The data as sent (inbound, batch report, quarantine events).
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
    /// `message.*` events: the message record as it was; the data is made
    /// from it when read (`message_data`).
    #[serde(default)]
    pub message: Option<MessageRecord>,
}

/// An event as the API, the stream and webhooks show it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub seq: u64,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    pub data: Box<RawValue>,
    /// `timestamp` as a number (lag).
    #[serde(skip)]
    pub at: Micros,
}

/// The body of a webhook delivery (Standard Webhooks: type, timestamp, data).
#[derive(Serialize)]
struct WebhookBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: &'a str,
    data: &'a RawValue,
}

impl EventView {
    pub fn webhook_body(&self) -> Vec<u8> {
        serde_json::to_vec(&WebhookBody {
            kind: &self.kind,
            timestamp: &self.timestamp,
            data: &self.data,
        })
        .expect("events always serialise")
    }
}

/// `data` of `message.registered` (no update) and
/// `message.status_updated`: the update and the message after it.
#[derive(Serialize)]
struct MessageEvent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<&'a UpdateView>,
    pub message: &'a MessageView,
}

/// The data of a `message.*` event: the message as the API shows it with
/// its history up to this event (update rows are never changed, only
/// added), and for `message.status_updated` the update itself (the last of
/// them). If retention removed the message's updates, the history shows
/// what is left.
fn message_data(
    updates: &impl ReadableTable<(u64, u32), &'static [u8]>,
    kind: &str,
    m: &MessageRecord,
) -> Result<Box<RawValue>, StoreError> {
    let history = read::updates_without_raw(updates, m.id, m.update_count)?;
    let message = MessageView::full(m, &history);
    let update = match kind {
        "message.status_updated" => history.last().map(UpdateView::new),
        _ => None,
    };
    let data = MessageEvent {
        update: update.as_ref(),
        message: &message,
    };
    Ok(serde_json::value::to_raw_value(&data).expect("views always serialise"))
}

/// The event id: the file's log id and the seq.
pub fn event_id(log_id: u64, seq: u64) -> String {
    format!("evt_{log_id:016x}_{seq}")
}

/// A page of the log.
#[derive(Debug, Serialize)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// The cursor for the next call: the last event looked at (returned or
    /// skipped by the type filter), or `after` when there was none.
    pub next_after: u64,
    /// The oldest event still kept (0: the log is empty); an `after` below
    /// `oldest_seq - 1` means retention removed events in between.
    pub oldest_seq: u64,
    /// The newest seq this log has given (0: none yet). An `after` beyond
    /// it came from another log, or from before a restore.
    #[serde(skip)]
    pub last_seq: u64,
}

/// Events after `after`, oldest first: at most `limit` of the wanted types,
/// looking at no more than `scan` rows (so a filter that matches little
/// still answers quickly; the cursor moves past what was looked at).
pub(super) fn page(
    txn: &ReadTransaction,
    log_id: u64,
    after: u64,
    limit: usize,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<EventPage, StoreError> {
    let table = txn.open_table(EVENTS)?;
    let updates = txn.open_table(STATUS_UPDATES)?;
    let scan = limit.saturating_mul(20).max(1000);
    let mut events = Vec::new();
    let mut next_after = after;
    for row in table.range(after.saturating_add(1)..)?.take(scan) {
        let (seq, value) = row?;
        let seq = seq.value();
        let record: EventRecord = decode("events", value.value())?;
        next_after = seq;
        if wanted(&record.kind) {
            let data = match (record.data, &record.message) {
                (Some(data), _) => data,
                (None, Some(m)) => message_data(&updates, &record.kind, m)?,
                (None, None) => {
                    return Err(StoreError::Corrupt(format!("events: {seq} has no data")));
                }
            };
            events.push(EventView {
                seq,
                id: event_id(log_id, seq),
                kind: record.kind,
                timestamp: format_rfc3339(record.at),
                data,
                at: record.at,
            });
            if events.len() == limit {
                break;
            }
        }
    }
    let oldest_seq = oldest_seq(txn)?;
    let (_, last_seq) = read::event_log(txn)?;
    Ok(EventPage {
        events,
        next_after,
        oldest_seq,
        last_seq,
    })
}

/// The oldest event still kept (0: the log is empty).
pub(super) fn oldest_seq(txn: &ReadTransaction) -> Result<u64, StoreError> {
    Ok(txn
        .open_table(EVENTS)?
        .first()?
        .map_or(0, |(k, _)| k.value()))
}
