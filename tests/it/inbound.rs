//! Inbound messages (replies, STOP, HELP) are findable: the `inbound`
//! command lists them like `messages` lists messages, on the daemon and on
//! the file, and the dashboard has a page for them and finds them by the
//! sender's number.
//! See: issue "Operators can find anything" (Inbound messages).

use crate::support::*;

fn with_inbound() -> Daemon {
    let d = Daemon::start();
    for name in ["mo_text", "mo_binary"] {
        assert_eq!(d.callback(&payload(name)).json()["result"], "stored");
    }
    d
}

#[test]
fn inbound_command_lists_filters_and_formats_like_messages() {
    let mut d = with_inbound();
    let listen = d.addr.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["inbound"],
        vec!["inbound", "--from", "+1 201 555 5555", "--format", "json"],
        vec!["inbound", "--to", "46700000099", "--format", "csv"],
        vec!["inbound", "--limit", "1"],
    ];
    let live: Vec<Ran> = commands
        .iter()
        .map(|c| run_cli(d.path(), &listen, c))
        .collect();
    for (c, ran) in commands.iter().zip(&live) {
        assert_eq!(ran.code, 0, "{c:?}: {}", ran.err);
    }
    let table = &live[0].out;
    assert!(table.starts_with("ID  FROM"), "{table}");
    assert!(table.contains("Hello John!"), "{table}");
    assert!(table.contains("SGVsbG8gV29ybGQh"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&live[1].out).unwrap();
    assert_eq!(ids(&json, "inbound"), [1], "by the sender's digits");
    let csv = &live[2].out;
    assert!(csv.starts_with("id,from,to,type,body"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        live[3].err.contains("more: add --cursor"),
        "{}",
        live[3].err
    );
    assert!(d.terminate().success());
    for (c, before) in commands.iter().zip(&live) {
        let offline = run_cli(d.path(), &listen, c);
        assert_eq!(offline.code, 0, "{c:?}: {}", offline.err);
        assert_eq!(offline.out, before.out, "{c:?}: same from the file");
    }
    let bad = run_cli(d.path(), &listen, &["inbound", "--from", "nobody"]);
    assert_eq!(bad.code, 2, "{}", bad.err);
    assert!(bad.err.contains("--from"), "{}", bad.err);
    let dir = tempfile::tempdir().unwrap();
    let missing = run_cli(dir.path(), "127.0.0.1:1", &["inbound"]);
    assert_eq!(missing.code, 1, "{}", missing.err);
    assert!(!dir.path().join("dlr.redb").exists(), "never creates one");
}
