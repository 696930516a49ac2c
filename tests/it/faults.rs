//! Storage faults: the disk fills up under the daemon. Requests whose
//! commit fails get 503 + Retry-After (Sinch retries), /readyz turns red,
//! and once space is back the daemon recovers by itself (redb refuses
//! writes after a failed commit until the file is reopened) without losing
//! anything it acknowledged.
//!
//! Needs root to mount a small tmpfs (CI runs as root); elsewhere the test
//! says so and checks nothing.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_gives_503_then_recovers_without_loss() {
    let mnt = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&mnt.path().join("disk"), "1m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let db = mount.0.join("dlr.redb");
    let mut d = Daemon::with_setup(
        &[
            ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
            ("SINCH_DLR_API_TOKEN", TOKEN),
        ],
        |dir| std::os::unix::fs::symlink(&db, dir.join("dlr.redb")).unwrap(),
    );
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..20_000 {
        let recipient = format!("1555{i:07}");
        let r = d.callback(&recipient_report(
            "FULLDISK",
            &recipient,
            "Delivered",
            0,
            "2025-03-02T10:15:41Z",
        ));
        match r.status {
            200 => acked.push(recipient),
            503 => {
                assert!(r.header("Retry-After").is_some());
                refused = Some(i);
                break;
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    let refused = refused.expect("the disk never filled up");
    eprintln!("disk full after {} acknowledged callbacks", acked.len());
    assert_eq!(
        d.request("GET", "/readyz", &[], b"").status,
        503,
        "not ready while full"
    );
    // Space comes back: ready again by itself, then callbacks are stored.
    mount.resize("64m");
    let deadline = Instant::now() + Duration::from_secs(15);
    while d.request("GET", "/readyz", &[], b"").status != 200 {
        assert!(
            Instant::now() < deadline,
            "never became ready again:\n{}",
            d.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let retried = format!("1555{refused:07}");
    let r = d.callback(&recipient_report(
        "FULLDISK",
        &retried,
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    assert_eq!(r.status, 200, "Sinch's retry is stored: {}", r.text());
    acked.push(retried);
    for recipient in &acked {
        let page = d.get(&format!("/api/messages?to={recipient}")).json();
        assert_eq!(
            page["messages"].as_array().unwrap().len(),
            1,
            "{recipient} lost or doubled"
        );
    }
    // The event log committed with the changes: one event per stored
    // update, none for the commits that failed.
    let mut updates = Vec::new();
    let mut after = 0;
    loop {
        let page = d
            .get(&format!("/api/events?after={after}&limit=1000"))
            .json();
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        after = page["next_after"].as_u64().unwrap();
        updates.extend(events.iter().map(|e| {
            e["data"]["message"]["recipient"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    updates.sort();
    let mut want = acked.clone();
    want.sort();
    assert_eq!(
        updates, want,
        "one event per acknowledged callback, none for refused ones"
    );
    let log = d.stderr();
    assert!(
        log.contains("accepting writes again") || log.contains("writes succeed again"),
        "{log}"
    );
    assert!(d.terminate().success());
    d.assert_consistent();
}
