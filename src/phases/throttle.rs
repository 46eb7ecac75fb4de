//! Failed authentication, throttled per client address: after `limit` failures within a minute, an
//! address gets 429 with `Retry-After` until that minute is over, before its key is even looked at
//! (so guessing gets no answer, and costs the gateway a table lookup). IPv6 addresses count by their
//! /64, which one client usually holds whole.
//!
//! The table is bounded (least recently failing addresses make room) and outlives reloads (the
//! registry owns it). A request from an address that never failed pays one atomic load: the table is
//! consulted only while some address is blocked.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::metrics::m;

/// How long failures are counted, and an address blocked.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered.
const CAPACITY: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

pub struct AuthThrottle {
    table: Mutex<LruCache<u128, Window>>,
    /// Milliseconds since `epoch` until which some address is blocked.
    blocked_until: AtomicU64,
    epoch: Instant,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        AuthThrottle {
            table: Mutex::new(LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN))),
            blocked_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

/// The address a client is counted by.
fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_bits()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_bits()),
            // The /64, tagged so it cannot equal an IPv4 key.
            None => (v6.to_bits() & !u128::from(u64::MAX)) | 1,
        },
    }
}

impl AuthThrottle {
    fn ms(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// How long `ip` must wait, if it is blocked now (`limit` failures a minute; 0: never).
    pub fn blocked(&self, ip: IpAddr, limit: u32) -> Option<Duration> {
        let now = Instant::now();
        if limit == 0 || self.ms(now) >= self.blocked_until.load(Ordering::Relaxed) {
            return None;
        }
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let w = table.peek(&key(ip))?;
        let end = w.start + WINDOW;
        (w.failures >= limit && end > now).then(|| end - now)
    }

    /// `ip` failed to authenticate. Returns how long it is blocked when this failure reached the
    /// limit.
    pub fn failed(&self, ip: IpAddr, limit: u32) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let w = table.get_or_insert_mut(key(ip), || Window {
            start: now,
            failures: 0,
        });
        if now.duration_since(w.start) >= WINDOW {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        if w.failures != limit {
            return None;
        }
        let end = w.start + WINDOW;
        self.blocked_until.fetch_max(self.ms(end), Ordering::Relaxed);
        m().auth_throttled.with_label_values(&["throttled"]).inc();
        Some(end.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_limit_and_others_are_not() {
        let t = AuthThrottle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..2 {
            assert_eq!(t.failed(a, 3), None);
            assert_eq!(t.blocked(a, 3), None);
        }
        let d = t.failed(a, 3).expect("the third failure blocks");
        assert!(d > Duration::from_secs(58) && d <= WINDOW, "{d:?}");
        assert!(t.blocked(a, 3).is_some());
        assert_eq!(t.blocked(b, 3), None, "another address is not blocked");
        assert_eq!(t.blocked(a, 0), None, "0 turns the throttle off");
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let t = AuthThrottle::default();
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        let z: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        t.failed(x, 2);
        t.failed(y, 2);
        assert!(t.blocked(x, 2).is_some());
        assert_eq!(t.blocked(z, 2), None);
        assert_eq!(
            key("::ffff:192.0.2.1".parse().unwrap()),
            key("192.0.2.1".parse().unwrap())
        );
    }
}
