//! Periodic background jobs (reconciliation, retention): one thread each,
//! running a job every interval until stopped. Stopping waits for the job
//! in progress, so shutdown never cuts a write in half.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Periodic {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Periodic {
    /// Runs `job` now (when `at_start`) and then every `interval`.
    pub fn start(
        name: &str,
        interval: Duration,
        at_start: bool,
        mut job: impl FnMut() + Send + 'static,
    ) -> Result<Periodic, String> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                if at_start {
                    job();
                }
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    job();
                }
            })
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        Ok(Periodic { stop, thread })
    }

    /// Asks the thread to end and waits for it.
    pub fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
