//! The parser and the help texts against the flag table.

use std::path::PathBuf;

use super::flags::{self, COMMANDS, CommandSpec};
use super::*;

fn p(args: &[&str]) -> Result<Args, String> {
    parse(args.iter().map(|s| s.to_string()))
}

#[test]
fn serve_is_the_default() {
    let a = p(&[]).unwrap();
    assert_eq!(a.command, Command::Serve);
    assert_eq!(a.env_file, Some(PathBuf::from(".env")));
}

#[test]
fn flags_become_overrides() {
    let a = p(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db=/tmp/x.redb",
        "--no-env-file",
    ])
    .unwrap();
    assert_eq!(
        a.overrides,
        vec![
            ("SINCH_DLR_LISTEN", "127.0.0.1:0".into()),
            ("SINCH_DLR_DB", "/tmp/x.redb".into())
        ]
    );
    assert_eq!(a.env_file, None);
}

#[test]
fn sign_arguments() {
    let a = p(&["sign", "--secret", "s", "--file", "b.json"]).unwrap();
    let Command::Sign(s) = a.command else {
        panic!()
    };
    assert_eq!(s.secret.as_deref(), Some("s"));
    assert_eq!(s.file, Some(PathBuf::from("b.json")));
}

#[test]
fn send_takes_many_recipients() {
    // Numbers are checked as the API checks them.
    let a = p(&[
        "send",
        "--to",
        "+15551230001",
        "--to=+15551230002",
        "--body",
        "hi there",
    ])
    .unwrap();
    let Command::Send(s) = a.command else {
        panic!()
    };
    assert_eq!(s.to, vec!["+15551230001", "+15551230002"]);
    assert_eq!(s.body.as_deref(), Some("hi there"));
}

#[test]
fn mistakes_are_errors() {
    assert!(p(&["--bogus"]).is_err());
    assert!(p(&["--listen"]).is_err());
    assert!(p(&["serve", "serve"]).is_err());
    assert!(
        p(&["serve", "--to", "+1555"]).is_err(),
        "serve takes no --to"
    );
    assert_eq!(p(&["--help"]).unwrap().command, Command::Help(None));
    assert_eq!(
        p(&["reconcile", "--batch", "B"]).unwrap().command,
        Command::Reconcile {
            batch: Some("B".into()),
            since: None,
            until: None,
            all: false,
        }
    );
    assert_eq!(
        p(&[
            "reconcile",
            "--since",
            "2025-03-01",
            "--until",
            "2025-03-02"
        ])
        .unwrap()
        .command,
        Command::Reconcile {
            batch: None,
            since: Some("2025-03-01".into()),
            until: Some("2025-03-02".into()),
            all: false,
        }
    );
    assert_eq!(
        p(&["reconcile", "--all"]).unwrap().command,
        Command::Reconcile {
            batch: None,
            since: None,
            until: None,
            all: true,
        }
    );
}

#[test]
fn listing_flags_become_api_parameters() {
    let a = p(&[
        "messages",
        "--batch",
        "B1",
        "--client-reference",
        "r",
        "--limit",
        "5",
        "--format",
        "csv",
    ])
    .unwrap();
    let Command::Messages { query, format } = a.command else {
        panic!()
    };
    let q: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        q,
        [
            ("batch_id", "B1"),
            ("client_reference", "r"),
            ("limit", "5")
        ]
    );
    assert_eq!(format, "csv");
    let a = p(&["show", "42"]).unwrap();
    assert_eq!(
        a.command,
        Command::Show {
            id: "42".into(),
            format: "text".into()
        }
    );
    assert!(p(&["show"]).is_err());
    assert!(p(&["messages", "extra"]).is_err());
    assert!(p(&["backup"]).is_err());
    assert!(
        p(&["export", "--limit", "3"]).is_err(),
        "exports are not paged"
    );
}

/// Arguments that run `c` with `flag` (and a value where it takes one).
fn with_flag(c: &CommandSpec, long: &str) -> Vec<String> {
    let mut args = vec![c.name.to_string()];
    args.extend(c.argument.map(|_| "42".to_string()));
    for f in c.flags.iter().filter(|f| f.required && f.long != long) {
        args.extend([f.long.to_string(), sample(f.value.unwrap_or_default())]);
    }
    args.push(long.to_string());
    let flag = c.takes(long).or_else(|| flags::any_flag(long)).unwrap();
    if let Some(placeholder) = flag.value {
        args.push(sample(placeholder));
    }
    args
}

