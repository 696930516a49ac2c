//! What each kind of callback stores: per-recipient reports become status
//! updates of their message, batch-level reports are kept once and update
//! every recipient they list, inbound messages are kept once per Sinch id,
//! and unusable bodies go to quarantine. The message rules themselves
//! (discovery, duplicates, latest status) are in apply.rs.

use redb::ReadableTable;
use serde_json::json;

use super::apply::{NewUpdate, Tx};
use super::events::EventType;
use super::record::*;
use super::tables::*;
use super::view::{BatchReportView, InboundView};
use super::{CallbackResult, StoreError, phone};
use crate::clock::{Micros, format_rfc3339};
use crate::sinch::{BatchReport, Callback, Inbound, RecipientReport};

impl Tx<'_> {
    pub(super) fn callback(
        &mut self,
        cb: &Callback,
        raw: &[u8],
        received_at: Micros,
    ) -> Result<CallbackResult, StoreError> {
        match cb {
            Callback::Recipient(r) => self.recipient_report(r, raw, received_at, Source::Callback),
            Callback::Batch(b) => self.batch_report(b, raw, received_at),
            Callback::Inbound(mo) => self.inbound(mo, raw, received_at),
            Callback::Unknown { kind } => {
                // Kept raw so a newer version can use it (quarantine retry).
                self.quarantine(raw, &format!("unknown callback type {kind:?}"), received_at)?;
                Ok(CallbackResult::Ignored)
            }
        }
    }

    pub(super) fn recipient_report(
        &mut self,
        r: &RecipientReport,
        raw: &[u8],
        received_at: Micros,
        source: Source,
    ) -> Result<CallbackResult, StoreError> {
        let mut m = self.find_or_discover(&r.batch_id, &r.recipient, received_at)?;
        self.fill_client_reference(&mut m, r.client_reference.as_deref())?;
        let update = NewUpdate {
            status: &r.status,
            code: r.code,
            at: r.at,
            operator_status_at: r.operator_status_at,
            received_at,
            source,
            kind: &r.kind,
            raw: Some(String::from_utf8_lossy(raw).into_owned()),
            batch_report_id: None,
        };
        let stored = self.add_update(&mut m, update)?;
        self.save(&m, stored.then_some(EventType::MessageStatusUpdated))?;
        Ok(if stored {
            CallbackResult::Stored
        } else {
            CallbackResult::Duplicate
        })
    }

    /// A batch-level report is kept once (Sinch retries resend the same
    /// bytes); listed recipients each get a status update at receive time,
    /// since the report carries no timestamp (docs/sinch.md#batch-reports).
    fn batch_report(
        &mut self,
        b: &BatchReport,
        raw: &[u8],
        received_at: Micros,
    ) -> Result<CallbackResult, StoreError> {
        let raw = String::from_utf8_lossy(raw).into_owned();
        if self.batch_report_exists(&b.batch_id, &raw)? {
            return Ok(CallbackResult::Duplicate);
        }
        let id = self.next_id(NEXT_BATCH_REPORT_ID)?;
        let record = batch_report_record(id, b, raw, received_at);
        self.batch_reports
            .open()?
            .insert((b.batch_id.as_str(), id), encode(&record).as_slice())?;
        self.batch_reports_by_time
            .open()?
            .insert((received_at, id), b.batch_id.as_str())?;
        let batch_report = BatchReportView::new(&record);
        self.emit(
            EventType::BatchReportReceived,
            &json!({ "batch_report": batch_report }),
        )?;
        self.apply_batch_report(b, id, received_at)?;
        Ok(CallbackResult::Stored)
    }

    /// Each recipient a batch report lists gets the report's status.
    fn apply_batch_report(
        &mut self,
        b: &BatchReport,
        id: u64,
        received_at: Micros,
    ) -> Result<(), StoreError> {
        for s in &b.statuses {
            for recipient in s.recipients.iter().flatten() {
                let mut m = self.find_or_discover(&b.batch_id, recipient, received_at)?;
                self.fill_client_reference(&mut m, b.client_reference.as_deref())?;
                let update = NewUpdate {
                    status: &s.status,
                    code: s.code,
                    at: received_at,
                    operator_status_at: None,
                    received_at,
                    source: Source::BatchReport,
                    kind: &b.kind,
                    raw: None,
                    batch_report_id: Some(id),
                };
                let stored = self.add_update(&mut m, update)?;
                self.save(&m, stored.then_some(EventType::MessageStatusUpdated))?;
            }
        }
        Ok(())
    }

    fn batch_report_exists(&mut self, batch_id: &str, raw: &str) -> Result<bool, StoreError> {
        for row in self
            .batch_reports
            .open()?
            .range((batch_id, 0)..=(batch_id, u64::MAX))?
        {
            let record: BatchReportRecord = decode("batch_reports", row?.1.value())?;
            if record.raw == raw {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn inbound(
        &mut self,
        mo: &Inbound,
        raw: &[u8],
        received_at: Micros,
    ) -> Result<CallbackResult, StoreError> {
        if self
            .inbound_by_sinch_id
            .open()?
            .get(mo.sinch_id.as_str())?
            .is_some()
        {
            return Ok(CallbackResult::Duplicate);
        }
        let id = self.next_id(NEXT_INBOUND_ID)?;
        let record = InboundRecord {
            v: RECORD_VERSION,
            id,
            sinch_id: mo.sinch_id.clone(),
            kind: mo.kind.clone(),
            from: mo.from.clone(),
            to: mo.to.clone(),
            body: mo.body.clone(),
            received_at: mo.received_at,
            sent_at: mo.sent_at,
            operator_id: mo.operator_id.clone(),
            client_reference: mo.client_reference.clone(),
            stored_at: received_at,
            raw: String::from_utf8_lossy(raw).into_owned(),
        };
        self.inbound
            .open()?
            .insert(id, encode(&record).as_slice())?;
        self.inbound_by_sinch_id
            .open()?
            .insert(mo.sinch_id.as_str(), id)?;
        self.inbound_by_time.open()?.insert((received_at, id), ())?;
        self.inbound_by_from
            .open()?
            .insert((phone::digits(&mo.from).as_str(), received_at, id), ())?;
        self.inbound_by_to
            .open()?
            .insert((phone::digits(&mo.to).as_str(), received_at, id), ())?;
        let inbound = InboundView::new(&record);
        self.emit(EventType::InboundReceived, &json!({ "inbound": inbound }))?;
        Ok(CallbackResult::Stored)
    }

    pub(super) fn quarantine(
        &mut self,
        raw: &[u8],
        reason: &str,
        received_at: Micros,
    ) -> Result<(), StoreError> {
        let id = self.next_id(NEXT_QUARANTINE_ID)?;
        let (text, b64) = match std::str::from_utf8(raw) {
            Ok(s) => (Some(s.to_string()), None),
            Err(_) => {
                use base64::Engine;
                (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(raw)),
                )
            }
        };
        let record = QuarantineRecord {
            v: RECORD_VERSION,
            id,
            reason: reason.to_string(),
            received_at,
            raw: text,
            raw_base64: b64,
        };
        self.quarantine
            .open()?
            .insert(id, encode(&record).as_slice())?;
        // The reason, never the body (it may be anything anyone sent).
        let quarantine = json!({
            "id": id,
            "reason": reason,
            "received_at": format_rfc3339(received_at),
        });
        self.emit(
            EventType::CallbackQuarantined,
            &json!({ "quarantine": quarantine }),
        )?;
        Ok(())
    }
}

/// The stored form of a batch report: its counts, and the bytes as received.
fn batch_report_record(
    id: u64,
    b: &BatchReport,
    raw: String,
    received_at: Micros,
) -> BatchReportRecord {
    let statuses = b
        .statuses
        .iter()
        .map(|s| StatusCount {
            status: s.status.clone(),
            code: s.code,
            count: s.count,
            recipients: s.recipients.clone(),
        })
        .collect();
    BatchReportRecord {
        v: RECORD_VERSION,
        id,
        batch_id: b.batch_id.clone(),
        kind: b.kind.clone(),
        client_reference: b.client_reference.clone(),
        total_message_count: b.total_message_count,
        statuses,
        received_at,
        raw,
    }
}
