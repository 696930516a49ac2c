//! The process: start-up, configuration, secret generation, health,
//! SIGTERM and restart on the same file.

use crate::support::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[test]
fn sigterm_then_restart_keeps_everything() {
    let d = Daemon::start();
    let batch = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";
    d.post_api(
        "/api/messages",
        &json!({"to": "+15551230001", "batch_id": batch}),
    );
    d.callback(&recipient_report(
        batch,
        "15551230001",
        "Delivered",
        0,
        "2025-03-02T10:15:41Z",
    ));
    d.callback(&payload("mo_text"));
    let before = d.get("/api/messages/1").json();
    let d = d.restart();
    assert!(!d.stderr().contains("ERROR"), "{}", d.stderr());
    assert_eq!(d.get("/api/messages/1").json(), before);
    assert_eq!(
        d.callback(&payload("mo_text")).json()["result"],
        "duplicate",
        "inbound survived too"
    );
}

#[test]
fn sigterm_exits_zero_and_says_so() {
    let mut d = Daemon::start();
    let status = d.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(d.stderr().contains("stopped cleanly"), "{}", d.stderr());
}

#[test]
fn health_and_readiness() {
    let d = Daemon::start();
    assert_eq!(d.request("GET", "/healthz", &[], b"").status, 200);
    let r = d.request("GET", "/readyz", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ready");
}

#[test]
fn first_start_generates_a_secret_and_keeps_it() {
    let d = Daemon::with_env(&[("SINCH_DLR_API_TOKEN", TOKEN)]);
    let path = d.path().join("dlr.redb.secret");
    let secret = std::fs::read_to_string(&path).unwrap().trim().to_string();
    assert!(secret.len() >= 40);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(d.stderr().contains(&secret), "printed once at generation");
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let headers = signed_headers(&secret, &body);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        d.request("POST", "/api/sinchCallbacks", &refs, &body)
            .status,
        200
    );
    let d = d.restart();
    assert!(
        !d.stderr().contains(&secret),
        "not printed again: {}",
        d.stderr()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), secret);
    assert_eq!(
        d.request("POST", "/api/sinchCallbacks", &refs, &body)
            .json()["result"],
        "duplicate"
    );
}

#[test]
fn bad_configuration_lists_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path())
        .args(["serve"])
        .env("SINCH_DLR_LISTEN", "nowhere")
        .env("SINCH_DLR_MAX_BODY", "lots")
        .env("SINCH_DLR_CALLBACK_AUTH", "magic")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for word in [
        "SINCH_DLR_LISTEN",
        "SINCH_DLR_MAX_BODY",
        "SINCH_DLR_CALLBACK_AUTH",
    ] {
        assert!(err.contains(word), "{word} not in: {err}");
    }
    let out = binary(dir.path()).args(["--bogus-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dotenv_and_tutorial_names_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("DATABASE_URL=\"file:./dev.db\"\nSINCH_WEBHOOK_SECRET={SECRET}\nSINCH_DLR_API_TOKEN={TOKEN}\n"),
    )
    .unwrap();
    let text = stdout_of(binary(dir.path()).args(["check-config"]));
    assert!(text.contains("dev.db"), "{text}");
    assert!(
        !text.contains(SECRET) && !text.contains(TOKEN),
        "secrets redacted: {text}"
    );
    assert!(text.contains("[set]"));
}

#[test]
fn help_documents_every_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sinch_dlr::config::Variable { name, .. } in sinch_dlr::config::VARIABLES {
        assert!(text.contains(name), "{name} missing from --help");
    }
    for flag in ["--listen", "--db", "--insecure-no-auth"] {
        assert!(text.contains(flag));
    }
}

/// `COMMAND --help` works for every command and lists exactly the flags
/// that command takes, as the flag table says; the whole `--help` lists
/// every command.
#[test]
fn every_command_has_help_listing_exactly_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let whole = stdout_of(binary(dir.path()).arg("--help"));
    for c in sinch_dlr::cli::COMMANDS {
        assert!(
            whole.contains(&format!("sinch-dlr {}", c.name)),
            "{}",
            c.name
        );
        for help in [
            vec![c.name, "--help"],
            vec!["help", c.name],
            vec![c.name, "-h"],
        ] {
            let out = binary(dir.path()).args(&help).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{help:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.starts_with(&format!("sinch-dlr {}:", c.name)),
                "{text}"
            );
            let listed: Vec<&str> = text
                .lines()
                .map(str::trim_start)
                .filter(|l| l.starts_with('-'))
                .map(|l| {
                    let l = l
                        .strip_prefix("-h, ")
                        .or(l.strip_prefix("-V, "))
                        .or(l.strip_prefix("-v, "))
                        .unwrap_or(l);
                    l.split_whitespace().next().unwrap()
                })
                .collect();
            let table: Vec<&str> = c.all_flags().map(|f| f.long).collect();
            assert_eq!(listed, table, "{help:?}:\n{text}");
        }
    }
}

/// The README's "Command line" block is the USAGE block of `--help`.
#[test]
fn the_readme_command_line_is_the_help_usage() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout_of(binary(dir.path()).arg("--help"));
    let usage: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "USAGE:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.strip_prefix("    ").unwrap())
        .collect();
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let block: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "## Command line")
        .skip_while(|l| *l != "```")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    assert_eq!(block, usage, "update README \"Command line\" from --help");
}

/// An unknown flag, a flag of another command, or a missing value is a
/// usage error: exit 2, nothing run, a pointer to --help.
#[test]
fn unknown_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for c in sinch_dlr::cli::COMMANDS {
        let out = binary(dir.path())
            .args([c.name, "--no-such-flag"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", c.name);
        assert!(String::from_utf8_lossy(&out.stderr).contains("--help"));
    }
    for args in [
        &["check-db", "--to", "x"][..],
        &["messages", "--body", "x"],
        &["--listen"],
    ] {
        let out = binary(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert!(!dir.path().join("sinch-dlr.redb").exists(), "nothing ran");
}

#[test]
fn sign_prints_a_working_curl_command() {
    let d = Daemon::start();
    let body_path = fixtures().join("payloads/recipient_delivery_report_sms.dispatched.json");
    let out = binary(d.path())
        .args([
            "sign",
            "--secret",
            SECRET,
            "--file",
            body_path.to_str().unwrap(),
        ])
        .args(["--url", &format!("http://{}/api/sinchCallbacks", d.addr)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmd = String::from_utf8(out.stdout).unwrap();
    assert!(cmd.starts_with("curl "), "{cmd}");
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok()
    {
        let run = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            r#"{"result":"stored"}"#
        );
    }
}

/// The address is printed once per start, on stdout, in one line that
/// people and scripts both read (address first): not again in the log.
#[test]
fn the_address_is_announced_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--db", "dlr.redb"])
        .env("SINCH_DLR_CALLBACK_SECRETS", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    let words: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(words[..2], ["listening", "on"], "{first}");
    let addr: std::net::SocketAddr = words[2].parse().expect(&first);
    assert!(first.contains("(http, database dlr.redb)"), "{first}");
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{first}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(all.matches(&addr.to_string()).count(), 1, "{all}");
}
