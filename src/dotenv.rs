//! `.env` files, read as the common dotenv format (the `dotenvy` crate):
//! `KEY=VALUE`, `export ` prefix, single quotes (literal), double quotes
//! (escapes like `\n`, `\"`, values over several lines), `#` comments on
//! their own line or after whitespace on an unquoted value, blank lines.
//!
//! A line that cannot be read is refused, naming the file and line: a value
//! that silently differs from what the operator wrote (quotes kept, a
//! comment kept) is a callback secret that answers every callback 401.
//! Variable expansion (`$NAME`) is refused for the same reason: dotenvy
//! replaces an unset name, a lone `$` or `$$` with nothing. The process
//! environment is never modified.

use std::path::Path;

/// One variable from the file, with the line its statement starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// The file's variables in order; a missing file has none.
pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    parse(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

/// Parses the text; `Err((line, reason))` for the first line it refuses.
/// The reason never quotes the value (it may be a secret).
///
/// Statements and comments are found here; dotenvy then reads each
/// statement alone, comments removed, and must find exactly one variable in
/// it. (dotenvy's own line joiner reads `v  # it's` — two spaces before
/// the `#` — as an open quote and swallows the lines after it.)
pub fn parse(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    statements(text).iter().map(read_statement).collect()
}

fn read_statement(at: &Statement) -> Result<Entry, (usize, String)> {
    let unreadable = || {
        (
            at.line,
            "cannot read this line: expected KEY=VALUE, a value with spaces or quotes \
             inside needs quotes around it, and quotes must be closed"
                .to_string(),
        )
    };
    if at.runs_on {
        return Err((
            at.line,
            "a quote inside the value is not closed on its line (dotenvy would take the lines \
             after it into this value); put the whole value in quotes"
                .to_string(),
        ));
    }
    let mut found = dotenvy::from_read_iter(at.text.as_bytes());
    let (key, value) = match (found.next(), found.next()) {
        (Some(Ok(pair)), None) => pair,
        (Some(Err(e @ dotenvy::Error::Io(_))), _) => return Err((at.line, e.to_string())),
        _ => return Err(unreadable()),
    };
    if at.expands {
        return Err((
            at.line,
            format!(
                "{key}: a $ outside single quotes would be replaced (variable expansion); \
                 put the value in single quotes or write \\$ for a literal $"
            ),
        ));
    }
    Ok(Entry {
        key,
        value,
        line: at.line,
    })
}

/// A statement's text (comments left out), the line it starts on, and
/// whether its value would be expanded.
#[derive(Debug, Clone, Default)]
struct Statement {
    line: usize,
    expands: bool,
    text: String,
    /// The open quote began inside the value (`it's`), not at its start.
    quote_inside_value: bool,
    /// Such a quote ran past the end of the line: dotenvy would join the
    /// lines after it into this value, so they would be lost.
    runs_on: bool,
}

#[derive(PartialEq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Splits the text into statements as the dotenv format does: a newline
/// outside quotes ends one; a `#` at the start of a line or after
/// whitespace outside quotes starts a comment; blank lines are none.
fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current: Option<Statement> = None;
    let (mut line, mut quote, mut after_space) = (1, Quote::None, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quote != Quote::None || !(c == '#' && after_space) {
            if let Some(s) = current.as_mut() {
                s.text.push(c);
            }
        }
        if c == '\n' {
            line += 1;
            if let Some(s) = current.as_mut().filter(|_| quote != Quote::None) {
                s.runs_on |= s.quote_inside_value;
            }
        }
        if in_quotes(c, &mut quote, &mut current, &mut chars, &mut line) {
            continue;
        }
        match c {
            '\n' => {
                out.extend(current.take());
                after_space = true;
                continue;
            }
            '#' if after_space => {
                while chars.next_if(|&n| n != '\n').is_some() {}
                continue;
            }
            c if c.is_whitespace() => {
                after_space = true;
                continue;
            }
            _ => after_space = false,
        }
        let statement = current.get_or_insert_with(|| Statement {
            line,
            text: c.to_string(),
            ..Statement::default()
        });
        if c == '\'' || c == '"' {
            let before = &statement.text[..statement.text.len() - 1];
            statement.quote_inside_value = !before.trim_end().ends_with('=');
        }
        match c {
            '\'' => quote = Quote::Single,
            '"' => quote = Quote::Double,
            '$' => statement.expands = true,
            '\\' => escaped(&mut chars, &mut line, Some(statement)),
            _ => {}
        }
    }
    out.extend(current);
    out
}

