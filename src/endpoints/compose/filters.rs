//! `/v1/models/route`'s explicit filters (`filter.task_type`, `filter.capabilities`, `maxCost`): they
//! narrow the models `auto` could use, and the best remaining one by the mode is chosen.

use std::sync::Arc;

use serde_json::{Map, Value};
use switchyard_sdk::ir::ChatRequest;
use switchyard_sdk::Money;

use super::auto_route::SCORED_SHOWN;
use super::input::{self, Object};
use super::report::entries;
use super::report::Entry;
use crate::config::{Model, CAPABILITIES, PRICE_TIERS};
use crate::error::GatewayError;
use crate::router::auto::rank_models;
use crate::router::classify::Task;
use crate::router::score::{self, deciding_term, scored_json, Candidate};
use crate::router::{Route, RouteInput, DEFAULT_OUTPUT_ESTIMATE};

/// `maxCost`: a price tier (the tier and the cheaper ones) or a dollar amount (the request's estimated
/// cost on the model).
#[derive(Debug, Clone, PartialEq)]
enum MaxCost {
    Tier(usize),
    Dollars(Money),
}

/// `/v1/models/route`'s explicit filters.
#[derive(Debug, Default)]
pub struct Filters {
    pub(super) task: Option<Task>,
    capabilities: Vec<String>,
    max_cost: Option<MaxCost>,
}

fn tier_index(t: &str) -> Option<usize> {
    PRICE_TIERS.iter().position(|x| *x == t)
}

impl Filters {
    pub(super) fn parse(o: &Object) -> Result<Filters, GatewayError> {
        let f = match o.get("filter") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(f)) => f.clone(),
            Some(_) => {
                return Err(GatewayError::InvalidRequest {
                    code: "invalid_type",
                    message: "filter must be an object: {task_type?, capabilities?}".into(),
                    param: Some("filter".into()),
                })
            }
        };
        if let Some(k) = f.keys().find(|k| *k != "task_type" && *k != "capabilities") {
            return Err(GatewayError::invalid(
                format!("filter.{k}"),
                format!("unknown filter {k:?}; filters are task_type and capabilities"),
            ));
        }
        let task = input::task(&f, "task_type", "filter.task_type")?;
        let capabilities: Vec<String> = match f.get("capabilities") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    GatewayError::invalid("filter.capabilities", "filter.capabilities must be a list of names")
                })?,
            Some(_) => {
                return Err(GatewayError::invalid(
                    "filter.capabilities",
                    "filter.capabilities must be a list of names",
                ))
            }
        };
        if let Some(c) = capabilities.iter().find(|c| !CAPABILITIES.contains(&c.as_str())) {
            return Err(GatewayError::invalid(
                "filter.capabilities",
                format!("unknown capability {c:?}; known: {}", CAPABILITIES.join(", ")),
            ));
        }
        let bad_cost = || {
            GatewayError::invalid(
                "maxCost",
                format!(
                    "maxCost is a price tier ({}) or a non-negative amount of dollars",
                    PRICE_TIERS.join(", ")
                ),
            )
        };
        let max_cost = match o.get("maxCost") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => {
                let t = t.trim().to_ascii_lowercase();
                match tier_index(&t) {
                    Some(i) => Some(MaxCost::Tier(i)),
                    None => Some(MaxCost::Dollars(
                        t.trim_start_matches('$')
                            .parse::<f64>()
                            .ok()
                            .and_then(Money::from_dollars)
                            .ok_or_else(bad_cost)?,
                    )),
                }
            }
            Some(v) => Some(MaxCost::Dollars(
                v.as_f64().and_then(Money::from_dollars).ok_or_else(bad_cost)?,
            )),
        };
        Ok(Filters {
            task,
            capabilities,
            max_cost,
        })
    }

    /// Why `m` (at an estimated `cost` for this request) does not pass the filters, if it does not.
    pub fn reject(&self, m: &Model, cost: Money) -> Option<String> {
        if let Some(c) = self.capabilities.iter().find(|c| !m.has(c)) {
            return Some(format!("filter.capabilities: the catalog does not list {c}"));
        }
        if let Some(t) = self.task.filter(|t| t.modality() == "text") {
            if !m.quality.contains_key(t.as_str()) {
                return Some(format!("filter.task_type: no quality score for {}", t.as_str()));
            }
        }
        match &self.max_cost {
            Some(MaxCost::Tier(i)) if tier_index(&m.price_tier).is_none_or(|mi| mi > *i) => Some(format!(
                "maxCost: price tier {} is above {}",
                m.price_tier,
                PRICE_TIERS.get(*i).copied().unwrap_or("?")
            )),
            Some(MaxCost::Dollars(d)) if cost > *d => Some(format!("maxCost: estimated ${cost} is over ${d}")),
            _ => None,
        }
    }

    pub(super) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.task {
            parts.push(format!("task_type {}", t.as_str()));
        }
        if !self.capabilities.is_empty() {
            parts.push(format!("capabilities {}", self.capabilities.join("+")));
        }
        match &self.max_cost {
            Some(MaxCost::Tier(i)) => parts.push(format!("maxCost {}", PRICE_TIERS.get(*i).copied().unwrap_or("?"))),
            Some(MaxCost::Dollars(d)) => parts.push(format!("maxCost ${d}")),
            None => {}
        }
        if parts.is_empty() {
            "no filters".into()
        } else {
            parts.join(", ")
        }
    }
}

