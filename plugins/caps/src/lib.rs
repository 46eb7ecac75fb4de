//! Cost caps that cannot be overshot: per key (its limits: `daily_cost_cap_dollars`,
//! `monthly_cost_cap_dollars`, and `cost_cap_dollars` for all time), per workspace and per route (a
//! catalog model or a routing policy), each daily and/or monthly in dollars (UTC periods).
//!
//! Once the route is known, the request **reserves** the most it can cost (`Routed::max_cost`: the
//! prompt's estimate plus `max_tokens`, else the model's output cap, at the dearest candidate's prices)
//! against every cap that applies; a cap whose spend plus what requests in flight hold leaves less
//! than that refuses the request with 402 `cost_cap_reached`, naming the cap, its period, spent and
//! remaining. When the request is over its reservations **settle** to the actual cost
//! ([`switchyard_sdk::state::reserve::Book`]), so concurrent requests never spend past a cap by more
//! than an answer's excess over its own maximum. The spend counters are the store's
//! ([`SpendCounters`], checkpointed: a restart keeps the day's spend); every request's cost is
//! counted for its key and workspace whether or not they have caps (the key list shows it).
//!
//! A request that brought its own provider key (`Exchange::byok`) is billed as `byok`: its cost is
//! reported but neither reserved nor counted, unless `charge_byok: true`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use switchyard_sdk::state::counters::{key_scope, workspace_scope, MemoryCounters, Period, SpendCounters};
use switchyard_sdk::state::reserve::{Book, Reservation};
use switchyard_sdk::{
    BuildEnv, Built, ConfigError, Decision, Exchange, Money, Names, Outcome, Phase, Plugin, Reject, RejectKind,
};

const NAME: &str = "caps";

/// Daily and monthly caps in dollars.
#[derive(serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Dollars {
    pub daily_dollars: Option<f64>,
    pub monthly_dollars: Option<f64>,
}

/// A route's caps: exactly one of `model` (a catalog id) and `policy` (a routing policy's name).
#[derive(serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
struct RouteCap {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    daily_dollars: Option<f64>,
    #[serde(default)]
    monthly_dollars: Option<f64>,
}

#[derive(serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Config {
    workspaces: HashMap<String, Dollars>,
    routes: Vec<RouteCap>,
    /// Count and cap requests made with the caller's own provider key too.
    charge_byok: bool,
}

/// One cap, typed.
#[derive(Debug, Clone, PartialEq)]
struct Cap {
    /// The counter's scope: `key:<id>`, `workspace:<name>`, `model:<id>`, `policy:<name>`.
    scope: String,
    /// What a refusal calls it: `key "app"`, `workspace "ws1"`.
    what: String,
    period: Period,
    limit: Money,
}

fn money(path: &str, d: Option<f64>) -> Result<Option<Money>, ConfigError> {
    d.map(|d| Money::from_dollars(d).ok_or_else(|| ConfigError::new(path, "a non-negative amount of dollars")))
        .transpose()
}

fn caps_of(
    scope: String,
    what: String,
    daily: Option<Money>,
    monthly: Option<Money>,
    total: Option<Money>,
) -> Vec<Cap> {
    [(Period::Day, daily), (Period::Month, monthly), (Period::Total, total)]
        .into_iter()
        .filter_map(|(period, limit)| {
            Some(Cap {
                scope: scope.clone(),
                what: what.clone(),
                period,
                limit: limit?,
            })
        })
        .collect()
}

/// The plugin: always on (keys' caps need no section); its section adds workspace and route caps.
pub struct CapsPlugin;

/// The typed section.
#[derive(Debug, Default)]
struct Caps {
    workspaces: HashMap<String, Vec<Cap>>,
    models: HashMap<String, Vec<Cap>>,
    policies: HashMap<String, Vec<Cap>>,
    charge_byok: bool,
}

