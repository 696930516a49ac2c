//! Sinch SMS callback payloads: typed, tolerant parsing by `"type"`. No I/O.
//!
//! See docs/sinch.md: #callbacks (fields) and #statuses-and-codes.
//! Unknown fields and unknown enum values never make a callback fail; a known
//! type with missing or malformed required fields is `ParseError::Invalid`
//! (the caller quarantines it), an unknown type is `Callback::Unknown`.

use serde::Deserialize;
use serde_json::Value;
use std::fmt;

use crate::clock::{self, Micros};

mod status;
pub use status::{Status, code_meaning};

/// One parsed callback body.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `recipient_delivery_report_sms` / `_mms`: one recipient, one status.
    Recipient(RecipientReport),
    /// `delivery_report_sms` / `_mms`: batch level, maybe with recipients.
    Batch(BatchReport),
    /// `mo_text` / `mo_binary` / `mo_media`: an inbound message.
    Inbound(Inbound),
    /// A `type` this version does not know.
    Unknown { kind: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecipientReport {
    pub kind: String,
    pub batch_id: String,
    pub recipient: String,
    pub status: Status,
    pub code: i64,
    pub at: Micros,
    pub operator_status_at: Option<Micros>,
    pub client_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchStatus {
    pub code: i64,
    pub status: Status,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchReport {
    pub kind: String,
    pub batch_id: String,
    pub statuses: Vec<BatchStatus>,
    pub total_message_count: Option<u64>,
    pub client_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub kind: String,
    pub sinch_id: String,
    pub from: String,
    pub to: String,
    /// Text (mo_text), base64 (mo_binary) or an object (mo_media).
    pub body: Value,
    pub received_at: Micros,
    pub sent_at: Option<Micros>,
    pub operator_id: Option<String>,
    pub client_reference: Option<String>,
}

/// Why a body could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// Not JSON at all (or not UTF-8).
    NotJson(String),
    /// JSON, but not an object.
    NotObject,
    /// An object, but not a usable callback: no `type`, or a known type with
    /// missing or malformed required fields.
    Invalid(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotJson(e) => write!(f, "body is not JSON: {e}"),
            ParseError::NotObject => f.write_str("body is not a JSON object"),
            ParseError::Invalid(e) => write!(f, "not a usable callback: {e}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The seven callback types (docs/sinch.md#callbacks).
pub const KNOWN_TYPES: [&str; 7] = [
    "recipient_delivery_report_sms",
    "recipient_delivery_report_mms",
    "delivery_report_sms",
    "delivery_report_mms",
    "mo_text",
    "mo_binary",
    "mo_media",
];

/// Parses one callback body by its `type`.
pub fn parse_callback(body: &[u8]) -> Result<Callback, ParseError> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "type")]
        kind: Option<Value>,
    }
    // A UTF-8 byte order mark may open JSON text (RFC 8259 8.1 lets a
    // parser ignore it); the signature was checked over the bytes as sent.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if !looks_like_object(body) {
        // serde would happily read a struct from a JSON array; say what it is.
        // Parsed to a Value, not skipped: IgnoredAny does not check that
        // strings are UTF-8 (found by fuzzing, see the regression test).
        return Err(match serde_json::from_slice::<Value>(body) {
            Ok(_) => ParseError::NotObject,
            Err(e) => ParseError::NotJson(e.to_string()),
        });
    }
    let peek: Peek = serde_json::from_slice(body).map_err(classify)?;
    let kind = match peek.kind {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(ParseError::Invalid("field `type` is not a string".into())),
        None => return Err(ParseError::Invalid("missing field `type`".into())),
    };
    match kind.as_str() {
        "recipient_delivery_report_sms" | "recipient_delivery_report_mms" => {
            parse_recipient(body, kind).map(Callback::Recipient)
        }
        "delivery_report_sms" | "delivery_report_mms" => {
            parse_batch(body, kind).map(Callback::Batch)
        }
        "mo_text" | "mo_binary" | "mo_media" => parse_inbound(body, kind).map(Callback::Inbound),
        _ => Ok(Callback::Unknown { kind }),
    }
}

/// For a body that starts like an object: a data error (duplicate key,
/// wrong type) makes it an unusable callback, anything else is not JSON.
/// A recipient report as Sinch's REST API returns it
/// (`GET .../delivery_report/{recipient}`); `type` may be absent there.
pub fn parse_recipient_report(body: &[u8]) -> Result<RecipientReport, ParseError> {
    match parse_callback(body) {
        Ok(Callback::Recipient(r)) => Ok(r),
        Ok(_) => Err(ParseError::Invalid(
            "not a recipient delivery report".into(),
        )),
        Err(ParseError::Invalid(e)) if e.contains("`type`") => {
            parse_recipient(body, "recipient_delivery_report_sms".to_string())
        }
        Err(e) => Err(e),
    }
}

