//! Per-key limits from the key's config: requests per minute, tokens per minute, and a spend cap.
//! Windows are sliding (the previous minute's count weighted by how much of it still overlaps), kept
//! in memory per key; the state outlives config reloads because the core hands the same `Limiter`
//! to every snapshot. Spend is counted from the cost of each answer; it restarts with the process
//! (a durable wallet is the request store's job).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchyard_sdk::{BuildEnv, Built, Decision, Exchange, Money, Outcome, Phase, Plugin, Reject, RejectKind};

const WINDOW: Duration = Duration::from_secs(60);

/// A sliding one-minute counter.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    current: u64,
    previous: u64,
}

impl Window {
    fn new(now: Instant) -> Self {
        Window {
            start: now,
            current: 0,
            previous: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.start);
        if elapsed >= WINDOW * 2 {
            *self = Window::new(now);
        } else if elapsed >= WINDOW {
            self.previous = self.current;
            self.current = 0;
            self.start += WINDOW;
        }
    }

    /// The count over the last minute: this window plus the overlapping share of the previous one.
    fn load(&self, now: Instant) -> u64 {
        let into = now.duration_since(self.start).as_secs_f64() / WINDOW.as_secs_f64();
        self.current + (self.previous as f64 * (1.0 - into).max(0.0)) as u64
    }

    /// Seconds until the load drops by `excess` (at least 1).
    fn retry_after(&self, now: Instant, excess: u64) -> u64 {
        if self.previous == 0 {
            return (WINDOW.saturating_sub(now.duration_since(self.start))).as_secs().max(1);
        }
        let per_sec = self.previous as f64 / WINDOW.as_secs_f64();
        ((excess as f64 / per_sec).ceil() as u64).clamp(1, 60)
    }
}

#[derive(Debug)]
struct KeyState {
    requests: Window,
    tokens: Window,
    spend: Money,
}

/// The shared state of every key's limits.
#[derive(Debug, Default)]
pub struct Limiter {
    keys: Mutex<HashMap<Arc<str>, KeyState>>,
}

impl Limiter {
    pub fn new() -> Arc<Self> {
        Arc::new(Limiter::default())
    }

    fn with<R>(&self, key: &Arc<str>, f: impl FnOnce(&mut KeyState, Instant) -> R) -> R {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let st = keys.entry(key.clone()).or_insert_with(|| KeyState {
            requests: Window::new(now),
            tokens: Window::new(now),
            spend: Money::ZERO,
        });
        st.requests.roll(now);
        st.tokens.roll(now);
        f(st, now)
    }

    /// Spend recorded for a key since the process started.
    pub fn spend(&self, key: &str) -> Money {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(key).map_or(Money::ZERO, |s| s.spend)
    }
}

/// The plugin: no options of its own yet (the limits are the keys'), so its section, when present,
/// must be empty. The counters live in the plugin state and survive reloads.
pub struct RateLimitPlugin;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {}

impl Plugin for RateLimitPlugin {
    fn name(&self) -> &'static str {
        "ratelimit"
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        if let Some(s) = section.filter(|s| !s.is_null()) {
            let _: Config = switchyard_sdk::typed(s).map_err(|e| vec![e])?;
        }
        let limiter = env.state.get_or_init("ratelimit", Limiter::default);
        Ok(Some(Arc::new(RateLimit::new(limiter))))
    }
}

/// The phase that enforces the limits.
pub struct RateLimit {
    limiter: Arc<Limiter>,
}

impl RateLimit {
    pub fn new(limiter: Arc<Limiter>) -> Self {
        RateLimit { limiter }
    }
}

fn limited(what: &str, limit: u64, retry_after_secs: u64) -> Decision {
    Decision::Respond(Reject::new(
        RejectKind::RateLimited { retry_after_secs },
        "rate_limited",
        format!("this key's limit of {limit} {what} per minute is reached; retry in {retry_after_secs} s"),
    ))
}

