//! Reconciliation: ask Sinch about messages that still have no final status
//! long after sending, and store what it says exactly like a callback (same
//! duplicate and latest-status rules), marked `source: reconcile`.
//!
//! Why: Sinch drops a callback for good after ~23 h of failures or on any
//! 4xx (a secret rotated on one side only, say). Passes are bounded (a
//! number of messages each), rate-limited, stop at a 429, and walk the
//! pending index round-robin so old stragglers cannot starve newer ones.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Micros, now_micros};
use crate::metrics::SinchStats;
use crate::reconcile_window::{self, Window};
use crate::sinch::{RecipientReport, parse_recipient_report};
use crate::sinch_client::{SinchClient, SinchError};
use crate::store::{CallbackResult, Pending, PendingKey, Reconciled, Store};
use crate::writer::WriterHandle;

/// Messages asked about per pass.
pub const PASS_LIMIT: usize = 200;
/// Pause between two requests to Sinch.
const PACE: Duration = Duration::from_millis(50);
/// Messages older than this are not asked about any more: Sinch expires a
/// message after at most 3 days (docs/sinch.md#the-rest-api).
const GIVE_UP_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct Reconciler {
    client: SinchClient,
    after: Duration,
    /// Where the last pass stopped in the pending index.
    cursor: Mutex<Option<PendingKey>>,
    /// Set at shutdown: a pass in progress stops after its current message.
    pub stopping: AtomicBool,
    stats: Arc<SinchStats>,
}

pub use crate::reconcile_report::{PassReport, Updated};

impl Reconciler {
    pub fn new(client: SinchClient, after: Duration, stats: Arc<SinchStats>) -> Reconciler {
        Reconciler {
            client,
            after,
            cursor: Mutex::new(None),
            stopping: AtomicBool::new(false),
            stats,
        }
    }

    /// One pass over Sinch's list of the reports finished in `window`
    /// (reconcile_window.rs).
    pub fn run_window(&self, store: &Store, writer: &WriterHandle, window: Window) -> PassReport {
        let _one_at_a_time = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let report = reconcile_window::run(&self.client, store, writer, window, &self.stopping);
        self.finished(&report);
        report
    }

    /// The window `--all` checks: from the oldest message still without a
    /// final status (at most `GIVE_UP_AFTER` back) until now. None when no
    /// message is pending.
    pub fn pending_window(
        &self,
        store: &Store,
    ) -> Result<Option<Window>, crate::store::StoreError> {
        let now = now_micros();
        let oldest = now - GIVE_UP_AFTER.as_micros() as Micros;
        let first = store.pending(now, Some((oldest, 0)), 1)?;
        Ok(first.first().map(|p| Window {
            since: p.key.0,
            until: now,
        }))
    }

    fn finished(&self, report: &PassReport) {
        self.stats.pass(report.summary(now_micros()));
        if report.checked > 0 || !report.errors.is_empty() {
            log::info!(
                "reconciliation ({}): {} checked, {} updated, {} discovered, {} errors",
                report.kind,
                report.checked,
                report.updated.len(),
                report.discovered.len(),
                report.errors.len()
            );
        }
    }

    /// One pass over `batch` (all its pending messages, whatever their age),
    /// or over the oldest pending messages past the age threshold.
    pub fn run_pass(
        &self,
        store: &Store,
        writer: &WriterHandle,
        batch: Option<&str>,
    ) -> PassReport {
        // One pass at a time; the lock also guards the cursor.
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = PassReport::new("recipients");
        let candidates = match batch {
            Some(b) => store.pending_in_batch(b),
            None => self.next_candidates(store, &mut cursor),
        };
        let candidates = match candidates {
            Ok(c) => c,
            Err(e) => {
                report.errors.push(format!("reading pending messages: {e}"));
                return report;
            }
        };
        for (i, p) in candidates.iter().enumerate() {
            if self.stopping.load(Ordering::Relaxed) {
                break;
            }
            if i > 0 {
                std::thread::sleep(PACE);
            }
            if !self.check_one(writer, p, &mut report) {
                break;
            }
        }
        self.finished(&report);
        report
    }

    fn next_candidates(
        &self,
        store: &Store,
        cursor: &mut Option<PendingKey>,
    ) -> Result<Vec<Pending>, crate::store::StoreError> {
        let now = now_micros();
        let before = now - self.after.as_micros() as Micros;
        let oldest = now - GIVE_UP_AFTER.as_micros() as Micros;
        let start = cursor.filter(|k| k.0 >= oldest).or(Some((oldest, 0)));
        let mut batch = store.pending(before, start, PASS_LIMIT)?;
        if batch.is_empty() && cursor.is_some() {
            batch = store.pending(before, Some((oldest, 0)), PASS_LIMIT)?; // wrap around
        }
        *cursor = batch.last().map(|p| p.key);
        Ok(batch)
    }

    /// Asks about one message. Returns false when the pass should stop.
    fn check_one(&self, writer: &WriterHandle, p: &Pending, report: &mut PassReport) -> bool {
        report.checked += 1;
        let raw = match self.client.recipient_report(&p.batch_id, &p.recipient) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                report.unknown_at_sinch += 1;
                return true;
            }
            Err(SinchError::Status { status: 429, .. }) => {
                report.rate_limited = true;
                report
                    .errors
                    .push("Sinch rate limit (429); pass stopped".into());
                return false;
            }
            Err(e) => {
                report.errors.push(format!("message {}: {e}", p.id));
                return !matches!(
                    e,
                    SinchError::Status {
                        status: 401 | 403,
                        ..
                    }
                );
            }
        };
        let parsed = match parse_recipient_report(raw.as_bytes()) {
            Ok(r) if r.batch_id == p.batch_id => r,
            Ok(_) => {
                report.errors.push(format!(
                    "message {}: Sinch answered about another batch",
                    p.id
                ));
                return true;
            }
            Err(e) => {
                report.errors.push(format!("message {}: {e}", p.id));
                return true;
            }
        };
        store(writer, p.id, parsed, raw, report)
    }
}

/// Stores what Sinch said about message `id` like a callback; false when
/// the store is unavailable (the pass stops).
fn store(
    writer: &WriterHandle,
    id: u64,
    parsed: RecipientReport,
    raw: String,
    report: &mut PassReport,
) -> bool {
    let (status, code) = (parsed.status.clone(), parsed.code);
    let write = Reconciled {
        report: parsed,
        raw: raw.into_bytes(),
        received_at: now_micros(),
    };
    match writer.submit(write) {
        Ok(CallbackResult::Stored) => report.updated.push(Updated { id, status, code }),
        Ok(_) => report.unchanged += 1,
        Err(e) => {
            report
                .errors
                .push(format!("message {id}: not stored ({e:?})"));
            return false;
        }
    }
    true
}
