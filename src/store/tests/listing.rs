//! Lists, pages and cursors, at the store API.

use super::*;

fn page_ids(page: &Page<MessageView>) -> Vec<u64> {
    page.items.iter().map(|m| m.id).collect()
}

#[test]
fn list_pages_newest_first_and_cursor_survives_writes() {
    use super::filter::{MessageFilter, decode_cursor};
    let (_d, store) = temp_store();
    for i in 0..7 {
        register(
            &store,
            &format!("+1555000{i}"),
            "B1",
            if i % 2 == 0 { Some("even") } else { None },
        );
    }
    let mut f = MessageFilter {
        limit: 3,
        ..MessageFilter::default()
    };
    let p1 = store.list_messages(&f).unwrap();
    assert_eq!(page_ids(&p1), [7, 6, 5]);
    // New messages arrive between pages: they sort before page 1.
    register(&store, "+15559999", "B2", None);
    f.cursor = Some(decode_cursor(p1.next_cursor.as_deref().unwrap()).unwrap());
    let p2 = store.list_messages(&f).unwrap();
    assert_eq!(page_ids(&p2), [4, 3, 2]);
    f.cursor = Some(decode_cursor(p2.next_cursor.as_deref().unwrap()).unwrap());
    let p3 = store.list_messages(&f).unwrap();
    assert_eq!(page_ids(&p3), [1]);
    assert_eq!(p3.next_cursor, None);
    let even = MessageFilter {
        client_reference: Some("even".into()),
        limit: 50,
        ..MessageFilter::default()
    };
    assert_eq!(page_ids(&store.list_messages(&even).unwrap()), [7, 5, 3, 1]);
    let one = MessageFilter {
        to: Some("15550003".into()),
        limit: 50,
        ..MessageFilter::default()
    };
    assert_eq!(page_ids(&store.list_messages(&one).unwrap()), [4]);
    let batch = MessageFilter {
        batch_id: Some("B2".into()),
        limit: 50,
        ..MessageFilter::default()
    };
    assert_eq!(page_ids(&store.list_messages(&batch).unwrap()), [8]);
}