impl Phase for RateLimit {
    fn name(&self) -> &'static str {
        "ratelimit"
    }

    /// Previewing a request neither counts it nor refuses it for limits.
    fn in_preview(&self) -> bool {
        false
    }

    /// Requests per minute and the spend cap are checked before the body is read.
    fn on_headers(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some(id) = &ex.identity else {
            return Decision::Continue;
        };
        if !ex.endpoint.is_inference() {
            return Decision::Continue;
        }
        let limits = id.limits.clone();
        self.limiter.with(&id.key_id, |st, now| {
            if let Some(cap) = limits.cost_cap {
                if st.spend >= cap {
                    return Decision::Respond(Reject::new(
                        RejectKind::PaymentRequired,
                        "cost_cap_reached",
                        format!("this key has spent its cap of ${cap}"),
                    ));
                }
            }
            if let Some(rpm) = limits.requests_per_minute.map(u64::from) {
                let load = st.requests.load(now);
                if load >= rpm {
                    return limited("requests", rpm, st.requests.retry_after(now, load + 1 - rpm));
                }
            }
            st.requests.current += 1;
            Decision::Continue
        })
    }

    /// Tokens per minute: the request's estimated input tokens must fit in what is left.
    fn on_request(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let (Some(id), Some(req)) = (&ex.identity, ex.request()) else {
            return Decision::Continue;
        };
        let Some(tpm) = id.limits.tokens_per_minute.map(u64::from) else {
            return Decision::Continue;
        };
        let estimate = req.estimated_input_tokens();
        self.limiter.with(&id.key_id, |st, now| {
            let load = st.tokens.load(now);
            if load + estimate > tpm {
                limited(
                    "tokens",
                    tpm,
                    st.tokens.retry_after(now, (load + estimate).saturating_sub(tpm).max(1)),
                )
            } else {
                Decision::Continue
            }
        })
    }

    /// Count what the answer really used and cost.
    fn on_complete(&self, ex: &Exchange, outcome: &Outcome) {
        let Some(id) = &ex.identity else { return };
        if outcome.usage.is_none() && outcome.cost.is_none() {
            return;
        }
        self.limiter.with(&id.key_id, |st, _| {
            if let Some(u) = outcome.usage {
                st.tokens.current += u.input_tokens + u.output_tokens;
            }
            if let Some(c) = outcome.cost {
                st.spend = st.spend.saturating_add(c);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::ir::{ChatRequest, Message, Role, Usage};
    use switchyard_sdk::{Endpoint, Identity, KeyLimits, Scopes};

    fn ex(limits: KeyLimits) -> Exchange {
        let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
        ex.identity = Some(Identity {
            key_id: "k".into(),
            key_name: "k".into(),
            workspace: "w".into(),
            test_key: false,
            scopes: Arc::new(Scopes::default()),
            limits: Arc::new(limits),
        });
        ex.set_request(ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, "x".repeat(400))],
            ..Default::default()
        });
        ex
    }

    fn head() -> http::request::Parts {
        http::Request::new(()).into_parts().0
    }

    fn code(d: Decision) -> Option<(&'static str, u16)> {
        match d {
            Decision::Respond(r) => Some((r.code, r.kind.status())),
            Decision::Continue | Decision::Answer(_) => None,
        }
    }

    #[test]
    fn requests_per_minute() {
        let p = RateLimit::new(Limiter::new());
        let mut e = ex(KeyLimits {
            requests_per_minute: Some(3),
            ..Default::default()
        });
        for _ in 0..3 {
            assert_eq!(code(p.on_headers(&head(), &mut e)), None);
        }
        match p.on_headers(&head(), &mut e) {
            Decision::Respond(r) => match r.kind {
                RejectKind::RateLimited { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
                k => panic!("{k:?}"),
            },
            _ => panic!("fourth request allowed"),
        }
    }

    #[test]
    fn tokens_and_spend() {
        let lim = Limiter::new();
        let p = RateLimit::new(lim.clone());
        let mut e = ex(KeyLimits {
            tokens_per_minute: Some(250),
            cost_cap: Some(Money(1000)),
            ..Default::default()
        });
        assert_eq!(
            code(p.on_request(&head(), &mut e)),
            None,
            "about 104 estimated tokens fit"
        );
        let used = Outcome {
            status: 200,
            proxied: true,
            usage: Some(Usage {
                input_tokens: 100,
                output_tokens: 60,
                ..Default::default()
            }),
            cost: Some(Money(600)),
            ..Default::default()
        };
        p.on_complete(&e, &used);
        assert_eq!(
            code(p.on_request(&head(), &mut e)),
            Some(("rate_limited", 429)),
            "160 used + 104 estimated > 250"
        );
        assert_eq!(code(p.on_headers(&head(), &mut e)), None, "spend 600 of 1000");
        p.on_complete(&e, &used);
        assert_eq!(lim.spend("k"), Money(1200));
        assert_eq!(code(p.on_headers(&head(), &mut e)), Some(("cost_cap_reached", 402)));
    }

    #[test]
    fn windows_slide() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        w.current = 60;
        w.roll(t0 + Duration::from_secs(90));
        assert_eq!(w.previous, 60);
        let load = w.load(t0 + Duration::from_secs(90));
        assert!(
            (29..=31).contains(&load),
            "half the previous minute still counts: {load}"
        );
        w.roll(t0 + Duration::from_secs(300));
        assert_eq!((w.previous, w.current), (0, 0));
    }
}
