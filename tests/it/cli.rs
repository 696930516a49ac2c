//! The CLI never surprises: read-only commands never create a database,
//! mistakes get a did-you-mean, usage errors exit 2 and runtime failures
//! 1, each said once in CLI words, and `-v` says who answered.
//! See: issue "Operators can find anything" (The CLI).

use crate::support::*;
use serde_json::json;

/// Nothing listens on port 1 of loopback.
const NOBODY: &str = "127.0.0.1:1";

#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["messages"][..],
        &["show", "1"],
        &["stats"],
        &["export"],
        &["messages", "--status", "none"],
    ] {
        let ran = run_cli(dir.path(), NOBODY, args);
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.err);
        for named in [NOBODY, "dlr.redb"] {
            assert!(
                ran.err.contains(named),
                "{args:?} names {named}: {}",
                ran.err
            );
        }
        assert_eq!(ran.err.lines().count(), 1, "said once: {}", ran.err);
        assert!(
            !dir.path().join("dlr.redb").exists(),
            "{args:?} created the database"
        );
    }
}

#[test]
fn mistyped_commands_and_flags_suggest_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["mesages"][..], "did you mean messages?"),
        (&["stat"], "did you mean stats?"),
        (
            &["messages", "--stauts", "Failed"],
            "did you mean --status?",
        ),
        (&["show", "1", "--formt", "json"], "did you mean --format?"),
        (&["messages", "--format", "jsn"], "did you mean json?"),
    ] {
        let ran = run_cli(dir.path(), NOBODY, args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.err);
        assert!(ran.err.contains(says), "{args:?}: {}", ran.err);
    }
}

#[test]
fn usage_errors_exit_2_in_cli_words_once() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["send", "--to", "+15551230001"][..], "--body is required"),
        (&["send", "--body", "hi"], "--to is required"),
        (&["send", "--to", "12", "--body", "hi"], "--to:"),
        (
            &[
                "send",
                "--to",
                "+15551230001",
                "--body",
                "x",
                "--delivery-report",
                "all",
            ],
            "--delivery-report:",
        ),
        (&["messages", "--limit", "0"], "--limit"),
        (&["stats", "--format", "yaml"], "--format"),
        (&["stats", "--since", "yesterday"], "--since: \"yesterday\""),
        (&["show", "abc"], "a message ID (a number"),
        (&["sign", "--secret", ""], "--secret is empty"),
        (
            &["sign", "--secret", "s", "--file", "missing.json"],
            "--file missing.json",
        ),
    ] {
        let ran = run_cli(dir.path(), NOBODY, args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.err);
        assert!(ran.err.contains(says), "{args:?}: {}", ran.err);
        assert!(!ran.err.contains("HTTP 400"), "{args:?}: {}", ran.err);
        assert_eq!(ran.err.lines().count(), 1, "said once: {}", ran.err);
    }
    assert!(!dir.path().join("dlr.redb").exists());
}

#[test]
fn runtime_failures_exit_1_once_and_401_says_where_the_token_comes_from() {
    let d = Daemon::start();
    let listen = d.addr.to_string();
    let ran = run_cli(d.path(), &listen, &["show", "999"]);
    assert_eq!(ran.code, 1, "{}", ran.err);
    assert!(ran.err.contains("not found"), "{}", ran.err);
    assert_eq!(ran.err.lines().count(), 1, "said once: {}", ran.err);
    let out = binary(d.path())
        .args(["messages", "--listen", &listen, "--db", "dlr.redb"])
        .env("SINCH_DLR_API_TOKEN", "wrong-token")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("SINCH_DLR_API_TOKEN"), "{err}");
    assert!(
        err.contains("--env-file /etc/sinch-dlr/sinch-dlr.env"),
        "{err}"
    );
}

#[test]
fn verbose_says_whether_the_daemon_or_the_file_answered() {
    let mut d = Daemon::start();
    let listen = d.addr.to_string();
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": "B1"}),
    );
    let ran = run_cli(d.path(), &listen, &["messages", "-v"]);
    assert_eq!(ran.code, 0, "{}", ran.err);
    assert!(
        ran.err
            .contains(&format!("answer from the daemon at http://{listen}")),
        "{}",
        ran.err
    );
    let quiet = run_cli(d.path(), &listen, &["messages"]);
    assert_eq!(quiet.err, "", "without -v a command says nothing extra");
    assert!(d.terminate().success());
    let ran = run_cli(d.path(), &listen, &["stats", "--verbose"]);
    assert_eq!(ran.code, 0, "{}", ran.err);
    assert!(
        ran.err.contains("answer from the file dlr.redb"),
        "{}",
        ran.err
    );
    let help = stdout_of(binary(d.path()).args(["messages", "--help"]));
    for flag in [
        "--status",
        "--final",
        "--code",
        "--status-since",
        "--verbose",
    ] {
        assert!(help.contains(flag), "messages --help lists {flag}: {help}");
    }
    assert!(help.contains("daemon or the file"), "{help}");
}
