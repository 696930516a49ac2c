//! Slows down guessing of the API token, per client address: the dashboard
//! login form and `Authorization: Bearer` on the API and dashboard guess the
//! same secret, so they share one count.
//!
//! An address may fail `FREE_FAILURES` times; the failure that reaches it
//! blocks the address for `FIRST_BLOCK`, and every further failure after a
//! block has ended doubles the next block, up to `MAX_BLOCK`. While blocked,
//! every attempt is answered 429 with `Retry-After` without looking at the
//! credentials (otherwise the answer would still tell a right guess from a
//! wrong one), and does not lengthen the block. A success forgets the
//! address; so does `FORGET_AFTER` without a failure.
//!
//! A guess counts as a failure from the moment it is let through
//! (`attempt`) until it turns out right (`success`), checked and counted
//! under one lock: concurrent guesses from one address (one per worker
//! thread) cannot all pass the check before the first of them is counted.
//!
//! Never used for Sinch callbacks: a 4xx there loses the callback for good.
//!
//! Memory is bounded: at most `MAX_TRACKED` addresses are remembered; a new
//! one evicts the entry with the oldest failure. IPv6 addresses count by
//! their /64, which one client usually holds whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FREE_FAILURES: u32 = 5;
pub const FIRST_BLOCK: Duration = Duration::from_secs(1);
pub const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    /// The current block, if any: until when, and how long it was.
    blocked_until: Option<Instant>,
    block: Duration,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

/// An address is blocked: answer 429 with this many seconds to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub retry_after_secs: u64,
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    }
}

fn secs_until(until: Instant, now: Instant) -> u64 {
    let left = until.saturating_duration_since(now);
    // Round up: waiting the advertised seconds is always enough.
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `ip` may try now. None (no address, e.g. a CLI command run
    /// in-process) is never throttled.
    pub fn check(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Blocked> {
        let Some(ip) = ip else { return Ok(()) };
        match self.lock().get(&key(ip)).and_then(|e| e.blocked_until) {
            Some(until) if until > now => Err(Blocked {
                retry_after_secs: secs_until(until, now),
            }),
            _ => Ok(()),
        }
    }

    /// Lets one guess from `ip` through, counted as a failure unless
    /// `success` follows; Err when the address is blocked (nothing counted).
    pub fn attempt(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Blocked> {
        let Some(ip) = ip else { return Ok(()) };
        let ip = key(ip);
        let mut map = self.lock();
        if let Some(until) = map.get(&ip).and_then(|e| e.blocked_until) {
            if until > now {
                return Err(Blocked {
                    retry_after_secs: secs_until(until, now),
                });
            }
        }
        if !map.contains_key(&ip) && map.len() >= MAX_TRACKED {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
        let fresh = Entry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
            block: Duration::ZERO,
        };
        let entry = map.entry(ip).or_insert(fresh);
        if now.saturating_duration_since(entry.last_failure) > FORGET_AFTER {
            *entry = fresh;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= FREE_FAILURES {
            entry.block = if entry.block.is_zero() {
                FIRST_BLOCK
            } else {
                (entry.block * 2).min(MAX_BLOCK)
            };
            entry.blocked_until = Some(now + entry.block);
        }
        Ok(())
    }

    /// The guess let through was right: `ip` starts again with a clean slate.
    pub fn success(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.lock().remove(&key(ip));
        }
    }

    /// Addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn blocked(secs: u64) -> Result<(), Blocked> {
        Err(Blocked {
            retry_after_secs: secs,
        })
    }

    #[test]
    fn blocks_after_free_failures_and_doubles_up_to_the_cap() {
        let t = Throttle::default();
        let a = ip("192.0.2.1");
        let mut now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.check(a, now), Ok(()));
            assert_eq!(t.attempt(a, now), Ok(()));
        }
        assert_eq!(t.check(a, now), blocked(1));
        assert_eq!(t.attempt(a, now), blocked(1), "not let through");
        assert_eq!(t.check(ip("192.0.2.2"), now), Ok(()), "per address");
        let mut block = FIRST_BLOCK;
        for _ in 0..20 {
            now += block;
            assert_eq!(t.attempt(a, now), Ok(()), "block over");
            block = (block * 2).min(MAX_BLOCK);
            assert_eq!(t.check(a, now), blocked(block.as_secs()));
        }
        assert_eq!(block, MAX_BLOCK);
        t.success(a);
        assert_eq!(t.check(a, now), Ok(()));
        assert_eq!(t.tracked(), 0);
    }

    #[test]
    fn right_guesses_are_not_counted() {
        let t = Throttle::default();
        let a = ip("192.0.2.1");
        let now = Instant::now();
        for _ in 0..FREE_FAILURES * 3 {
            t.attempt(a, now).unwrap();
            t.success(a);
        }
        assert_eq!(t.check(a, now), Ok(()));
    }

    #[test]
    fn quiet_addresses_are_forgotten_and_memory_is_bounded() {
        let t = Throttle::default();
        let a = ip("192.0.2.1");
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            t.attempt(a, now).unwrap();
        }
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        t.attempt(a, later).unwrap();
        assert_eq!(t.check(a, later), Ok(()), "old failures forgotten");
        for i in 0..MAX_TRACKED as u32 + 10 {
            let n = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            let at = later + Duration::from_millis(i.into());
            t.attempt(Some(IpAddr::V4(n)), at).unwrap();
        }
        assert_eq!(t.tracked(), MAX_TRACKED);
        assert_eq!(t.check(None, later), Ok(()));
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..FREE_FAILURES {
            t.attempt(ip(&format!("2001:db8::{i}")), now).unwrap();
        }
        assert!(t.check(ip("2001:db8::ffff"), now).is_err());
        assert!(t.check(ip("2001:db8:0:1::1"), now).is_ok());
    }
}
