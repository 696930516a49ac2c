//! The callback endpoint: every payload type, and every refusal.

use crate::support::*;

/// Each shared payload file, signed and posted: the answer it should get,
/// then the same bytes again (a Sinch retry) answered `duplicate`.
#[test]
fn every_shared_payload_is_stored() {
    let d = Daemon::start();
    let payloads = all_payloads();
    assert_eq!(payloads.len(), 11);
    for (name, body) in &payloads {
        let r = d.callback(body);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.json()["result"], "stored", "{name}");
    }
    for (name, body) in &payloads {
        let r = d.callback(body);
        assert_eq!(r.json()["result"], "duplicate", "{name} again");
    }
    let metrics = d.request("GET", "/metrics", &[], b"").text();
    for kind in [
        "recipient_delivery_report_sms",
        "recipient_delivery_report_mms",
        "delivery_report_sms",
        "delivery_report_mms",
        "mo_text",
        "mo_binary",
        "mo_media",
    ] {
        assert!(
            metrics.contains(&format!(
                "sinch_dlr_callbacks_total{{type=\"{kind}\",result=\"stored\"}}"
            )),
            "{kind} missing from metrics:\n{metrics}"
        );
    }
}

/// A batch report with `recipients` (type `full`) updates each recipient.
#[test]
fn batch_full_report_reaches_each_recipient() {
    let d = Daemon::start();
    let reg = d.post_api(
        "/api/messages",
        &serde_json::json!({"to": "+12017777777", "batch_id": "01W4FFL35P4NC4K35SMSBATCH8"}),
    );
    assert_eq!(reg.status, 201);
    assert_eq!(
        d.callback(&payload("delivery_report_sms.full")).json()["result"],
        "stored"
    );
    let m = d.get("/api/messages/1").json();
    assert_eq!(m["latest_status"], "Delivered");
    assert_eq!(m["status_updates"][0]["source"], "batch_report");
    let other = d.get("/api/messages/2").json();
    assert_eq!(other["recipient"], "33612345678");
    assert_eq!(other["discovered"], true);
}

#[test]
fn not_json_is_400_and_kept_in_quarantine() {
    let d = Daemon::start();
    for body in [
        &b"this is not json"[..],
        b"[1,2,3]",
        b"\"a string\"",
        b"{\"type\": ",
    ] {
        let r = d.callback(body);
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(body));
        assert!(
            r.json()["error"].as_str().unwrap().contains("JSON"),
            "{}",
            r.text()
        );
    }
    let metrics = d.request("GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("sinch_dlr_callbacks_total{type=\"invalid\",result=\"quarantined\"} 4"),
        "{metrics}"
    );
}

#[test]
fn known_type_with_missing_fields_is_quarantined_not_refused() {
    let d = Daemon::start();
    let body = br#"{"type":"recipient_delivery_report_sms","batch_id":"B1","status":"Delivered","code":0}"#;
    let r = d.callback(body);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], "quarantined");
    let no_type = br#"{"batch_id":"B1"}"#;
    assert_eq!(d.callback(no_type).json()["result"], "quarantined");
}

#[test]
fn unknown_type_is_ignored_with_200() {
    let d = Daemon::start();
    let r = d.callback(br#"{"type":"recipient_delivery_report_rcs","batch_id":"B1"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], "ignored");
}

#[test]
fn wrong_method_is_405_with_allow() {
    let d = Daemon::start();
    for method in ["GET", "PUT", "DELETE"] {
        let r = d.request(method, "/api/sinchCallbacks", &[], b"");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("POST"));
    }
}

#[test]
fn oversized_bodies_are_413() {
    let d = Daemon::start();
    let big = vec![b' '; 64 * 1024 + 1];
    let r = d.callback(&big);
    assert_eq!(r.status, 413);
    // Declared too large: refused from the header, before any body is sent.
    let head = format!(
        "POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        10 * 1024 * 1024
    );
    assert_eq!(raw_request(d.addr, head.as_bytes()).status, 413);
    // Chunked, no length: counted while reading.
    let mut chunked = b"POST /api/sinchCallbacks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 4096).as_bytes());
        chunked.extend_from_slice(&[b' '; 4096]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw_request(d.addr, &chunked).status, 413);
    // Exactly at the cap is fine (and, being spaces, not JSON: 400).
    assert_eq!(d.callback(&vec![b' '; 64 * 1024]).status, 400);
}

#[test]
fn unknown_paths_are_404_json() {
    let d = Daemon::start();
    let r = d.request("GET", "/nope", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not found");
}
