//! Live health of every model and provider, learned from real traffic only (no paid health checks):
//! outcome counts, consecutive failures, EWMA time to first token and tokens per second, `Retry-After`
//! cool-downs, and circuit breakers. After `breaker_failures` consecutive failures a model's circuit
//! opens; once `breaker_open` has passed, one real request is let through as a probe (half-open): its
//! success closes the circuit, its failure opens it again. The tracker outlives config reloads.
//!
//! Health is not an attack surface: a caller (an API key) can make its own requests fail at will, so
//! one caller's failures count towards a circuit others depend on at most `breaker_failures - 1`
//! times; opening it for everyone takes failures from at least two callers. A caller whose own
//! failures reach the threshold opens a circuit of its own on that model, which only its requests see.
//! The provider-wide breaker counts only connection failures and timeouts (a provider's error
//! answers are about a request or a model), and opens only once they were seen on two of its models.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use switchyard_sdk::state::FastMap;

use serde_json::{json, Value};

/// EWMA weight of a new latency sample.
const ALPHA: f64 = 0.3;
/// How long a half-open probe may take before another request may probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// Callers remembered per failure streak and per model's own circuits; beyond, the oldest is forgotten.
const CALLERS_KEPT: usize = 32;

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
    /// The provider failed answering (5xx, 429, broken stream).
    Failure { retry_after: Option<Duration> },
    /// The provider could not be reached, or did not answer in time (connect failure, DNS, timeout).
    Unreachable,
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

/// Who made a request, for health: a tag of the API key (`None`: no key, e.g. internal callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(u64);

/// The failures of the current streak, by caller: how many each contributed (the first
/// `CALLERS_KEPT` callers; later ones count once each in `others`), and which models they hit.
#[derive(Debug, Clone, Default)]
struct Streak {
    by_caller: Vec<(Option<Caller>, u32)>,
    others: u32,
    models: Vec<u64>,
}

impl Streak {
    fn add(&mut self, caller: Option<Caller>, model: u64) {
        if let Some((_, n)) = self.by_caller.iter_mut().find(|(c, _)| *c == caller) {
            *n = n.saturating_add(1);
        } else if self.by_caller.len() < CALLERS_KEPT {
            self.by_caller.push((caller, 1));
        } else {
            self.others = self.others.saturating_add(1);
        }
        if !self.models.contains(&model) && self.models.len() < CALLERS_KEPT {
            self.models.push(model);
        }
    }

    /// The streak's weight against `threshold`: each caller counts at most `threshold - 1` times
    /// (requests without a key count as one caller), so no caller alone reaches it.
    fn weight(&self, threshold: u32) -> u32 {
        let cap = threshold.saturating_sub(1).max(1);
        self.by_caller
            .iter()
            .map(|(_, n)| (*n).min(cap))
            .fold(self.others, u32::saturating_add)
    }
}

/// A caller's own circuit on one model: its consecutive failures there, and until when its requests
/// skip the model.
#[derive(Debug, Clone, Copy)]
struct Own {
    caller: Caller,
    consecutive: u32,
    open_until: Option<Instant>,
}

/// Everything known about one model or provider.
#[derive(Debug, Default)]
struct State {
    stats: Stats,
    streak: Streak,
    own: Vec<Own>,
}

#[derive(Default)]
struct Table {
    entries: RwLock<FastMap<Arc<str>, Arc<Mutex<State>>>>,
}

impl Table {
    fn get(&self, key: &str) -> Option<Arc<Mutex<State>>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    fn get_or_insert(&self, key: &str) -> Arc<Mutex<State>> {
        if let Some(s) = self.get(key) {
            return s;
        }
        let mut w = self.entries.write().unwrap_or_else(|e| e.into_inner());
        w.entry(Arc::from(key)).or_default().clone()
    }

    fn read(&self, key: &str) -> Stats {
        self.get(key)
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).stats.clone())
            .unwrap_or_default()
    }

    /// `f` over the state of `key` (a fresh one when it has none), under its lock.
    fn with<T>(&self, key: &str, f: impl FnOnce(&State) -> T) -> T {
        match self.get(key) {
            Some(s) => f(&s.lock().unwrap_or_else(|e| e.into_inner())),
            None => f(&State::default()),
        }
    }
}

/// Health of models (by catalog id) and providers (by name).
#[derive(Default)]
pub struct Health {
    models: Table,
    providers: Table,
    /// Seeds the caller and model tags.
    tags: std::hash::RandomState,
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

/// The shared availability of `s`, then the caller's own circuit on it.
fn state_availability(s: &State, caller: Option<Caller>, now: Instant) -> Result<(), Unavailable> {
    availability(&s.stats, now)?;
    let own = caller.and_then(|c| s.own.iter().find(|o| o.caller == c));
    match own.and_then(|o| o.open_until) {
        Some(until) if until > now => Err(Unavailable::CircuitOpen { retry_in: until - now }),
        _ => Ok(()),
    }
}

impl Health {
    pub fn new() -> Arc<Self> {
        Arc::new(Health::default())
    }

    /// The caller tag of an API key (by its stable id).
    pub fn caller(&self, key_id: &str) -> Caller {
        Caller(self.tags.hash_one(key_id))
    }

    /// Whether `model` (of `provider`) may be tried now for `caller`.
    pub fn available(&self, model: &str, provider: &str, caller: Option<Caller>) -> Result<(), Unavailable> {
        let now = Instant::now();
        self.models.with(model, |s| state_availability(s, caller, now))?;
        self.providers.with(provider, |s| availability(&s.stats, now))
    }

