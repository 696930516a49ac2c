//! The write rules, applied inside one group transaction:
//! * a callback for an unknown (batch_id, recipient) creates the message
//!   ("discovered"); a later registration fills it in;
//! * duplicate = same message, status and code: stored once;
//! * latest status: newest `at` wins, a final status is never replaced by an
//!   intermediate one, two different finals mark a conflict;
//! * every index row is written with its record.

use redb::{Key, ReadableTable, Table, TableDefinition, Value, WriteTransaction};
use std::collections::BTreeMap;

use super::record::*;
use super::tables::*;
use super::{CallbackResult, Outcome, Registration, StoreError, WriteOp, phone, read};
use crate::clock::{Micros, now_micros};
use crate::sinch::{BatchReport, Callback, Inbound, RecipientReport, is_final};

type Index3 = (&'static str, i64, u64);

/// One group's view of every table. Tables open on first use, so a commit
/// only carries the tables its group touched (each open table costs the
/// commit work even when unchanged). Running counts are summed here and
/// written to META once per group by `finish`.
pub struct Tx<'t> {
    pub(super) messages: Lazy<'t, u64, &'static [u8]>,
    pub(super) updates: Lazy<'t, (u64, u32), &'static [u8]>,
    pub(super) by_batch_recipient: Lazy<'t, (&'static str, &'static str), u64>,
    pub(super) by_created: Lazy<'t, (i64, u64), ()>,
    pub(super) by_client_reference: Lazy<'t, Index3, ()>,
    pub(super) by_recipient: Lazy<'t, Index3, ()>,
    pub(super) by_latest_status: Lazy<'t, Index3, ()>,
    pub(super) by_pending: Lazy<'t, (i64, u64), ()>,
    pub(super) batch_reports: Lazy<'t, (&'static str, u64), &'static [u8]>,
    pub(super) batch_reports_by_time: Lazy<'t, (i64, u64), &'static str>,
    pub(super) inbound: Lazy<'t, u64, &'static [u8]>,
    pub(super) inbound_by_sinch_id: Lazy<'t, &'static str, u64>,
    pub(super) inbound_by_time: Lazy<'t, (i64, u64), ()>,
    pub(super) inbound_by_from: Lazy<'t, Index3, ()>,
    pub(super) inbound_by_to: Lazy<'t, Index3, ()>,
    pub(super) quarantine: Lazy<'t, u64, &'static [u8]>,
    pub(super) meta: Lazy<'t, &'static str, u64>,
    /// Count deltas of this group, by META key (see `count`).
    counts: BTreeMap<String, i64>,
}

/// A table of the group's transaction, opened the first time it is used.
pub struct Lazy<'t, K: Key + 'static, V: Value + 'static> {
    txn: &'t WriteTransaction,
    definition: TableDefinition<'static, K, V>,
    table: Option<Table<'t, K, V>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> Lazy<'t, K, V> {
    fn new(txn: &'t WriteTransaction, definition: TableDefinition<'static, K, V>) -> Self {
        Lazy {
            txn,
            definition,
            table: None,
        }
    }

    pub fn open(&mut self) -> Result<&mut Table<'t, K, V>, StoreError> {
        if self.table.is_none() {
            self.table = Some(self.txn.open_table(self.definition)?);
        }
        Ok(self.table.as_mut().expect("opened above"))
    }
}

/// A status update about to be added to a message.
struct NewUpdate<'a> {
    status: &'a str,
    code: i64,
    at: Micros,
    operator_status_at: Option<Micros>,
    received_at: Micros,
    source: Source,
    kind: &'a str,
    raw: Option<String>,
    batch_report_id: Option<u64>,
}

