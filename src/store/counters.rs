//! The spend counters ([`SpendCounters`]) kept in this process and checkpointed to the
//! `spend_counters` table: loaded at open, written by the writer at each maintenance pass and at
//! exit, so a restart keeps a day's (and a month's) spend. Day counters older than 40 days and month
//! counters older than 13 months are deleted at maintenance.

use std::sync::Mutex;

use rusqlite::{params, Connection};
use switchyard_sdk::state::counters::{slot, Period, SpendCounters, Table};
use switchyard_sdk::Money;

#[derive(Debug, Default)]
pub struct StoreCounters {
    /// scope → period → (spent, changed since the last checkpoint).
    spent: Mutex<Table<(Money, bool)>>,
}

impl StoreCounters {
    /// The counters as the table has them.
    pub fn load(conn: &Connection) -> rusqlite::Result<StoreCounters> {
        let mut st = conn.prepare("SELECT scope, period, spent_pico FROM spend_counters")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                Money(u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0)),
            ))
        })?;
        let mut spent: Table<(Money, bool)> = Table::default();
        for row in rows {
            let (scope, period, v) = row?;
            spent.entry(scope).or_default().insert(period, (v, false));
        }
        Ok(StoreCounters {
            spent: Mutex::new(spent),
        })
    }

    /// Write what changed since the last checkpoint; drop old periods.
    pub fn checkpoint(&self, conn: &Connection, now_ms: i64) {
        let changed: Vec<((String, String), Money)> = {
            let mut m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
            let mut out = Vec::new();
            for (scope, periods) in m.iter_mut() {
                for (period, (v, dirty)) in periods.iter_mut().filter(|(_, (_, d))| *d) {
                    *dirty = false;
                    out.push(((scope.clone(), period.clone()), *v));
                }
            }
            out
        };
        for ((scope, period), v) in changed {
            let r = conn.execute(
                "INSERT INTO spend_counters (scope, period, spent_pico, updated_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (scope, period) DO UPDATE SET spent_pico = excluded.spent_pico, updated_ms = excluded.updated_ms",
                params![scope, period, i64::try_from(v.0).unwrap_or(i64::MAX), now_ms],
            );
            if let Err(e) = r {
                tracing::warn!(error = %e, "store: cannot checkpoint a spend counter");
            }
        }
        let day = 24 * 3600 * 1000;
        let old_day = Period::Day.label(now_ms - 40 * day);
        let old_month = Period::Month.label(now_ms - 400 * day);
        let _ = conn.execute(
            "DELETE FROM spend_counters WHERE (period LIKE 'day:%' AND period < ?1) OR (period LIKE 'month:%' AND period < ?2)",
            params![old_day, old_month],
        );
        let mut m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        for periods in m.values_mut() {
            periods
                .retain(|p, _| !(p.starts_with("day:") && *p < old_day || p.starts_with("month:") && *p < old_month));
        }
        m.retain(|_, periods| !periods.is_empty());
    }
}

impl SpendCounters for StoreCounters {
    fn spent(&self, scope: &str, period: &str) -> Money {
        let m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        m.get(scope)
            .and_then(|p| p.get(period))
            .map_or(Money::ZERO, |(v, _)| *v)
    }

    fn add(&self, scope: &str, period: &str, amount: Money) {
        if amount == Money::ZERO {
            return;
        }
        let mut m = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = slot(&mut m, scope, period) {
            e.0 = e.0.saturating_add(amount);
            e.1 = true;
        }
    }
}

/// A scope's spend as the key list shows it: today, this month, all time (UTC).
pub fn spend_json(c: &dyn SpendCounters, scope: &str, now_ms: i64) -> serde_json::Value {
    let get = |p: Period| c.spent(scope, &p.label(now_ms)).as_dollars_f64();
    serde_json::json!({
        "today_dollars": get(Period::Day),
        "this_month_dollars": get(Period::Month),
        "total_dollars": get(Period::Total),
    })
}