#[test]
fn prune_removes_exactly_what_is_older_with_its_index_rows() {
    let (_d, store) = temp_store();
    register(&store, "+15550001", "B1", Some("r"));
    apply_one(
        &store,
        report("B1", "15550001", "Delivered", 0, "2025-01-01T00:00:01Z"),
    );
    apply_one(&store, callback_op(br#"{"type":"mo_text","id":"MO1","from":"1555","to":"1666","body":"hi","received_at":"2025-01-01T00:00:00Z"}"#));
    apply_one(&store, callback_op(br#"{"type":"no_such_type"}"#));
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/payloads/delivery_report_sms.summary.json"
    ))
    .unwrap();
    apply_one(&store, callback_op(&raw));
    let cutoff = crate::clock::now_micros();
    std::thread::sleep(std::time::Duration::from_millis(2));
    register(&store, "+15550002", "B1", Some("r"));
    let p = store
        .apply(&Prune {
            before: cutoff,
            limit: 100,
        })
        .unwrap();
    assert_eq!(
        (p.messages, p.inbound, p.quarantine, p.batch_reports),
        (1, 1, 1, 1)
    );
    assert!(store.message(1).unwrap().is_none());
    assert!(
        store.message(2).unwrap().is_some(),
        "newer than the cut-off: kept"
    );
    assert_eq!(store.check().unwrap(), Vec::<String>::new());
    let again = store
        .apply(&Prune {
            before: cutoff,
            limit: 100,
        })
        .unwrap();
    assert_eq!(again, prune::Pruned::default());
}

#[test]
fn quarantine_retry_stores_what_now_parses() {
    let (_d, store) = temp_store();
    let op = Quarantine {
        raw: recipient_raw("B1", "1555", "Delivered").into_bytes(),
        reason: "parser bug in an older version".into(),
        received_at: 1,
    };
    store.apply(&op).unwrap();
    let garbage = Quarantine {
        raw: b"\xff\xfe".to_vec(),
        reason: "not JSON".into(),
        received_at: 1,
    };
    store.apply(&garbage).unwrap();
    let out = store.apply(&RetryQuarantined(1)).unwrap();
    assert_eq!(out, Some(Ok(CallbackResult::Stored)));
    assert_eq!(latest(&store, 1).0, "Delivered");
    let out = store
        .apply_all(&[RetryQuarantined(2), RetryQuarantined(1)])
        .unwrap();
    assert!(matches!(out[0], Some(Err(_))), "{out:?}");
    assert_eq!(out[1], None, "gone once stored");
    assert_eq!(store.list_quarantine(10, None).unwrap().items.len(), 1);
    assert!(store.check().unwrap().is_empty());
}

fn recipient_raw(batch: &str, recipient: &str, status: &str) -> String {
    format!(
        r#"{{"type":"recipient_delivery_report_sms","batch_id":"{batch}","recipient":"{recipient}","status":"{status}","code":0,"at":"2025-01-01T00:00:01Z"}}"#
    )
}

#[test]
fn backup_is_a_complete_consistent_copy() {
    let (dir, store) = temp_store();
    register(&store, "+15550001", "B1", Some("r"));
    apply_one(
        &store,
        report("B1", "15550001", "Delivered", 0, "2025-01-01T00:00:01Z"),
    );
    let to = dir.path().join("copy.redb");
    store.backup(&to).unwrap();
    assert!(store.backup(&to).is_err(), "never overwrites");
    let copy = Store::open(&to).unwrap();
    assert_eq!(copy.message(1).unwrap(), store.message(1).unwrap());
    assert!(copy.check().unwrap().is_empty());
    assert_eq!(copy.counts().unwrap(), store.counts().unwrap());
    // The event log comes along: the same seqs and contents, new ids.
    let all = |s: &Store| serde_json::to_value(s.events(0, 100, &|_| true).unwrap()).unwrap();
    let (original, copied) = (all(&store), all(&copy));
    let events = |page: &serde_json::Value| page["events"].as_array().unwrap().clone();
    assert!(events(&copied).len() >= 2);
    assert_eq!(copy.last_event_seq(), store.last_event_seq());
    for (a, b) in events(&original).iter().zip(&events(&copied)) {
        assert_ne!(a["id"], b["id"]);
        let without_id = |e: &serde_json::Value| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("id");
            e
        };
        assert_eq!(without_id(a), without_id(b));
    }
}

#[test]
fn stats_count_and_time() {
    let (_d, store) = temp_store();
    register(&store, "+15550001", "B1", None);
    register(&store, "+15550002", "B1", None);
    apply_one(
        &store,
        report("B1", "15550001", "Delivered", 0, "2099-01-01T00:00:00Z"),
    );
    let now = crate::clock::now_micros();
    let s = json(&store.stats(now + 1, 0, 0).unwrap());
    assert_eq!(s["messages"], 2);
    assert_eq!(s["by_latest_status"]["Delivered"], 1);
    assert_eq!(s["by_latest_status"]["none"], 1);
    assert_eq!(s["delivery_rate"], 1.0);
    assert_eq!(s["callbacks"]["stored"], 1);
    assert_eq!(s["time_to_delivered"]["messages"], 1);
    assert_eq!(s["stale"]["count"], 1);
}

/// A file written by a newer version is refused, and left as it was.
#[test]
fn newer_schema_is_refused_without_touching_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    {
        let store = Store::open(&path).unwrap();
        register(&store, "+1555", "B1", None);
    }
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(tables::META)
            .unwrap()
            .insert(tables::META_SCHEMA, 99)
            .unwrap();
        txn.commit().unwrap();
    }
    match Store::open(&path) {
        Err(StoreError::NewerSchema {
            found: 99,
            supported,
        }) => assert_eq!(supported, tables::SCHEMA_VERSION),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Untouched: still the newer version's file, its data intact.
    let db = redb::Database::create(&path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    let schema = txn
        .open_table(tables::META)
        .unwrap()
        .get(tables::META_SCHEMA)
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(schema, 99);
    assert!(
        txn.open_table(tables::MESSAGES)
            .unwrap()
            .get(1)
            .unwrap()
            .is_some()
    );
}