impl<'t> Tx<'t> {
    pub fn new(txn: &'t WriteTransaction) -> Tx<'t> {
        Tx {
            messages: Lazy::new(txn, MESSAGES),
            updates: Lazy::new(txn, STATUS_UPDATES),
            by_batch_recipient: Lazy::new(txn, BY_BATCH_RECIPIENT),
            by_created: Lazy::new(txn, BY_CREATED),
            by_client_reference: Lazy::new(txn, BY_CLIENT_REFERENCE),
            by_recipient: Lazy::new(txn, BY_RECIPIENT),
            by_latest_status: Lazy::new(txn, BY_LATEST_STATUS),
            by_pending: Lazy::new(txn, BY_PENDING),
            batch_reports: Lazy::new(txn, BATCH_REPORTS),
            batch_reports_by_time: Lazy::new(txn, BATCH_REPORTS_BY_TIME),
            inbound: Lazy::new(txn, INBOUND),
            inbound_by_sinch_id: Lazy::new(txn, INBOUND_BY_SINCH_ID),
            inbound_by_time: Lazy::new(txn, INBOUND_BY_TIME),
            inbound_by_from: Lazy::new(txn, INBOUND_BY_FROM),
            inbound_by_to: Lazy::new(txn, INBOUND_BY_TO),
            quarantine: Lazy::new(txn, QUARANTINE),
            meta: Lazy::new(txn, META),
            counts: BTreeMap::new(),
        }
    }

    /// Writes the group's count changes; call once, after the last op.
    pub fn finish(mut self) -> Result<(), StoreError> {
        for (key, delta) in std::mem::take(&mut self.counts) {
            if delta == 0 {
                continue;
            }
            let meta = self.meta.open()?;
            let now = meta.get(key.as_str())?.map_or(0, |v| v.value());
            match now.saturating_add_signed(delta) {
                0 => meta.remove(key.as_str())?,
                next => meta.insert(key.as_str(), next)?,
            };
        }
        Ok(())
    }

    pub fn apply(&mut self, op: &WriteOp) -> Result<Outcome, StoreError> {
        let outcome = self.apply_op(op)?;
        if let Outcome::Callback(result) = &outcome {
            self.count(&format!("{CALLBACK_COUNT_PREFIX}{}", result.as_str()), 1);
        }
        Ok(outcome)
    }

    fn apply_op(&mut self, op: &WriteOp) -> Result<Outcome, StoreError> {
        match op {
            WriteOp::Register(list) => list
                .iter()
                .map(|r| self.register(r))
                .collect::<Result<_, _>>()
                .map(Outcome::Registered),
            WriteOp::Reconciled {
                report,
                raw,
                received_at,
            } => self
                .recipient_report(report, raw, *received_at, Source::Reconcile)
                .map(Outcome::Callback),
            WriteOp::Callback {
                callback,
                raw,
                received_at,
            } => self
                .callback(callback, raw, *received_at)
                .map(Outcome::Callback),
            WriteOp::Prune { before, limit } => self.prune(*before, *limit).map(Outcome::Pruned),
            WriteOp::RetryQuarantined(id) => self.retry_quarantined(*id).map(Outcome::Retried),
            WriteOp::Quarantine {
                raw,
                reason,
                received_at,
            } => {
                self.quarantine(raw, reason, *received_at)?;
                Ok(Outcome::Callback(CallbackResult::Quarantined))
            }
            WriteOp::EndSessions => {
                let meta = self.meta.open()?;
                let next = meta.get(UI_SESSION_GENERATION)?.map_or(0, |v| v.value()) + 1;
                meta.insert(UI_SESSION_GENERATION, next)?;
                Ok(Outcome::SessionsEnded(next))
            }
        }
    }

    fn next_id(&mut self, counter: &'static str) -> Result<u64, StoreError> {
        let id = self.meta.open()?.get(counter)?.map_or(1, |v| v.value());
        self.meta.open()?.insert(counter, id + 1)?;
        Ok(id)
    }

    fn register(&mut self, r: &Registration) -> Result<(bool, serde_json::Value), StoreError> {
        let recipient = phone::digits(&r.to);
        let now = now_micros();
        let (mut m, created) = match self.find(&r.batch_id, &recipient)? {
            Some(m) => {
                let first = m.registered_at.is_none();
                (m, first)
            }
            None => (self.create(&r.batch_id, &r.to, now)?, true),
        };
        if m.registered_at.is_none() {
            m.registered_at = Some(now);
            m.to = r.to.clone(); // the application's spelling wins for display
        }
        m.body = m.body.or_else(|| r.body.clone());
        m.sent_at = m.sent_at.or(r.sent_at);
        self.fill_client_reference(&mut m, r.client_reference.as_deref())?;
        self.save(&m)?;
        let updates = read::updates_of(self.updates.open()?, m.id)?;
        Ok((created, message_json(&m, &updates)))
    }

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

    fn recipient_report(
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
        self.save(&m)?;
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
        let statuses = serde_json::to_value(
            b.statuses
                .iter()
                .map(|s| serde_json::json!({"status": s.status, "code": s.code, "count": s.count, "recipients": s.recipients}))
                .collect::<Vec<_>>(),
        )
        .expect("plain JSON values");
        let record = BatchReportRecord {
            v: RECORD_VERSION,
            id,
            batch_id: b.batch_id.clone(),
            kind: b.kind.clone(),
            client_reference: b.client_reference.clone(),
            total_message_count: b.total_message_count,
            statuses,
            received_at,
            raw,
        };
        self.batch_reports
            .open()?
            .insert((b.batch_id.as_str(), id), encode(&record).as_slice())?;
        self.batch_reports_by_time
            .open()?
            .insert((received_at, id), b.batch_id.as_str())?;
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
                self.add_update(&mut m, update)?;
                self.save(&m)?;
            }
        }
        Ok(CallbackResult::Stored)
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
        Ok(CallbackResult::Stored)
    }

    fn quarantine(
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
        Ok(())
    }

    fn find(
        &mut self,
        batch_id: &str,
        recipient_digits: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let Some(id) = self
            .by_batch_recipient
            .open()?
            .get((batch_id, recipient_digits))?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let row = self.messages.open()?.get(id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("by_batch_recipient points at missing message {id}"))
        })?;
        decode("messages", row.value()).map(Some)
    }

    fn find_or_discover(
        &mut self,
        batch_id: &str,
        recipient: &str,
        now: Micros,
    ) -> Result<MessageRecord, StoreError> {
        match self.find(batch_id, &phone::digits(recipient))? {
            Some(m) => Ok(m),
            None => self.create(batch_id, recipient, now),
        }
    }

    /// A new message record with its permanent index rows (not yet saved).
    fn create(
        &mut self,
        batch_id: &str,
        to: &str,
        now: Micros,
    ) -> Result<MessageRecord, StoreError> {
        let id = self.next_id(NEXT_MESSAGE_ID)?;
        let recipient = phone::digits(to);
        self.by_batch_recipient
            .open()?
            .insert((batch_id, recipient.as_str()), id)?;
        self.by_created.open()?.insert((now, id), ())?;
        self.by_recipient
            .open()?
            .insert((recipient.as_str(), now, id), ())?;
        self.by_pending.open()?.insert((now, id), ())?;
        self.count(&status_key(None), 1);
        self.count(MESSAGE_COUNT, 1);
        Ok(MessageRecord {
            v: RECORD_VERSION,
            id,
            to: to.to_string(),
            recipient,
            batch_id: batch_id.to_string(),
            client_reference: None,
            body: None,
            sent_at: None,
            registered_at: None,
            created_at: now,
            first_at: None,
            latest: None,
            status_conflict: false,
            seen: Vec::new(),
            update_count: 0,
        })
    }

    fn fill_client_reference(
        &mut self,
        m: &mut MessageRecord,
        reference: Option<&str>,
    ) -> Result<(), StoreError> {
        if let (None, Some(r)) = (&m.client_reference, reference) {
            self.by_client_reference
                .open()?
                .insert((r, m.created_at, m.id), ())?;
            m.client_reference = Some(r.to_string());
        }
        Ok(())
    }

    /// Adds an update unless it is a duplicate; returns whether it was added.
    fn add_update(&mut self, m: &mut MessageRecord, u: NewUpdate<'_>) -> Result<bool, StoreError> {
        if m.seen.iter().any(|(s, c)| s == u.status && *c == u.code) {
            return Ok(false);
        }
        let seq = m.update_count + 1;
        let record = UpdateRecord {
            v: RECORD_VERSION,
            status: u.status.to_string(),
            code: u.code,
            at: u.at,
            operator_status_at: u.operator_status_at,
            received_at: u.received_at,
            source: u.source,
            kind: u.kind.to_string(),
            raw: u.raw,
            batch_report_id: u.batch_report_id,
        };
        self.updates
            .open()?
            .insert((m.id, seq), encode(&record).as_slice())?;
        m.update_count = seq;
        m.first_at = Some(m.first_at.map_or(u.at, |f| f.min(u.at)));
        m.seen.push((record.status.clone(), record.code));
        let candidate = Latest {
            status: record.status,
            code: record.code,
            at: record.at,
        };
        let decision = decide_latest(m.latest.as_ref(), &candidate);
        m.status_conflict |= decision.conflict;
        if decision.replace {
            self.move_latest(m, &candidate)?;
            m.latest = Some(candidate);
        }
        Ok(true)
    }

    /// Keeps the latest-status index, the pending index and the status
    /// counts in step with a new latest status.
    fn move_latest(&mut self, m: &MessageRecord, new: &Latest) -> Result<(), StoreError> {
        let old = m.latest.as_ref().map(|l| l.status.as_str());
        if let Some(old) = old {
            self.by_latest_status
                .open()?
                .remove((old, m.created_at, m.id))?;
        }
        self.by_latest_status
            .open()?
            .insert((new.status.as_str(), m.created_at, m.id), ())?;
        if is_final(&new.status) {
            // No longer waiting; a no-op when it was final already.
            self.by_pending.open()?.remove((m.created_at, m.id))?;
        }
        self.count(&status_key(old), -1);
        self.count(&status_key(Some(&new.status)), 1);
        Ok(())
    }

    /// Adds `delta` to a running count in META (written by `finish`).
    pub(super) fn count(&mut self, key: &str, delta: i64) {
        match self.counts.get_mut(key) {
            Some(d) => *d += delta,
            None => {
                self.counts.insert(key.to_string(), delta);
            }
        }
    }

    fn save(&mut self, m: &MessageRecord) -> Result<(), StoreError> {
        self.messages.open()?.insert(m.id, encode(m).as_slice())?;
        Ok(())
    }
}

pub const MESSAGE_COUNT: &str = "messages";

/// The META key counting messages whose latest status is `status`.
pub fn status_key(status: Option<&str>) -> String {
    format!("{STATUS_COUNT_PREFIX}{}", status.unwrap_or(""))
}

/// What a new status does to the latest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub replace: bool,
    pub conflict: bool,
}

/// The latest-status rule (one place). A final status beats an
/// intermediate one whatever their `at` (operator clocks disagree; the end
/// state is what the user asks about); among equals the newest `at` wins,
/// a tie goes to the later arrival. Two different finals are a conflict.
pub fn decide_latest(current: Option<&Latest>, new: &Latest) -> Decision {
    let Some(cur) = current else {
        return Decision {
            replace: true,
            conflict: false,
        };
    };
    match (is_final(&cur.status), is_final(&new.status)) {
        (true, false) => Decision {
            replace: false,
            conflict: false,
        },
        (false, true) => Decision {
            replace: true,
            conflict: false,
        },
        (both_final, _) => Decision {
            replace: new.at >= cur.at,
            conflict: both_final && cur.status != new.status,
        },
    }
}
