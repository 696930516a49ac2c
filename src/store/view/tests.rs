//! The views' constructors: times, summaries, the API's field names.

use super::*;
use crate::clock::parse_rfc3339;

fn record() -> MessageRecord {
    let t = |s| parse_rfc3339(s).unwrap();
    MessageRecord {
        v: RECORD_VERSION,
        id: 7,
        to: "+15551230001".into(),
        recipient: "15551230001".into(),
        batch_id: "B".into(),
        client_reference: Some("r".into()),
        body: None,
        sent_at: None,
        registered_at: Some(t("2025-03-02T10:15:29.120Z")),
        created_at: t("2025-03-02T10:15:29.120Z"),
        first_at: None,
        latest: Some(Latest {
            status: Status::Delivered,
            code: 0,
            at: t("2025-03-02T10:15:41.002Z"),
        }),
        status_conflict: false,
        seen: Vec::new(),
        update_count: 2,
        feedback: Vec::new(),
    }
}

/// Every field's name is the key it is serialised under, and its cell
/// is the value found there: the field list and the struct agree.
#[test]
fn fields_are_the_json_keys() {
    let view = MessageView::summary(&record());
    let json = serde_json::to_value(&view).unwrap();
    for f in CSV_FIELDS.iter().chain(&[Field::Discovered]) {
        let cell = match &json[f.name()] {
            Value::Null => Cell::Null,
            Value::String(s) => Cell::Text(s),
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) if n.is_u64() => Cell::UInt(n.as_u64().unwrap()),
            Value::Number(n) => Cell::Int(n.as_i64().unwrap()),
            other => panic!("{other}"),
        };
        let mine = match view.cell(*f) {
            Cell::Int(n) if n >= 0 => Cell::UInt(n as u64),
            c => c,
        };
        assert_eq!(mine, cell, "{}", f.name());
    }
}

/// Batch report lines are stored as the JSON objects they always were.
#[test]
fn status_counts_keep_their_stored_shape() {
    let line = StatusCount {
        status: Status::Delivered,
        code: 0,
        count: Some(2),
        recipients: None,
    };
    let old = serde_json::json!({"status": "Delivered", "code": 0, "count": 2, "recipients": null});
    assert_eq!(encode(&line), old.to_string().into_bytes());
    let back: StatusCount = decode("batch_reports", old.to_string().as_bytes()).unwrap();
    assert_eq!(back, line);
}

#[test]
fn summary_and_full_round_trip() {
    let m = record();
    for view in [MessageView::summary(&m), MessageView::full(&m, &[])] {
        let text = serde_json::to_string(&view).unwrap();
        assert_eq!(serde_json::from_str::<MessageView>(&text).unwrap(), view);
    }
    let full = serde_json::to_value(MessageView::full(&m, &[])).unwrap();
    assert!(full.get("update_count").is_none());
    assert_eq!(full["status_updates"], serde_json::json!([]));
}
