//! Exports for a warehouse load: NDJSON (one message with its whole
//! history per line) or CSV (one message per row, RFC 4180). Streamed a
//! page at a time, each page from its own read snapshot, so memory stays
//! flat however large the file; used by `GET /api/export` and by
//! `sinch-dlr export` when no daemon runs (same bytes either way).

use serde_json::Value;
use std::io::Read;
use std::sync::Arc;

use crate::query::{BadParam, MessageFilter, decode_cursor};
use crate::store::Store;

const PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, BadParam> {
        match s.unwrap_or("ndjson") {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(BadParam(format!("format: {other:?} is not ndjson or csv"))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The CSV columns, in order; also the keys read from each message.
pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "to",
    "recipient",
    "batch_id",
    "client_reference",
    "body",
    "latest_status",
    "latest_status_code",
    "latest_status_at",
    "status_conflict",
    "sent_at",
    "registered_at",
    "created_at",
    "update_count",
];

/// One CSV field, quoted when it must be (RFC 4180). Text that a
/// spreadsheet would run as a formula is neutralised first.
pub fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => neutralise(s),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// CSV formula injection (OWASP): a cell starting with `=`, `+`, `-`, `@`,
/// tab or CR is a formula to Excel, LibreOffice and Google Sheets, and
/// `client_reference`, `body` and `to` are text from outside. Such text
/// gets a leading `'`, which spreadsheets read as "this is text". A pure
/// phone number (`+` then digits and spaces, like `+15551230001`) is left
/// as it is: it cannot call anything, and warehouse loads keep the number.
/// Numbers (JSON numbers, e.g. a negative code) are not text and stay.
/// NDJSON exports are never changed.
fn neutralise(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let phone = s.len() > 1
        && s.starts_with('+')
        && s[1..].bytes().all(|b| b.is_ascii_digit() || b == b' ');
    if formula && !phone {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A CSV line (CRLF-terminated) with `columns` of `v`.
pub fn csv_line(columns: &[&str], v: &Value) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| match (*c, &v[*c]) {
            ("update_count", Value::Null) => v["status_updates"]
                .as_array()
                .map_or(String::new(), |a| a.len().to_string()),
            (_, field) => csv_field(field),
        })
        .collect();
    format!("{}\r\n", fields.join(","))
}

pub fn csv_header(columns: &[&str]) -> String {
    format!("{}\r\n", columns.join(","))
}

/// Reads an export page by page.
pub struct ExportReader {
    store: Arc<Store>,
    filter: MessageFilter,
    format: Format,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ExportReader {
    pub fn new(store: Arc<Store>, mut filter: MessageFilter, format: Format) -> ExportReader {
        filter.limit = PAGE;
        filter.with_history = format == Format::Ndjson;
        let buf = match format {
            Format::Csv => csv_header(&CSV_COLUMNS).into_bytes(),
            Format::Ndjson => Vec::new(),
        };
        ExportReader {
            store,
            filter,
            format,
            buf,
            pos: 0,
            done: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let page = self
            .store
            .list_messages(&self.filter)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.buf.clear();
        self.pos = 0;
        for m in &page.items {
            match self.format {
                Format::Ndjson => {
                    self.buf.extend_from_slice(m.to_string().as_bytes());
                    self.buf.push(b'\n');
                }
                Format::Csv => self
                    .buf
                    .extend_from_slice(csv_line(&CSV_COLUMNS, m).as_bytes()),
            }
        }
        match page.next_cursor.as_deref().map(decode_cursor) {
            Some(Ok(c)) => self.filter.cursor = Some(c),
            _ => self.done = true,
        }
        Ok(())
    }
}

impl Read for ExportReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(csv_field(&json!("plain")), "plain");
        assert_eq!(csv_field(&json!("a,b")), "\"a,b\"");
        assert_eq!(csv_field(&json!("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(&json!("two\nlines")), "\"two\nlines\"");
        assert_eq!(csv_field(&json!(null)), "");
        assert_eq!(csv_field(&json!(42)), "42");
        assert_eq!(
            csv_line(&["a", "b"], &json!({"a": 1, "b": "x,y"})),
            "1,\"x,y\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised_but_phone_numbers_and_numbers_stay() {
        for (given, want) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("+", "'+"),
            ("+1 555 PWN", "'+1 555 PWN"),
            ("+15551230001", "+15551230001"),
            ("+1 555 123 0001", "+1 555 123 0001"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(csv_field(&json!(given)), want, "{given:?}");
        }
        assert_eq!(csv_field(&json!(-1)), "-1");
    }
}
