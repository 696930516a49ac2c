//! Counters, gauges and histograms, and their Prometheus text exposition
//! (`GET /metrics`). Names follow Prometheus conventions (`_total`,
//! `_seconds`, `_bytes`).
//!
//! Labelled counters live in small mutex-guarded maps (touched once per
//! request, far from the cost of a commit); histograms are atomics.
//! Families of other parts (the connection layer below, the event log and
//! webhook deliveries in events.rs) come in as plain values read at scrape
//! time, so this module imports none of their types.

mod events;

pub use events::{EndpointGauges, EventGauges, render_events};

mod sinch;

pub use sinch::{LastPass, SinchStats};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters the writer (writer.rs) keeps; read by /readyz and rendered
/// here.
#[derive(Debug)]
pub struct WriterStats {
    pub ready: AtomicBool,
    pub failed_commits: AtomicU64,
    pub queued: AtomicU64,
    pub group_size: Histogram,
    pub commit_seconds: Histogram,
}

impl Default for WriterStats {
    fn default() -> Self {
        WriterStats {
            ready: AtomicBool::new(true),
            failed_commits: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            group_size: Histogram::new(GROUP_SIZES),
            commit_seconds: Histogram::new(SECONDS),
        }
    }
}

/// A histogram with fixed upper bounds; the sum is kept in micro-units.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micro
            .fetch_add((v * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.counts) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}\n"
        );
    }
}

pub const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
pub const GROUP_SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

#[derive(Debug)]
pub struct Metrics {
    /// (type, result) -> count.
    callbacks: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// secret index -> (callbacks it verified, last use in UTC micros).
    secrets: Mutex<BTreeMap<usize, (u64, i64)>>,
    /// status code -> responses.
    responses: Mutex<BTreeMap<u16, u64>>,
    /// (kind, reason) -> refused API token guesses (see throttle.rs).
    auth_refused: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency: Histogram,
    /// Rows removed by retention.
    pub pruned: AtomicU64,
    /// Sending, reconciliation and back-pressure (metrics/sinch.rs).
    pub sinch: Arc<SinchStats>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            callbacks: Mutex::default(),
            secrets: Mutex::default(),
            responses: Mutex::default(),
            auth_refused: Mutex::default(),
            latency: Histogram::new(SECONDS),
            pruned: AtomicU64::new(0),
            sinch: Arc::default(),
        }
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

/// Values read from the store at scrape time.
#[derive(Debug, Default)]
pub struct StoreGauges {
    pub db_bytes: u64,
    pub messages: u64,
    /// Latest status ("none" = no report yet) -> messages.
    pub by_status: BTreeMap<String, u64>,
    pub stale: usize,
}

impl Metrics {
    pub fn callback(&self, kind: &'static str, result: &'static str) {
        bump(&self.callbacks, (kind, result));
    }

    /// A refused guess at the API token: `kind` login or bearer, `reason`
    /// wrong or throttled.
    pub fn auth_refused(&self, kind: &'static str, reason: &'static str) {
        bump(&self.auth_refused, (kind, reason));
    }

    pub fn callback_unauthorized(&self) {
        self.callback("unknown", "unauthorized");
    }

    /// A callback verified with secret `index` at `at` (µs since the epoch).
    pub fn secret_used(&self, index: usize, at: i64) {
        let mut map = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(index).or_default();
        entry.0 += 1;
        entry.1 = at;
    }

    /// secret index -> (callbacks verified, last use), since start.
    pub fn secret_use(&self) -> BTreeMap<usize, (u64, i64)> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn request(&self, status: u16, took: std::time::Duration) {
        bump(&self.responses, status);
        self.latency.observe(took.as_secs_f64());
    }

    /// The Prometheus text of everything above, the writer's counters and
    /// the store's gauges.
    pub fn render(&self, writer: &WriterStats, store: &StoreGauges) -> String {
        let mut out = String::new();
        for f in self.request_families() {
            f.render(&mut out);
        }
        let histograms = [
            (
                &self.latency,
                "sinch_dlr_request_duration_seconds",
                "Time from request received to response ready.",
            ),
            (
                &writer.group_size,
                "sinch_dlr_commit_group_size",
                "Writes per group commit.",
            ),
            (
                &writer.commit_seconds,
                "sinch_dlr_commit_duration_seconds",
                "Time per group commit (fsync included).",
            ),
        ];
        for (h, name, help) in histograms {
            h.render(&mut out, name, help);
        }
        for f in writer_families(writer)
            .into_iter()
            .chain(self.store_families(store))
            .chain(self.sinch.families())
        {
            f.render(&mut out);
        }
        out
    }

