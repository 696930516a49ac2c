//! The write rules, applied inside one group transaction (what each kind
//! of callback stores is in receive.rs):
//! * a callback for an unknown (batch_id, recipient) creates the message
//!   ("discovered"); a later registration fills it in;
//! * duplicate = same message, status and code: stored once;
//! * latest status: newest `at` wins, a final status is never replaced by an
//!   intermediate one, two different finals mark a conflict;
//! * every index row is written with its record.

use redb::{Key, ReadableTable, Table, TableDefinition, Value, WriteTransaction};
use std::collections::BTreeMap;

use super::events::EventType;
use super::record::*;
use super::tables::*;
use super::view::MessageView;
use super::{Registration, StoreError, phone, read};
use crate::clock::{Micros, now_micros};
use crate::sinch::Status;

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
    pub(super) events: Lazy<'t, u64, &'static [u8]>,
    pub(super) endpoints: Lazy<'t, u64, &'static [u8]>,
    /// The seq the group's next event gets (read from META at the first).
    pub(super) next_event_seq: Option<u64>,
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
pub(super) struct NewUpdate<'a> {
    pub status: &'a Status,
    pub code: i64,
    pub at: Micros,
    pub operator_status_at: Option<Micros>,
    pub received_at: Micros,
    pub source: Source,
    pub kind: &'a str,
    pub raw: Option<String>,
    pub batch_report_id: Option<u64>,
}

impl<'t> Tx<'t> {
    pub(super) fn new(txn: &'t WriteTransaction) -> Tx<'t> {
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
            events: Lazy::new(txn, EVENTS),
            endpoints: Lazy::new(txn, ENDPOINTS),
            next_event_seq: None,
            counts: BTreeMap::new(),
        }
    }

    /// Writes the group's count changes and event cursor; call once, after
    /// the last op. Returns the last seq the group appended, if any.
    pub(super) fn finish(mut self) -> Result<Option<u64>, StoreError> {
        let last_event = self.finish_events()?;
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
        Ok(last_event)
    }

    pub(super) fn next_id(&mut self, counter: &'static str) -> Result<u64, StoreError> {
        let id = self.meta.open()?.get(counter)?.map_or(1, |v| v.value());
        self.meta.open()?.insert(counter, id + 1)?;
        Ok(id)
    }

    pub(super) fn register(&mut self, r: &Registration) -> Result<(bool, MessageView), StoreError> {
        let recipient = phone::digits(&r.to);
        let now = now_micros();
        let (mut m, created) = match self.find(&r.batch_id, &recipient)? {
            Some(m) => (m, false),
            None => (self.create(&r.batch_id, &r.to, now)?, true),
        };
        let filled_in = m.registered_at.is_none();
        if m.registered_at.is_none() {
            m.registered_at = Some(now);
            m.to = r.to.clone(); // the application's spelling wins for display
        }
        m.body = m.body.or_else(|| r.body.clone());
        m.sent_at = m.sent_at.or(r.sent_at);
        self.fill_client_reference(&mut m, r.client_reference.as_deref())?;
        self.save(&m, filled_in.then_some(EventType::MessageRegistered))?;
        let view = self.message_view(&m)?;
        Ok((created || filled_in, view))
    }

    /// The message as `GET /api/messages/{id}` shows it, from this
    /// transaction (so with what the group wrote so far).
    pub(super) fn message_view(&mut self, m: &MessageRecord) -> Result<MessageView, StoreError> {
        let updates = read::updates_without_raw(self.updates.open()?, m.id, u32::MAX)?;
        Ok(MessageView::full(m, &updates))
    }

    pub(super) fn find(
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

    pub(super) fn find_or_discover(
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
            feedback: Vec::new(),
        })
    }

    pub(super) fn fill_client_reference(
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
    pub(super) fn add_update(
        &mut self,
        m: &mut MessageRecord,
        u: NewUpdate<'_>,
    ) -> Result<bool, StoreError> {
        if m.seen.iter().any(|(s, c)| s == u.status && *c == u.code) {
            return Ok(false);
        }
        let seq = m.update_count + 1;
        let record = UpdateRecord {
            v: RECORD_VERSION,
            status: u.status.clone(),
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
        if new.status.is_final() {
            // No longer waiting; a no-op when it was final already.
            self.by_pending.open()?.remove((m.created_at, m.id))?;
        }
        self.count(&status_key(old), -1);
        self.count(&status_key(Some(new.status.as_str())), 1);
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

    /// Stores the message; with `event`, also appends that event, made of
    /// the same record bytes (encoded once).
    pub(super) fn save(
        &mut self,
        m: &MessageRecord,
        event: Option<EventType>,
    ) -> Result<(), StoreError> {
        let bytes = encode(m);
        self.messages.open()?.insert(m.id, bytes.as_slice())?;
        if let Some(kind) = event {
            self.emit_message(kind, &bytes)?;
        }
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
    match (cur.status.is_final(), new.status.is_final()) {
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
