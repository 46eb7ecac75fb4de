//! Live health of every model and provider, learned from real traffic only (no paid health checks):
//! outcome counts, consecutive failures, EWMA time to first token and tokens per second, `Retry-After`
//! cool-downs, and a circuit breaker. After `breaker_failures` consecutive failures a model's circuit
//! opens; once `breaker_open` has passed, one real request is let through as a probe (half-open): its
//! success closes the circuit, its failure opens it again. The tracker outlives config reloads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// EWMA weight of a new latency sample.
const ALPHA: f64 = 0.3;
/// How long a half-open probe may take before another request may probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Breaker {
    Closed,
    Open {
        until: Instant,
    },
    /// Open time is over; `probing` since when, if a probe is in flight.
    HalfOpen {
        probing: Option<Instant>,
    },
}

#[derive(Debug, Clone)]
pub struct Stats {
    pub successes: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    /// EWMA time to first token (or to the whole answer, for non-streaming requests).
    pub ewma_ttft_ms: Option<f64>,
    /// EWMA output tokens per second of streams.
    pub ewma_tps: Option<f64>,
    pub breaker: Breaker,
    pub cooldown_until: Option<Instant>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            successes: 0,
            failures: 0,
            consecutive_failures: 0,
            ewma_ttft_ms: None,
            ewma_tps: None,
            breaker: Breaker::Closed,
            cooldown_until: None,
        }
    }
}

/// How an attempt ended, for health.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Success {
        ttft: Duration,
        tokens_per_sec: Option<f64>,
    },
    /// The provider failed (5xx, 429, connection, timeout, broken stream).
    Failure { retry_after: Option<Duration> },
    /// The request was at fault (4xx): says nothing about the model.
    Neutral,
}

/// Why a model is not available now.
#[derive(Debug, Clone, PartialEq)]
pub enum Unavailable {
    CircuitOpen { retry_in: Duration },
    CoolingDown { retry_in: Duration },
    Probing,
}

impl Unavailable {
    pub fn describe(&self) -> String {
        match self {
            Unavailable::CircuitOpen { retry_in } => format!(
                "circuit open after repeated failures (probe in {} s)",
                retry_in.as_secs().max(1)
            ),
            Unavailable::CoolingDown { retry_in } => {
                format!("cooling down after a rate limit ({} s left)", retry_in.as_secs().max(1))
            }
            Unavailable::Probing => "circuit half-open, a probe request is in flight".into(),
        }
    }

    pub fn retry_in(&self) -> Duration {
        match self {
            Unavailable::CircuitOpen { retry_in } | Unavailable::CoolingDown { retry_in } => *retry_in,
            Unavailable::Probing => Duration::from_secs(1),
        }
    }
}

#[derive(Default)]
struct Table {
    entries: RwLock<HashMap<Arc<str>, Arc<Mutex<Stats>>>>,
}

impl Table {
    fn get(&self, key: &str) -> Option<Arc<Mutex<Stats>>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    fn get_or_insert(&self, key: &str) -> Arc<Mutex<Stats>> {
        if let Some(s) = self.get(key) {
            return s;
        }
        let mut w = self.entries.write().unwrap_or_else(|e| e.into_inner());
        w.entry(Arc::from(key)).or_default().clone()
    }

    fn read(&self, key: &str) -> Stats {
        self.get(key)
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }
}

/// Health of models (by catalog id) and providers (by name).
#[derive(Default)]
pub struct Health {
    models: Table,
    providers: Table,
}

fn availability(s: &Stats, now: Instant) -> Result<(), Unavailable> {
    if let Some(until) = s.cooldown_until.filter(|u| *u > now) {
        return Err(Unavailable::CoolingDown { retry_in: until - now });
    }
    match s.breaker {
        Breaker::Closed => Ok(()),
        Breaker::Open { until } if until > now => Err(Unavailable::CircuitOpen { retry_in: until - now }),
        Breaker::Open { .. } => Ok(()),
        Breaker::HalfOpen { probing: Some(t) } if now.duration_since(t) < PROBE_TIMEOUT => Err(Unavailable::Probing),
        Breaker::HalfOpen { .. } => Ok(()),
    }
}

