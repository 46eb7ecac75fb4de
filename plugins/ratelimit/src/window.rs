//! A sliding one-minute counter: this minute's count plus the previous minute's, weighted by how much of
//! it still overlaps. Under the limiter's lock, admission is exact: N free slots admit exactly N
//! requests, however many arrive at once.

use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct Window {
    start: Instant,
    pub current: u64,
    pub previous: u64,
}

impl Window {
    pub fn new(now: Instant) -> Self {
        Window {
            start: now,
            current: 0,
            previous: 0,
        }
    }

    pub fn roll(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.start);
        if elapsed >= WINDOW * 2 {
            *self = Window::new(now);
        } else if elapsed >= WINDOW {
            self.previous = self.current;
            self.current = 0;
            self.start += WINDOW;
        }
    }

    /// The count over the last minute.
    pub fn load(&self, now: Instant) -> u64 {
        let into = now.duration_since(self.start).as_secs_f64() / WINDOW.as_secs_f64();
        self.current + (self.previous as f64 * (1.0 - into).max(0.0)).ceil() as u64
    }

    /// Add `n` (a correction may be negative: what was held beyond the actual use is given back).
    pub fn adjust(&mut self, n: i64) {
        self.current = if n >= 0 {
            self.current.saturating_add(n.unsigned_abs())
        } else {
            self.current.saturating_sub(n.unsigned_abs())
        };
    }

    /// Seconds until the load drops by `excess` (at least 1).
    pub fn retry_after(&self, now: Instant, excess: u64) -> u64 {
        if self.previous == 0 {
            return (WINDOW.saturating_sub(now.duration_since(self.start))).as_secs().max(1);
        }
        let per_sec = self.previous as f64 / WINDOW.as_secs_f64();
        ((excess as f64 / per_sec).ceil() as u64).clamp(1, 60)
    }

    /// Time until the load is back to zero: this minute's count decays over the minute after it.
    pub fn reset_after(&self, now: Instant) -> Duration {
        let end = self.start + WINDOW;
        if self.current > 0 {
            (end + WINDOW).saturating_duration_since(now)
        } else if self.previous > 0 {
            end.saturating_duration_since(now)
        } else {
            Duration::ZERO
        }
    }
}

/// A duration as OpenAI's `x-ratelimit-reset-*` headers write it: `20ms`, `1s`, `6m0s`.
pub fn openai_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("{s}s");
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else {
        format!("{m}m{s}s")
    }
}
