//! Log lines a client can cause, kept to a budget: at most so many lines
//! per window, then a count of what was left out, said with the next line
//! that is written. Refusals of unauthenticated requests go through this,
//! so a client sending bad requests cannot flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LogLimit {
    max: u32,
    window: Duration,
    state: Mutex<State>,
}

struct State {
    started: Option<Instant>,
    lines: u32,
    left_out: u64,
}

impl LogLimit {
    pub const fn new(max: u32, window: Duration) -> LogLimit {
        LogLimit {
            max,
            window,
            state: Mutex::new(State {
                started: None,
                lines: 0,
                left_out: 0,
            }),
        }
    }

    /// `None`: leave this line out. `Some(note)`: write it, followed by
    /// `note` (empty, or how many lines like it were left out before).
    pub fn admit(&self) -> Option<String> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.started
            .is_none_or(|t| now.duration_since(t) >= self.window)
        {
            s.started = Some(now);
            s.lines = 0;
        }
        if s.lines >= self.max {
            s.left_out += 1;
            return None;
        }
        s.lines += 1;
        let note = match std::mem::take(&mut s.left_out) {
            0 => String::new(),
            n => format!(" ({n} more like this were not logged)"),
        };
        Some(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_per_window_then_the_count_of_what_was_left_out() {
        let limit = LogLimit::new(2, Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(limit.admit_at(t).as_deref(), Some(""));
        assert_eq!(limit.admit_at(t).as_deref(), Some(""));
        assert_eq!(limit.admit_at(t), None);
        assert_eq!(limit.admit_at(t + Duration::from_secs(9)), None);
        let later = t + Duration::from_secs(10);
        assert_eq!(
            limit.admit_at(later).as_deref(),
            Some(" (2 more like this were not logged)")
        );
        assert_eq!(limit.admit_at(later).as_deref(), Some(""));
    }
}
