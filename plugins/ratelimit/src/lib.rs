//! Limits per key and per workspace: requests per minute (the catalog endpoints counted apart, with a
//! higher default), tokens per minute (the prompt's estimate held at admission, corrected by the actual
//! usage when the request is over) and requests in flight. A key's limits are its own (YAML or admin
//! API); a workspace's are this plugin's section (`workspaces.<name>`). Every endpoint a key can call is
//! counted. A refusal is 429 with `Retry-After`; refused and answered requests alike carry OpenAI's
//! `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers (of the tighter of the key's and the
//! workspace's limits).
//!
//! Counters are kept in memory under one lock, taken for a few comparisons and never across an await,
//! so admission is exact under concurrency; they belong to the key's identity (a rotated key keeps
//! them) and outlive reloads (the core hands the same `Limiter` to every snapshot). Spend caps are the
//! `caps` plugin's.

mod window;

use std::collections::HashMap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use switchyard_sdk::state::counters::{key_scope, workspace_scope};
use switchyard_sdk::state::FastMap;

use switchyard_sdk::{BuildEnv, Built, Decision, Exchange, Outcome, Phase, Plugin, Reject, RejectKind};
pub use window::openai_duration;
use window::Window;

const NAME: &str = "ratelimit";

/// The catalog's default requests per minute for a key that sets none.
pub const DEFAULT_CATALOG_RPM: u32 = 600;

#[derive(Debug)]
struct ScopeState {
    requests: Window,
    catalog: Window,
    tokens: Window,
    in_flight: u32,
}

impl ScopeState {
    fn new(now: Instant) -> Self {
        ScopeState {
            requests: Window::new(now),
            catalog: Window::new(now),
            tokens: Window::new(now),
            in_flight: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        self.requests.roll(now);
        self.catalog.roll(now);
        self.tokens.roll(now);
    }
}

/// The shared state of every key's and workspace's limits.
#[derive(Debug, Default)]
pub struct Limiter {
    scopes: Mutex<FastMap<String, ScopeState>>,
}

impl Limiter {
    pub fn new() -> Arc<Self> {
        Arc::new(Limiter::default())
    }

    /// Run `f` on the states of scope `key` and, when given, scope `ws` (created when new, windows
    /// rolled), under the lock. Without `ws`, `f` gets a scratch state that is not kept.
    fn with<R>(
        &self,
        key: &str,
        ws: Option<&str>,
        f: impl FnOnce(&mut ScopeState, &mut ScopeState, Instant) -> R,
    ) -> R {
        let now = Instant::now();
        let mut scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        // The workspace's state is taken out while `f` runs, so both can be borrowed at once.
        let (ws_name, mut w) = match ws {
            Some(n) => scopes
                .remove_entry(n)
                .unwrap_or_else(|| (n.to_string(), ScopeState::new(now))),
            None => (String::new(), ScopeState::new(now)),
        };
        if !scopes.contains_key(key) {
            scopes.insert(key.to_string(), ScopeState::new(now));
        }
        let mut scratch = ScopeState::new(now);
        let k = scopes.get_mut(key).unwrap_or(&mut scratch);
        k.roll(now);
        w.roll(now);
        let r = f(k, &mut w, now);
        if ws.is_some() {
            scopes.insert(ws_name, w);
        }
        r
    }

    /// Requests in flight for a key now.
    pub fn in_flight(&self, key_id: &str) -> u32 {
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        scopes.get(&key_scope(key_id)).map_or(0, |s| s.in_flight)
    }
}

/// A workspace's limits (`plugins.ratelimit.workspaces.<name>`).
#[derive(serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkspaceLimits {
    pub requests_per_minute: Option<u32>,
    pub catalog_requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub concurrent_requests: Option<u32>,
}

#[derive(serde::Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Catalog requests per minute for a key that sets no `catalog_requests_per_minute`.
    catalog_requests_per_minute: u32,
    workspaces: HashMap<String, WorkspaceLimits>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            catalog_requests_per_minute: DEFAULT_CATALOG_RPM,
            workspaces: HashMap::new(),
        }
    }
}

/// The plugin: always on (the limits are the keys'); its section sets the catalog default and the
/// workspaces' limits. The counters live in the plugin state and survive reloads.
pub struct RateLimitPlugin;

impl Plugin for RateLimitPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        let cfg: Config = match section.filter(|s| !s.is_null()) {
            Some(s) => switchyard_sdk::typed(s).map_err(|e| vec![e])?,
            None => Config::default(),
        };
        let limiter = env.state.get_or_init(NAME, Limiter::default);
        Ok(Some(Arc::new(RateLimit { limiter, cfg })))
    }
}

/// The phase that enforces the limits.
pub struct RateLimit {
    limiter: Arc<Limiter>,
    cfg: Config,
}

