//! Counters and their Prometheus text exposition (`GET /metrics`).
//!
//! Labelled counters live in small mutex-guarded maps: they are touched
//! once per request, far from the cost of a commit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::writer::WriterStats;

/// Upper bounds (seconds) of the request latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    /// (type, result) -> count.
    callbacks: Mutex<BTreeMap<(String, String), u64>>,
    /// secret index -> callbacks it verified.
    secrets: Mutex<BTreeMap<usize, u64>>,
    /// (bucket counts, sum of seconds, count).
    latency: Mutex<([u64; LATENCY_BUCKETS.len()], f64, u64)>,
    /// status code -> responses.
    responses: Mutex<BTreeMap<u16, u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

impl Metrics {
    pub fn callback(&self, kind: &str, result: &str) {
        bump(&self.callbacks, (kind.to_string(), result.to_string()));
    }

    pub fn callback_unauthorized(&self) {
        self.callback("unknown", "unauthorized");
    }

    pub fn secret_used(&self, index: usize) {
        bump(&self.secrets, index);
    }

    pub fn request(&self, status: u16, took: Duration) {
        bump(&self.responses, status);
        let secs = took.as_secs_f64();
        let mut h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.0[i] += 1;
            }
        }
        h.1 += secs;
        h.2 += 1;
    }

    /// The exposition text; `extra` holds gauges computed by the caller.
    pub fn render(&self, writer: &WriterStats, db_bytes: u64) -> String {
        let mut out = String::new();
        counter_family(
            &mut out,
            "sinch_dlr_callbacks_total",
            "Callbacks received, by type and result.",
            self.callbacks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|((k, r), n)| (format!("type=\"{}\",result=\"{}\"", esc(k), esc(r)), *n)),
        );
        counter_family(
            &mut out,
            "sinch_dlr_callback_secret_used_total",
            "Callbacks verified by each configured secret (0 = first).",
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(i, n)| (format!("secret=\"{i}\""), *n)),
        );
        counter_family(
            &mut out,
            "sinch_dlr_http_responses_total",
            "HTTP responses, by status code.",
            self.responses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(s, n)| (format!("code=\"{s}\""), *n)),
        );
        self.render_latency(&mut out);
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let scalar = |out: &mut String, name: &str, kind: &str, help: &str, v: String| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        };
        scalar(
            &mut out,
            "sinch_dlr_commits_total",
            "counter",
            "Write transactions committed.",
            load(&writer.commits).to_string(),
        );
        scalar(
            &mut out,
            "sinch_dlr_commit_writes_total",
            "counter",
            "Writes committed (sum of group sizes).",
            load(&writer.ops).to_string(),
        );
        scalar(
            &mut out,
            "sinch_dlr_commit_failures_total",
            "counter",
            "Commits that failed (answered 503).",
            load(&writer.failed_commits).to_string(),
        );
        scalar(
            &mut out,
            "sinch_dlr_commit_seconds_total",
            "counter",
            "Time spent in commits.",
            format!("{}", load(&writer.commit_micros_total) as f64 / 1e6),
        );
        scalar(
            &mut out,
            "sinch_dlr_writer_queue_depth",
            "gauge",
            "Writes waiting for the writer.",
            load(&writer.queued).to_string(),
        );
        scalar(
            &mut out,
            "sinch_dlr_ready",
            "gauge",
            "1 when the store accepts writes.",
            u8::from(writer.ready.load(Ordering::Relaxed)).to_string(),
        );
        scalar(
            &mut out,
            "sinch_dlr_database_bytes",
            "gauge",
            "Size of the redb file.",
            db_bytes.to_string(),
        );
        out
    }

    fn render_latency(&self, out: &mut String) {
        let name = "sinch_dlr_request_duration_seconds";
        let h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(
            out,
            "# HELP {name} Time from request read to response.\n# TYPE {name} histogram\n"
        );
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", h.0[i]);
        }
        let _ = write!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}\n",
            h.2, h.1, h.2
        );
    }
}

fn counter_family(
    out: &mut String,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (String, u64)>,
) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
    for (labels, n) in rows {
        let _ = writeln!(out, "{name}{{{labels}}} {n}");
    }
}

/// Label values escaped per the exposition format.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