/// A character inside quotes: it closes them or is part of the value.
/// False when outside quotes.
fn in_quotes(
    c: char,
    quote: &mut Quote,
    current: &mut Option<Statement>,
    chars: &mut std::iter::Peekable<std::str::Chars>,
    line: &mut usize,
) -> bool {
    match quote {
        Quote::None => return false,
        Quote::Single if c == '\'' => *quote = Quote::None,
        Quote::Single => {}
        Quote::Double => match c {
            '"' => *quote = Quote::None,
            '$' => current.get_or_insert_default().expands = true,
            '\\' => escaped(chars, line, current.as_mut()),
            _ => {}
        },
    }
    true
}

/// The character after a backslash is taken as it is.
fn escaped(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    line: &mut usize,
    statement: Option<&mut Statement>,
) {
    let Some(c) = chars.next() else { return };
    if c == '\n' {
        *line += 1;
    }
    if let Some(s) = statement {
        s.text.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    fn refused_line(text: &str) -> usize {
        parse(text).unwrap_err().0
    }

    #[test]
    fn the_common_format() {
        let text = "# c\nexport A=1\nB = \"two words\"\nC='x#y'\nD=v # note\n\n  # indented\n\
                    E=\"quoted\" # from account manager\nF='single' # c\nG=x#y\n\
                    H=\"a\\\"b\\nc\"\nI='lit\\n'\nJ=\"multi\nline\"\nK=\nL=\"a\\$b\"\nM='$x'\n";
        let expected = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "x#y"),
            ("D", "v"),
            ("E", "quoted"),
            ("F", "single"),
            ("G", "x#y"),
            ("H", "a\"b\nc"),
            ("I", "lit\\n"),
            ("J", "multi\nline"),
            ("K", ""),
            ("L", "a$b"),
            ("M", "$x"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(text), expected);
        let lines: Vec<usize> = parse(text).unwrap().iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 15, 16, 17]);
    }

    #[test]
    fn comments_with_quotes_after_several_spaces_end_at_the_line() {
        let text = "A=127.0.0.1:8912  # don't change\nB=abcdefghijklmnop\n\
                    C=8\t\t# it's enough\nD='x'   # \"see docs\nE=1000\n";
        let got = parse(text).unwrap();
        let kv: Vec<(&str, &str, usize)> = got
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            kv,
            [
                ("A", "127.0.0.1:8912", 1),
                ("B", "abcdefghijklmnop", 2),
                ("C", "8", 3),
                ("D", "x", 4),
                ("E", "1000", 5)
            ]
        );
        // A $ on the line after such a comment is still seen.
        assert_eq!(refused_line("A=x  # see \"docs\nB=$HOME-x\"\n"), 2);
    }

    #[test]
    fn a_quote_inside_a_value_never_takes_the_next_lines() {
        assert_eq!(refused_line("A=1\nB=it's\nSECRET=abc\nC=don't\n"), 2);
        assert_eq!(refused_line("A=say\"hi\nB=1\nC=x\"y\n"), 1);
        // At the start of the value, a quote may span lines.
        assert_eq!(
            pairs("J=\"multi\nline\"\n"),
            [("J".into(), "multi\nline".into())]
        );
        assert_eq!(pairs("export K = 'a\nb'\n"), [("K".into(), "a\nb".into())]);
    }

    #[test]
    fn a_backslash_before_a_closing_single_quote_is_refused_not_joined() {
        // Single quotes are literal, so this is `x\`; dotenvy would read an
        // escaped quote and join the next line. Refused, never merged.
        assert_eq!(refused_line("A='x\\'\nB=$HOME'\n"), 1);
    }

    #[test]
    fn windows_line_ends() {
        assert_eq!(
            pairs("A=1\r\nB=\"x\" # y\r\n"),
            [("A".into(), "1".into()), ("B".into(), "x".into())]
        );
    }

    #[test]
    fn unreadable_lines_are_refused_with_their_number() {
        assert_eq!(refused_line("A=1\nbad line\n"), 2);
        assert_eq!(refused_line("A=1\n\n# c\nB=\"open\n"), 4);
        assert_eq!(refused_line("A=1\nB=it's\nC=2\n"), 2);
        assert_eq!(refused_line("A=a b c\n"), 1);
        assert_eq!(refused_line("A=\"x\" y\n"), 1);
        assert_eq!(refused_line("A=1\n=x\n"), 2);
    }

    #[test]
    fn expansion_is_refused_because_it_changes_values_silently() {
        for value in ["a$", "pa$$word", "$HOME", "x${HOME}y", "\"a$b\""] {
            assert_eq!(refused_line(&format!("A=1\nB={value}\n")), 2, "{value}");
        }
        // A $ in a comment, in single quotes or escaped is no expansion.
        assert_eq!(
            pairs("A=x # costs $5\nB='$x' # $y\n# $z\nC=a\\$b\n"),
            [
                ("A".into(), "x".into()),
                ("B".into(), "$x".into()),
                ("C".into(), "a$b".into())
            ]
        );
        let (_, why) = parse("S=abc$def\n").unwrap_err();
        assert!(!why.contains("abc"), "the value is never quoted: {why}");
    }
}