/// `names`: the configuration's, when known: a route cap must name a catalog model or a policy that
/// exists (a misspelt one would cap nothing).
fn compile(cfg: Config, names: Option<&dyn Names>) -> Result<Caps, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut out = Caps {
        charge_byok: cfg.charge_byok,
        ..Caps::default()
    };
    for (ws, d) in cfg.workspaces {
        let at = |f: &str| format!("workspaces.{ws}.{f}");
        match (
            money(&at("daily_dollars"), d.daily_dollars),
            money(&at("monthly_dollars"), d.monthly_dollars),
        ) {
            (Ok(daily), Ok(monthly)) => {
                let caps = caps_of(workspace_scope(&ws), format!("workspace {ws:?}"), daily, monthly, None);
                out.workspaces.insert(ws, caps);
            }
            (a, b) => errors.extend(a.err().into_iter().chain(b.err())),
        }
    }
    for (i, r) in cfg.routes.into_iter().enumerate() {
        let at = |f: &str| format!("routes[{i}].{f}");
        let (daily, monthly) = match (
            money(&at("daily_dollars"), r.daily_dollars),
            money(&at("monthly_dollars"), r.monthly_dollars),
        ) {
            (Ok(d), Ok(m)) => (d, m),
            (a, b) => {
                errors.extend(a.err().into_iter().chain(b.err()));
                continue;
            }
        };
        if daily.is_none() && monthly.is_none() {
            errors.push(ConfigError::new(
                at("daily_dollars"),
                "a route cap needs daily_dollars or monthly_dollars",
            ));
        }
        match (r.model, r.policy) {
            (Some(m), None) if names.is_some_and(|n| !n.is_model(&m)) => {
                errors.push(ConfigError::new(at("model"), switchyard_sdk::unknown("model", &m)));
            }
            (None, Some(p)) if names.is_some_and(|n| !n.is_policy(&p)) => {
                errors.push(ConfigError::new(
                    at("policy"),
                    switchyard_sdk::unknown("routing policy", &p),
                ));
            }
            (Some(m), None) => {
                let caps = caps_of(format!("model:{m}"), format!("model {m:?}"), daily, monthly, None);
                out.models.entry(m).or_default().extend(caps);
            }
            (None, Some(p)) => {
                let caps = caps_of(format!("policy:{p}"), format!("policy {p:?}"), daily, monthly, None);
                out.policies.entry(p).or_default().extend(caps);
            }
            _ => errors.push(ConfigError::new(
                format!("routes[{i}]"),
                "exactly one of model and policy",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

impl Plugin for CapsPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        let cfg: Config = match section.filter(|s| !s.is_null()) {
            Some(s) => switchyard_sdk::typed(s).map_err(|e| vec![e])?,
            None => Config::default(),
        };
        let caps = compile(cfg, env.names)?;
        let counters: Arc<dyn SpendCounters> = match env.counters.clone() {
            Some(c) => c,
            None => env.state.get_or_init(NAME, MemoryCounters::default),
        };
        // One book per process: requests in flight across a reload keep holding what they reserved.
        let book = env.state.get_or_init(NAME, Book::default);
        Ok(Some(Arc::new(CapsPhase { caps, counters, book })))
    }
}

/// The phase.
pub struct CapsPhase {
    caps: Caps,
    counters: Arc<dyn SpendCounters>,
    book: Arc<Book>,
}

/// What a request holds until it settles: per cap, its reservation and counter.
struct Held(Mutex<Vec<(Reservation, String, String)>>);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn dollars(pico: i64) -> f64 {
    pico as f64 / 1e12
}

fn as_i64(m: Money) -> i64 {
    i64::try_from(m.0).unwrap_or(i64::MAX)
}

impl CapsPhase {
    /// Every cap that applies to this request.
    fn applicable(&self, ex: &Exchange) -> Vec<Cap> {
        let Some(id) = &ex.identity else { return Vec::new() };
        let l = &id.limits;
        let mut caps = Vec::new();
        if l.daily_cost_cap.is_some() || l.monthly_cost_cap.is_some() || l.cost_cap.is_some() {
            caps = caps_of(
                key_scope(&id.key_id),
                format!("key {:?}", &*id.key_name),
                l.daily_cost_cap,
                l.monthly_cost_cap,
                l.cost_cap,
            );
        }
        if let Some(ws) = self.caps.workspaces.get(&*id.workspace) {
            caps.extend(ws.iter().cloned());
        }
        if let Some(r) = &ex.routed {
            if let Some(m) = self.caps.models.get(&r.model) {
                caps.extend(m.iter().cloned());
            }
            if let Some(p) = r.policy.as_ref().and_then(|p| self.caps.policies.get(p)) {
                caps.extend(p.iter().cloned());
            }
        }
        caps
    }

    /// The counters a request's cost goes to without a reservation: its key's and workspace's (day,
    /// month, all time). A capped route's counters are charged through their reservations.
    /// As scopes × period labels, each made once.
    fn charged(ex: &Exchange, now: i64) -> Option<([String; 2], [String; 3])> {
        let id = ex.identity.as_ref()?;
        Some((
            [key_scope(&id.key_id), workspace_scope(&id.workspace)],
            [
                Period::Day.label(now),
                Period::Month.label(now),
                Period::Total.label(now),
            ],
        ))
    }

    fn byok_free(&self, ex: &Exchange) -> bool {
        ex.byok && !self.caps.charge_byok
    }
}

impl Phase for CapsPhase {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A preview reserves and counts nothing.
    fn in_preview(&self) -> bool {
        false
    }

    fn on_routed(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        if self.byok_free(ex) {
            return Decision::Continue;
        }
        let caps = self.applicable(ex);
        if caps.is_empty() {
            return Decision::Continue;
        }
        let needed = ex.routed.as_ref().map_or(Money::ZERO, |r| r.max_cost);
        let now = now_ms();
        let mut held = Vec::with_capacity(caps.len());
        for cap in caps {
            let label = cap.period.label(now);
            let account = format!("{}|{label}", cap.scope);
            let spent = || self.counters.spent(&cap.scope, &label);
            match self
                .book
                .reserve(&account, needed, || as_i64(cap.limit) - as_i64(spent()))
            {
                Ok(r) => held.push((r, cap.scope.clone(), label)),
                Err(s) => {
                    // The reservations taken so far are released as `held` drops.
                    let spent = spent();
                    let remaining = (as_i64(cap.limit) - as_i64(spent) - as_i64(s.held)).max(0);
                    let in_flight = if s.held == Money::ZERO {
                        String::new()
                    } else {
                        format!(" (${} more is held by requests in flight)", s.held)
                    };
                    return Decision::Respond(
                        Reject::new(
                            RejectKind::PaymentRequired,
                            "cost_cap_reached",
                            format!(
                                "the {} cost cap of ${} for {} is reached: ${} spent{in_flight}, ${} remaining; this request may cost up to ${}",
                                cap.period.word(),
                                cap.limit,
                                cap.what,
                                spent,
                                Money(u64::try_from(remaining).unwrap_or(0)),
                                needed
                            ),
                        )
                        .with_detail(
                            "cap",
                            json!({
                                "scope": cap.scope,
                                "period": cap.period.word(),
                                "period_label": label,
                                "limit_dollars": cap.limit.as_dollars_f64(),
                                "spent_dollars": spent.as_dollars_f64(),
                                "held_dollars": s.held.as_dollars_f64(),
                                "remaining_dollars": dollars(remaining),
                                "needed_dollars": needed.as_dollars_f64(),
                            }),
                        ),
                    );
                }
            }
        }
        ex.put_data(NAME, Held(Mutex::new(held)));
        Decision::Continue
    }

    fn on_complete(&self, ex: &Exchange, outcome: &Outcome) {
        if self.byok_free(ex) {
            return;
        }
        let cost = outcome.cost.unwrap_or(Money::ZERO);
        let reserved = ex
            .data::<Held>(NAME)
            .map(|h| std::mem::take(&mut *h.0.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default();
        if reserved.is_empty() && cost == Money::ZERO {
            return;
        }
        let plain = Self::charged(ex, now_ms());
        let mut settled = Vec::with_capacity(reserved.len());
        for (r, scope, label) in reserved {
            // Charged under the book's lock, so no reservation sees the money twice or not at all.
            r.settle(|| self.counters.add(&scope, &label, cost));
            settled.push((scope, label));
        }
        let Some((scopes, labels)) = plain.filter(|_| cost != Money::ZERO) else {
            return;
        };
        for scope in &scopes {
            for label in labels
                .iter()
                .filter(|l| !settled.iter().any(|(s, sl)| s == scope && sl == *l))
            {
                self.counters.add(scope, label, cost);
            }
        }
    }
}

#[cfg(test)]
mod tests;
