//! The shipped benchmark still runs and still checks what it stored: a
//! small run of each mode (no timings are asserted, only that every phase
//! reports, nothing failed, and the verification passed).

use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sinch-dlr-bench"))
        .args(args)
        .output()
        .expect("running sinch-dlr-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect()
}

fn phase<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["phase"] == name)
        .unwrap_or_else(|| panic!("no {name} phase in {lines:?}"))
}

#[test]
fn benchmark_drives_the_daemon_and_verifies_every_message() {
    let lines = bench(&[
        "--messages",
        "200",
        "--connections",
        "4",
        "--baseline",
        "--queries",
    ]);
    for name in [
        "baseline_noop_tiny_http",
        "register",
        "callbacks_1_connection",
        "callbacks",
        "queries_during_callbacks",
    ] {
        let p = phase(&lines, name);
        assert!(p["requests"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
        assert_eq!(p["non_2xx"], serde_json::json!({}), "{p}");
    }
    // 200 messages: 20 % over one connection, the rest over four; each gets
    // two reports, every 20th a third (a duplicate).
    let callbacks = phase(&lines, "callbacks");
    assert!(callbacks["commits"].as_f64().unwrap() >= 1.0, "{callbacks}");
    let verify = phase(&lines, "verify");
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["messages_verified"], 200, "{verify}");
    assert_eq!(verify["callbacks_sent"], 410, "{verify}");
}

#[test]
fn store_mode_applies_every_callback() {
    let lines = bench(&["--store", "50", "--group", "8"]);
    let store = phase(&lines, "store");
    assert_eq!(store["callbacks"], 100, "{store}");
    assert_eq!(store["commits"], 13, "{store}");
    assert_eq!(store["messages_verified"], 50, "{store}");
}
