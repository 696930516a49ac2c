//! The store's rules, tested at the store API (no HTTP).

use super::apply::{Decision, decide_latest};
use super::record::Latest;
use super::*;
use crate::clock::parse_rfc3339;
use crate::sinch::parse_callback;
use serde_json::Value;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    (dir, store)
}

fn register(store: &Store, to: &str, batch: &str, reference: Option<&str>) -> (bool, Value) {
    let op = Register(vec![Registration {
        to: to.into(),
        batch_id: batch.into(),
        body: Some("hi".into()),
        client_reference: reference.map(Into::into),
        sent_at: None,
    }]);
    let (created, m) = store.apply(&op).unwrap().remove(0);
    (created, json(&m))
}

/// A view as the API serialises it.
fn json(view: &impl serde::Serialize) -> Value {
    serde_json::to_value(view).unwrap()
}

/// One message as `GET /api/messages/{id}` answers it.
fn message(store: &Store, id: u64) -> Value {
    json(&store.message(id).unwrap().unwrap())
}

fn report(batch: &str, recipient: &str, status: &str, code: i64, at: &str) -> ReceiveCallback {
    let raw = format!(
        r#"{{"type":"recipient_delivery_report_sms","batch_id":"{batch}","recipient":"{recipient}","status":"{status}","code":{code},"at":"{at}"}}"#
    );
    callback_op(raw.as_bytes())
}

fn callback_op(raw: &[u8]) -> ReceiveCallback {
    ReceiveCallback {
        callback: parse_callback(raw).unwrap(),
        raw: raw.to_vec(),
        received_at: 1,
    }
}

fn apply_one(store: &Store, op: ReceiveCallback) -> CallbackResult {
    store.apply(&op).unwrap()
}

/// Registrations and callbacks mixed in one group.
enum Mixed {
    Register(Register),
    Callback(Box<ReceiveCallback>),
}

fn apply_mixed(store: &Store, ops: &[Mixed]) {
    store
        .apply_group(|tx| {
            ops.iter().try_for_each(|op| match op {
                Mixed::Register(r) => r.apply(tx).map(drop),
                Mixed::Callback(c) => c.apply(tx).map(drop),
            })
        })
        .unwrap();
}

fn latest(store: &Store, id: u64) -> (String, bool, usize) {
    let m = message(store, id);
    (
        m["latest_status"].as_str().unwrap_or("").to_string(),
        m["status_conflict"].as_bool().unwrap(),
        m["status_updates"].as_array().unwrap().len(),
    )
}

#[test]
fn registration_is_idempotent_and_fills_missing_fields() {
    let (_d, store) = temp_store();
    let (created, first) = register(&store, "+15551230001", "B1", None);
    assert!(created);
    let (created, again) = register(&store, "1 555 123 0001", "B1", Some("order-42"));
    assert!(!created);
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["client_reference"], "order-42");
    assert_eq!(again["to"], "+15551230001", "first spelling kept");
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn callback_matches_registration_by_digits() {
    let (_d, store) = temp_store();
    let (_, m) = register(&store, "+1 555-123-0001", "B1", None);
    let r = apply_one(
        &store,
        report("B1", "15551230001", "Delivered", 0, "2025-01-01T00:00:01Z"),
    );
    assert_eq!(r, CallbackResult::Stored);
    let id = m["id"].as_u64().unwrap();
    assert_eq!(latest(&store, id), ("Delivered".into(), false, 1));
}

