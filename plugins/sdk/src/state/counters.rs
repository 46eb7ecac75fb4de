//! Spend counters per scope (a key's identity, a workspace, a route) and period (a UTC day, a UTC
//! month, or all time), behind one small trait: the core's implementation keeps them in the process
//! and checkpoints them to the store, so a restart keeps a day's spend; a backend shared by several
//! instances can implement the same trait without touching the phases. The caps read them under their
//! reservation book's lock and add a settled request's cost to them (`state::reserve`).

use std::sync::Mutex;

use chrono::{DateTime, Datelike, Utc};

use super::FastMap;
use crate::money::Money;

/// A cap's period, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    Month,
    /// Since the counter began.
    Total,
}

impl Period {
    /// The counter's label for the period containing `now_ms`: `day:2026-12-06`, `month:2026-12`,
    /// `total`.
    ///
    /// Every settled request asks for these, so the day's labels are formatted once and copied after
    /// (the calendar formatting was most of the caps phase's work per request).
    pub fn label(self, now_ms: i64) -> String {
        static TODAY: Mutex<Option<(i64, [String; 2])>> = Mutex::new(None);
        if self == Period::Total {
            return "total".to_string();
        }
        let day = now_ms.div_euclid(24 * 3600 * 1000);
        let mut today = TODAY.lock().unwrap_or_else(|e| e.into_inner());
        let labels = match &*today {
            Some((d, labels)) if *d == day => labels,
            _ => {
                let t = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
                let labels = [
                    format!("day:{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
                    format!("month:{:04}-{:02}", t.year(), t.month()),
                ];
                &today.insert((day, labels)).1
            }
        };
        labels[usize::from(self == Period::Month)].clone()
    }

    /// The word a refusal uses: `daily`, `monthly`, `total`.
    pub fn word(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
            Period::Total => "total",
        }
    }
}

/// Spend per (scope, period label).
pub trait SpendCounters: Send + Sync {
    /// What `scope` spent in the period labelled `period` ([`Period::label`]).
    fn spent(&self, scope: &str, period: &str) -> Money;
    /// Add a settled request's cost. Quick, never waits on I/O (it runs under a reservation lock).
    fn add(&self, scope: &str, period: &str, amount: Money);
}

/// Counters in this process only (tests, a gateway without a store).
#[derive(Debug, Default)]
pub struct MemoryCounters {
    spent: Mutex<Table<Money>>,
}

/// Values per scope, then per period: looked up by `&str` without allocating.
pub type Table<V> = FastMap<String, FastMap<String, V>>;

/// The counters' scope of a key (by its stable id: rotation keeps its spend).
pub fn key_scope(key_id: &str) -> String {
    format!("key:{key_id}")
}

/// The counters' scope of a workspace.
pub fn workspace_scope(workspace: &str) -> String {
    format!("workspace:{workspace}")
}

/// The value at (`scope`, `period`), created with `V::default()` when new (allocating only then).
/// Always `Some`.
pub fn slot<'a, V: Default>(t: &'a mut Table<V>, scope: &str, period: &str) -> Option<&'a mut V> {
    if !t.contains_key(scope) {
        t.insert(scope.to_string(), FastMap::default());
    }
    let periods = t.get_mut(scope)?;
    if !periods.contains_key(period) {
        periods.insert(period.to_string(), V::default());
    }
    periods.get_mut(period)
}

impl SpendCounters for MemoryCounters {
    fn spent(&self, scope: &str, period: &str) -> Money {
        let m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        m.get(scope).and_then(|p| p.get(period)).copied().unwrap_or(Money::ZERO)
    }

    fn add(&self, scope: &str, period: &str, amount: Money) {
        let mut m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = slot(&mut m, scope, period) {
            *e = e.saturating_add(amount);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_are_utc_days_and_months() {
        // 2026-12-06T23:59:59.999Z, then a millisecond later.
        let t = 1_796_601_599_999;
        assert_eq!(Period::Day.label(t), "day:2026-12-06");
        assert_eq!(Period::Day.label(t + 1), "day:2026-12-07");
        assert_eq!(Period::Month.label(t), "month:2026-12");
        assert_eq!(Period::Total.label(t), "total");
    }

    #[test]
    fn memory_counters_add_up_per_scope_and_period() {
        let c = MemoryCounters::default();
        c.add("key:a", "day:x", Money(5));
        c.add("key:a", "day:x", Money(7));
        c.add("key:b", "day:x", Money(1));
        assert_eq!(c.spent("key:a", "day:x"), Money(12));
        assert_eq!(c.spent("key:a", "day:y"), Money::ZERO);
    }
}
