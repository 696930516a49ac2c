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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A value quoted in `.env` with a comment after it is used without its
/// quotes: the daemon verifies a callback signed with the bare secret,
/// takes the bare API token and Basic credentials, and the bare public URL.
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
    let table = stdout(&run(d.path(), &["check-config"], &[]));
    assert_eq!(
        setting(&table, "SINCH_DLR_PUBLIC_URL"),
        (
            "https://dlr.example.com".into(),
            ".env file (.env:5)".into()
        ),
        "bare public URL"
    );
}

/// A comment holding a quote after two spaces or a tab ends at its line:
/// every later line is read, with its own line number (the reader once
/// took the quote as open and dropped the lines after it).
#[test]
fn comments_with_quotes_leave_the_next_lines_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "SINCH_DLR_LISTEN=127.0.0.1:8912  # don't change\n\
         SINCH_DLR_API_TOKEN=abcdefghijklmnopqrstuvwxyz\n\
         SINCH_DLR_WORKERS=8\t# it's enough\n\
         SINCH_DLR_MAX_BODY=1000   # see \"Limits\n",
    )
    .unwrap();
    let out = run(dir.path(), &["check-config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for (name, value, line) in [
        ("SINCH_DLR_LISTEN", "127.0.0.1:8912", 1),
        ("SINCH_DLR_API_TOKEN", "[set]", 2),
        ("SINCH_DLR_WORKERS", "8", 3),
        ("SINCH_DLR_MAX_BODY", "1000 bytes", 4),
    ] {
        assert_eq!(
            setting(&table, name),
            (value.to_string(), format!(".env file (.env:{line})")),
            "{table}"
        );
    }
}