impl RateLimit {
    /// With the default settings (no workspace limits).
    pub fn new(limiter: Arc<Limiter>) -> Self {
        RateLimit {
            limiter,
            cfg: Config::default(),
        }
    }
}

/// What a request holds: its place in flight (released when the request's state is dropped, however
/// it ends) and the tokens held at admission (corrected when it completes).
struct Held {
    limiter: Arc<Limiter>,
    scopes: Vec<String>,
    tokens: AtomicU64,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut scopes = self.limiter.scopes.lock().unwrap_or_else(|e| e.into_inner());
        for n in &self.scopes {
            if let Some(st) = scopes.get_mut(n) {
                st.in_flight = st.in_flight.saturating_sub(1);
            }
        }
    }
}

/// One scope's limits for this request.
#[derive(Clone, Copy, Default)]
struct Applied {
    rpm: Option<u64>,
    tpm: Option<u64>,
    concurrent: Option<u32>,
}

/// The key's scope and limits, and the workspace's when it has limits here.
type Applies = (String, Applied, Option<(String, Applied)>);

/// The tightest (fewest remaining) of the limits that apply: (limit, remaining, reset).
fn tightest(it: impl Iterator<Item = (u64, u64, std::time::Duration)>) -> Option<(u64, u64, std::time::Duration)> {
    it.min_by_key(|(_, remaining, _)| *remaining)
}

fn push_headers(ex: &mut Exchange, what: &str, t: Option<(u64, u64, std::time::Duration)>) {
    let Some((limit, remaining, reset)) = t else { return };
    let (l, r, s) = match what {
        "requests" => (
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ),
        _ => (
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ),
    };
    ex.response_headers.retain(|(k, _)| *k != l && *k != r && *k != s);
    ex.response_headers.push((l, limit.to_string()));
    ex.response_headers.push((r, remaining.to_string()));
    ex.response_headers.push((s, openai_duration(reset)));
}

fn limited(code: &'static str, message: String, retry_after_secs: u64) -> Decision {
    Decision::Respond(Reject::new(RejectKind::RateLimited { retry_after_secs }, code, message))
}

impl RateLimit {
    /// The key's and (when it has limits here) the workspace's limits for this endpoint.
    fn applied(&self, ex: &Exchange) -> Option<Applies> {
        let id = ex.identity.as_ref()?;
        let catalog = ex.endpoint.scope() == "catalog";
        let k = &id.limits;
        let key = Applied {
            rpm: if catalog {
                Some(
                    k.catalog_requests_per_minute
                        .unwrap_or(self.cfg.catalog_requests_per_minute),
                )
            } else {
                k.requests_per_minute
            }
            .map(u64::from),
            tpm: k.tokens_per_minute.map(u64::from),
            concurrent: k.concurrent_requests,
        };
        let ws = self.cfg.workspaces.get(&*id.workspace).map(|w| {
            (
                workspace_scope(&id.workspace),
                Applied {
                    rpm: if catalog {
                        w.catalog_requests_per_minute
                    } else {
                        w.requests_per_minute
                    }
                    .map(u64::from),
                    tpm: w.tokens_per_minute.map(u64::from),
                    concurrent: w.concurrent_requests,
                },
            )
        });
        Some((key_scope(&id.key_id), key, ws))
    }
}

