//! Unit tests of the parser (the real binary: tests/it/config.rs).

use super::*;

fn raw(pairs: &[(&str, &str)]) -> Raw {
    Raw {
        values: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Raw::default()
    }
}

#[test]
fn defaults_are_safe() {
    let c = Config::from_raw(&Raw::default()).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8911");
    assert_eq!(c.db_path, PathBuf::from("sinch-dlr.redb"));
    assert!(
        c.generate_secret,
        "no secret: one is generated, never no auth"
    );
    assert!(!c.callback_auth.disabled);
    assert!(c.api_token.is_none());
    assert_eq!(
        c.generated_secret_path(),
        PathBuf::from("sinch-dlr.redb.secret")
    );
}

#[test]
fn tutorial_names_work() {
    let c = Config::from_raw(&raw(&[
        ("DATABASE_URL", "file:./dev.db"),
        ("SINCH_WEBHOOK_SECRET", "s1"),
        ("SINCH_DLR_CALLBACK_SECRETS", "s0, s2"),
        ("SINCH_SERVICE_PLAN_ID", "plan"),
        ("SINCH_API_TOKEN", "tok"),
        ("LOG_LEVEL", "debug"),
    ]))
    .unwrap();
    assert_eq!(c.db_path, PathBuf::from("./dev.db"));
    let secrets: Vec<_> = c
        .callback_auth
        .hmac_secrets
        .iter()
        .map(|s| s.expose())
        .collect();
    assert_eq!(secrets, ["s0", "s2", "s1"]);
    assert!(!c.generate_secret);
    assert_eq!(c.log_level, "debug");
    assert_eq!(c.sinch.unwrap().base_url, "https://us.sms.api.sinch.com");
}

#[test]
fn every_problem_is_reported_at_once() {
    let problems = Config::from_raw(&raw(&[
        ("SINCH_DLR_LISTEN", "nowhere"),
        ("SINCH_DLR_MAX_BODY", "big"),
        ("SINCH_DLR_CALLBACK_AUTH", "hmac,telepathy"),
        ("DATABASE_URL", "postgres://x/y"),
        ("SINCH_SERVICE_PLAN_ID", "p"),
    ]))
    .unwrap_err();
    assert_eq!(problems.len(), 5, "{problems:#?}");
}

#[test]
fn no_auth_only_when_asked() {
    let c = Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "none")])).unwrap();
    assert!(c.callback_auth.disabled);
    assert!(!c.generate_secret);
    assert!(Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "none,hmac")])).is_err());
}

#[test]
fn basic_turns_on_with_its_credentials() {
    let c = Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_BASIC", "u:p")])).unwrap();
    assert!(c.callback_auth.basic.is_some());
    assert!(c.generate_secret, "HMAC stays on beside Basic");
    let c = Config::from_raw(&raw(&[
        ("SINCH_DLR_CALLBACK_BASIC", "u:p"),
        ("SINCH_DLR_CALLBACK_AUTH", "basic"),
    ]))
    .unwrap();
    assert!(!c.generate_secret);
    assert!(Config::from_raw(&raw(&[("SINCH_DLR_CALLBACK_AUTH", "basic")])).is_err());
}

#[test]
fn secret_files_and_credentials() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("SINCH_DLR_API_TOKEN");
    std::fs::write(&file, "from-file\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let via_file = raw(&[("SINCH_DLR_API_TOKEN_FILE", file.to_str().unwrap())]);
    assert_eq!(
        Config::from_raw(&via_file)
            .unwrap()
            .api_token
            .unwrap()
            .expose(),
        "from-file"
    );
    let via_creds = raw(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
    assert_eq!(
        Config::from_raw(&via_creds)
            .unwrap()
            .api_token
            .unwrap()
            .expose(),
        "from-file"
    );
    // Docker and Kubernetes secret mounts: readable by all, accepted
    // with a warning; writable by others: refused.
    for mode in [0o444, 0o644] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let c = Config::from_raw(&via_file).unwrap();
        assert_eq!(c.api_token.unwrap().expose(), "from-file");
        assert!(c.warnings[0].contains("chmod o-r"), "{:?}", c.warnings);
    }
    for mode in [0o664, 0o646] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let problems = Config::from_raw(&via_file).unwrap_err();
        assert!(problems[0].contains("chmod go-w"), "{problems:?}");
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut both = via_file.clone();
    both.values
        .insert("SINCH_DLR_API_TOKEN".into(), "from-env".into());
    let problems = Config::from_raw(&both).unwrap_err();
    assert!(
        problems[0].contains("SINCH_DLR_API_TOKEN_FILE"),
        "{problems:?}"
    );
    std::fs::write(&file, " \n").unwrap();
    let problems = Config::from_raw(&via_file).unwrap_err();
    assert!(problems[0].contains("is empty"), "{problems:?}");
}

#[test]
fn the_parser_reads_every_listed_variable() {
    let raw = Raw::default();
    Config::from_raw(&raw).unwrap();
    let read = raw.read.borrow();
    for v in VARIABLES {
        assert!(read.contains(v.name), "{} is listed but never read", v.name);
    }
}