/// `auto`'s eligible models narrowed by the filters, ranked again among themselves in the mode, and
/// ordered into a chain.
pub(super) fn filtered_route(
    input: &RouteInput,
    req: &ChatRequest,
    f: &Filters,
) -> Result<(Route, Vec<Entry>), GatewayError> {
    let ranking = rank_models(input, req, None)?;
    let eligible = ranking.ranked.len();
    // The filters' own refusals first: they are what the caller controls.
    let mut filtered = Vec::new();
    let mut kept = Vec::new();
    let mut only_cost = true;
    for s in &ranking.ranked {
        match f.reject(&s.model, s.cost) {
            Some(why) => {
                only_cost &= why.starts_with("maxCost");
                filtered.push((s.model.id.clone(), why));
            }
            None => {
                let out = req
                    .max_tokens
                    .map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from)
                    .min(s.model.max_output);
                kept.push(Candidate {
                    model: s.model.clone(),
                    cost: s.cost,
                    needed_tokens: ranking.input_tokens + out,
                });
            }
        }
    }
    filtered.extend(ranking.filtered.iter().cloned());
    if kept.is_empty() {
        return Err(GatewayError::NoEligibleModel {
            reasons: filtered,
            param: if only_cost { "maxCost" } else { "filter" },
        });
    }
    let task = ranking.class.task;
    let health = &input.state.health;
    let preferred = input
        .state
        .preferences(input.snap, input.ex.identity.as_ref())
        .map(|p| p.preferred_providers.clone())
        .unwrap_or_default();
    let ranked = score::rank(&kept, task.as_str(), ranking.weights, health, &preferred);
    let mut reason = format!(
        "{} prompt ({}); {} kept {} of {} eligible models; mode {}",
        task.as_str(),
        ranking.class.complexity_tier.as_str(),
        f.describe(),
        ranked.len(),
        eligible,
        ranking.mode.as_str()
    );
    reason.push_str(&match ranked.get(1) {
        Some(second) => format!(
            "; chose {} by {}",
            ranked[0].model.id,
            deciding_term(ranking.weights, &ranked[0], second)
        ),
        None => format!("; {} is the only model left", ranked[0].model.id),
    });
    let compared = entries(&ranked);
    let scored = ranked.iter().take(SCORED_SHOWN).map(scored_json).collect();
    let estimated_cost = ranked[0].cost;
    let limit = if input.no_fallback {
        1
    } else {
        input.snap.server.max_attempts
    };
    let candidates: Vec<Arc<Model>> = super::chain(ranked, limit);
    Ok((
        Route {
            candidates,
            mode: ranking.mode.as_str(),
            reason,
            estimated_cost,
            classification: Some(crate::router::RouteClass::Classified(ranking.class.clone())),
            scored,
            filtered,
            policy: ranking.policy.map(|p| p.name.clone()),
            split_arm: None,
            sticky: false,
        },
        compared,
    ))
}
