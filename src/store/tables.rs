//! Every redb table, in one place. The name strings are on-disk schema:
//! never rename one in place; add a table, bump `SCHEMA_VERSION` and migrate.
//!
//! Values are versioned JSON bytes (see record.rs), decoded with `Result`
//! in this module's callers, never through a panicking `Value::from_bytes`.
//! Secondary indexes end in (time, id) so a range over one key is already
//! in newest-first order when read backwards, and a cursor is just the
//! (time, id) of the last row returned.

use redb::TableDefinition;

/// Message id -> `MessageRecord`.
pub const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");
/// (message id, seq) -> `UpdateRecord`; seq starts at 1 per message.
pub const STATUS_UPDATES: TableDefinition<(u64, u32), &[u8]> =
    TableDefinition::new("status_updates");
/// (batch_id, recipient digits) -> message id: the matching key.
pub const BY_BATCH_RECIPIENT: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("by_batch_recipient");
/// (created_at, message id): every message in time order.
pub const BY_CREATED: TableDefinition<(i64, u64), ()> = TableDefinition::new("by_created");
/// (recipient digits, created_at, message id).
pub const BY_RECIPIENT: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("by_recipient");
/// (client_reference, created_at, message id).
pub const BY_CLIENT_REFERENCE: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("by_client_reference");
/// (latest status, created_at, message id).
pub const BY_LATEST_STATUS: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("by_latest_status");
/// (created_at, message id) for messages with no final status yet: what
/// reconciliation and the stale report walk, oldest first.
pub const BY_PENDING: TableDefinition<(i64, u64), ()> = TableDefinition::new("by_pending");
/// (batch_id, report id) -> `BatchReportRecord` (batch-level reports).
pub const BATCH_REPORTS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("batch_reports");
/// (received_at, report id) -> batch_id, for retention.
pub const BATCH_REPORTS_BY_TIME: TableDefinition<(i64, u64), &str> =
    TableDefinition::new("batch_reports_by_time");
/// Inbound id -> `InboundRecord`.
pub const INBOUND: TableDefinition<u64, &[u8]> = TableDefinition::new("inbound");
/// Sinch's MO id -> inbound id (retries of one MO are stored once).
pub const INBOUND_BY_SINCH_ID: TableDefinition<&str, u64> =
    TableDefinition::new("inbound_by_sinch_id");
/// (stored_at, inbound id).
pub const INBOUND_BY_TIME: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("inbound_by_time");
/// (sender digits, stored_at, inbound id).
pub const INBOUND_BY_FROM: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("inbound_by_from");
/// (recipient digits, stored_at, inbound id).
pub const INBOUND_BY_TO: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("inbound_by_to");
/// Quarantine id -> `QuarantineRecord`.
pub const QUARANTINE: TableDefinition<u64, &[u8]> = TableDefinition::new("quarantine");
/// seq -> `EventRecord` (events.rs): the ordered event log.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Endpoint id -> `EndpointRecord` (endpoints.rs): webhook endpoints.
pub const ENDPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("endpoints");
/// Scratch space for the writability probe after a failed commit; empty
/// between probes.
pub const PROBE: TableDefinition<&str, &[u8]> = TableDefinition::new("probe");
/// Name -> number: schema version, id counters, and running counts
/// (`messages`, `status:<latest status>`, `callbacks:<result>`).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// 1: the first. 2: the event log (EVENTS, ENDPOINTS, the log id).
pub const SCHEMA_VERSION: u64 = 2;
pub const META_SCHEMA: &str = "schema_version";
pub const NEXT_MESSAGE_ID: &str = "next_message_id";
pub const NEXT_INBOUND_ID: &str = "next_inbound_id";
pub const NEXT_BATCH_REPORT_ID: &str = "next_batch_report_id";
pub const NEXT_QUARANTINE_ID: &str = "next_quarantine_id";
pub const NEXT_ENDPOINT_ID: &str = "next_endpoint_id";
/// The seq the next event gets (never reused, even after retention).
pub const NEXT_EVENT_SEQ: &str = "next_event_seq";
/// A random number made with the log; part of every event id.
pub const EVENT_LOG_ID: &str = "event_log_id";
/// Dashboard sessions signed under an older generation are revoked.
pub const UI_SESSION_GENERATION: &str = "ui_session_generation";
/// Count of messages whose latest status is the suffix ("" = none yet).
pub const STATUS_COUNT_PREFIX: &str = "status:";
/// Count of callbacks by result (stored, duplicate, ...), since the file
/// was created.
pub const CALLBACK_COUNT_PREFIX: &str = "callbacks:";
