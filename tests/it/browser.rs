//! End to end in headless Chromium (through chromedriver's WebDriver API):
//! log in, search a batch, open a message, at laptop and phone width; the
//! screenshots land in target/dashboard-screenshots/. Debian's `chromium`
//! and `chromium-driver` (installed by .ci/run); without them the test says
//! SKIPPED.

use crate::support::*;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Option<Driver> {
        if !std::path::Path::new("/usr/bin/chromium").exists() {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while driver
            .agent
            .get(format!("{}/status", driver.base))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(driver)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(json!({})).to_string().as_bytes()),
        }
        .unwrap();
        let v: Value = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap();
        assert!(v["value"]["error"].is_null(), "{method} {path}: {v}");
        v["value"].clone()
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The page source once it contains `text` (navigation after a click or
    /// a submit may still be running), or a failure naming what was there.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let source = self.source();
            if source.contains(text) {
                return source;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} at {}: {source}",
                self.call("GET", "/url", None)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
}

/// A session at laptop width, logged in to `d`'s dashboard (on its
/// overview).
fn logged_in<'a>(driver: &'a Driver, d: &Daemon, profile: &std::path::Path) -> Session<'a> {
    let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 format!("--user-data-dir={}", profile.display()), "--window-size=1280,900"]}}}});
    let created = driver.call("POST", "/session", Some(caps));
    let s = Session {
        driver,
        id: created["sessionId"].as_str().unwrap().to_string(),
    };
    s.go(&format!("http://{}/", d.addr));
    s.wait_for("API token");
    let token = s.element("#token");
    s.call(
        "POST",
        &format!("/element/{token}/value"),
        Some(json!({"text": TOKEN})),
    );
    let button = s.element("#login");
    s.call("POST", &format!("/element/{button}/click"), None);
    s.wait_for("Overview");
    s
}

#[test]
fn log_in_search_a_batch_open_a_message() {
    let Some(driver) = Driver::start() else {
        eprintln!(
            "SKIPPED: Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        );
        return;
    };
    let d = Daemon::start();
    let batch = "01JN8Q2V6X3Y4Z5A6B7C8D9E0F";
    for (i, status, code) in [
        (1, "Delivered", 0),
        (2, "Failed", 402),
        (3, "Dispatched", 401),
    ] {
        d.post_api("/api/messages", &json!({"to": format!("+1555123000{i}"), "batch_id": batch, "client_reference": format!("order-{i}")}));
        d.callback(&recipient_report(
            batch,
            &format!("1555123000{i}"),
            status,
            code,
            "2025-03-02T10:15:41Z",
        ));
    }
    let profile = tempfile::tempdir().unwrap();
    let s = logged_in(&driver, &d, profile.path());
    let base = format!("http://{}", d.addr);
    s.screenshot("overview-laptop");
    let q = s.element("input[name=q]");
    s.call(
        "POST",
        &format!("/element/{q}/value"),
        Some(json!({"text": format!("{batch}\n")})),
    );
    let found = s.wait_for("order-2");
    assert!(
        found.contains("Failed") && found.contains("order-3"),
        "batch search results"
    );
    s.screenshot("search-laptop");
    let link = s.element("a[href='/ui/messages/2']");
    s.call("POST", &format!("/element/{link}/click"), None);
    let message = s.wait_for("History");
    assert!(
        message.contains("Message unroutable"),
        "message with its history"
    );
    s.screenshot("message-laptop");
    s.call(
        "POST",
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    );
    s.screenshot("message-phone");
    s.go(&format!("{base}/"));
    s.wait_for("Overview");
    s.screenshot("overview-phone");
    s.call("DELETE", "", None);
}

/// From an overview count to the list behind it, and on to its next page.
/// See: issue "Operators can find anything" (The dashboard).
#[test]
fn overview_count_opens_its_list_which_pages() {
    let Some(driver) = Driver::start() else {
        eprintln!(
            "SKIPPED: Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        );
        return;
    };
    let d = Daemon::start();
    let bulk: Vec<Value> = (0..150)
        .map(|i| json!({"to": format!("+1555300{i:04}"), "batch_id": "01JN8Q2V6X3Y4Z5A6B7C8D9E0F"}))
        .collect();
    let r = d.post_api("/api/messages", &json!({ "messages": bulk }));
    assert_eq!(r.status, 200, "{}", r.text());
    let profile = tempfile::tempdir().unwrap();
    let s = logged_in(&driver, &d, profile.path());
    let count = s.element("a.count[href$='status=none']");
    s.call("POST", &format!("/element/{count}/click"), None);
    let first = s.wait_for("Showing 1–100 of 150");
    assert_eq!(first.matches("<a href=\"/ui/messages/").count(), 100);
    s.screenshot("list-laptop");
    let next = s.element("a.next");
    s.call("POST", &format!("/element/{next}/click"), None);
    let second = s.wait_for("Showing 101–150 of 150");
    assert_eq!(second.matches("<a href=\"/ui/messages/").count(), 50);
    assert!(!second.contains("class=\"next\""), "the last page");
    s.call(
        "POST",
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    );
    s.screenshot("list-phone");
    s.call("DELETE", "", None);
}
