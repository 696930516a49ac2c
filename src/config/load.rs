//! How much waiting a callback may face before it is answered 429 (README,
//! "Back-pressure"), and the test-only knob that slows every commit down.

use std::time::Duration;

use super::reader::Reader;

/// Back-pressure settings.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// A callback that would wait longer than this for a worker, or for
    /// the writer to commit it, is answered 429 with `Retry-After`.
    pub callback_max_wait: Duration,
    /// Added to every commit. Tests only: it fakes an overloaded store.
    pub commit_delay: Duration,
}

pub(super) fn read(r: &mut Reader) -> Load {
    let callback_max_wait = r.positive_seconds("SINCH_DLR_CALLBACK_MAX_WAIT");
    let commit_delay = r
        .seconds_if_set("SINCH_DLR_TEST_COMMIT_DELAY")
        .unwrap_or(Duration::ZERO);
    if !commit_delay.is_zero() {
        r.warn(format!(
            "SINCH_DLR_TEST_COMMIT_DELAY is set: every commit waits {commit_delay:?} (for tests only)"
        ));
    }
    Load {
        callback_max_wait,
        commit_delay,
    }
}
