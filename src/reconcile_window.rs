//! Reconciliation of a time window: Sinch's list of finished per-recipient
//! delivery reports (`GET .../delivery_reports?start_date=&end_date=&page=`,
//! docs/sinch.md#the-rest-api), read page by page, every report stored like
//! a callback (`source: reconcile`). One request returns up to 100 reports,
//! where the per-recipient path (reconcile.rs) needs one request per
//! message; and the list also holds reports for messages this daemon never
//! registered, which are stored as discovered messages.
//!
//! Pages are paced (`PAGE_PACE`), a 429 that the client's own retries did
//! not get past stops the pass, and a pass reads at most `MAX_PAGES`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::{Micros, format_rfc3339, now_micros};
use crate::phone::digits;
use crate::reconcile_report::{PassReport, Updated};
use crate::sinch::{RecipientReport, parse_recipient_report};
use crate::sinch_client::{SinchClient, SinchError};
use crate::store::{CallbackResult, Reconciled, Store};
use crate::writer::WriterHandle;

/// Reports per page: the most Sinch allows.
pub const PAGE_SIZE: u64 = 100;
/// Pages per pass: 50,000 reports. A wider window is cut short with an
/// error that says so.
const MAX_PAGES: u64 = 500;
/// Pause between two pages.
const PAGE_PACE: Duration = Duration::from_millis(250);

/// `[since, until)` in UTC microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: Micros,
    pub until: Micros,
}

/// Messages of the batches seen so far: batch -> recipient digits -> id.
#[derive(Default)]
struct Known(HashMap<String, HashMap<String, u64>>);

impl Known {
    fn id(&mut self, store: &Store, batch: &str, recipient: &str) -> Option<u64> {
        if !self.0.contains_key(batch) {
            let messages = store
                .batch(batch)
                .ok()
                .flatten()
                .map(|b| b.messages)
                .unwrap_or_default();
            let ids = messages.iter().map(|m| (digits(&m.recipient), m.id));
            self.0.insert(batch.to_string(), ids.collect());
        }
        self.0[batch].get(&digits(recipient)).copied()
    }
}

/// One pass over `window`. `stopping` ends it between reports.
pub fn run(
    client: &SinchClient,
    store: &Store,
    writer: &WriterHandle,
    window: Window,
    stopping: &AtomicBool,
) -> PassReport {
    let mut report = PassReport::new("window");
    let (start, end) = (format_rfc3339(window.since), format_rfc3339(window.until));
    let mut known = Known::default();
    for page in 0..MAX_PAGES {
        if page > 0 {
            std::thread::sleep(PAGE_PACE);
        }
        let got = match client.delivery_reports(&start, &end, page, PAGE_SIZE) {
            Ok(got) => got,
            Err(e) => {
                report.rate_limited = matches!(e, SinchError::Status { status: 429, .. });
                report
                    .errors
                    .push(format!("listing reports, page {page}: {e}"));
                return report;
            }
        };
        let mut discovered = Vec::new();
        for raw in &got.reports {
            if stopping.load(Ordering::Relaxed) {
                return report;
            }
            match store_one(store, writer, raw, &mut known, &mut report) {
                Ok(Some(found)) => discovered.push(found),
                Ok(None) => {}
                Err(()) => return report, // the store is unavailable
            }
        }
        name_discovered(store, discovered, &mut report);
        if got.reports.is_empty() || (page + 1) * PAGE_SIZE >= got.count {
            return report;
        }
    }
    report.errors.push(format!(
        "the window holds more than {} reports; only the first were read (narrow it)",
        MAX_PAGES * PAGE_SIZE
    ));
    report
}

/// Stores one listed report. Ok(Some(report)) when it was stored for a
/// message not known before (its id is looked up per page); Err when the
/// store is unavailable.
fn store_one(
    store: &Store,
    writer: &WriterHandle,
    raw: &str,
    known: &mut Known,
    report: &mut PassReport,
) -> Result<Option<RecipientReport>, ()> {
    report.checked += 1;
    let parsed = match parse_recipient_report(raw.as_bytes()) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.errors.push(format!("a listed report: {e}"));
            return Ok(None);
        }
    };
    let id = known.id(store, &parsed.batch_id, &parsed.recipient);
    let write = Reconciled {
        report: parsed.clone(),
        raw: raw.as_bytes().to_vec(),
        received_at: now_micros(),
    };
    let updated = |id| Updated {
        id,
        status: parsed.status.clone(),
        code: parsed.code,
    };
    match (writer.submit(write), id) {
        (Ok(CallbackResult::Stored), Some(id)) => report.updated.push(updated(id)),
        (Ok(CallbackResult::Stored), None) => return Ok(Some(parsed)),
        (Ok(_), _) => report.unchanged += 1,
        (Err(e), _) => {
            report.errors.push(format!(
                "batch {} recipient report: not stored ({e:?})",
                parsed.batch_id
            ));
            return Err(());
        }
    }
    Ok(None)
}

/// Reports stored for messages not known before, with the ids their
/// messages were given (one read per batch).
fn name_discovered(store: &Store, found: Vec<RecipientReport>, report: &mut PassReport) {
    let mut by_batch: BTreeMap<String, Vec<RecipientReport>> = BTreeMap::new();
    for r in found {
        by_batch.entry(r.batch_id.clone()).or_default().push(r);
    }
    for (batch, reports) in by_batch {
        let mut known = Known::default();
        for r in reports {
            let id = known.id(store, &batch, &r.recipient).unwrap_or(0);
            report.discovered.push(Updated {
                id,
                status: r.status,
                code: r.code,
            });
        }
    }
}
