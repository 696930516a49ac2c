//! The writes, one type each, and what each answers. A write is applied
//! inside a group's transaction (`Store::apply_group`, the writer thread);
//! its answer is handed out only after that transaction committed. The
//! answer's type belongs to the write's type, so a caller never has to
//! check which kind of answer it got.

use redb::ReadableTable;

use super::apply::Tx;
use super::prune::Pruned;
use super::record::Source;
use super::tables::{CALLBACK_COUNT_PREFIX, UI_SESSION_GENERATION};
use super::view::MessageView;
use super::{Registration, StoreError};
use crate::clock::Micros;
use crate::sinch::{Callback, RecipientReport};

/// One kind of write and its answer.
pub trait Write: Send + 'static {
    type Answer: Send + 'static;

    /// Applies the write to the group's transaction (not yet committed).
    fn apply(&self, tx: &mut Tx<'_>) -> Result<Self::Answer, StoreError>;
}

/// What a callback did to the store (the `result` of the HTTP answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackResult {
    Stored,
    Duplicate,
    Ignored,
    Quarantined,
}

impl CallbackResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackResult::Stored => "stored",
            CallbackResult::Duplicate => "duplicate",
            CallbackResult::Ignored => "ignored",
            CallbackResult::Quarantined => "quarantined",
        }
    }
}

/// Registrations applied together (one send call registers its batch).
/// Answers, per registration, whether it was the first for its message,
/// and the message as stored.
#[derive(Debug, Clone)]
pub struct Register(pub Vec<Registration>);

impl Write for Register {
    type Answer = Vec<(bool, MessageView)>;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<Self::Answer, StoreError> {
        self.0.iter().map(|r| tx.register(r)).collect()
    }
}

/// An authenticated callback, parsed; `raw` is the exact body.
#[derive(Debug, Clone)]
pub struct ReceiveCallback {
    pub callback: Callback,
    pub raw: Vec<u8>,
    pub received_at: Micros,
}

impl Write for ReceiveCallback {
    type Answer = CallbackResult;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<CallbackResult, StoreError> {
        let result = tx.callback(&self.callback, &self.raw, self.received_at)?;
        Ok(counted(tx, result))
    }
}

/// A recipient report learned by asking Sinch (reconciliation); the same
/// rules as a callback, recorded with source `reconcile`.
#[derive(Debug, Clone)]
pub struct Reconciled {
    pub report: RecipientReport,
    pub raw: Vec<u8>,
    pub received_at: Micros,
}

impl Write for Reconciled {
    type Answer = CallbackResult;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<CallbackResult, StoreError> {
        let result =
            tx.recipient_report(&self.report, &self.raw, self.received_at, Source::Reconcile)?;
        Ok(counted(tx, result))
    }
}

/// An authenticated body that could not be used, kept with the reason.
/// Always answers `Quarantined`.
#[derive(Debug, Clone)]
pub struct Quarantine {
    pub raw: Vec<u8>,
    pub reason: String,
    pub received_at: Micros,
}

impl Write for Quarantine {
    type Answer = CallbackResult;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<CallbackResult, StoreError> {
        tx.quarantine(&self.raw, &self.reason, self.received_at)?;
        Ok(counted(tx, CallbackResult::Quarantined))
    }
}

/// Callbacks are counted by result (`callbacks` in the stats).
fn counted(tx: &mut Tx<'_>, result: CallbackResult) -> CallbackResult {
    tx.count(&format!("{CALLBACK_COUNT_PREFIX}{}", result.as_str()), 1);
    result
}

/// Retention: remove up to `limit` records of each kind created before
/// `before`, with their index rows.
#[derive(Debug, Clone)]
pub struct Prune {
    pub before: Micros,
    pub limit: usize,
}

impl Write for Prune {
    type Answer = Pruned;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<Pruned, StoreError> {
        tx.prune(self.before, self.limit)
    }
}

/// Run a quarantined body through the current parser. Answers None when
/// there is no such entry, `Err` with the reason when it still cannot be
/// used, else what storing it did (it leaves the quarantine).
#[derive(Debug, Clone)]
pub struct RetryQuarantined(pub u64);

impl Write for RetryQuarantined {
    type Answer = Option<Result<CallbackResult, String>>;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<Self::Answer, StoreError> {
        tx.retry_quarantined(self.0)
    }
}

/// Dashboard logout: revoke every session issued so far. Answers the new
/// session generation.
#[derive(Debug, Clone)]
pub struct EndSessions;

impl Write for EndSessions {
    type Answer = u64;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<u64, StoreError> {
        let meta = tx.meta.open()?;
        let next = meta.get(UI_SESSION_GENERATION)?.map_or(0, |v| v.value()) + 1;
        meta.insert(UI_SESSION_GENERATION, next)?;
        Ok(next)
    }
}
