//! The events phase: one webhook endpoint pointing at a local receiver
//! (receiver.rs) that answers 200 at once.
//!
//! * `events_delivery`: the endpoint is created (it starts at the end of
//!   the log), then replayed from 0; the time until the receiver has the
//!   last event gives events/s delivered.
//! * `events_lag`: callbacks at a steady rate (default 1,000/s) for a few
//!   seconds; for every event, receiver arrival − the event's timestamp
//!   (its commit) gives the end-to-end lag percentiles.
//!
//! Both check that every event arrived (duplicates and order reported),
//! and the run fails if one did not.

use serde_json::json;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use crate::daemon::{Server, Usage};
use crate::load::{self, Measured};
use crate::receiver::{Arrival, Receiver};
use crate::verify::{get_text, post};
use crate::{plan, round3};

/// Messages of the lag part start here, clear of the main plan's.
const LAG_BASE: usize = 5_000_000;
/// Connections the lag part's steady load uses.
const LAG_CONNECTIONS: usize = 16;
/// How long the receiver may take to get everything.
const DEADLINE: Duration = Duration::from_secs(600);

pub(crate) struct EventOptions {
    /// Callbacks per second in the lag part.
    pub(crate) rate: usize,
    pub(crate) seconds: f64,
}

/// `--events-only`: the callbacks of `n` messages over `c` connections,
/// so the log has something to deliver.
pub(crate) fn prefill(server: &mut Server, n: usize, c: usize) -> Result<(), String> {
    let m = load::run(server.addr, plan::spread(0..n, c));
    let events = last_seq(server.addr)?;
    let mut line = json!({"phase": "events_prefill", "connections": c, "callbacks": m.requests,
        "non_2xx": m.non_2xx, "errors": m.errors, "events": events,
        "seconds": round3(m.elapsed.as_secs_f64()), "rps": m.rps().round()});
    add_usage(&mut line, &server.take_usage(), ("callback", m.requests));
    println!("{line}");
    Ok(())
}

/// Both parts; false if an event never reached the receiver.
pub(crate) fn run(server: &mut Server, o: &EventOptions) -> Result<bool, String> {
    let receiver = Receiver::start()?;
    let (status, created) = post(
        server.addr,
        "/api/endpoints",
        &json!({"url": format!("http://{}/hook", receiver.addr), "description": "sinch-dlr-bench receiver"}),
    )
    .map_err(|e| e.to_string())?;
    let id = created["id"]
        .as_u64()
        .ok_or(format!("POST /api/endpoints answered {status}: {created}"))?;
    let delivered = delivery(server, &receiver, id)?;
    let lagged = lag(server, &receiver, o)?;
    Ok(delivered && lagged)
}

fn delivery(server: &mut Server, receiver: &Receiver, id: u64) -> Result<bool, String> {
    let last = last_seq(server.addr)?;
    server.take_usage();
    let started = Instant::now();
    let (status, _) = post(
        server.addr,
        &format!("/api/endpoints/{id}/replay"),
        &json!({"after": 0}),
    )
    .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("replay answered {status}"));
    }
    receiver.wait_for(last, DEADLINE);
    let elapsed = started.elapsed().as_secs_f64();
    let check = Check::of(&receiver.arrivals(), 1..=last);
    let mut line = json!({"phase": "events_delivery", "events": last,
        "seconds": round3(elapsed), "events_per_second": (check.received as f64 / elapsed).round()});
    check.add_to(&mut line);
    add_usage(
        &mut line,
        &server.take_usage(),
        ("event", check.received as usize),
    );
    println!("{line}");
    Ok(check.complete(last))
}