/// Rows that depend on each other say what is in force: HMAC from the
/// tutorial's variable alone, an auth URL that no credential uses.
#[test]
fn check_config_rows_agree_with_what_is_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["check-config"],
        &[
            ("SINCH_WEBHOOK_SECRET", "tutorial-secret-0123"),
            ("SINCH_SERVICE_PLAN_ID", "plan-1"),
            ("SINCH_API_TOKEN", "sinch-rest-api-token"),
            ("SINCH_AUTH_BASE_URL", "https://auth.example.com"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(
        setting(&table, "SINCH_DLR_CALLBACK_AUTH").0,
        "hmac (1 secret(s))"
    );
    assert_eq!(
        setting(&table, "SINCH_DLR_CALLBACK_SECRETS").0,
        "unset (HMAC with SINCH_WEBHOOK_SECRET)"
    );
    assert_eq!(
        setting(&table, "SINCH_AUTH_BASE_URL"),
        (
            "unused (no project access key in use)".into(),
            "environment".into()
        )
    );
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

/// Every variable that may come from a file: `NAME_FILE` for each secret
/// in the one list (so a secret added later is tested too).
fn file_variables() -> Vec<String> {
    let all: Vec<String> = sinch_dlr::config::VARIABLES
        .iter()
        .filter(|v| v.secret)
        .map(|v| format!("{}_FILE", v.name))
        .collect();
    assert!(all.len() >= 8, "{all:?}");
    all
}

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
        for var in &file_variables() {
            let var = var.as_str();
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
    for var in &file_variables() {
        let var = var.as_str();
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

/// What `check-config` says about one setting: (value, from).
fn setting(table: &str, name: &str) -> (String, String) {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} missing from:\n{table}"));
    let cells: Vec<&str> = line[name.len()..]
        .trim()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    (cells[0].to_string(), cells[1..].join(" "))
}

/// Every way a secret could be printed: as text, base64 (standard and URL
/// alphabet), hex (both cases), and as a list of decimal bytes (Rust's
/// debug form and without spaces).
fn encodings(secret: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let decimal: Vec<String> = secret.iter().map(u8::to_string).collect();
    vec![
        String::from_utf8_lossy(secret).into_owned(),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        hex.to_uppercase(),
        hex,
        decimal.join(", "),
        decimal.join(","),
    ]
}

/// `check-config` is a table of every setting, in every auth mode, and no
/// secret shows in it in any encoding; each configured secret reads
/// `[set]`.
#[test]
fn check_config_shows_every_setting_and_no_secret_in_any_encoding() {
    use base64::engine::general_purpose::STANDARD;
    let legacy_key = b"legacy-key-bytes-0123456789";
    let legacy_secret = STANDARD.encode(legacy_key);
    let webhook_key = b"webhook-signing-key-0123456789ab";
    let webhook_secret = format!("whsec_{}", STANDARD.encode(webhook_key));
    let common = [
        ("SINCH_DLR_API_TOKEN", "api-token-that-is-long-enough"),
        ("SINCH_SERVICE_PLAN_ID", "plan-1"),
        ("SINCH_API_TOKEN", "sinch-rest-api-token"),
        (
            "SINCH_DLR_PUBLIC_URL",
            "https://cb-user:url-password@dlr.example.com",
        ),
        (
            "SINCH_DLR_WEBHOOK_URL",
            "http://hook-user:hook-pass@127.0.0.1:9/hook?token=query-token-123",
        ),
        ("SINCH_DLR_WEBHOOK_SECRET", webhook_secret.as_str()),
    ];
    // Sinch's project access keys instead of a service plan's token.
    let project_keys = [
        ("SINCH_DLR_API_TOKEN", "api-token-that-is-long-enough"),
        ("SINCH_PROJECT_ID", "project-1"),
        ("SINCH_KEY_ID", "key-id-1"),
        ("SINCH_KEY_SECRET", "project-key-secret-42"),
        (
            "SINCH_DLR_WEBHOOK_URL",
            "http://hook-user:hook-pass@127.0.0.1:9/hook?token=query-token-123",
        ),
        ("SINCH_DLR_WEBHOOK_SECRET", webhook_secret.as_str()),
    ];
    let modes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "hmac",
            vec![("SINCH_DLR_CALLBACK_SECRETS", "hmac-one,hmac-two")],
        ),
        (
            "basic",
            vec![
                ("SINCH_DLR_CALLBACK_AUTH", "basic"),
                ("SINCH_DLR_CALLBACK_BASIC", "sinch:basic-password"),
            ],
        ),
        (
            "legacy",
            vec![
                ("SINCH_DLR_CALLBACK_AUTH", "legacy"),
                ("SINCH_WEBHOOK_SECRET", &legacy_secret),
            ],
        ),
        (
            "none",
            vec![
                ("SINCH_DLR_CALLBACK_AUTH", "none"),
                ("SINCH_DLR_CALLBACK_SECRETS", "hmac-one"),
            ],
        ),
        (
            "header",
            vec![
                ("SINCH_DLR_CALLBACK_AUTH", "header"),
                (
                    "SINCH_DLR_CALLBACK_HEADER",
                    "X-Callback-Key: header-value-0123456789",
                ),
            ],
        ),
    ];
    let mut secrets: Vec<Vec<u8>> = [
        "api-token-that-is-long-enough",
        "sinch-rest-api-token",
        "url-password",
        "cb-user:url-password",
        "hmac-one",
        "hmac-two",
        "hmac-one,hmac-two",
        "basic-password",
        "sinch:basic-password",
        &legacy_secret,
        "header-value-0123456789",
        "project-key-secret-42",
        "hook-pass",
        "query-token-123",
        &webhook_secret,
        &webhook_secret["whsec_".len()..],
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    secrets.push(legacy_key.to_vec());
    secrets.push(webhook_key.to_vec());
    let dir = tempfile::tempdir().unwrap();
    let mut tables = Vec::new();
    for (mode, env) in &modes {
        // The header mode also takes Sinch's project keys, so that every
        // secret the daemon can be given is shown by one of the tables.
        let base: &[(&str, &str)] = if *mode == "header" {
            &project_keys
        } else {
            &common
        };
        let env: Vec<(&str, &str)> = base.iter().chain(env).copied().collect();
        let out = run(dir.path(), &["check-config"], &env);
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        tables.push((mode.to_string(), stdout(&out) + &stderr(&out)));
    }
    // Generated: the secret the daemon made and keeps beside the database.
    let d = Daemon::with_env(&common);
    let generated = std::fs::read_to_string(d.path().join("dlr.redb.secret")).unwrap();
    secrets.push(generated.trim().as_bytes().to_vec());
    let out = run(d.path(), &["check-config", "--db", "dlr.redb"], &common);
    let generated_table = stdout(&out) + &stderr(&out);
    assert_eq!(
        setting(&generated_table, "SINCH_DLR_CALLBACK_SECRETS"),
        (
            "[set] (generated, kept in dlr.redb.secret)".into(),
            "generated".into()
        ),
        "{generated_table}"
    );
    tables.push(("generated".into(), generated_table));

    for (mode, table) in &tables {
        for secret in &secrets {
            for shown in encodings(secret) {
                assert!(!table.contains(&shown), "{mode}: {shown:?} in:\n{table}");
            }
        }
        for sinch_dlr::config::Variable { name, .. } in sinch_dlr::config::VARIABLES {
            setting(table, name);
        }
        let (callback_secret, sinch_secret) = match mode.as_str() {
            "basic" => ("SINCH_DLR_CALLBACK_BASIC", "SINCH_API_TOKEN"),
            "legacy" => ("SINCH_WEBHOOK_SECRET", "SINCH_API_TOKEN"),
            "header" => ("SINCH_DLR_CALLBACK_HEADER", "SINCH_KEY_SECRET"),
            _ => ("SINCH_DLR_CALLBACK_SECRETS", "SINCH_API_TOKEN"),
        };
        for name in [
            "SINCH_DLR_API_TOKEN",
            "SINCH_DLR_WEBHOOK_SECRET",
            sinch_secret,
            callback_secret,
        ] {
            let (value, _) = setting(table, name);
            assert!(value.starts_with("[set]"), "{mode} {name}:\n{table}");
        }
        if mode != "header" {
            assert_eq!(
                setting(table, "SINCH_DLR_PUBLIC_URL").0,
                "https://[set]@dlr.example.com",
                "{mode}"
            );
        }
        assert!(
            !table.contains("Config {") && !table.contains("Some("),
            "{table}"
        );
    }
    let auth = |mode: &str| {
        let table = &tables.iter().find(|(m, _)| m == mode).unwrap().1;
        setting(table, "SINCH_DLR_CALLBACK_AUTH").0
    };
    assert_eq!(auth("hmac"), "hmac (2 secret(s))");
    assert_eq!(auth("basic"), "basic");
    assert_eq!(auth("legacy"), "legacy (1 key(s))");
    assert_eq!(auth("none"), "none (anyone can post callbacks)");
    assert_eq!(auth("generated"), "hmac (generated secret)");
}

/// The "from" column names the source of each value: default, `.env`
/// file (with the line), environment, flag, secret file.
#[test]
fn check_config_says_where_each_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# settings\nSINCH_DLR_WORKERS=3\nSINCH_DLR_MAX_BODY=1000\n",
    )
    .unwrap();
    let token = dir.path().join("token");
    write_secret(&token, "a-long-enough-api-token\n", 0o600);
    let out = run(
        dir.path(),
        &["check-config", "--listen", "127.0.0.1:9"],
        &[
            ("SINCH_DLR_MAX_BODY", "2000"),
            ("SINCH_DLR_API_TOKEN_FILE", token.to_str().unwrap()),
        ],
    );
    let table = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let expect = [
        ("SINCH_DLR_WORKERS", "3", ".env file (.env:2)".to_string()),
        ("SINCH_DLR_MAX_BODY", "2000 bytes", "environment".into()),
        ("SINCH_DLR_LISTEN", "127.0.0.1:9", "flag".into()),
        (
            "SINCH_DLR_API_TOKEN",
            "[set]",
            format!("file ({})", token.display()),
        ),
        ("SINCH_DLR_IO_TIMEOUT", "30 s", "default".into()),
        (
            "SINCH_DLR_RECONCILE_INTERVAL",
            "off (no Sinch API credentials)",
            "default".into(),
        ),
    ];
    for (name, value, from) in expect {
        assert_eq!(
            setting(&table, name),
            (value.to_string(), from),
            "{name}:\n{table}"
        );
    }
}

