//! Time-of-day windows: plain, across midnight, with an offset, on chosen days; the injected clock.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use super::*;
use crate::time::{parse_hhmm, parse_offset, Clock};

fn in_window(window: Value, unix: i64) -> bool {
    let set = one(json!({"time": window}));
    let mut ex = exchange(request("hi"));
    set.evaluate(&HeaderMap::new(), &mut ex, &FixedClock(unix));
    ex.trace[0].fired
}

#[test]
fn a_daytime_window_includes_from_and_excludes_to() {
    let w = json!({"from": "09:00", "to": "17:30"});
    assert!(in_window(w.clone(), at(0, 9, 0)));
    assert!(in_window(w.clone(), at(0, 17, 29)));
    assert!(!in_window(w.clone(), at(0, 17, 30)));
    assert!(!in_window(w.clone(), at(0, 8, 59)));
    assert!(!in_window(w, at(0, 23, 0)));
}

#[test]
fn a_window_across_midnight() {
    let w = json!({"from": "22:00", "to": "06:00"});
    assert!(in_window(w.clone(), at(0, 22, 0)));
    assert!(in_window(w.clone(), at(0, 23, 59)));
    assert!(in_window(w.clone(), at(1, 0, 0)));
    assert!(in_window(w.clone(), at(1, 5, 59)));
    assert!(!in_window(w.clone(), at(1, 6, 0)));
    assert!(!in_window(w, at(0, 12, 0)));
}

#[test]
fn the_whole_day() {
    let w = json!({"from": "00:00", "to": "24:00"});
    assert!(in_window(w.clone(), at(0, 0, 0)));
    assert!(in_window(w, at(0, 23, 59)));
}

#[test]
fn a_fixed_utc_offset_shifts_the_window() {
    let w = json!({"from": "09:00", "to": "17:00", "utc_offset": "+02:00"});
    assert!(in_window(w.clone(), at(0, 7, 30)), "09:30 local");
    assert!(!in_window(w.clone(), at(0, 16, 0)), "18:00 local");
    assert!(in_window(w, at(0, 14, 59)), "16:59 local");
    let w = json!({"from": "20:00", "to": "23:00", "utc_offset": "-05:30"});
    assert!(in_window(w.clone(), at(1, 2, 0)), "20:30 the evening before, local");
    assert!(!in_window(w, at(0, 20, 30)), "15:00 local");
}

#[test]
fn days_name_the_day_the_window_opens() {
    // 2026-01-02 is a Friday.
    let w = json!({"from": "22:00", "to": "06:00", "days": ["fri"]});
    assert!(in_window(w.clone(), at(0, 23, 0)), "Friday night");
    assert!(
        in_window(w.clone(), at(1, 1, 0)),
        "Saturday 01:00 belongs to Friday's window"
    );
    assert!(
        !in_window(w.clone(), at(0, 1, 0)),
        "Friday 01:00 belongs to Thursday's window"
    );
    assert!(!in_window(w, at(1, 23, 0)), "Saturday night");
    let weekend = json!({"from": "00:00", "to": "24:00", "days": ["Saturday", "sun"]});
    assert!(!in_window(weekend.clone(), at(0, 12, 0)));
    assert!(in_window(weekend.clone(), at(1, 12, 0)));
    assert!(in_window(weekend.clone(), at(2, 12, 0)));
    assert!(!in_window(weekend, at(3, 12, 0)), "Monday");
}

#[test]
fn the_offset_decides_the_local_day() {
    let w = json!({"from": "00:00", "to": "24:00", "utc_offset": "+02:00", "days": ["sat"]});
    assert!(
        in_window(w.clone(), at(0, 23, 0)),
        "Friday 23:00 UTC is Saturday 01:00 local"
    );
    assert!(!in_window(w, at(0, 21, 0)));
}

#[test]
fn the_window_is_described_in_the_trace() {
    let set = one(json!({"time": {"from": "22:00", "to": "06:00", "utc_offset": "+02:00", "days": ["sat", "fri"]}}));
    let mut ex = exchange(request("hi"));
    run(&set, &mut ex);
    assert_eq!(lines(&ex)[0].0, "time 22:00-06:00 UTC+02:00 fri,sat");
}

struct CountingClock(AtomicUsize);

impl Clock for CountingClock {
    fn unix_seconds(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst);
        FRIDAY
    }
}

#[test]
fn the_clock_is_read_only_when_a_time_condition_is_reached_and_once() {
    let clock = CountingClock(AtomicUsize::new(0));
    let set = rules(json!({"rules": [
        {"name": "a", "when": {"all": [{"tokens_above": 1_000_000}, {"time": {"from": "00:00", "to": "12:00"}}]}, "then": [{"tag": "a"}]},
    ]}));
    let mut ex = exchange(request("hi"));
    set.evaluate(&HeaderMap::new(), &mut ex, &clock);
    assert_eq!(clock.0.load(Ordering::SeqCst), 0);
    let set = rules(json!({"rules": [
        {"name": "a", "when": {"time": {"from": "00:00", "to": "12:00"}}, "then": [{"tag": "a"}]},
        {"name": "b", "when": {"time": {"from": "12:00", "to": "13:00"}}, "then": [{"tag": "b"}]},
    ]}));
    set.evaluate(&HeaderMap::new(), &mut ex, &clock);
    assert_eq!(clock.0.load(Ordering::SeqCst), 1);
}

#[test]
fn the_system_clock_is_after_2025() {
    assert!(crate::SystemClock.unix_seconds() > 1_735_689_600);
}

#[test]
fn time_and_offset_parsing() {
    assert_eq!(parse_hhmm("07:05", false), Ok(425));
    assert_eq!(parse_hhmm("24:00", true), Ok(1440));
    assert!(parse_hhmm("24:00", false).is_err());
    assert!(parse_hhmm("7:05", false).is_err());
    assert!(parse_hhmm("12:60", false).is_err());
    assert!(parse_hhmm("noon", false).is_err());
    assert_eq!(parse_offset("+02:00"), Ok(7200));
    assert_eq!(parse_offset("-05:30"), Ok(-19_800));
    assert_eq!(parse_offset("Z"), Ok(0));
    assert!(parse_offset("+2").is_err());
    assert!(parse_offset("+14:30").is_err());
    assert!(parse_offset("02:00").is_err());
}