fn lag(server: &mut Server, receiver: &Receiver, o: &EventOptions) -> Result<bool, String> {
    let first = last_seq(server.addr)? + 1;
    // Each message gets ~2.05 callbacks (plan::callbacks_for).
    let messages = ((o.rate as f64 * o.seconds) / 2.05).ceil() as usize;
    let requests = plan::spread(LAG_BASE..LAG_BASE + messages, LAG_CONNECTIONS);
    let pace = Duration::from_secs_f64(LAG_CONNECTIONS as f64 / o.rate.max(1) as f64);
    server.take_usage();
    let m = load::run_paced(server.addr, requests, Some(pace));
    let last = last_seq(server.addr)?;
    receiver.wait_for(last, DEADLINE);
    let check = Check::of(&receiver.arrivals(), first..=last);
    let mut line = json!({"phase": "events_lag", "connections": LAG_CONNECTIONS,
        "target_rps": o.rate, "callbacks": m.requests, "non_2xx": m.non_2xx, "errors": m.errors,
        "seconds": round3(m.elapsed.as_secs_f64()), "rps": m.rps().round(),
        "callback_p99_ms": round3(m.percentile_ms(0.99)), "events": last + 1 - first});
    check.add_to(&mut line);
    let lags = Measured {
        latencies: check.lags_micros.clone(),
        ..Measured::default()
    };
    for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
        line[format!("lag_{name}_ms")] = json!(round3(lags.percentile_ms(p)));
    }
    add_usage(&mut line, &server.take_usage(), ("callback", m.requests));
    println!("{line}");
    Ok(check.complete(last + 1 - first) && m.errors == 0 && m.non_2xx.is_empty())
}

/// What the receiver got of the events `range`.
struct Check {
    /// Distinct events received.
    received: u64,
    duplicates: u64,
    /// Arrivals of a new event after a higher one.
    out_of_order: u64,
    /// Arrival − commit of each event's first arrival, sorted.
    lags_micros: Vec<u32>,
}

impl Check {
    fn of(arrivals: &[Arrival], range: RangeInclusive<u64>) -> Check {
        let mut seen = std::collections::HashSet::new();
        let (mut duplicates, mut out_of_order, mut highest) = (0, 0, 0);
        let mut lags_micros = Vec::new();
        for a in arrivals.iter().filter(|a| range.contains(&a.seq)) {
            if !seen.insert(a.seq) {
                duplicates += 1;
                continue;
            }
            if a.seq < highest {
                out_of_order += 1;
            }
            highest = highest.max(a.seq);
            let lag = (a.arrived - a.committed).clamp(0, i64::from(u32::MAX));
            lags_micros.push(lag as u32);
        }
        lags_micros.sort_unstable();
        Check {
            received: seen.len() as u64,
            duplicates,
            out_of_order,
            lags_micros,
        }
    }

    fn complete(&self, expected: u64) -> bool {
        let ok = self.received == expected;
        if !ok {
            eprintln!(
                "sinch-dlr-bench: EVENTS FAILED: the receiver got {} of {expected} events",
                self.received
            );
        }
        ok
    }

    fn add_to(&self, line: &mut serde_json::Value) {
        line["received"] = json!(self.received);
        line["duplicates"] = json!(self.duplicates);
        line["out_of_order"] = json!(self.out_of_order);
    }
}

/// The daemon's CPU per unit of work (µs) and peak RSS.
fn add_usage(line: &mut serde_json::Value, usage: &Usage, per: (&str, usize)) {
    line["server_cpu_seconds"] = json!(round3(usage.cpu));
    line["server_peak_rss_mib"] = json!((usage.rss as f64 / 1048576.0 * 10.0).round() / 10.0);
    let (unit, n) = per;
    if n > 0 {
        line[format!("server_cpu_us_per_{unit}")] = json!((usage.cpu * 1e6 / n as f64).round());
    }
}

/// The last seq committed (`sinch_dlr_events_last_seq` on /metrics).
fn last_seq(addr: SocketAddr) -> Result<u64, String> {
    let (_, text) = get_text(addr, "/metrics").map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix("sinch_dlr_events_last_seq ")?.parse().ok())
        .ok_or("no sinch_dlr_events_last_seq on /metrics (a daemon without the event log?)".into())
}
