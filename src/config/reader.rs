//! The one place the parser's areas read values from: it checks that each
//! name is listed, parses numbers and seconds (defaults from the list), and
//! collects every problem, warning and origin for `Config::from_raw`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Origin, Raw, default_of, is_ours, secrets};

pub(super) struct Reader<'a> {
    raw: &'a Raw,
    problems: Vec<String>,
    warnings: Vec<String>,
    origins: BTreeMap<String, Origin>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(raw: &'a Raw) -> Reader<'a> {
        let origins = raw
            .values
            .keys()
            .filter(|k| is_ours(k) && raw.lookup(k).is_some())
            .map(|k| (k.clone(), raw.origin(k)))
            .collect();
        Reader {
            raw,
            problems: Vec::new(),
            warnings: Vec::new(),
            origins,
        }
    }

    /// (problems, warnings, origins).
    pub(super) fn finish(self) -> (Vec<String>, Vec<String>, BTreeMap<String, Origin>) {
        (self.problems, self.warnings, self.origins)
    }

    pub(super) fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    pub(super) fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    pub(super) fn warnings(&mut self) -> &mut Vec<String> {
        &mut self.warnings
    }

    /// A listed variable's value; unset or empty is None.
    pub(super) fn get(&self, name: &str) -> Option<&'a str> {
        self.raw.get(name)
    }

    /// The value, or the listed default.
    pub(super) fn get_or_default(&self, name: &str) -> &'a str {
        self.get(name).unwrap_or(default_of(name))
    }

    /// A secret from its variable, `NAME_FILE` or a credential.
    pub(super) fn secret(&mut self, name: &str) -> Option<String> {
        match secrets::read_secret(self.raw, name, &mut self.warnings) {
            Ok(Some((value, origin))) => {
                self.origins.insert(name.to_string(), origin);
                Some(value)
            }
            Ok(None) => None,
            Err(e) => {
                self.problems.push(e);
                None
            }
        }
    }

    /// A whole number, if set.
    pub(super) fn number(&mut self, name: &str) -> Option<u64> {
        let v = self.get(name)?;
        match v.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.problem(format!("{name}: {v:?} is not a whole number"));
                None
            }
        }
    }

    /// A whole number, or the listed default.
    pub(super) fn number_or_default(&mut self, name: &str) -> u64 {
        self.number(name).unwrap_or_else(|| {
            default_of(name)
                .parse()
                .expect("VARIABLES holds a whole number")
        })
    }

    /// Seconds, fractions allowed (`0.5`), if set.
    pub(super) fn seconds_if_set(&mut self, name: &str) -> Option<Duration> {
        let v = self.get(name)?;
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() && (0.0..=1e9).contains(&n) => Some(Duration::from_secs_f64(n)),
            _ => {
                self.problem(format!("{name}: {v:?} is not a number of seconds"));
                None
            }
        }
    }

    /// Seconds, or the listed default.
    pub(super) fn seconds(&mut self, name: &str) -> Duration {
        self.seconds_if_set(name).unwrap_or_else(|| {
            let default = default_of(name);
            Duration::from_secs_f64(default.parse().expect("VARIABLES holds a number"))
        })
    }

    /// Seconds that must be more than zero.
    pub(super) fn positive_seconds(&mut self, name: &str) -> Duration {
        let d = self.seconds(name);
        if d.is_zero() {
            self.problem(format!("{name} must be more than 0"));
        }
        d
    }
}
