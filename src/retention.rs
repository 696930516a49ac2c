//! Retention: with `SINCH_DLR_RETENTION_DAYS` set, records older than that
//! (messages with their history and index rows, inbound messages,
//! quarantine entries, batch reports, events of the log) are removed. Each chunk is one small
//! write in the writer's queue, so callbacks keep flowing between chunks;
//! redb reuses the freed pages for new data.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::clock::{Micros, format_rfc3339, now_micros};
use crate::metrics::Metrics;
use crate::store::Prune;
use crate::writer::WriterHandle;

/// Rows of each kind removed per chunk.
const CHUNK: usize = 500;

/// Removes everything older than `keep`; returns how many rows went.
pub fn prune(writer: &WriterHandle, metrics: &Metrics, keep: Duration) -> u64 {
    let before: Micros = now_micros() - keep.as_micros() as Micros;
    let mut total = 0;
    loop {
        match writer.submit(Prune {
            before,
            limit: CHUNK,
        }) {
            Ok(p) => {
                total += p.total();
                metrics.pruned.fetch_add(p.total(), Ordering::Relaxed);
                let busiest = p
                    .messages
                    .max(p.inbound)
                    .max(p.quarantine)
                    .max(p.batch_reports)
                    .max(p.events);
                if busiest < CHUNK as u64 {
                    break;
                }
                // Let queued callbacks have the writer between chunks.
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                log::warn!("retention pass stopped: {e:?}");
                break;
            }
        }
    }
    if total > 0 {
        log::info!(
            "retention: removed {total} record(s) older than {}",
            format_rfc3339(before)
        );
    }
    total
}
