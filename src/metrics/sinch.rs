//! What talking to Sinch costs and finds: sends by result, API requests by
//! endpoint and status class, retries, token fetches, reconciliation passes
//! and their counts, and callbacks answered 429 because the daemon was
//! behind. Shared (`Arc`) with the Sinch client and the reconciler, which
//! count as they go; rendered with the rest by `Metrics::render`.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Family, bump};

/// What the last reconciliation pass found (the dashboard shows it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LastPass {
    /// `recipients` (per message) or `window` (the reports list).
    pub kind: &'static str,
    /// When it ended, UTC microseconds.
    pub at: i64,
    pub checked: u64,
    pub updated: u64,
    pub discovered: u64,
    pub errors: u64,
}

#[derive(Debug, Default)]
pub struct SinchStats {
    /// result (sent, refused, failed, unknown) -> batches.
    sends: Mutex<BTreeMap<&'static str, u64>>,
    /// (endpoint, status class) -> requests, one per attempt.
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// endpoint -> attempts repeated after a 429, 5xx or lost connection.
    retries: Mutex<BTreeMap<&'static str, u64>>,
    /// result (ok, failed) -> OAuth token fetches.
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    /// kind -> reconciliation passes.
    passes: Mutex<BTreeMap<&'static str, u64>>,
    /// what -> messages (checked, updated, discovered, errors).
    found: Mutex<BTreeMap<&'static str, u64>>,
    last_pass: Mutex<Option<LastPass>>,
    /// UTC seconds of the last pass without errors (0 = none yet).
    last_success: AtomicU64,
    /// reason (workers, writer) -> callbacks answered 429.
    shed: Mutex<BTreeMap<&'static str, u64>>,
}

/// `2xx`, `4xx`, ... for a status; `none` when no answer came.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(429) => "429",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "none",
    }
}

impl SinchStats {
    pub fn send(&self, result: &'static str) {
        bump(&self.sends, result);
    }

    pub fn request(&self, endpoint: &'static str, status: Option<u16>) {
        bump(&self.requests, (endpoint, status_class(status)));
    }

    pub fn retry(&self, endpoint: &'static str) {
        bump(&self.retries, endpoint);
    }

    pub fn token(&self, result: &'static str) {
        bump(&self.tokens, result);
    }

    pub fn callback_shed(&self, reason: &'static str) {
        bump(&self.shed, reason);
    }

    /// Records a finished pass.
    pub fn pass(&self, pass: LastPass) {
        bump(&self.passes, pass.kind);
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        for (what, n) in [
            ("checked", pass.checked),
            ("updated", pass.updated),
            ("discovered", pass.discovered),
            ("errors", pass.errors),
        ] {
            *found.entry(what).or_default() += n;
        }
        drop(found);
        if pass.errors == 0 {
            let secs = (pass.at / 1_000_000).max(0) as u64;
            self.last_success.store(secs, Ordering::Relaxed);
        }
        *self.last_pass.lock().unwrap_or_else(|e| e.into_inner()) = Some(pass);
    }

    pub fn last_pass(&self) -> Option<LastPass> {
        self.last_pass
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn families(&self) -> Vec<Family> {
        let one = |m: &Mutex<BTreeMap<&'static str, u64>>, label: &str| -> Vec<(String, u64)> {
            let m = m.lock().unwrap_or_else(|e| e.into_inner());
            m.iter()
                .map(|(k, n)| (format!("{label}=\"{k}\""), *n))
                .collect()
        };
        let requests: Vec<(String, u64)> = {
            let m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            m.iter()
                .map(|((e, c), n)| (format!("endpoint=\"{e}\",class=\"{c}\""), *n))
                .collect()
        };
        let labelled = |name, help, rows: Vec<(String, u64)>| {
            Family::labelled(name, "counter", help, rows.into_iter())
        };
        vec![
            labelled(
                "sinch_dlr_sinch_sends_total",
                "Batches sent through Sinch, by result (sent, refused, failed, unknown).",
                one(&self.sends, "result"),
            ),
            labelled(
                "sinch_dlr_sinch_requests_total",
                "Sinch API requests (each attempt), by endpoint and status class (none = no answer).",
                requests,
            ),
            labelled(
                "sinch_dlr_sinch_retries_total",
                "Sinch API attempts repeated after a 429, a 5xx or a lost connection, by endpoint.",
                one(&self.retries, "endpoint"),
            ),
            labelled(
                "sinch_dlr_sinch_token_fetches_total",
                "OAuth access tokens fetched from Sinch's auth service, by result.",
                one(&self.tokens, "result"),
            ),
            labelled(
                "sinch_dlr_reconcile_passes_total",
                "Reconciliation passes, by kind (recipients, window).",
                one(&self.passes, "kind"),
            ),
            labelled(
                "sinch_dlr_reconcile_messages_total",
                "What reconciliation passes found: checked, updated, discovered, errors.",
                one(&self.found, "what"),
            ),
            Family::one(
                "sinch_dlr_reconcile_last_success_seconds",
                "gauge",
                "Unix time of the last reconciliation pass without errors (0 = none since start).",
                self.last_success.load(Ordering::Relaxed),
            ),
            labelled(
                "sinch_dlr_callbacks_shed_total",
                "Callbacks answered 429 because the daemon was behind, by reason (workers, writer).",
                one(&self.shed, "reason"),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_keep_429_apart() {
        assert_eq!(status_class(Some(201)), "2xx");
        assert_eq!(status_class(Some(429)), "429");
        assert_eq!(status_class(Some(404)), "4xx");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "none");
    }

    #[test]
    fn a_pass_with_errors_is_not_a_success() {
        let s = SinchStats::default();
        let pass = LastPass {
            kind: "window",
            at: 2_000_000,
            checked: 3,
            errors: 1,
            ..LastPass::default()
        };
        s.pass(pass.clone());
        assert_eq!(s.last_success.load(Ordering::Relaxed), 0);
        s.pass(LastPass { errors: 0, ..pass });
        assert_eq!(s.last_success.load(Ordering::Relaxed), 2);
        assert_eq!(s.last_pass().unwrap().checked, 3);
    }
}
