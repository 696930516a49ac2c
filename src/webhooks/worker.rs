//! One endpoint's delivery thread: events after its position, in seq
//! order, one at a time, each retried on the schedule until a 2xx; the
//! position is stored (through the writer) at most once a second and when
//! the thread stops, so a restart resumes there (at least once: an event
//! may be sent again, never skipped).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::attempt::{self, Outcome};
use crate::clock::{Micros, format_rfc3339, now_micros};
use crate::store::Store;
use crate::store::endpoints::{ChangeEndpoint, EndpointChange, EndpointRecord, EndpointState};
use crate::store::events::EventView;
use crate::writer::WriterHandle;

/// Events read from the log at once.
const PAGE: usize = 200;
/// How often a stored position catches up with the delivered one.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// How often an idle thread looks at its mailbox.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// What the API shows about a delivery besides the stored record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    /// The last seq delivered (may be ahead of the stored position).
    #[serde(skip)]
    pub position: u64,
    pub last_attempt_at: Option<String>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    /// Attempts so far at the event being delivered.
    pub attempts: u32,
    pub delivered: u64,
    pub failed_attempts: u64,
    /// Commit time of the oldest event not yet delivered (lag in seconds).
    #[serde(skip)]
    pub waiting_since: Option<Micros>,
}

#[derive(Default)]
struct Mail {
    reload: bool,
    /// The reload is a replay: take the stored position.
    replay: bool,
    stop: bool,
}

/// Shared between the thread and the registry.
#[derive(Default)]
pub struct Handle {
    mail: Mutex<Mail>,
    wake: Condvar,
    pub progress: Mutex<Progress>,
}

impl Handle {
    pub fn reload(&self, replay: bool) {
        let mut mail = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        mail.reload = true;
        mail.replay |= replay;
        self.wake.notify_all();
    }

    pub fn stop(&self) {
        self.mail.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.wake.notify_all();
    }

