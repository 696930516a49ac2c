//! `--help` and `COMMAND --help`, written from the flag table (flags.rs)
//! and the variables table (config::VARIABLES).

use std::fmt::Write;

use super::flags::{COMMANDS, COMMON_FLAGS, CommandSpec, Flag, command};
use crate::config::VARIABLES;

const ABOUT: &str =
    "sinch-dlr: receives Sinch SMS delivery reports and inbound SMS, verifies and stores them.";

const NOTES: &str = "\
send, reconcile, messages, inbound, show, export, stats, events and backup
use the running daemon's API (SINCH_DLR_LISTEN and SINCH_DLR_API_TOKEN); when
no daemon answers they open the database directly, with identical output (-v
says on stderr which one answered). messages, inbound, show, export and
stats only read: they never create a database, and with no daemon and no
file they say so (exit 1).
Times (T) are RFC 3339 (2025-03-02T10:15:00Z) or dates (2025-03-02).
";

const EXIT_STATUS: &str =
    "EXIT STATUS: 0 success or clean stop, 1 runtime failure, 2 usage or configuration error.\n";

/// The whole usage: every command, the common flags, every variable.
pub fn usage() -> String {
    let mut s = format!("{ABOUT}\n\nUSAGE:\n");
    for c in COMMANDS {
        let _ = writeln!(s, "    {}", synopsis(c));
    }
    s.push_str("    sinch-dlr COMMAND --help   that command's flags\n\nCOMMANDS:\n");
    for c in COMMANDS {
        let _ = writeln!(s, "    {:<14} {}", c.name, c.about);
    }
    s.push_str("\nFLAGS (every command):\n");
    flag_lines(&mut s, COMMON_FLAGS);
    let _ = write!(
        s,
        "\n{NOTES}\nENVIRONMENT (also read from .env; secrets, marked *, also from NAME_FILE or a\n\
         systemd credential NAME in $CREDENTIALS_DIRECTORY):\n"
    );
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for v in VARIABLES {
        let default = v
            .default
            .map_or(String::new(), |d| format!(" (default {d})"));
        let secret = if v.secret { " *" } else { "" };
        let _ = writeln!(s, "    {:<width$} {}{default}{secret}", v.name, v.help);
    }
    s.push('\n');
    s.push_str(EXIT_STATUS);
    s
}

/// One command's usage and exactly the flags it takes; None for a name
/// that is not a command.
pub fn command_usage(name: &str) -> Option<String> {
    let c = command(name)?;
    let mut s = format!(
        "sinch-dlr {}: {}\n\nUSAGE:\n    {}\n",
        c.name,
        c.about,
        synopsis(c)
    );
    if !c.flags.is_empty() {
        s.push_str("\nFLAGS:\n");
        flag_lines(&mut s, c.flags);
    }
    s.push_str("\nFLAGS (every command):\n");
    flag_lines(&mut s, COMMON_FLAGS);
    s.push('\n');
    s.push_str(EXIT_STATUS);
    Some(s)
}

/// `sinch-dlr send [--to NUMBER]... [--body TEXT] ...`, wrapped.
fn synopsis(c: &CommandSpec) -> String {
    let mut words = vec![format!("sinch-dlr {}", c.name)];
    words.extend(c.argument.map(str::to_string));
    for f in c.flags {
        let mut w = match f.value {
            Some(v) => format!("{} {v}", f.long),
            None => f.long.to_string(),
        };
        if !f.required {
            w = format!("[{w}]");
        }
        if f.repeat {
            w.push_str("...");
        }
        words.push(w);
    }
    let indent = " ".repeat(c.name.len() + 15);
    let mut out = String::new();
    let mut line = String::new();
    for w in words {
        let used = if out.is_empty() { 4 } else { 4 + indent.len() };
        if !line.is_empty() && used + line.len() + 1 + w.len() > 80 {
            let _ = write!(out, "{line}\n{indent}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&w);
    }
    out + &line
}

/// `    --listen ADDR        help`, one line per flag.
fn flag_lines(s: &mut String, flags: &[Flag]) {
    for f in flags {
        let mut name = match f.short {
            Some(c) => format!("-{c}, {}", f.long),
            None => f.long.to_string(),
        };
        if let Some(v) = f.value {
            name = format!("{name} {v}");
        }
        let repeat = if f.repeat { " (repeatable)" } else { "" };
        let sets = f.variable.map_or(String::new(), |v| format!(" ({v})"));
        let _ = writeln!(s, "    {name:<26} {}{sets}{repeat}", f.help);
    }
}