impl Health {
    pub fn new() -> Arc<Self> {
        Arc::new(Health::default())
    }

    /// Whether `model` (of `provider`) may be tried now.
    pub fn available(&self, model: &str, provider: &str) -> Result<(), Unavailable> {
        let now = Instant::now();
        availability(&self.models.read(model), now)?;
        availability(&self.providers.read(provider), now)
    }

    /// An attempt on `model` starts: an expired open circuit becomes half-open with this attempt as
    /// its probe.
    pub fn begin_attempt(&self, model: &str) {
        let Some(s) = self.models.get(model) else { return };
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match s.breaker {
            Breaker::Open { until } if until <= now => s.breaker = Breaker::HalfOpen { probing: Some(now) },
            Breaker::HalfOpen { probing } if probing.is_none_or(|t| now.duration_since(t) >= PROBE_TIMEOUT) => {
                s.breaker = Breaker::HalfOpen { probing: Some(now) }
            }
            _ => {}
        }
    }

    /// Record how an attempt on `model` (of `provider`) ended.
    pub fn record(&self, model: &str, provider: &str, outcome: Outcome, breaker_failures: u32, open_for: Duration) {
        // A rate limit cools down the model that hit it; the provider keeps its own breaker for
        // outages that hit all its models.
        let provider_outcome = match outcome {
            Outcome::Failure { .. } => Outcome::Failure { retry_after: None },
            o => o,
        };
        for (table, key, o) in [
            (&self.models, model, outcome),
            (&self.providers, provider, provider_outcome),
        ] {
            let s = table.get_or_insert(key);
            let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
            apply(&mut s, o, breaker_failures, open_for, Instant::now());
        }
    }

    pub fn model(&self, id: &str) -> Stats {
        self.models.read(id)
    }

    pub fn provider(&self, name: &str) -> Stats {
        self.providers.read(name)
    }

    /// A model's health in the shape of `GET /v1/model-health`.
    pub fn report(&self, id: &str, provider: &str, prior_ms: u64) -> Value {
        let s = self.model(id);
        let p = self.provider(provider);
        let now = Instant::now();
        let state = match s.breaker {
            Breaker::Closed => "closed",
            Breaker::Open { until } if until > now => "open",
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => "half_open",
        };
        json!({
            "model": id,
            "provider": provider,
            "degraded": degraded(&s),
            "latency_penalty_ms": latency_penalty_ms(&s),
            "successes": s.successes,
            "failures": s.failures,
            "consecutive_failures": s.consecutive_failures,
            "average_latency_ms": s.ewma_ttft_ms.map(|v| v.round()),
            "prior_latency_ms": prior_ms,
            "tokens_per_second": s.ewma_tps.map(|v| (v * 10.0).round() / 10.0),
            "circuit": state,
            "available": availability(&s, now).is_ok() && availability(&p, now).is_ok(),
            "cooldown_seconds": s.cooldown_until.filter(|u| *u > now).map(|u| (u - now).as_secs()),
            "provider_failures": p.failures,
            "provider_consecutive_failures": p.consecutive_failures,
        })
    }
}