    fn take_mail(&self) -> Mail {
        std::mem::take(&mut *self.mail.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sleeps up to `d`; false if mail came (the caller should look).
    fn sleep(&self, d: Duration) -> bool {
        let mail = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        let (mail, _) = self
            .wake
            .wait_timeout_while(mail, d, |m| !m.reload && !m.stop)
            .unwrap_or_else(|e| e.into_inner());
        !mail.reload && !mail.stop
    }

    fn progress(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.progress.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

pub struct Worker {
    pub endpoint: EndpointRecord,
    pub store: Arc<Store>,
    pub writer: WriterHandle,
    pub agent: ureq::Agent,
    pub schedule: Arc<Vec<Duration>>,
    pub handle: Arc<Handle>,
}

/// How delivering one event ended.
enum Delivery {
    Delivered,
    /// Mail came: look at it, then go on.
    Interrupted,
    /// The endpoint stops (failing or disabled).
    Stopped(EndpointState, String),
}

impl Worker {
    pub fn run(mut self) {
        let mut position = self.endpoint.position;
        let mut saved = (position, Instant::now());
        self.handle.progress(|p| p.position = position);
        loop {
            let mail = self.handle.take_mail();
            if mail.stop {
                self.save(position, &mut saved);
                return;
            }
            if mail.reload && !self.reload(mail.replay, &mut position, &mut saved) {
                return; // deleted
            }
            if self.endpoint.state != EndpointState::Active {
                self.handle.sleep(Duration::from_secs(3600));
                continue;
            }
            position = self.deliver_page(position);
            if saved.1.elapsed() >= SAVE_EVERY {
                self.save(position, &mut saved);
            }
        }
    }

    /// Delivers what follows `position` (or waits a moment for it);
    /// returns the new position.
    fn deliver_page(&mut self, mut position: u64) -> u64 {
        let wanted = |kind: &str| self.endpoint.wants(kind);
        let page = match self.store.events(position, PAGE, &wanted) {
            Ok(page) => page,
            Err(e) => {
                log::warn!(
                    "webhook endpoint {}: reading the log: {e}",
                    self.endpoint.id
                );
                self.handle.sleep(Duration::from_secs(1));
                return position;
            }
        };
        let oldest = page.oldest_seq;
        if oldest > position + 1 && position > 0 {
            log::warn!(
                "webhook endpoint {}: events {}..{} were removed by retention before delivery",
                self.endpoint.id,
                position + 1,
                oldest - 1
            );
        }
        self.handle.progress(|p| {
            p.waiting_since = page.events.first().map(|e| e.at);
        });
        if page.events.is_empty() {
            self.handle.progress(|p| p.position = page.next_after);
            if page.next_after == position {
                let bell = self.store.bell().clone();
                // Wake on a commit; the tick keeps the mailbox looked at.
                if bell.wait_after(position, IDLE_TICK) == position && bell.is_closed() {
                    self.handle.sleep(IDLE_TICK); // stopping: wait for the mail
                }
            }
            return page.next_after;
        }
        let delivered_all = page.events.len();
        for (i, event) in page.events.iter().enumerate() {
            match self.deliver(event) {
                Delivery::Delivered => position = event.seq,
                Delivery::Interrupted => return position,
                Delivery::Stopped(state, reason) => {
                    self.stop(state, &reason, position);
                    return position;
                }
            }
            self.handle.progress(|p| {
                p.position = position;
                p.waiting_since = page.events.get(i + 1).map(|e| e.at);
            });
        }
        debug_assert!(delivered_all > 0);
        page.next_after
    }

    fn deliver(&mut self, event: &EventView) -> Delivery {
        let mut last = String::new();
        let mut retry_after = None;
        for (n, wait) in self.schedule.clone().iter().enumerate() {
            let wait = if n == 0 {
                *wait
            } else {
                jitter(*wait).max(retry_after.unwrap_or_default())
            };
            if !wait.is_zero() {
                let at = now_micros() + wait.as_micros() as i64;
                self.handle
                    .progress(|p| p.next_attempt_at = Some(format_rfc3339(at)));
                if !self.handle.sleep(wait) {
                    return Delivery::Interrupted;
                }
            }
            let outcome = attempt::post(&self.agent, &self.endpoint, event);
            self.record(n as u32 + 1, &outcome);
            match outcome {
                Outcome::Delivered(_) => return Delivery::Delivered,
                Outcome::Gone => {
                    return Delivery::Stopped(
                        EndpointState::Disabled,
                        "the receiver answered 410 Gone".into(),
                    );
                }
                Outcome::Failed {
                    error,
                    retry_after: r,
                    ..
                } => {
                    last = error;
                    retry_after = r;
                }
            }
        }
        Delivery::Stopped(
            EndpointState::Failing,
            format!(
                "no 2xx for event {} after {} attempts; last: {last}",
                event.seq,
                self.schedule.len()
            ),
        )
    }

    fn record(&self, attempts: u32, outcome: &Outcome) {
        self.handle.progress(|p| {
            p.last_attempt_at = Some(format_rfc3339(now_micros()));
            p.next_attempt_at = None;
            match outcome {
                Outcome::Delivered(status) => {
                    p.delivered += 1;
                    p.attempts = 0;
                    p.last_status = Some(*status);
                    p.last_error = None;
                }
                Outcome::Gone => {
                    p.failed_attempts += 1;
                    p.last_status = Some(410);
                }
                Outcome::Failed { status, error, .. } => {
                    p.failed_attempts += 1;
                    p.attempts = attempts;
                    p.last_status = *status;
                    p.last_error = Some(error.clone());
                }
            }
        });
    }

    /// Stores the endpoint's new state (and position) and idles.
    fn stop(&mut self, state: EndpointState, reason: &str, position: u64) {
        log::warn!(
            "webhook endpoint {} is now {state:?}: {reason}",
            self.endpoint.id
        );
        let mut saved = (0, Instant::now());
        self.save(position, &mut saved);
        let change = EndpointChange::Stop {
            state,
            reason: reason.to_string(),
            generation: self.endpoint.generation,
        };
        if let Ok(Some(e)) = self.writer.submit(ChangeEndpoint {
            id: self.endpoint.id,
            change,
        }) {
            self.endpoint = e;
        }
        self.endpoint.state = state;
    }

    /// Takes the stored record after an operator's change; false if the
    /// endpoint is gone.
    fn reload(&mut self, replay: bool, position: &mut u64, saved: &mut (u64, Instant)) -> bool {
        let found = self
            .store
            .endpoints()
            .map(|all| all.into_iter().find(|e| e.id == self.endpoint.id));
        match found {
            Ok(Some(e)) => {
                if replay {
                    *position = e.position;
                    *saved = (e.position, Instant::now());
                    self.handle.progress(|p| p.position = e.position);
                }
                self.endpoint = e;
                true
            }
            Ok(None) => false,
            Err(e) => {
                log::warn!("webhook endpoint {}: reloading: {e}", self.endpoint.id);
                true
            }
        }
    }

    fn save(&mut self, position: u64, saved: &mut (u64, Instant)) {
        *saved = (saved.0, Instant::now());
        if position == saved.0 {
            return;
        }
        let change = EndpointChange::Position {
            to: position,
            generation: self.endpoint.generation,
        };
        match self.writer.submit(ChangeEndpoint {
            id: self.endpoint.id,
            change,
        }) {
            Ok(_) => saved.0 = position,
            Err(e) => log::warn!(
                "webhook endpoint {}: storing its position: {e:?}",
                self.endpoint.id
            ),
        }
    }
}

/// ±20 %, so endpoints that failed together do not retry together.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let factor = 0.8 + 0.4 * (f64::from(nanos % 1000) / 1000.0);
    d.mul_f64(factor)
}