    /// An attempt on `model` starts: an expired open circuit becomes half-open with this attempt as
    /// its probe.
    pub fn begin_attempt(&self, model: &str) {
        let Some(s) = self.models.get(model) else { return };
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = &mut s.stats.breaker;
        match *b {
            Breaker::Open { until } if until <= now => *b = Breaker::HalfOpen { probing: Some(now) },
            Breaker::HalfOpen { probing } if probing.is_none_or(|t| now.duration_since(t) >= PROBE_TIMEOUT) => {
                *b = Breaker::HalfOpen { probing: Some(now) }
            }
            _ => {}
        }
    }

    /// Record how `caller`'s attempt on `model` (of `provider`) ended.
    pub fn record(
        &self,
        model: &str,
        provider: &str,
        caller: Option<Caller>,
        outcome: Outcome,
        breaker_failures: u32,
        open_for: Duration,
    ) {
        let now = Instant::now();
        let tag = self.tags.hash_one(model);
        {
            let s = self.models.get_or_insert(model);
            let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
            apply(&mut s, false, caller, tag, outcome, breaker_failures, open_for, now);
            own(&mut s, caller, outcome, breaker_failures, open_for, now);
        }
        // A rate limit cools down the model that hit it, and a model's error answers are its own;
        // the provider's breaker is for outages that take all its models out: unreachable.
        let provider_outcome = match outcome {
            Outcome::Failure { .. } | Outcome::Neutral => return,
            o => o,
        };
        let s = self.providers.get_or_insert(provider);
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        apply(
            &mut s,
            true,
            caller,
            tag,
            provider_outcome,
            breaker_failures,
            open_for,
            now,
        );
    }

    pub fn model(&self, id: &str) -> Stats {
        self.models.read(id)
    }

    pub fn provider(&self, name: &str) -> Stats {
        self.providers.read(name)
    }

    /// A model's health in the shape of `GET /v1/model-health`, as `caller` sees it: `circuit` and
    /// `available` include the caller's own circuit on the model; `shared_circuit` is everyone's.
    pub fn report(&self, id: &str, provider: &str, prior_ms: u64, caller: Option<Caller>) -> Value {
        let s = self.model(id);
        let p = self.provider(provider);
        let now = Instant::now();
        let shared = match s.breaker {
            Breaker::Closed => "closed",
            Breaker::Open { until } if until > now => "open",
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => "half_open",
        };
        let own = self.models.with(id, |st| state_availability(st, caller, now));
        let state = match (shared, &own) {
            ("closed", Err(Unavailable::CircuitOpen { .. })) => "open",
            (shared, _) => shared,
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
            "shared_circuit": shared,
            "available": own.is_ok() && availability(&p, now).is_ok(),
            "cooldown_seconds": s.cooldown_until.filter(|u| *u > now).map(|u| (u - now).as_secs()),
            "provider_failures": p.failures,
            "provider_consecutive_failures": p.consecutive_failures,
        })
    }
}

/// Fold an outcome into a model's or (`provider`) a provider's state.
#[allow(clippy::too_many_arguments)]
fn apply(
    s: &mut State,
    provider: bool,
    caller: Option<Caller>,
    model: u64,
    outcome: Outcome,
    breaker_failures: u32,
    open_for: Duration,
    now: Instant,
) {
    let st = &mut s.stats;
    match outcome {
        Outcome::Success { ttft, tokens_per_sec } => {
            st.successes += 1;
            st.consecutive_failures = 0;
            st.breaker = Breaker::Closed;
            st.cooldown_until = None;
            s.streak = Streak::default();
            let ms = ttft.as_secs_f64() * 1e3;
            st.ewma_ttft_ms = Some(st.ewma_ttft_ms.map_or(ms, |e| e + ALPHA * (ms - e)));
            if let Some(tps) = tokens_per_sec.filter(|t| t.is_finite() && *t > 0.0) {
                st.ewma_tps = Some(st.ewma_tps.map_or(tps, |e| e + ALPHA * (tps - e)));
            }
        }
        Outcome::Failure { .. } | Outcome::Unreachable => {
            st.failures += 1;
            st.consecutive_failures = st.consecutive_failures.saturating_add(1);
            if let Outcome::Failure { retry_after: Some(d) } = outcome {
                st.cooldown_until = Some(now + d);
            }
            s.streak.add(caller, model);
            // A provider's streak must span models: one failing model is that model's circuit's business.
            let spans = !provider || s.streak.models.len() >= 2;
            let reopen = matches!(st.breaker, Breaker::HalfOpen { .. } | Breaker::Open { .. });
            if reopen || (spans && s.streak.weight(breaker_failures) >= breaker_failures) {
                st.breaker = Breaker::Open { until: now + open_for };
            }
        }
        Outcome::Neutral => {}
    }
}

/// The caller's own circuit on a model: opened by its own consecutive failures, closed by its success.
fn own(
    s: &mut State,
    caller: Option<Caller>,
    outcome: Outcome,
    breaker_failures: u32,
    open_for: Duration,
    now: Instant,
) {
    let Some(caller) = caller else { return };
    let failed = matches!(outcome, Outcome::Failure { .. } | Outcome::Unreachable);
    let pos = s.own.iter().position(|o| o.caller == caller);
    match (pos, failed) {
        (Some(i), false) if matches!(outcome, Outcome::Success { .. }) => {
            s.own.swap_remove(i);
        }
        (Some(i), true) => {
            let o = &mut s.own[i];
            o.consecutive = o.consecutive.saturating_add(1);
            if o.consecutive >= breaker_failures {
                o.open_until = Some(now + open_for);
            }
        }
        (None, true) => {
            if s.own.len() >= CALLERS_KEPT {
                s.own.remove(0);
            }
            s.own.push(Own {
                caller,
                consecutive: 1,
                open_until: (breaker_failures <= 1).then_some(now + open_for),
            });
        }
        _ => {}
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
mod tests;