fn apply(s: &mut Stats, outcome: Outcome, breaker_failures: u32, open_for: Duration, now: Instant) {
    match outcome {
        Outcome::Success { ttft, tokens_per_sec } => {
            s.successes += 1;
            s.consecutive_failures = 0;
            s.breaker = Breaker::Closed;
            s.cooldown_until = None;
            let ms = ttft.as_secs_f64() * 1e3;
            s.ewma_ttft_ms = Some(s.ewma_ttft_ms.map_or(ms, |e| e + ALPHA * (ms - e)));
            if let Some(tps) = tokens_per_sec.filter(|t| t.is_finite() && *t > 0.0) {
                s.ewma_tps = Some(s.ewma_tps.map_or(tps, |e| e + ALPHA * (tps - e)));
            }
        }
        Outcome::Failure { retry_after } => {
            s.failures += 1;
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            if let Some(d) = retry_after {
                s.cooldown_until = Some(now + d);
            }
            let reopen = matches!(s.breaker, Breaker::HalfOpen { .. } | Breaker::Open { .. });
            if reopen || s.consecutive_failures >= breaker_failures {
                s.breaker = Breaker::Open { until: now + open_for };
            }
        }
        Outcome::Neutral => {}
    }
}

/// A model is degraded while it is failing: its last attempt failed, or its circuit is not closed.
pub fn degraded(s: &Stats) -> bool {
    s.consecutive_failures > 0 || s.breaker != Breaker::Closed
}

/// Milliseconds added to a model's expected latency while it is failing: each consecutive failure
/// costs a retry, so routing prefers healthy models before the circuit opens.
pub fn latency_penalty_ms(s: &Stats) -> u64 {
    u64::from(s.consecutive_failures.min(10)) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_millis(50);

    fn fail(h: &Health) {
        h.record("m", "p", Outcome::Failure { retry_after: None }, 3, OPEN);
    }

    #[test]
    fn circuit_opens_probes_and_closes() {
        let h = Health::new();
        assert!(h.available("m", "p").is_ok());
        fail(&h);
        fail(&h);
        assert!(h.available("m", "p").is_ok(), "two failures keep it closed");
        assert!(degraded(&h.model("m")));
        assert_eq!(latency_penalty_ms(&h.model("m")), 2000);
        fail(&h);
        assert!(matches!(h.available("m", "p"), Err(Unavailable::CircuitOpen { .. })));
        std::thread::sleep(OPEN + Duration::from_millis(10));
        assert!(h.available("m", "p").is_ok(), "open time over: a probe may go");
        h.begin_attempt("m");
        assert_eq!(h.available("m", "p"), Err(Unavailable::Probing), "one probe at a time");
        fail(&h);
        assert!(
            matches!(h.available("m", "p"), Err(Unavailable::CircuitOpen { .. })),
            "a failed probe reopens"
        );
        std::thread::sleep(OPEN + Duration::from_millis(10));
        h.begin_attempt("m");
        h.record(
            "m",
            "p",
            Outcome::Success {
                ttft: Duration::from_millis(100),
                tokens_per_sec: Some(50.0),
            },
            3,
            OPEN,
        );
        assert!(h.available("m", "p").is_ok());
        let s = h.model("m");
        assert_eq!((s.successes, s.failures, s.consecutive_failures), (1, 4, 0));
        assert_eq!(s.breaker, Breaker::Closed);
        assert!(!degraded(&s));
    }

    #[test]
    fn retry_after_cools_a_model_down_and_latency_is_averaged() {
        let h = Health::new();
        h.record(
            "m",
            "p",
            Outcome::Failure {
                retry_after: Some(Duration::from_secs(30)),
            },
            5,
            OPEN,
        );
        match h.available("m", "p") {
            Err(Unavailable::CoolingDown { retry_in }) => assert!(retry_in > Duration::from_secs(28)),
            other => panic!("{other:?}"),
        }
        let ok = |ms| Outcome::Success {
            ttft: Duration::from_millis(ms),
            tokens_per_sec: None,
        };
        h.record("n", "p", ok(100), 5, OPEN);
        h.record("n", "p", ok(200), 5, OPEN);
        let e = h.model("n").ewma_ttft_ms.unwrap();
        assert!((e - 130.0).abs() < 1e-6, "{e}");
        h.record("x", "p", Outcome::Neutral, 5, OPEN);
        assert_eq!(h.model("x").failures, 0);
    }
}
