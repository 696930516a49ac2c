//! The dashboard drills down: every count links to the list behind it,
//! lists page ("Showing 1–100 of N", a next link), inbound messages have a
//! page and are found by number, a batch page does not repeat its id, a
//! message page shows when it was sent and the raw callbacks.
//! See: issue "Operators can find anything" (The dashboard).

use crate::support::*;
use serde_json::json;

const B: &str = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";

/// 150 messages with no report, one Delivered, one Failed (402), two
/// inbound messages.
fn many() -> Daemon {
    let d = Daemon::start();
    let bulk: Vec<_> = (0..152)
        .map(|i| json!({"to": format!("+1555200{i:04}"), "batch_id": B, "sent_at": "2025-03-02T10:15:00Z"}))
        .collect();
    let r = d.post_api("/api/messages", &json!({ "messages": bulk }));
    assert_eq!(r.status, 200, "{}", r.text());
    for (n, status, code) in [(150, "Delivered", 0), (151, "Failed", 402)] {
        let cb = recipient_report(
            B,
            &format!("1555200{n:04}"),
            status,
            code,
            "2025-03-02T10:15:41Z",
        );
        assert_eq!(d.callback(&cb).json()["result"], "stored");
    }
    for name in ["mo_text", "mo_binary"] {
        d.callback(&payload(name));
    }
    d
}

fn page(d: &Daemon, path: &str) -> String {
    let r = d.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

/// Every href on the page that starts with `prefix`, unescaped.
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .filter(|h| h.starts_with(prefix))
        .collect()
}

fn rows(html: &str) -> usize {
    html.matches("<a href=\"/ui/messages/").count()
}

#[test]
fn overview_counts_link_to_lists_that_page() {
    let d = many();
    let overview = page(&d, "/");
    let none = links(&overview, "/ui/messages?")
        .into_iter()
        .find(|h| h.ends_with("status=none"))
        .expect("the none count links to its list");
    let first = page(&d, &none);
    assert!(first.contains("Showing 1–100 of 150"), "{first}");
    assert_eq!(rows(&first), 100);
    let next = links(&first, "/ui/messages?")
        .into_iter()
        .find(|h| h.contains("cursor="));
    let second = page(&d, &next.expect("a next link"));
    assert!(second.contains("Showing 101–150 of 150"), "{second}");
    assert_eq!(rows(&second), 50);
    assert!(
        !second.contains("cursor="),
        "the last page has no next link"
    );
    // The failure's code and the stale count link to their lists too.
    let code = links(&overview, "/ui/messages?status=")
        .into_iter()
        .find(|h| h.ends_with("&code=402"))
        .expect("the failure code links to its failures");
    assert!(page(&d, &code).contains("+15552000151"));
    let stale = links(&overview, "/ui/messages?final=false&until=");
    assert!(!stale.is_empty(), "the stale count links to its list");
    assert_eq!(rows(&page(&d, &stale[0])), 0, "nothing is stale yet");
}

#[test]
fn custom_period_and_list_filters() {
    let d = many();
    let custom = page(&d, "/?since=2020-01-01T00:00&until=2999-01-01T00:00");
    assert!(
        custom.contains("2020-01-01T00:00:00.000Z to 2999-01-01T00:00:00.000Z"),
        "{custom}"
    );
    assert_eq!(d.get("/?since=2025-01-02&until=2025-01-01").status, 400);
    let failed = page(&d, "/ui/messages?status=Failed,Expired");
    assert!(failed.contains("Showing 1–1 of 1"), "{failed}");
    let not_final = page(&d, "/ui/messages?final=false");
    assert!(not_final.contains("of 150"), "{not_final}");
    let by_batch = page(&d, &format!("/ui/messages?batch_id={B}"));
    assert!(
        by_batch.contains("Showing 1–100 of 152"),
        "counted: {by_batch}"
    );
    assert_eq!(d.get("/ui/messages?status=Deliverd").status, 400);
}

#[test]
fn inbound_has_a_page_and_is_found_by_number() {
    let d = many();
    let inbound = page(&d, "/ui/inbound");
    assert!(
        inbound.contains("Hello John!") && inbound.contains("46700000001"),
        "{inbound}"
    );
    let from = page(&d, "/ui/inbound?from=12015555555");
    assert!(
        from.contains("Hello John!") && !from.contains("46700000001"),
        "{from}"
    );
    let found = page(&d, "/ui/search?q=%2B1%20201%20555%205555");
    assert!(
        found.contains("Inbound messages") && found.contains("Hello John!"),
        "{found}"
    );
}

#[test]
fn batch_and_message_pages_say_what_an_operator_needs() {
    let d = many();
    let batch = page(&d, &format!("/ui/batches/{B}"));
    assert_eq!(rows(&batch), 152);
    assert!(
        batch.matches(B).count() < 5,
        "the batch id is not repeated per row"
    );
    let message = page(&d, "/ui/messages/152");
    assert!(
        message.contains("Sent") && message.contains("2025-03-02T10:15:00.000Z"),
        "{message}"
    );
    assert!(
        message.contains("recipient_delivery_report_sms")
            && message.contains("&quot;code&quot;:402"),
        "the raw callback body: {message}"
    );
    assert!(
        !message.contains("word-break:break-word"),
        "no mid-word breaking"
    );
}
