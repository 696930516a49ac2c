//! Pushing events to webhook endpoints (Standard Webhooks): one delivery
//! thread per endpoint (worker.rs), started at boot for every stored
//! endpoint and told about every change the API makes. A slow or dead
//! receiver holds only its own thread: ingest, the API and other
//! endpoints never wait for it.

mod attempt;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::now_micros;
use crate::config::Webhooks;
use crate::http_client::{self, Lookup};
use crate::store::Store;
use crate::store::endpoints::{ConfigEndpoint, EndpointRecord};
use crate::writer::WriterHandle;
pub use worker::Progress;
use worker::{Handle, Worker};

/// Endpoint id -> its delivery thread.
type Running = HashMap<u64, (Arc<Handle>, JoinHandle<()>)>;

/// Every endpoint's delivery thread.
pub struct Deliveries {
    store: Arc<Store>,
    writer: WriterHandle,
    timeout: Duration,
    schedule: Arc<Vec<Duration>>,
    running: Mutex<Running>,
}

impl Deliveries {
    /// Brings the configured endpoint in step, then starts a thread for
    /// every endpoint.
    pub fn start(
        store: Arc<Store>,
        writer: WriterHandle,
        config: &Webhooks,
    ) -> Result<Arc<Deliveries>, String> {
        writer
            .submit(ConfigEndpoint {
                wanted: config.endpoint.clone(),
            })
            .map_err(|e| format!("storing SINCH_DLR_WEBHOOK_URL's endpoint: {e:?}"))?;
        let deliveries = Arc::new(Deliveries {
            store,
            writer,
            timeout: config.timeout,
            schedule: Arc::new(config.schedule.clone()),
            running: Mutex::new(HashMap::new()),
        });
        let endpoints = deliveries.store.endpoints().map_err(|e| e.to_string())?;
        for e in endpoints {
            deliveries.spawn(e);
        }
        Ok(deliveries)
    }

    /// After the API changed endpoint `id` (created, edited, replayed,
    /// rotated or deleted).
    pub fn changed(&self, id: u64, replay: bool) {
        let found = self
            .store
            .endpoints()
            .ok()
            .and_then(|all| all.into_iter().find(|e| e.id == id));
        let mut running = self.lock();
        match (running.get(&id), found) {
            (Some((handle, _)), Some(_)) => handle.reload(replay),
            (Some(_), None) => {
                if let Some((handle, thread)) = running.remove(&id) {
                    handle.stop();
                    drop(running);
                    let _ = thread.join();
                }
            }
            (None, Some(e)) => {
                drop(running);
                self.spawn(e);
            }
            (None, None) => {}
        }
    }

    /// What the delivery thread knows about endpoint `id`.
    pub fn progress(&self, id: u64) -> Option<Progress> {
        let running = self.lock();
        let (handle, _) = running.get(&id)?;
        let p = handle
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Some(p)
    }

    /// Lag in events and seconds of endpoint `id`.
    pub fn lag(&self, progress: &Progress) -> (u64, f64) {
        let events = self
            .store
            .last_event_seq()
            .saturating_sub(progress.position);
        let seconds = progress
            .waiting_since
            .map_or(0.0, |t| (now_micros() - t).max(0) as f64 / 1e6);
        (events, if events == 0 { 0.0 } else { seconds })
    }

    /// Stops every thread (each stores its position first).
    pub fn stop(&self) {
        let all: Vec<_> = self.lock().drain().collect();
        for (_, (handle, _)) in &all {
            handle.stop();
        }
        for (_, (_, thread)) in all {
            let _ = thread.join();
        }
    }

    fn spawn(&self, endpoint: EndpointRecord) {
        let handle = Arc::new(Handle::default());
        let id = endpoint.id;
        let worker = Worker {
            endpoint,
            store: self.store.clone(),
            writer: self.writer.clone(),
            agent: http_client::agent(self.timeout, Lookup::OnThisThread),
            schedule: self.schedule.clone(),
            handle: handle.clone(),
        };
        match std::thread::Builder::new()
            .name(format!("webhook-{id}"))
            .spawn(move || worker.run())
        {
            Ok(thread) => {
                self.lock().insert(id, (handle, thread));
            }
            Err(e) => log::error!("webhook endpoint {id}: cannot start its thread: {e}"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}