/// A refusal: seconds to wait, code, message, and the request headers' values (limit, remaining,
/// reset) when a requests-per-minute limit refused.
type Refusal = (u64, &'static str, String, Option<(u64, u64, std::time::Duration)>);

/// Check one scope's requests and concurrency; `Err` is the refusal.
fn admit_one(who: &str, st: &ScopeState, a: Applied, catalog: bool, now: Instant) -> Result<(), Refusal> {
    let w = if catalog { &st.catalog } else { &st.requests };
    if let Some(rpm) = a.rpm {
        let load = w.load(now);
        if load >= rpm {
            let secs = w.retry_after(now, load + 1 - rpm);
            let what = if catalog { "catalog requests" } else { "requests" };
            return Err((
                secs,
                "rate_limited",
                format!("{who}'s limit of {rpm} {what} per minute is reached; retry in {secs} s"),
                Some((rpm, 0, w.reset_after(now))),
            ));
        }
    }
    if let Some(max) = a.concurrent {
        if st.in_flight >= max {
            return Err((
                1,
                "concurrency_limited",
                format!("{who} has {max} requests in flight, its limit; retry when one is over"),
                None,
            ));
        }
    }
    Ok(())
}

impl Phase for RateLimit {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Previewing a request neither counts it nor refuses it for limits.
    fn in_preview(&self) -> bool {
        false
    }

    /// Requests per minute and requests in flight, before the body is read.
    fn on_headers(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some((key_name, key, ws)) = self.applied(ex) else {
            return Decision::Continue;
        };
        let catalog = ex.endpoint.scope() == "catalog";
        let ws_applied = ws.as_ref().map(|w| w.1).unwrap_or_default();
        let ws_name = ws.as_ref().map(|w| w.0.clone());
        // The workspace's scope is counted only when it has limits here (else no state is kept for it).
        let result = self.limiter.with(&key_name, ws_name.as_deref(), |k, w, now| {
            let refuse = |(secs, code, msg, report): Refusal| (Box::new(limited(code, msg, secs)), report);
            let mut report = Vec::new();
            admit_one("this key", k, key, catalog, now).map_err(refuse)?;
            if ws.is_some() {
                admit_one("this workspace", w, ws_applied, catalog, now).map_err(refuse)?;
            }
            for (st, a, counted) in [(k, key, true), (w, ws_applied, ws.is_some())] {
                if !counted {
                    continue;
                }
                let win = if catalog { &mut st.catalog } else { &mut st.requests };
                win.current += 1;
                st.in_flight += 1;
                if let Some(rpm) = a.rpm {
                    report.push((rpm, rpm.saturating_sub(win.load(now)), win.reset_after(now)));
                }
            }
            Ok(report)
        });
        let report = match result {
            Ok(r) => r,
            Err((d, report)) => {
                push_headers(ex, "requests", report);
                return *d;
            }
        };
        push_headers(ex, "requests", tightest(report.into_iter()));
        let mut scopes = vec![key_name];
        scopes.extend(ws_name);
        ex.put_data(
            NAME,
            Held {
                limiter: self.limiter.clone(),
                scopes,
                tokens: AtomicU64::new(0),
            },
        );
        Decision::Continue
    }

    /// Tokens per minute: the prompt's estimate must fit in what is left, and is held until the
    /// actual usage is known.
    fn on_request(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some((key_name, key, ws)) = self.applied(ex) else {
            return Decision::Continue;
        };
        let Some(estimate) = ex.request().map(|r| r.estimated_input_tokens()) else {
            return Decision::Continue;
        };
        if key.tpm.is_none() && ws.as_ref().is_none_or(|w| w.1.tpm.is_none()) {
            return Decision::Continue;
        }
        let ws_applied = ws.as_ref().map(|w| w.1).unwrap_or_default();
        let ws_name = ws.as_ref().map(|w| w.0.clone());
        let result = self.limiter.with(&key_name, ws_name.as_deref(), |k, w, now| {
            let mut report = Vec::new();
            for (who, st, a) in [("this key", &*k, key), ("this workspace", &*w, ws_applied)] {
                let Some(tpm) = a.tpm else { continue };
                let load = st.tokens.load(now);
                if load + estimate > tpm {
                    let secs = st.tokens.retry_after(now, (load + estimate).saturating_sub(tpm).max(1));
                    report.push((tpm, tpm.saturating_sub(load), st.tokens.reset_after(now)));
                    return Err((
                        report,
                        Box::new(limited(
                            "rate_limited",
                            format!(
                                "{who}'s limit of {tpm} tokens per minute is reached ({load} used, this prompt is about {estimate}); retry in {secs} s"
                            ),
                            secs,
                        )),
                    ));
                }
            }
            for (st, a, counted) in [(k, key, true), (w, ws_applied, ws.is_some())] {
                if counted {
                    st.tokens.current += estimate;
                    if let Some(tpm) = a.tpm {
                        report.push((tpm, tpm.saturating_sub(st.tokens.load(now)), st.tokens.reset_after(now)));
                    }
                }
            }
            Ok(report)
        });
        match result {
            Ok(report) => {
                push_headers(ex, "tokens", tightest(report.into_iter()));
                if let Some(h) = ex.data::<Held>(NAME) {
                    h.tokens.store(estimate, Ordering::Relaxed);
                }
                Decision::Continue
            }
            Err((report, d)) => {
                push_headers(ex, "tokens", tightest(report.into_iter()));
                *d
            }
        }
    }

    /// Correct the tokens held by the actual usage.
    fn on_complete(&self, ex: &Exchange, outcome: &Outcome) {
        let Some(h) = ex.data::<Held>(NAME) else { return };
        let held = h.tokens.swap(0, Ordering::Relaxed);
        let used = outcome.usage.map(|u| u.input_tokens + u.output_tokens);
        let delta = match used {
            Some(u) => i64::try_from(u).unwrap_or(i64::MAX) - i64::try_from(held).unwrap_or(0),
            // No usage (a failure, a stream cut before it): what was held stays counted.
            None => 0,
        };
        let mut scopes = self.limiter.scopes.lock().unwrap_or_else(|e| e.into_inner());
        for n in &h.scopes {
            if let Some(st) = scopes.get_mut(n) {
                st.tokens.adjust(delta);
            }
        }
    }
}

#[cfg(test)]
mod tests;