#[test]
fn callback_before_registration_discovers_the_message() {
    let (_d, store) = temp_store();
    apply_one(
        &store,
        report(
            "B9",
            "15551230009",
            "Dispatched",
            401,
            "2025-01-01T00:00:01Z",
        ),
    );
    let m = message(&store, 1);
    assert_eq!(m["discovered"], true);
    let (created, m) = register(&store, "+15551230009", "B9", Some("ref"));
    assert!(created, "first registration of a discovered message");
    assert_eq!(m["id"], 1);
    assert_eq!(m["discovered"], false);
    assert_eq!(m["to"], "+15551230009", "the application's spelling wins");
    assert_eq!(m["latest_status"], "Dispatched");
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn duplicates_are_stored_once() {
    let (_d, store) = temp_store();
    let op = report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:01Z");
    assert_eq!(apply_one(&store, op.clone()), CallbackResult::Stored);
    assert_eq!(apply_one(&store, op.clone()), CallbackResult::Duplicate);
    // Same message, status and code but another `at`: still a duplicate.
    let later = report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:09Z");
    assert_eq!(apply_one(&store, later), CallbackResult::Duplicate);
    // Both copies in one group: the second sees the first.
    let outcomes = store
        .apply_all(&[
            report("B2", "1555", "Failed", 15, "2025-01-01T00:00:01Z"),
            report("B2", "1555", "Failed", 15, "2025-01-01T00:00:01Z"),
        ])
        .unwrap();
    assert_eq!(
        outcomes,
        vec![CallbackResult::Stored, CallbackResult::Duplicate]
    );
    assert_eq!(latest(&store, 1).2, 1);
}

#[test]
fn late_intermediate_never_replaces_final() {
    let (_d, store) = temp_store();
    apply_one(
        &store,
        report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:05Z"),
    );
    apply_one(
        &store,
        report("B1", "1555", "Dispatched", 401, "2025-01-01T00:00:01Z"),
    );
    apply_one(
        &store,
        report("B1", "1555", "Queued", 400, "2025-01-01T00:00:09Z"),
    );
    assert_eq!(latest(&store, 1), ("Delivered".into(), false, 3));
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn two_finals_conflict_and_newest_wins() {
    let (_d, store) = temp_store();
    apply_one(
        &store,
        report("B1", "1555", "Failed", 15, "2025-01-01T00:00:05Z"),
    );
    apply_one(
        &store,
        report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:04Z"),
    );
    assert_eq!(latest(&store, 1), ("Failed".into(), true, 2));
    apply_one(
        &store,
        report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:09Z"),
    );
    assert_eq!(latest(&store, 1).0, "Failed", "(Delivered, 0) already seen");
    apply_one(
        &store,
        report("B1", "1555", "Delivered", 5, "2025-01-01T00:00:09Z"),
    );
    assert_eq!(latest(&store, 1), ("Delivered".into(), true, 3));
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn decide_latest_table() {
    let l = |s: &str, at: &str| Latest {
        status: crate::sinch::Status::parse(s),
        code: 0,
        at: parse_rfc3339(at).unwrap(),
    };
    let (t1, t2) = ("2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z");
    let d = |replace, conflict| Decision { replace, conflict };
    assert_eq!(decide_latest(None, &l("Queued", t1)), d(true, false));
    assert_eq!(
        decide_latest(Some(&l("Queued", t1)), &l("Dispatched", t2)),
        d(true, false)
    );
    assert_eq!(
        decide_latest(Some(&l("Dispatched", t2)), &l("Queued", t1)),
        d(false, false)
    );
    assert_eq!(
        decide_latest(Some(&l("Dispatched", t2)), &l("Delivered", t1)),
        d(true, false)
    );
    assert_eq!(
        decide_latest(Some(&l("Delivered", t1)), &l("Dispatched", t2)),
        d(false, false)
    );
    assert_eq!(
        decide_latest(Some(&l("Failed", t1)), &l("Delivered", t2)),
        d(true, true)
    );
    assert_eq!(
        decide_latest(Some(&l("Failed", t2)), &l("Delivered", t1)),
        d(false, true)
    );
    assert_eq!(
        decide_latest(Some(&l("Delivered", t1)), &l("Delivered", t2)),
        d(true, false)
    );
}

#[test]
fn batch_full_report_updates_each_recipient() {
    let (_d, store) = temp_store();
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/payloads/delivery_report_sms.full.json"
    ))
    .unwrap();
    register(&store, "+12017777777", "01W4FFL35P4NC4K35SMSBATCH8", None);
    assert_eq!(apply_one(&store, callback_op(&raw)), CallbackResult::Stored);
    assert_eq!(
        apply_one(&store, callback_op(&raw)),
        CallbackResult::Duplicate
    );
    assert_eq!(latest(&store, 1), ("Delivered".into(), false, 1));
    let discovered = message(&store, 2);
    assert_eq!(discovered["recipient"], "33612345678");
    assert_eq!(discovered["client_reference"], "client-ref");
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn inbound_is_stored_once_and_unknown_types_are_kept() {
    let (_d, store) = temp_store();
    let raw = br#"{"type":"mo_text","id":"MO1","from":"1555","to":"1666","body":"hi","received_at":"2025-01-01T00:00:00Z"}"#;
    assert_eq!(apply_one(&store, callback_op(raw)), CallbackResult::Stored);
    assert_eq!(
        apply_one(&store, callback_op(raw)),
        CallbackResult::Duplicate
    );
    let unknown = br#"{"type":"future_thing"}"#;
    assert_eq!(
        apply_one(&store, callback_op(unknown)),
        CallbackResult::Ignored
    );
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    {
        let store = Store::open(&path).unwrap();
        register(&store, "+1555", "B1", None);
        store.reopen().unwrap();
        apply_one(
            &store,
            report("B1", "1555", "Delivered", 0, "2025-01-01T00:00:01Z"),
        );
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(latest(&store, 1), ("Delivered".into(), false, 1));
}

/// Seeded random sequences of registrations, callbacks, duplicates and late
/// reports against a plain model: final status never regresses, history
/// counts distinct (status, code) pairs, indexes stay consistent.
#[test]
fn model_random_sequences() {
    let statuses = [
        ("Queued", 400),
        ("Dispatched", 401),
        ("Delivered", 0),
        ("Failed", 15),
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _round in 0..5 {
        let (_d, store) = temp_store();
        let mut model: std::collections::BTreeMap<
            String,
            (std::collections::BTreeSet<(String, i64)>, bool),
        > = Default::default();
        for _ in 0..200 {
            let who = format!("1555000{}", rand(8));
            let ops: Vec<Mixed> = (0..1 + rand(4))
                .map(|_| {
                    if rand(5) == 0 {
                        Mixed::Register(Register(vec![Registration {
                            to: format!("+{who}"),
                            batch_id: "B".into(),
                            body: None,
                            client_reference: None,
                            sent_at: None,
                        }]))
                    } else {
                        let (s, c) = statuses[rand(4) as usize];
                        let at = format!("2025-01-01T00:00:{:02}Z", rand(60));
                        model
                            .entry(who.clone())
                            .or_default()
                            .0
                            .insert((s.to_string(), c));
                        model.get_mut(&who).unwrap().1 |= crate::sinch::Status::parse(s).is_final();
                        Mixed::Callback(Box::new(report("B", &who, s, c, &at)))
                    }
                })
                .collect();
            apply_mixed(&store, &ops);
        }
        for (who, (seen, any_final)) in &model {
            let m = message(&store, find_id(&store, who));
            assert_eq!(m["status_updates"].as_array().unwrap().len(), seen.len());
            let latest = m["latest_status"].as_str().unwrap();
            assert_eq!(
                crate::sinch::Status::parse(latest).is_final(),
                *any_final,
                "{who}: {latest}"
            );
        }
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
    }
}

fn find_id(store: &Store, recipient: &str) -> u64 {
    (1..1000)
        .find(|id| {
            store
                .message(*id)
                .unwrap()
                .is_some_and(|m| m.recipient == recipient)
        })
        .unwrap()
}

mod listing;
