//! `--store N [--group G]`: the write path alone, without HTTP, threads or
//! the daemon: N messages registered, then their Dispatched and Delivered
//! reports applied through `Store::apply_all`, G reports per commit. For
//! profiling what one callback costs in the store, e.g. under
//! `valgrind --tool=callgrind` (instruction counts repeat run to run, unlike
//! times on a shared VM). Prints one JSON line; fails unless every message
//! ends Delivered with two updates.

use serde_json::json;
use std::path::Path;
use std::time::Instant;

use sinch_dlr::sinch::{Status, parse_callback};
use sinch_dlr::store::{ReceiveCallback, Register, Registration, Store};

pub fn run(dir: &Path, n: usize, group: usize) -> Result<(), String> {
    let store = Store::open(&dir.join("store.redb")).map_err(|e| e.to_string())?;
    let registrations: Vec<_> = (0..n)
        .map(|i| Registration {
            to: format!("+{}", crate::plan::recipient_of(i)),
            batch_id: crate::plan::batch_of(i),
            body: None,
            client_reference: Some("bench".into()),
            sent_at: None,
        })
        .collect();
    for chunk in registrations.chunks(1000) {
        store
            .apply(&Register(chunk.to_vec()))
            .map_err(|e| e.to_string())?;
    }
    let ops = callback_ops(n)?;
    let started = Instant::now();
    for chunk in ops.chunks(group.max(1)) {
        store.apply_all(chunk).map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let verified = verify(&store, n)?;
    println!(
        "{}",
        json!({
            "phase": "store",
            "callbacks": ops.len(),
            "group": group,
            "commits": ops.len().div_ceil(group.max(1)),
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "us_per_callback": (seconds / ops.len() as f64 * 1e7).round() / 10.0,
            "messages_verified": verified,
        })
    );
    if verified == n {
        Ok(())
    } else {
        Err(format!(
            "VERIFY FAILED: {verified} of {n} messages are Delivered with 2 updates"
        ))
    }
}

/// Messages (ids 1..=n, in registration order) that are Delivered with
/// exactly two updates.
fn verify(store: &Store, n: usize) -> Result<usize, String> {
    let mut good = 0;
    for id in 1..=n as u64 {
        let m = store.message(id).map_err(|e| e.to_string())?;
        if m.is_some_and(|m| {
            m.latest_status == Some(Status::Delivered) && m.update_count() == Some(2)
        }) {
            good += 1;
        }
    }
    Ok(good)
}

/// Each message's Dispatched then Delivered, in message order.
fn callback_ops(n: usize) -> Result<Vec<ReceiveCallback>, String> {
    let mut ops = Vec::with_capacity(2 * n);
    for i in 0..n {
        for (status, code) in [("Dispatched", 401), ("Delivered", 0)] {
            let raw = crate::plan::report_body(i, status, code, "2025-03-02T10:15:30.120Z");
            let callback = parse_callback(raw.as_bytes()).map_err(|e| e.to_string())?;
            ops.push(ReceiveCallback {
                callback,
                raw: raw.into_bytes(),
                received_at: 1,
            });
        }
    }
    Ok(ops)
}