/// A valid value for a flag with this placeholder (filters and choices
/// are checked while parsing).
fn sample(placeholder: &str) -> String {
    match placeholder {
        "T" => "2025-01-01".into(),
        "N" => "1".into(),
        "NUMBER" => "+15551230001".into(),
        "S[,S...]" => "Delivered".into(),
        "KIND" => "per_recipient".into(),
        "URL" => "https://example.com/callbacks".into(),
        "C" => crate::query::encode_cursor((0, 1)),
        choices if choices.contains('|') => choices.split('|').next().unwrap().into(),
        _ => "x".into(),
    }
}

#[test]
fn a_flag_name_means_one_kind_of_flag_everywhere() {
    // The parser reads a flag's value before it knows the command.
    for c in COMMANDS {
        for f in c.all_flags() {
            let first = flags::any_flag(f.long).unwrap();
            assert_eq!(
                (first.value.is_some(), first.short),
                (f.value.is_some(), f.short),
                "{} {}",
                c.name,
                f.long
            );
        }
    }
}

#[test]
fn every_command_takes_exactly_its_listed_flags() {
    let every: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|c| c.all_flags())
        .map(|f| f.long)
        .filter(|l| !["--help", "--version"].contains(l))
        .collect();
    for c in COMMANDS {
        for long in &every {
            let result = parse(with_flag(c, long));
            match c.takes(long) {
                Some(_) => assert!(result.is_ok(), "{} {long}: {result:?}", c.name),
                None => assert!(
                    result.as_ref().is_err_and(|e| e.contains("does not take")),
                    "{} {long}: {result:?}",
                    c.name
                ),
            }
        }
        let help = parse([c.name, "--help"]).unwrap().command;
        assert_eq!(help, Command::Help(Some(c.name)));
        assert_eq!(parse(["help", c.name]).unwrap().command, help);
    }
}

/// The flags a help text lists: every line that starts with a flag.
fn listed_flags(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let l = l
                .strip_prefix("-h, ")
                .or(l.strip_prefix("-V, "))
                .or(l.strip_prefix("-v, "))
                .unwrap_or(l);
            l.split_whitespace().next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn command_help_lists_exactly_the_flags_the_parser_takes() {
    for c in COMMANDS {
        let help = command_usage(c.name).unwrap();
        let listed = listed_flags(&help);
        let table: Vec<String> = c.all_flags().map(|f| f.long.to_string()).collect();
        assert_eq!(listed, table, "{}:\n{help}", c.name);
    }
    assert!(command_usage("nope").is_none());
}

#[test]
fn the_whole_usage_names_every_command_and_the_common_flags() {
    let text = usage();
    for c in COMMANDS {
        assert!(
            text.contains(&format!("sinch-dlr {}", c.name)),
            "{}",
            c.name
        );
    }
    let listed = listed_flags(&text);
    let common: Vec<String> = COMMON_FLAGS.iter().map(|f| f.long.to_string()).collect();
    assert_eq!(listed, common);
}

#[test]
fn unknown_flags_and_commands_are_usage_errors() {
    for c in COMMANDS {
        let e = p(&[c.name, "--no-such-flag"]).unwrap_err();
        assert!(e.contains("unknown flag --no-such-flag"), "{e}");
        assert!(p(&[c.name, "-x"]).is_err());
    }
    assert!(p(&["frobnicate"]).is_err());
    assert!(p(&["help", "frobnicate"]).is_err());
    assert!(
        p(&["--no-env-file=yes"]).is_err(),
        "a switch takes no value"
    );
}

#[test]
fn flags_may_come_before_the_command() {
    let a = p(&["--db", "x.redb", "--no-env-file", "check-config"]).unwrap();
    assert_eq!(a.command, Command::CheckConfig);
    assert_eq!(a.overrides, vec![("SINCH_DLR_DB", "x.redb".into())]);
    assert_eq!(a.env_file, None);
    let a = p(&["--insecure-no-auth", "--env-file=dev.env"]).unwrap();
    assert_eq!(
        a.overrides,
        vec![("SINCH_DLR_CALLBACK_AUTH", "none".into())]
    );
    assert_eq!(a.env_file, Some(PathBuf::from("dev.env")));
    assert_eq!(p(&["send", "-V"]).unwrap().command, Command::Version);
    let Command::Send(s) = p(&["send", "--to", "+15551230001", "--body", "-h"])
        .unwrap()
        .command
    else {
        panic!()
    };
    assert_eq!(s.body.as_deref(), Some("-h"), "a value may start with -");
}

#[test]
fn flags_set_only_listed_variables() {
    for f in COMMON_FLAGS
        .iter()
        .chain(COMMANDS.iter().flat_map(|c| c.flags))
    {
        if let Some(name) = f.variable {
            assert_eq!(crate::config::variable(name).name, name, "{}", f.long);
        }
    }
}
