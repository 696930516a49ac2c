//! The variables table (`config::VARIABLES`) is the one list: the README's
//! configuration tables and `systemd/sinch-dlr.env.example` must name every
//! variable in it, nothing else, and state the same defaults (and the
//! flag that sets a variable, where they name one).

use sinch_dlr::config::{VARIABLES, Variable};
use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Upper-case words with an underscore: variable names.
fn names_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| w.contains('_') && w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|w| w.trim_end_matches('_').to_string())
        .collect()
}

/// Whether `name` may appear in the documentation: a listed name, an
/// alias, or the `NAME_FILE` of a listed secret.
fn known(name: &str) -> bool {
    VARIABLES.iter().any(|v| {
        v.name == name
            || v.aliases.contains(&name)
            || (v.secret && name.strip_suffix("_FILE") == Some(v.name))
    })
}

/// Every name the list has, aliases included.
fn every_name() -> impl Iterator<Item = &'static str> {
    VARIABLES
        .iter()
        .flat_map(|v| std::iter::once(v.name).chain(v.aliases.iter().copied()))
}

fn find(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// The table rows of a README section (from its heading to the next
/// heading of the same or a higher level).
fn table_rows(readme: &str, heading: &str) -> Vec<Vec<String>> {
    let level = heading.split(' ').next().unwrap();
    let mut rows = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with('#')
            && line
                .split(' ')
                .next()
                .is_some_and(|h| h.len() <= level.len())
        {
            inside = line == heading;
            continue;
        }
        if inside && line.starts_with('|') && !line.starts_with("|---") {
            let cells = line.trim_matches('|').split('|');
            rows.push(cells.map(|c| c.trim().to_string()).collect());
        }
    }
    assert!(!rows.is_empty(), "no table under {heading:?}");
    rows
}

/// (variable, its cell, the next cell) of a row whose cell starts with a
/// listed variable in backticks.
fn variable_cell(row: &[String]) -> Option<(&'static Variable, &str, &str)> {
    row.iter().enumerate().find_map(|(i, cell)| {
        let name = cell.strip_prefix('`')?.split('`').next()?;
        let v = find(name)?;
        Some((v, cell.as_str(), row.get(i + 1).map_or("", String::as_str)))
    })
}

/// `cell` states `default`: it begins with it (backticks aside), followed
/// by nothing or a unit.
fn states(cell: &str, default: &str) -> bool {
    let cell = cell.replace('`', "");
    cell.strip_prefix(default)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

#[test]
fn the_readme_configuration_tables_follow_the_list() {
    let readme = read("README.md");
    let rows: Vec<Vec<String>> = ["## Configuration", "### Limits"]
        .iter()
        .flat_map(|h| table_rows(&readme, h))
        .collect();
    let text: String = rows.iter().flatten().map(|c| format!("{c}\n")).collect();
    let named = names_in(&text);
    for name in &named {
        assert!(
            known(name),
            "README names {name}, which is not in VARIABLES"
        );
    }
    for name in every_name() {
        assert!(
            named.contains(name),
            "{name} is missing from the README tables"
        );
    }
    let mut stated = BTreeSet::new();
    let mut flagged = BTreeSet::new();
    for row in &rows {
        let Some((v, cell, next)) = variable_cell(row) else {
            continue;
        };
        stated.insert(v.name);
        if let Some(default) = v.default {
            assert!(
                states(next, default),
                "README: {} default {next:?}, VARIABLES says {default:?}",
                v.name
            );
        }
        // A flag named beside the variable is the one that sets it.
        let flag = sinch_dlr::cli::COMMON_FLAGS
            .iter()
            .find(|f| f.variable == Some(v.name));
        if let Some(named) = cell.split('`').find(|w| w.starts_with("--")) {
            assert_eq!(Some(named), flag.map(|f| f.long), "README: {}", v.name);
            flagged.insert(named);
        }
        if cell.contains("\\*") != v.secret {
            panic!("README: {} is marked secret (\\*) wrongly", v.name);
        }
    }
    for f in sinch_dlr::cli::COMMON_FLAGS
        .iter()
        .filter(|f| f.variable.is_some())
    {
        assert!(flagged.contains(f.long), "README: no row names {}", f.long);
    }
    for v in VARIABLES.iter().filter(|v| v.default.is_some()) {
        assert!(
            stated.contains(v.name),
            "README: no row states {}'s default",
            v.name
        );
    }
}

#[test]
fn the_env_example_follows_the_list() {
    let example = read("systemd/sinch-dlr.env.example");
    for name in names_in(&example) {
        assert!(
            known(&name) || name == "NAME_FILE",
            "the env example names {name}, which is not in VARIABLES"
        );
    }
    for alias in VARIABLES.iter().flat_map(|v| v.aliases) {
        assert!(
            example.contains(alias),
            "{alias} missing from the env example"
        );
    }
    let lines: Vec<&str> = example.lines().collect();
    for v in VARIABLES {
        let prefix = format!("#{}=", v.name);
        let at = lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("the env example has no line {prefix}"));
        if let Some(default) = v.default {
            assert_eq!(
                lines[at],
                format!("{prefix}{default}"),
                "the env example shows another default"
            );
        }
        // Its comment block starts with "# *" exactly for secrets.
        let comment = lines[..at]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("# ") || l.starts_with("#   "))
            .last();
        let marked = comment.is_some_and(|l| l.starts_with("# * "));
        assert_eq!(
            marked, v.secret,
            "{}: secret mark (# *) in the env example",
            v.name
        );
    }
}
