//! Time-of-day windows and the clock they read. The clock is injected (the phase holds an
//! `Arc<dyn Clock>`) so tests and previews can ask "what would happen at 23:30 on a Friday" and get
//! the same answer every time. Offsets are fixed (`+02:00`), not time zones: no tz database on the
//! request path, and an operator who needs daylight saving writes two rules or updates the offset.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the time comes from.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, UTC.
    fn unix_seconds(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> i64 {
        // A clock before 1970 is a broken host; midnight of day zero is a harmless answer.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock stopped at one instant (tests, previews of a chosen time).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn unix_seconds(&self) -> i64 {
        self.0
    }
}

pub(crate) const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A daily window `[from, to)` in minutes of the local day; `from > to` crosses midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: u16,
    pub to: u16,
    /// Seconds east of UTC.
    pub offset: i32,
    /// Bit `d` set: the window opens on day `d` (0 = Monday). Zero: every day.
    pub days: u8,
}

impl Window {
    /// Whether `unix` falls inside the window. For a window that crosses midnight the part after
    /// midnight belongs to the day it opened on: `fri 22:00-06:00` includes Saturday 01:00.
    pub fn contains(&self, unix: i64) -> bool {
        let local = unix.saturating_add(i64::from(self.offset));
        let day = local.div_euclid(86_400);
        let minute = (local.rem_euclid(86_400) / 60) as u16;
        let (from, to) = (self.from, self.to);
        let opened_on = if from < to {
            if minute < from || minute >= to {
                return false;
            }
            day
        } else if minute >= from {
            day
        } else if minute < to {
            day - 1
        } else {
            return false;
        };
        // 1970-01-01 was a Thursday (index 3 with Monday as 0).
        let weekday = (opened_on + 3).rem_euclid(7) as u8;
        self.days == 0 || self.days & (1 << weekday) != 0
    }

    /// `22:00-06:00 UTC+02:00 fri,sat`, for the trace.
    pub fn describe(&self) -> String {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let mut s = format!("time {}-{}", hm(self.from), hm(self.to));
        if self.offset != 0 {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let abs = self.offset.unsigned_abs() / 60;
            s.push_str(&format!(" UTC{sign}{:02}:{:02}", abs / 60, abs % 60));
        } else {
            s.push_str(" UTC");
        }
        if self.days != 0 {
            let days: Vec<&str> = (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| DAY_NAMES[d])
                .collect();
            s.push(' ');
            s.push_str(&days.join(","));
        }
        s
    }
}

/// `HH:MM` (24-hour) as minutes since midnight; `24:00` only when `end` (the end of the day).
pub(crate) fn parse_hhmm(s: &str, end: bool) -> Result<u16, String> {
    let bad = || format!("{s:?} is not a time of day; use HH:MM, 00:00 to 23:59");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if end && h == 24 && m == 0 {
        return Ok(24 * 60);
    }
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// `+02:00`, `-05:30`, `Z` or `UTC` as seconds east of UTC, at most 14 hours either way.
pub(crate) fn parse_offset(s: &str) -> Result<i32, String> {
    let bad = || format!("{s:?} is not a UTC offset; use +HH:MM or -HH:MM (e.g. +02:00)");
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h * 60 + m > 14 * 60 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// `mon` or `monday` (any case) as 0..7.
pub(crate) fn parse_day(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == l)
        .or_else(|| FULL_DAY_NAMES.iter().position(|d| *d == l))
        .map(|d| d as u8)
}