/// What the start warns about, check-config shows too.
#[test]
fn check_config_lists_the_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    write_secret(&secret, "hmac-secret\n", 0o644);
    let out = run(
        dir.path(),
        &["check-config"],
        &[
            ("SINCH_DLR_API_TOKEN", "short"),
            ("SINCH_DLR_CALLBACK_SECRETS_FILE", secret.to_str().unwrap()),
        ],
    );
    let table = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        table.contains("warning: SINCH_DLR_API_TOKEN is shorter than 16 characters"),
        "{table}"
    );
    assert!(
        table.contains("warning: SINCH_DLR_CALLBACK_SECRETS_FILE:") && table.contains("chmod o-r"),
        "{table}"
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The binary under the usual umask (022), so a file created without an
/// explicit mode would come out 0644.
fn run_umask_022(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_sinch-dlr"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("running sinch-dlr")
}

/// The database, the generated secret and backups (taken through the
/// daemon and from the file) hold phone numbers, bodies or the secret:
/// each is created readable by its owner only.
#[test]
fn files_the_daemon_creates_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_umask_022(dir.path(), &["check-db", "--db", "fresh.redb"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&dir.path().join("fresh.redb")), 0o600, "new database");

    let d = Daemon::with_env(&[("SINCH_DLR_API_TOKEN", TOKEN)]);
    assert_eq!(mode(&d.path().join("dlr.redb")), 0o600, "database");
    assert_eq!(mode(&d.path().join("dlr.redb.secret")), 0o600, "secret");
    let env = [("SINCH_DLR_API_TOKEN", TOKEN)];
    let (listen, path) = (d.addr.to_string(), d.path().to_path_buf());
    let backup = |to: &str| {
        let args = [
            "backup", "--to", to, "--listen", &listen, "--db", "dlr.redb",
        ];
        let out = run_umask_022(&path, &args, &env);
        assert!(out.status.success(), "{}", stderr(&out));
        mode(&path.join(to))
    };
    assert_eq!(backup("through-daemon.redb"), 0o600);
    let mut d = d;
    assert!(d.terminate().success());
    assert_eq!(backup("from-file.redb"), 0o600);
}

