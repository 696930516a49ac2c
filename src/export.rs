//! Exports for a warehouse load: NDJSON (one message with its whole
//! history per line) or CSV (one message per row, RFC 4180). Streamed a
//! page at a time, each page from its own read snapshot, so memory stays
//! flat however large the file; used by `GET /api/export` and by
//! `sinch-dlr export` when no daemon runs (same bytes either way).

use std::io::Read;
use std::sync::Arc;

use crate::query::{BadParam, MessageFilter, decode_cursor};
use crate::store::view::{CSV_FIELDS, Cell};
use crate::store::{MessageView, Store};

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

/// One CSV field, quoted when it must be (RFC 4180). Text that a
/// spreadsheet would run as a formula is neutralised first.
pub fn csv_field(v: Cell<'_>) -> String {
    let text = match v {
        Cell::Text(s) => neutralise(s),
        other => other.plain().unwrap_or_default(),
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

/// A CSV line (CRLF-terminated) of these cells.
pub fn csv_row<'a>(cells: impl IntoIterator<Item = Cell<'a>>) -> String {
    let fields: Vec<String> = cells.into_iter().map(csv_field).collect();
    format!("{}\r\n", fields.join(","))
}

/// A message as a CSV line: the columns of `CSV_FIELDS`.
pub fn csv_line(m: &MessageView) -> String {
    csv_row(CSV_FIELDS.map(|f| m.cell(f)))
}

/// The CSV header: the names of `CSV_FIELDS`.
pub fn csv_header() -> String {
    format!("{}\r\n", CSV_FIELDS.map(|f| f.name()).join(","))
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
            Format::Csv => csv_header().into_bytes(),
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
                    serde_json::to_writer(&mut self.buf, m).expect("views serialise");
                    self.buf.push(b'\n');
                }
                Format::Csv => self.buf.extend_from_slice(csv_line(m).as_bytes()),
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

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(csv_field(Cell::Text("plain")), "plain");
        assert_eq!(csv_field(Cell::Text("a,b")), "\"a,b\"");
        assert_eq!(csv_field(Cell::Text("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(Cell::Text("two\nlines")), "\"two\nlines\"");
        assert_eq!(csv_field(Cell::Null), "");
        assert_eq!(csv_field(Cell::Int(42)), "42");
        assert_eq!(csv_row([Cell::UInt(1), Cell::Text("x,y")]), "1,\"x,y\"\r\n");
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
            assert_eq!(csv_field(Cell::Text(given)), want, "{given:?}");
        }
        assert_eq!(csv_field(Cell::Int(-1)), "-1");
    }
}
