//! Configuration through the real binary: `.env` files, secret files,
//! `check-config`, the modes of the files the daemon creates, start-up
//! order. Each case is a way to lose callbacks for good (Sinch never
//! retries a 401 or 400) or to leak a secret.

use crate::support::*;
use base64::Engine;
use std::path::Path;
use std::process::Output;

/// Runs the binary in `dir` with `env` (nothing else in the environment).
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    binary(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("running sinch-dlr")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A value quoted in `.env` with a comment after it is used without its
/// quotes: the daemon verifies a callback signed with the bare secret,
/// and takes the bare API token and Basic credentials.
#[test]
fn quoted_dotenv_values_with_trailing_comments_lose_their_quotes() {
    let env_file = format!(
        "# from the account manager\n\
         export SINCH_WEBHOOK_SECRET=\"{SECRET}\" # from account manager\n\
         SINCH_DLR_API_TOKEN='{TOKEN}'   # for the app\n\
         SINCH_DLR_CALLBACK_BASIC=\"sinch:pa ss\" # user:password\n\
         SINCH_DLR_PUBLIC_URL=\"https://dlr.example.com\" # behind the proxy\n\
         \n\
         SINCH_DLR_MAX_BODY=65536 # bytes\n"
    );
    let d = Daemon::with_setup(&[], |dir| {
        std::fs::write(dir.join(".env"), &env_file).unwrap();
    });
    let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    assert_eq!(d.callback(&body).status, 200, "{}", d.stderr());
    assert_eq!(d.get("/api/messages/1").status, 200, "bare API token");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("sinch:pa ss")
    );
    let body = recipient_report("B2", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
    let r = d.request(
        "POST",
        "/api/sinchCallbacks",
        &[("Authorization", &basic)],
        &body,
    );
    assert_eq!(r.status, 200, "bare Basic credentials");
}

/// A line the reader cannot take exactly stops the start (exit 2) naming
/// the file and line, and never shows the value.
#[test]
fn unreadable_dotenv_lines_are_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (line2, why) in [
        ("SINCH_DLR_API_TOKEN=two words-hidden", "spaces"),
        ("SINCH_DLR_API_TOKEN=\"unclosed-hidden", "quote"),
        ("SINCH_DLR_API_TOKEN=pa$$word-hidden", "expansion"),
        ("just some words-hidden", "no ="),
    ] {
        std::fs::write(
            dir.path().join(".env"),
            format!("SINCH_DLR_LISTEN=127.0.0.1:0\n{line2}\nSINCH_DLR_WORKERS=2\n"),
        )
        .unwrap();
        for command in ["serve", "check-config"] {
            let out = run(dir.path(), &[command], &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{why}, {command}: {err}");
            assert!(err.contains(".env:2"), "{why}, {command}: {err}");
            assert!(!err.contains("hidden"), "{why}: value shown: {err}");
        }
        assert!(!dir.path().join("sinch-dlr.redb").exists(), "{why}");
    }
}