/// A busy port fails the start before anything is created: no database,
/// no generated secret printed (which the operator might hand to Sinch).
#[test]
fn a_busy_port_fails_before_any_file_is_created() {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let listen = d.addr.to_string();
    let out = run(dir.path(), &["serve", "--listen", &listen], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on {listen}")), "{err}");
    assert!(!err.contains("generated callback secret"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files created: {left:?}");
}

/// A second process on the same file is told who holds it.
#[test]
fn a_database_in_use_names_the_other_process() {
    let d = Daemon::start();
    let env = [("SINCH_DLR_CALLBACK_SECRETS", SECRET)];
    for args in [
        &["serve", "--listen", "127.0.0.1:0", "--db", "dlr.redb"][..],
        &["check-db", "--db", "dlr.redb"],
    ] {
        let out = run(d.path(), args, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("another process (another sinch-dlr?) holds dlr.redb"),
            "{args:?}: {err}"
        );
    }
}

/// Files made by an older version (0644) keep their mode; the start and
/// check-config say so.
#[test]
fn files_left_open_by_an_older_version_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let mut d = Daemon::with_env(&[("SINCH_DLR_API_TOKEN", TOKEN)]);
    assert!(d.terminate().success());
    for file in ["dlr.redb", "dlr.redb.secret"] {
        let path = d.path().join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = run(d.path(), &["check-config", "--db", "dlr.redb"], &[]);
    let table = stdout(&out);
    for file in ["dlr.redb (the database)", "dlr.redb.secret (the generated"] {
        assert!(
            table.contains(&format!("warning: {file}")) && table.contains("chmod 600"),
            "{file}: {table}"
        );
    }
    let d = d.restart_stopped();
    assert!(
        d.stderr()
            .contains("dlr.redb (the database) is open to other users"),
        "{}",
        d.stderr()
    );
}
