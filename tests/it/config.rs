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

/// Every variable that may come from a file.
const FILE_VARIABLES: &[&str] = &[
    "SINCH_DLR_API_TOKEN_FILE",
    "SINCH_DLR_CALLBACK_SECRETS_FILE",
    "SINCH_WEBHOOK_SECRET_FILE",
    "SINCH_DLR_CALLBACK_BASIC_FILE",
    "SINCH_API_TOKEN_FILE",
];

fn write_secret(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An empty (or blank) secret file would quietly mean "no secret": a
/// generated callback secret nobody gave Sinch, or no API token. Refused,
/// naming the variable, before any file is created.
#[test]
fn empty_secret_files_are_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    for text in ["", " \n\n"] {
        write_secret(&secret, text, 0o600);
        for var in FILE_VARIABLES {
            let out = run(
                dir.path(),
                &["serve", "--listen", "127.0.0.1:0"],
                &[(var, secret.to_str().unwrap())],
            );
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{var} {text:?}: {err}");
            assert!(err.contains(var) && err.contains("empty"), "{var}: {err}");
            assert!(!err.contains("generated callback secret"), "{err}");
        }
    }
    assert!(!dir.path().join("sinch-dlr.redb").exists());
    assert!(!dir.path().join("sinch-dlr.redb.secret").exists());
}

/// Docker secrets (0444) and Kubernetes secret volumes (0644 by default)
/// sit on read-only mounts: accepted with a warning that names the file,
/// and the secret in them is the one used.
#[test]
fn docker_and_kubernetes_secret_modes_start_with_a_warning() {
    for mode in [0o444, 0o644] {
        let d = Daemon::with_setup(
            &[
                ("SINCH_DLR_CALLBACK_SECRETS_FILE", "run-secrets/callback"),
                ("SINCH_DLR_API_TOKEN", "a-long-enough-api-token"),
            ],
            |dir| {
                std::fs::create_dir(dir.join("run-secrets")).unwrap();
                write_secret(
                    &dir.join("run-secrets/callback"),
                    &format!("{SECRET}\n"),
                    mode,
                );
            },
        );
        let body = recipient_report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:00Z");
        assert_eq!(d.callback(&body).status, 200, "{mode:o}");
        let log = d.stderr();
        assert!(
            log.contains("WARN") && log.contains("run-secrets/callback is readable by every user"),
            "{mode:o}: {log}"
        );
    }
}

/// A secret both in `NAME` and in `NAME_FILE`: which should win is not
/// obvious, so neither does.
#[test]
fn a_secret_set_twice_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    write_secret(&secret, "from-the-file\n", 0o600);
    for var in FILE_VARIABLES {
        let name = var.trim_end_matches("_FILE");
        let out = run(
            dir.path(),
            &["serve", "--listen", "127.0.0.1:0"],
            &[(var, secret.to_str().unwrap()), (name, "from-env")],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}: {err}");
        assert!(
            err.contains(&format!("{name} is set in more than one place")) && err.contains(var),
            "{var}: {err}"
        );
    }
}

/// A short API token is accepted (it may be a test setup) but the start
/// says so.
#[test]
fn a_short_api_token_is_warned_about_at_start() {
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", "x"),
    ]);
    let log = d.stderr();
    assert!(
        log.contains("WARN") && log.contains("SINCH_DLR_API_TOKEN is shorter than 16 characters"),
        "{log}"
    );
    let d = Daemon::with_env(&[
        ("SINCH_DLR_CALLBACK_SECRETS", SECRET),
        ("SINCH_DLR_API_TOKEN", "0123456789abcdef"),
    ]);
    assert!(!d.stderr().contains("shorter than"), "{}", d.stderr());
}
