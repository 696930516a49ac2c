//! Reconciliation of a time window (issue #17, section 3): Sinch's list of
//! finished delivery reports, read page by page from a fake Sinch, updates
//! the messages it knows and discovers those it never registered.

use serde_json::{Value, json};

use crate::support::*;

const PLAN: &str = "plan-1";
const BATCH: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";
/// More than two pages of 100.
const REPORTS: usize = 230;

fn recipient(i: usize) -> String {
    format!("1555200{i:04}")
}

/// The fake's whole list; pages are cut from it as asked.
fn listed(i: usize) -> Value {
    json!({"type": "recipient_delivery_report_sms", "batch_id": BATCH, "recipient": recipient(i),
           "code": 0, "status": "Delivered", "at": "2025-03-02T10:16:00.000Z"})
}

fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?.1.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn fake_list() -> FakeSinch {
    FakeSinch::start(|rq, _| {
        assert!(
            rq.url
                .starts_with(&format!("/xms/v1/{PLAN}/delivery_reports?")),
            "{}",
            rq.url
        );
        let page: usize = query_param(&rq.url, "page").unwrap().parse().unwrap();
        let size: usize = query_param(&rq.url, "page_size").unwrap().parse().unwrap();
        let items: Vec<Value> = (page * size..((page + 1) * size).min(REPORTS))
            .map(listed)
            .collect();
        let body = json!({"count": REPORTS, "page": page, "page_size": items.len(),
                          "delivery_reports": items});
        (200, body.to_string(), vec![])
    })
}

#[test]
fn a_window_is_read_page_by_page_updating_and_discovering_messages() {
    let fake = fake_list();
    let d = daemon_with_sinch(&fake, PLAN);
    // Three registered messages; the first already has its final report.
    for i in 0..3 {
        let r = d.post_api(
            "/api/messages",
            &json!({"to": format!("+{}", recipient(i)), "batch_id": BATCH}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let delivered = listed(0).to_string();
    assert_eq!(d.callback(delivered.as_bytes()).json()["result"], "stored");
    let r = d.post_api(
        "/api/reconcile?since=2025-03-02T00:00:00Z&until=2025-03-03",
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let report = r.json();
    assert_eq!(report["kind"], "window", "{report}");
    assert_eq!(report["checked"], REPORTS, "{report}");
    assert_eq!(report["updated"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["unchanged"], 1, "{report}");
    assert_eq!(
        report["discovered"].as_array().unwrap().len(),
        REPORTS - 3,
        "{report}"
    );
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    assert_three_pages_over_the_window(&fake);
    let m = d.get("/api/messages/2").json();
    assert_eq!(m["latest_status"], "Delivered", "{m}");
    assert_eq!(m["status_updates"][0]["source"], "reconcile", "{m}");
    let found = report["discovered"][0]["id"].as_u64().unwrap();
    let m = d.get(&format!("/api/messages/{found}")).json();
    assert_eq!(m["discovered"], true, "{m}");
    assert_eq!(m["latest_status"], "Delivered", "{m}");
    let stats = d.get("/api/stats").json();
    assert_eq!(stats["messages"], REPORTS, "{stats}");
    assert_pass_is_counted_and_shown(&d);
    // A second pass over the same window learns nothing new.
    let again = d
        .post_api(
            "/api/reconcile?since=2025-03-02&until=2025-03-03",
            &json!({}),
        )
        .json();
    assert_eq!(again["unchanged"], REPORTS, "{again}");
    assert!(
        again["discovered"].as_array().unwrap().is_empty(),
        "{again}"
    );
}

/// Three pages asked for, each over the window given.
fn assert_three_pages_over_the_window(fake: &FakeSinch) {
    let urls: Vec<String> = fake.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    for (page, url) in urls.iter().enumerate() {
        assert_eq!(query_param(url, "page"), Some(&*page.to_string()), "{url}");
        assert_eq!(query_param(url, "page_size"), Some("100"), "{url}");
        assert_eq!(
            query_param(url, "start_date"),
            Some("2025-03-02T00%3A00%3A00.000Z"),
            "{url}"
        );
        assert_eq!(
            query_param(url, "end_date"),
            Some("2025-03-03T00%3A00%3A00.000Z"),
            "{url}"
        );
    }
}

/// The metrics and the overview's card show the one window pass.
fn assert_pass_is_counted_and_shown(d: &Daemon) {
    let metrics = d.get("/metrics").text();
    for line in [
        "sinch_dlr_reconcile_passes_total{kind=\"window\"} 1",
        &format!(
            "sinch_dlr_reconcile_messages_total{{what=\"discovered\"}} {}",
            REPORTS - 3
        ),
        "sinch_dlr_reconcile_messages_total{what=\"updated\"} 2",
        "sinch_dlr_sinch_requests_total{endpoint=\"delivery_reports\",class=\"2xx\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    assert!(
        !metrics.contains("sinch_dlr_reconcile_last_success_seconds 0"),
        "{metrics}"
    );
    let overview = d.get("/").text();
    assert!(overview.contains("Reconciliation"), "{overview}");
    assert!(
        overview.contains(&format!("<td>{}</td>", REPORTS - 3)),
        "{overview}"
    );
}

#[test]
fn all_reads_the_window_of_the_pending_messages_and_the_cli_prints_the_counts() {
    let fake = fake_list();
    let d = daemon_with_sinch(&fake, PLAN);
    d.post_api(
        "/api/messages",
        &json!({"to": format!("+{}", recipient(5)), "batch_id": BATCH}),
    );
    let text = stdout_of(
        binary(d.path())
            .args(["reconcile", "--all", "--listen", &d.addr.to_string()])
            .env("SINCH_DLR_API_TOKEN", TOKEN),
    );
    assert!(
        text.contains(&format!(
            "checked {REPORTS}, updated 1, discovered {}",
            REPORTS - 1
        )),
        "{text}"
    );
    let url = &fake.requests()[0].url;
    assert!(
        query_param(url, "start_date").is_some_and(|s| s.starts_with("20")),
        "{url}"
    );
    // Nothing pending: nothing asked.
    let before = fake.requests().len();
    let r = d.post_api("/api/reconcile?all=true", &json!({})).json();
    assert_eq!(r["checked"], 0, "{r}");
    assert_eq!(fake.requests().len(), before);
}

#[test]
fn bad_window_parameters_are_400() {
    let fake = fake_list();
    let d = daemon_with_sinch(&fake, PLAN);
    for q in [
        "since=yesterday",
        "since=2025-03-02&until=2025-03-01",
        "until=2025-03-01",
        "all=yes",
        "all=true&batch_id=B",
        "batch_id=B&until=2025-03-01",
    ] {
        let r = d.post_api(&format!("/api/reconcile?{q}"), &json!({}));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
    }
    assert!(fake.requests().is_empty());
}
