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
pub fn parse(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let statements = statements(text);
    let mut entries = Vec::new();
    for (i, item) in dotenvy::from_read_iter(text.as_bytes()).enumerate() {
        // dotenvy and `statements` split the text the same way; should they
        // ever disagree, the last known line is still a useful pointer.
        let at = statements
            .get(i)
            .or(statements.last())
            .copied()
            .unwrap_or_default();
        match item {
            Ok((key, _)) if at.expands => {
                return Err((
                    at.line,
                    format!(
                        "{key}: a $ outside single quotes would be replaced (variable expansion); \
                         put the value in single quotes or write \\$ for a literal $"
                    ),
                ));
            }
            Ok((key, value)) => entries.push(Entry {
                key,
                value,
                line: at.line,
            }),
            Err(dotenvy::Error::LineParse(..)) => {
                return Err((
                    at.line,
                    "cannot read this line: expected KEY=VALUE, a value with spaces or quotes \
                     inside needs quotes around it, and quotes must be closed"
                        .into(),
                ));
            }
            Err(e) => return Err((at.line, e.to_string())),
        }
    }
    Ok(entries)
}

/// Where a statement starts, and whether its value would be expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Statement {
    line: usize,
    expands: bool,
}

#[derive(PartialEq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Splits the text into statements as dotenvy does: a newline outside
/// quotes ends one; comments and blank lines are none.
fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current: Option<Statement> = None;
    let (mut line, mut quote, mut after_space) = (1, Quote::None, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match quote {
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
                continue;
            }
            Quote::Double => {
                match c {
                    '"' => quote = Quote::None,
                    '$' => current.get_or_insert_default().expands = true,
                    '\\' => skip_escaped(&mut chars, &mut line),
                    _ => {}
                }
                continue;
            }
            Quote::None => {}
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
        let statement = current.get_or_insert(Statement {
            line,
            expands: false,
        });
        match c {
            '\'' => quote = Quote::Single,
            '"' => quote = Quote::Double,
            '$' => statement.expands = true,
            '\\' => skip_escaped(&mut chars, &mut line),
            _ => {}
        }
    }
    out.extend(current);
    out
}

/// The character after a backslash is taken as it is.
fn skip_escaped(chars: &mut std::iter::Peekable<std::str::Chars>, line: &mut usize) {
    if chars.next() == Some('\n') {
        *line += 1;
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