fn classify(e: serde_json::Error) -> ParseError {
    match e.classify() {
        serde_json::error::Category::Data => ParseError::Invalid(e.to_string()),
        _ => ParseError::NotJson(e.to_string()),
    }
}

fn looks_like_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn invalid(e: impl fmt::Display) -> ParseError {
    ParseError::Invalid(e.to_string())
}

fn parse_time(field: &str, value: &str) -> Result<Micros, ParseError> {
    clock::parse_rfc3339(value).ok_or_else(|| {
        invalid(format!(
            "field `{field}` is not an RFC 3339 time: {value:?}"
        ))
    })
}

/// Optional times never fail a callback (docs/sinch.md#times): a bad one is
/// dropped here and survives in the raw body.
fn optional_time(value: Option<Value>) -> Option<Micros> {
    value
        .as_ref()
        .and_then(Value::as_str)
        .and_then(clock::parse_rfc3339)
}

/// Optional strings: anything that is not a string is ignored, not fatal.
fn optional_string(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn parse_recipient(body: &[u8], kind: String) -> Result<RecipientReport, ParseError> {
    #[derive(Deserialize)]
    struct Raw {
        batch_id: String,
        recipient: String,
        code: i64,
        status: String,
        at: String,
        operator_status_at: Option<Value>,
        client_reference: Option<Value>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(invalid)?;
    Ok(RecipientReport {
        kind,
        batch_id: non_empty("batch_id", raw.batch_id)?,
        recipient: {
            check_recipient("recipient", &raw.recipient)?;
            raw.recipient
        },
        status: Status::parse(&non_empty("status", raw.status)?),
        code: raw.code,
        at: parse_time("at", &raw.at)?,
        operator_status_at: optional_time(raw.operator_status_at),
        client_reference: optional_string(raw.client_reference),
    })
}

fn parse_batch(body: &[u8], kind: String) -> Result<BatchReport, ParseError> {
    #[derive(Deserialize)]
    struct Raw {
        batch_id: String,
        statuses: Vec<BatchStatus>,
        total_message_count: Option<Value>,
        client_reference: Option<Value>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(invalid)?;
    for (i, s) in raw.statuses.iter().enumerate() {
        for (j, r) in s.recipients.iter().flatten().enumerate() {
            check_recipient(&format!("statuses[{i}].recipients[{j}]"), r)?;
        }
    }
    Ok(BatchReport {
        kind,
        batch_id: non_empty("batch_id", raw.batch_id)?,
        statuses: raw.statuses,
        total_message_count: raw.total_message_count.as_ref().and_then(Value::as_u64),
        client_reference: optional_string(raw.client_reference),
    })
}

fn parse_inbound(body: &[u8], kind: String) -> Result<Inbound, ParseError> {
    #[derive(Deserialize)]
    struct Raw {
        id: String,
        from: String,
        to: String,
        body: Value,
        received_at: String,
        sent_at: Option<Value>,
        operator_id: Option<Value>,
        client_reference: Option<Value>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(invalid)?;
    Ok(Inbound {
        kind,
        sinch_id: non_empty("id", raw.id)?,
        from: raw.from,
        to: raw.to,
        body: raw.body,
        received_at: parse_time("received_at", &raw.received_at)?,
        sent_at: optional_time(raw.sent_at),
        operator_id: optional_string(raw.operator_id),
        client_reference: optional_string(raw.client_reference),
    })
}

/// A message's recipient must be a phone number by the store's one rule
/// (`phone::normalize`); otherwise the callback is unusable (quarantined
/// with the reason, never merged into a message keyed `""`).
fn check_recipient(field: &str, value: &str) -> Result<(), ParseError> {
    crate::phone::normalize(value)
        .map(drop)
        .map_err(|why| invalid(format!("field `{field}`: {why}")))
}

fn non_empty(field: &str, value: String) -> Result<String, ParseError> {
    if value.trim().is_empty() {
        Err(invalid(format!("field `{field}` is empty")))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/payloads/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_shared_payload_parses_to_its_type() {
        let cases = [
            ("recipient_delivery_report_sms.delivered", "recipient"),
            ("recipient_delivery_report_sms.aborted", "recipient"),
            ("recipient_delivery_report_sms.dispatched", "recipient"),
            (
                "recipient_delivery_report_sms.delivered_all_fields",
                "recipient",
            ),
            ("recipient_delivery_report_mms.delivered", "recipient"),
            ("delivery_report_sms.full", "batch"),
            ("delivery_report_sms.summary", "batch"),
            ("delivery_report_mms.summary", "batch"),
            ("mo_text", "inbound"),
            ("mo_binary", "inbound"),
            ("mo_media", "inbound"),
        ];
        for (name, want) in cases {
            let got = match parse_callback(&payload(name)).unwrap() {
                Callback::Recipient(_) => "recipient",
                Callback::Batch(_) => "batch",
                Callback::Inbound(_) => "inbound",
                Callback::Unknown { .. } => "unknown",
            };
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn recipient_report_fields() {
        let Callback::Recipient(r) =
            parse_callback(&payload("recipient_delivery_report_sms.delivered")).unwrap()
        else {
            panic!("wrong type")
        };
        assert_eq!(r.batch_id, "01JHFFHQ0P99JPPNQPJDV7JTBP");
        assert_eq!(r.recipient, "33662162466");
        assert_eq!((r.status.as_str(), r.code), ("Delivered", 0));
        assert_eq!(clock::format_rfc3339(r.at), "2025-01-13T09:22:40.914Z");
        assert_eq!(
            r.operator_status_at.map(clock::format_rfc3339).as_deref(),
            Some("2025-01-13T09:22:00.000Z")
        );
        assert_eq!(r.client_reference.as_deref(), Some("a client reference"));
    }

    #[test]
    fn tolerant_of_unknown_fields_and_values() {
        let body = br#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"1","code":999,
            "status":"DELIVERED","at":"2025-01-01T00:00:00Z","operator_status_at":"soon","new_field":[1]}"#;
        let Callback::Recipient(r) = parse_callback(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            r.status.as_str(),
            "Delivered",
            "status compared case-insensitively"
        );
        assert_eq!(r.operator_status_at, None, "bad optional time is dropped");
        let odd = br#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"1","code":0,"status":"Teleported","at":"2025-01-01T00:00:00Z"}"#;
        let Callback::Recipient(r) = parse_callback(odd).unwrap() else {
            panic!()
        };
        assert_eq!(r.status, Status::Other("Teleported".into()));
        assert_eq!(r.status.as_str(), "Teleported");
        assert!(!r.status.is_final());
    }

    #[test]
    fn unknown_type_is_not_an_error() {
        let got = parse_callback(br#"{"type":"mt_rocket","x":1}"#).unwrap();
        assert_eq!(
            got,
            Callback::Unknown {
                kind: "mt_rocket".into()
            }
        );
    }

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            parse_callback(b"not json"),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_callback(b"{\"type\":"),
            Err(ParseError::NotJson(_))
        ));
        assert_eq!(parse_callback(b"[1,2]"), Err(ParseError::NotObject));
        assert_eq!(parse_callback(b"\"str\""), Err(ParseError::NotObject));
        assert!(matches!(parse_callback(b"{}"), Err(ParseError::Invalid(_))));
        let missing_at = br#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"1","code":0,"status":"Delivered"}"#;
        let Err(ParseError::Invalid(why)) = parse_callback(missing_at) else {
            panic!()
        };
        assert!(why.contains("`at`"), "{why}");
        let bad_at = br#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"1","code":0,"status":"Delivered","at":"yesterday"}"#;
        assert!(matches!(
            parse_callback(bad_at),
            Err(ParseError::Invalid(_))
        ));
    }

    /// Regression (fuzz/callback_parser, fuzz/regressions/crash-*): a JSON
    /// string holding invalid UTF-8 was classified "not an object" instead
    /// of "not JSON".
    #[test]
    fn invalid_utf8_outside_an_object_is_not_json() {
        for body in [&b"\"202\xff\""[..], b"\"602\xe2,\"", b"[\"\xff\"]"] {
            assert!(
                matches!(parse_callback(body), Err(ParseError::NotJson(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_before_the_json_is_ignored() {
        let body = br#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"15551230001","code":0,"status":"Delivered","at":"2025-01-01T00:00:00Z"}"#;
        let with_bom = [&b"\xEF\xBB\xBF"[..], body].concat();
        assert!(parse_callback(&with_bom).is_ok());
        assert_eq!(
            format!("{:?}", parse_callback(&with_bom)),
            format!("{:?}", parse_callback(body))
        );
    }
}
