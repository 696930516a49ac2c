//! What a reconciliation pass found: the answer of `POST /api/reconcile`,
//! what `sinch-dlr reconcile` prints, and what the metrics and the
//! dashboard's overview count. Plain data, shared by both kinds of pass
//! (per recipient: reconcile.rs; a time window: reconcile_window.rs).

use serde::{Deserialize, Serialize};

use crate::metrics::LastPass;
use crate::sinch::Status;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassReport {
    /// `recipients` (one request per message) or `window` (Sinch's list of
    /// finished reports, page by page).
    #[serde(default)]
    pub kind: String,
    /// Messages (per recipient) or reports (window) looked at.
    pub checked: usize,
    /// Known messages whose status the pass learned.
    pub updated: Vec<Updated>,
    /// Reports for messages this daemon had never seen, now stored.
    #[serde(default)]
    pub discovered: Vec<Updated>,
    pub unchanged: usize,
    pub unknown_at_sinch: usize,
    pub errors: Vec<String>,
    pub rate_limited: bool,
}

/// A message whose status the pass learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Updated {
    pub id: u64,
    pub status: Status,
    pub code: i64,
}

impl PassReport {
    pub fn new(kind: &str) -> PassReport {
        PassReport {
            kind: kind.to_string(),
            ..PassReport::default()
        }
    }

    /// The summary kept for metrics and the dashboard, ended at `at`.
    pub fn summary(&self, at: i64) -> LastPass {
        LastPass {
            kind: if self.kind == "window" {
                "window"
            } else {
                "recipients"
            },
            at,
            checked: self.checked as u64,
            updated: self.updated.len() as u64,
            discovered: self.discovered.len() as u64,
            errors: self.errors.len() as u64,
        }
    }
}