    fn request_families(&self) -> Vec<Family> {
        let pairs = |m: &Mutex<BTreeMap<(&'static str, &'static str), u64>>| {
            m.lock().unwrap_or_else(|e| e.into_inner()).clone()
        };
        let secrets = self.secret_use();
        let responses = self
            .responses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        vec![
            Family::labelled(
                "sinch_dlr_callbacks_total",
                "counter",
                "Callbacks received since start, by type and result.",
                pairs(&self.callbacks)
                    .iter()
                    .map(|((k, r), n)| (format!("type=\"{}\",result=\"{}\"", esc(k), esc(r)), *n)),
            ),
            Family::labelled(
                "sinch_dlr_callback_secret_used_total",
                "counter",
                "Callbacks verified by each configured secret (0 = first listed).",
                secrets
                    .iter()
                    .map(|(i, (n, _))| (format!("secret=\"{i}\""), *n)),
            ),
            Family::labelled(
                "sinch_dlr_http_responses_total",
                "counter",
                "HTTP responses, by status code.",
                responses.iter().map(|(s, n)| (format!("code=\"{s}\""), *n)),
            ),
            Family::labelled(
                "sinch_dlr_auth_refused_total",
                "counter",
                "Refused API token guesses (dashboard login, bearer), by kind and reason (wrong, throttled).",
                pairs(&self.auth_refused)
                    .iter()
                    .map(|((k, r), n)| (format!("kind=\"{k}\",reason=\"{r}\""), *n)),
            ),
        ]
    }

    fn store_families(&self, store: &StoreGauges) -> Vec<Family> {
        vec![
            Family::one(
                "sinch_dlr_database_bytes",
                "gauge",
                "Size of the redb file.",
                store.db_bytes,
            ),
            Family::one(
                "sinch_dlr_messages",
                "gauge",
                "Messages stored.",
                store.messages,
            ),
            Family::labelled(
                "sinch_dlr_messages_by_status",
                "gauge",
                "Messages by latest status (none = no report yet).",
                store
                    .by_status
                    .iter()
                    .map(|(s, n)| (format!("status=\"{}\"", esc(s)), *n)),
            ),
            Family::one(
                "sinch_dlr_stale_messages",
                "gauge",
                "Messages with no final status after SINCH_DLR_STALE_AFTER.",
                store.stale as u64,
            ),
            Family::one(
                "sinch_dlr_pruned_total",
                "counter",
                "Records removed by retention.",
                self.pruned.load(Ordering::Relaxed),
            ),
        ]
    }
}

fn writer_families(writer: &WriterStats) -> Vec<Family> {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    vec![
        Family::one(
            "sinch_dlr_commit_failures_total",
            "counter",
            "Commits that failed (answered 503).",
            load(&writer.failed_commits),
        ),
        Family::one(
            "sinch_dlr_writer_queue_depth",
            "gauge",
            "Writes waiting for the writer.",
            load(&writer.queued),
        ),
        Family::one(
            "sinch_dlr_ready",
            "gauge",
            "1 when the store accepts writes.",
            u64::from(writer.ready.load(Ordering::Relaxed)),
        ),
    ]
}

/// One metric family: its name, type, help and labelled values.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    rows: Vec<(String, u64)>,
}

impl Family {
    fn one(name: &'static str, kind: &'static str, help: &'static str, v: u64) -> Family {
        Family::labelled(name, kind, help, std::iter::once((String::new(), v)))
    }

    fn labelled(
        name: &'static str,
        kind: &'static str,
        help: &'static str,
        rows: impl Iterator<Item = (String, u64)>,
    ) -> Family {
        Family {
            name,
            kind,
            help,
            rows: rows.collect(),
        }
    }

    fn render(&self, out: &mut String) {
        family(
            out,
            self.name,
            self.kind,
            self.help,
            self.rows.iter().cloned(),
        );
    }
}

/// The connection layer's counters, as plain values.
pub struct EdgeGauges {
    pub open: u64,
    pub accepted: u64,
    pub evicted: u64,
    /// Answers the connection layer gave itself, by status.
    pub refused: Vec<(u16, u64)>,
}

/// Appends the connection layer's families (see README, "Limits").
pub fn render_edge(out: &mut String, edge: &EdgeGauges) {
    let one = |n: u64| std::iter::once((String::new(), n));
    family(
        out,
        "sinch_dlr_connections_open",
        "gauge",
        "HTTP connections open now.",
        one(edge.open),
    );
    family(
        out,
        "sinch_dlr_connections_accepted_total",
        "counter",
        "HTTP connections admitted since start.",
        one(edge.accepted),
    );
    family(
        out,
        "sinch_dlr_connections_evicted_total",
        "counter",
        "Connections closed to make room: they had waited longest without a whole request.",
        one(edge.evicted),
    );
    family(
        out,
        "sinch_dlr_edge_refused_total",
        "counter",
        "Answers the connection layer gave itself before a request reached a handler, by status.",
        edge.refused
            .iter()
            .map(|(s, n)| (format!("status=\"{s}\""), *n)),
    );
}

fn family<V: std::fmt::Display>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    rows: impl Iterator<Item = (String, V)>,
) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for (labels, n) in rows {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {n}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {n}");
        }
    }
}

/// Label values escaped per the exposition format.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.5, 1.5, 3.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"1\"} 1\n"));
        assert!(out.contains("x_bucket{le=\"2\"} 3\n"));
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4\n"));
        assert!(out.contains("x_count 4\n"));
        assert!(out.contains("x_sum 6.5\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
