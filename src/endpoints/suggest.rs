//! `POST /v1/auto/suggest`: what `auto` would choose for a prompt, ranked, with scores and estimated
//! costs, and no upstream call. `POST /v1/models/price-comparison`: what a prompt (or a typical
//! request of a task) costs on each model the caller could use, with the cheapest, the best value
//! (quality for the task per dollar), the best quality, and the savings against the most expensive.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::ChatRequest;
use switchyard_sdk::{Endpoint, Exchange, Money};

use super::fields::{body_object, dollars, int_in, opt_f64, opt_str, opt_task, prompt_request, round3, visible_models};
use super::Call;
use crate::api::Schema;
use crate::config::routing::Mode;
use crate::config::{Model, ProviderKind};
use crate::error::GatewayError;
use crate::router::auto::rank_models;
use crate::router::classify::Task;
use crate::router::score::{self, deciding_term, quality_for, Candidate, Scored};
use crate::router::{estimate_cost_for, ineligibility, RouteInput, DEFAULT_OUTPUT_ESTIMATE};

/// `limit` of a suggestion list.
const SUGGEST_MAX: u64 = 20;
const SUGGEST_DEFAULT: u64 = 5;
/// Input tokens assumed by a price comparison for a task without a prompt.
const TASK_INPUT_TOKENS: u64 = 1000;

/// The routing mode named by `mode`, `optimization` or `router_mode` (first present wins).
fn mode_field(o: &Map<String, Value>) -> Result<Option<Mode>, GatewayError> {
    for k in ["mode", "optimization", "router_mode"] {
        if let Some(v) = opt_str(o, k)? {
            return Mode::parse(v).map(Some).ok_or_else(|| {
                GatewayError::invalid(
                    k,
                    format!(
                        "unknown routing mode {v:?}; use quality, cost, latency or balanced \
                         (or output-optimized, price-optimized)"
                    ),
                )
            });
        }
    }
    Ok(None)
}

fn budget_field(o: &Map<String, Value>) -> Result<Option<Money>, GatewayError> {
    match opt_f64(o, "budget_dollars")? {
        None => Ok(None),
        Some(d) => Money::from_dollars(d).map(Some).ok_or_else(|| {
            GatewayError::invalid(
                "budget_dollars",
                "budget_dollars must be a non-negative amount of dollars",
            )
        }),
    }
}

/// Whether `m` produces the output `task` asks for (the rule `auto` applies).
pub(super) fn offers(m: &Model, task: Task) -> bool {
    match task.modality() {
        "image" => m.has("image_generation"),
        "audio" => m.has("speech") || m.has("audio_output"),
        "music" => m.has("music"),
        "video" => m.has("video"),
        _ => m.has("chat") || m.capabilities.is_empty(),
    }
}

/// An error from `auto`'s ranking, with the models the caller may not see left out of its reasons.
fn hide_invisible(call: &Call, e: GatewayError) -> GatewayError {
    match e {
        GatewayError::NoEligibleModel { reasons, param } => GatewayError::NoEligibleModel {
            reasons: reasons.into_iter().filter(|(m, _)| is_visible(call, m)).collect(),
            param,
        },
        e => e,
    }
}

fn is_visible(call: &Call, id: &str) -> bool {
    call.snap
        .catalog
        .get(id)
        .is_some_and(|m| super::models::visible(m, call.identity))
}

fn filtered_json(call: &Call, filtered: &[(String, String)]) -> Vec<Value> {
    filtered
        .iter()
        .filter(|(m, _)| is_visible(call, m))
        .map(|(m, w)| json!({"model": m, "reason": w}))
        .collect()
}

/// The models the caller could use for `task`, with their cost for `input_tokens` in and
/// `max_tokens` (else the default estimate) out, and the ones left out with why. The filters are
/// `auto`'s, minus policies: visibility (scopes; test keys see simulated models only, and only test
/// keys are routed to them), a provider with a key, the task's output modality, the workspace's
/// exclusions, what the request needs (`req`), the context window, the budget, and open circuits.
fn pool(
    call: &Call,
    req: Option<&ChatRequest>,
    task: Task,
    input_tokens: u64,
    max_tokens: Option<u32>,
    budget: Option<Money>,
) -> (Vec<Candidate>, Vec<(String, String)>) {
    let test_key = call.identity.is_some_and(|i| i.test_key);
    let prefs = call.router.preferences(call.snap, call.identity);
    let prefs = prefs.as_deref();
    let mut cands = Vec::new();
    let mut filtered = Vec::new();
    let caller = call.identity.map(|i| call.router.health.caller(&i.key_id));
    for m in visible_models(call) {
        let out = max_tokens.map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from).min(m.max_output);
        let cost = estimate_cost_for(m, input_tokens, max_tokens);
        let why = if m.provider.kind == ProviderKind::Mock && !test_key {
            Some("simulated models answer test keys only".to_string())
        } else if !m.provider.available() {
            Some(format!("provider {} has no API key configured", m.provider.name))
        } else if !offers(m, task) {
            Some(format!("does not produce {} output", task.modality()))
        } else if prefs.is_some_and(|p| {
            p.excluded_providers.iter().any(|x| **x == *m.provider.name) || p.excluded_models.iter().any(|x| *x == m.id)
        }) {
            Some("excluded by the workspace's preferences".to_string())
        } else if let Some(w) = req.and_then(|r| ineligibility(m, r, Schema::OpenAiChat)) {
            Some(w)
        } else if input_tokens + out > m.context_window {
            Some(format!(
                "needs ~{} tokens, context window is {}",
                input_tokens + out,
                m.context_window
            ))
        } else if budget.is_some_and(|b| cost > b) {
            Some(format!("estimated ${cost} is over the budget"))
        } else if let Err(u) = call.router.health.available(&m.id, &m.provider.name, caller) {
            Some(u.describe())
        } else {
            None
        };
        match why {
            Some(w) => filtered.push((m.id.clone(), w)),
            None => cands.push(Candidate {
                model: m.clone(),
                cost,
                needed_tokens: input_tokens + out,
            }),
        }
    }
    (cands, filtered)
}

/// Best first: score, then the cheaper, then the smaller id (the order `score::rank` uses).
fn sort_scored(v: &mut [Scored]) {
    v.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.cost.cmp(&b.cost))
            .then_with(|| a.model.id.cmp(&b.model.id))
    });
}

/// What a suggestion list needs from a ranking.
struct Ranked {
    mode: Mode,
    weights: crate::config::routing::Weights,
    ranked: Vec<Scored>,
    filtered: Vec<(String, String)>,
    input_tokens: u64,
    policy: Option<(String, bool)>,
}

pub fn suggest(call: &Call) -> Result<Value, GatewayError> {
    let o = body_object(call)?;
    let limit = int_in(&o, "limit", 1, SUGGEST_MAX, SUGGEST_DEFAULT)? as usize;
    let task = opt_task(&o, "task")?;
    let mode = mode_field(&o)?;
    let budget = budget_field(&o)?;
    let mut req = prompt_request(&o)?.ok_or_else(|| GatewayError::InvalidRequest {
        code: "missing_field",
        message: "send the prompt to rank models for, as prompt or messages".into(),
        param: Some("prompt".into()),
    })?;
    req.routing.budget = budget;
    let class = crate::router::classify::sdk::classify_request(&*call.snap.classifier, &req);
    let used = task.unwrap_or(class.task);

    let r = if used.modality() == class.task.modality() {
        // `auto`'s own ranking (policies, preferences, floor, health), with the quality term for the
        // caller's task when it named one.
        let mut ex = Exchange::new(call.request_id.to_string(), Endpoint::Catalog);
        ex.identity = call.identity.cloned();
        let input = RouteInput {
            snap: call.snap,
            ex: &ex,
            schema: Schema::OpenAiChat,
            header_mode: None,
            no_fallback: false,
            state: call.router,
        };
        let ranking = rank_models(&input, &req, mode.map(Mode::as_str)).map_err(|e| hide_invisible(call, e))?;
        let chain_fixed = ranking.policy.is_some_and(|p| !p.chain.is_empty());
        let mut ranked = ranking.ranked;
        if used != ranking.class.task {
            for s in &mut ranked {
                let q = quality_for(&s.model, used.as_str());
                s.score += ranking.weights.quality * (q - s.terms.quality);
                s.terms.quality = q;
            }
            if !chain_fixed {
                sort_scored(&mut ranked);
            }
        }
        Ranked {
            mode: ranking.mode,
            weights: ranking.weights,
            ranked,
            filtered: ranking.filtered,
            input_tokens: ranking.input_tokens,
            policy: ranking.policy.map(|p| (p.name.clone(), chain_fixed)),
        }
    } else {
        // The caller's task asks for another output than the prompt reads as (an image, speech):
        // rank the models that produce it, with `auto`'s scoring.
        let routing = &call.snap.routing;
        let mode = mode
            .or(call
                .identity
                .and_then(|i| routing.workspaces.get(&*i.workspace))
                .and_then(|p| p.default_optimization))
            .unwrap_or(routing.default_mode);
        let input_tokens = u64::from(class.tokens).max(req.estimated_input_tokens());
        let (cands, filtered) = pool(call, Some(&req), used, input_tokens, req.max_tokens, budget);
        if cands.is_empty() {
            return Err(GatewayError::NoEligibleModel {
                reasons: filtered,
                param: "task",
            });
        }
        let weights = score::adjust(routing.weights(mode), f64::from(class.strong), mode);
        let preferred = call
            .identity
            .and_then(|i| routing.workspaces.get(&*i.workspace))
            .map(|p| p.preferred_providers.clone())
            .unwrap_or_default();
        let ranked = score::rank(&cands, used.as_str(), weights, &call.router.health, &preferred);
        Ranked {
            mode,
            weights,
            ranked,
            filtered,
            input_tokens,
            policy: None,
        }
    };

    let suggestions: Vec<Value> = r
        .ranked
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, s)| {
            let reason = match (&r.policy, r.ranked.get(i + 1)) {
                (Some((name, true)), _) => format!("position {} in policy {name}'s chain", i + 1),
                (_, Some(next)) => format!("ahead of the next candidate on {}", deciding_term(r.weights, s, next)),
                (_, None) => "the lowest-scored eligible model".to_string(),
            };
            suggestion_json(i, s, used, reason)
        })
        .collect();
    let mut classification = class.to_json();
    classification["task_used"] = json!(used.as_str());
    Ok(json!({
        "object": "auto.suggestion",
        "classification": classification,
        "task": used.as_str(),
        "task_source": if task.is_some() { "request" } else { "classifier" },
        "mode": r.mode.as_str(),
        "policy": r.policy.as_ref().map(|(n, _)| n),
        "weights": {
            "quality": round3(r.weights.quality),
            "cost": round3(r.weights.cost),
            "latency": round3(r.weights.latency),
            "context": round3(r.weights.context),
        },
        "input_tokens": r.input_tokens,
        "max_tokens": req.max_tokens,
        "budget_dollars": budget.map(dollars),
        "eligible": r.ranked.len(),
        "suggestions": suggestions,
        "filtered": filtered_json(call, &r.filtered),
    }))
}

fn suggestion_json(i: usize, s: &Scored, task: Task, reason: String) -> Value {
    let m = &s.model;
    json!({
        "rank": i + 1,
        "model": m.id,
        "provider": &*m.provider.name,
        "score": round3(s.score),
        "estimated_cost_dollars": dollars(s.cost),
        "expected_latency_ms": s.expected_latency_ms.round(),
        "quality": round3(s.terms.quality),
        "task": task.as_str(),
        "terms": {
            "quality": round3(s.terms.quality),
            "cost": round3(s.terms.cost),
            "latency": round3(s.terms.latency),
            "context": round3(s.terms.context),
        },
        "preferred_provider": s.preferred,
        "price_tier": m.price_tier,
        "context_window": m.context_window,
        "reason": reason,
    })
}

/// One model's line in a price comparison.
struct Priced {
    model: Arc<Model>,
    cost: Money,
    output_tokens: u64,
    quality: f64,
}

impl Priced {
    /// Quality per dollar; a free model is worth its quality without bound.
    fn value(&self) -> f64 {
        match self.cost.as_dollars_f64() {
            c if c > 0.0 => self.quality / c,
            _ => f64::INFINITY,
        }
    }

    fn json(&self) -> Value {
        let v = self.value();
        json!({
            "model": self.model.id,
            "provider": &*self.model.provider.name,
            "estimated_cost_dollars": dollars(self.cost),
            "quality": round3(self.quality),
            "quality_per_dollar": if v.is_finite() { json!(round3(v)) } else { Value::Null },
        })
    }
}

pub fn price_comparison(call: &Call) -> Result<Value, GatewayError> {
    let o = body_object(call)?;
    let task = opt_task(&o, "task")?;
    let req = prompt_request(&o)?;
    let budget = budget_field(&o)?;
    let class = req
        .as_ref()
        .map(|r| crate::router::classify::sdk::classify_request(&*call.snap.classifier, r));
    let used = match (task, &class) {
        (Some(t), _) => t,
        (None, Some(c)) => c.task,
        (None, None) => {
            return Err(GatewayError::InvalidRequest {
                code: "missing_field",
                message: "send a prompt, messages or a task to compare prices for".into(),
                param: Some("prompt".into()),
            })
        }
    };
    let (input_tokens, max_tokens) = match (&req, &class) {
        (Some(r), Some(c)) => (u64::from(c.tokens).max(r.estimated_input_tokens()), r.max_tokens),
        _ => (
            int_in(&o, "input_tokens", 0, 100_000_000, TASK_INPUT_TOKENS)?,
            match o.get("max_tokens").filter(|v| !v.is_null()) {
                Some(_) => Some(int_in(&o, "max_tokens", 1, u64::from(u32::MAX), 0)? as u32),
                None => None,
            },
        ),
    };
    let (cands, filtered) = pool(call, req.as_ref(), used, input_tokens, max_tokens, budget);
    if cands.is_empty() {
        return Err(GatewayError::NoEligibleModel {
            reasons: filtered,
            param: if budget.is_some() { "budget_dollars" } else { "task" },
        });
    }
    let mut rows: Vec<Priced> = cands
        .into_iter()
        .map(|c| Priced {
            output_tokens: max_tokens
                .map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from)
                .min(c.model.max_output),
            quality: quality_for(&c.model, used.as_str()),
            model: c.model,
            cost: c.cost,
        })
        .collect();
    // Cheapest first; among equal costs the better model, then the smaller id.
    rows.sort_by(|a, b| {
        a.cost
            .cmp(&b.cost)
            .then(b.quality.total_cmp(&a.quality))
            .then_with(|| a.model.id.cmp(&b.model.id))
    });
    let (Some(cheapest), Some(highest)) = (rows.first(), rows.last()) else {
        return Err(GatewayError::Internal("empty price comparison".into()));
    };
    let best_quality = rows
        .iter()
        .reduce(|best, r| if r.quality > best.quality { r } else { best })
        .unwrap_or(cheapest);
    let best_value = rows
        .iter()
        .reduce(|best, r| {
            let (a, b) = (r.value(), best.value());
            if a > b || (a == b && r.quality > best.quality) {
                r
            } else {
                best
            }
        })
        .unwrap_or(cheapest);
    let percent = |saved: Money, of: Money| {
        if of.0 == 0 {
            0.0
        } else {
            (saved.0 as f64 / of.0 as f64 * 10_000.0).round() / 100.0
        }
    };
    let saved = Money(highest.cost.0.saturating_sub(cheapest.cost.0));
    let models: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = r.json();
            let below = Money(highest.cost.0.saturating_sub(r.cost.0));
            let extra = json!({
                "rank": i + 1,
                "input_tokens": input_tokens,
                "output_tokens": r.output_tokens,
                "price_tier": r.model.price_tier,
                "pricing": {
                    "unit": "usd_per_million_tokens",
                    "input": r.model.pricing.input.per_million_as_f64(),
                    "output": r.model.pricing.output.per_million_as_f64(),
                },
                "savings_vs_highest": {"dollars": dollars(below), "percent": percent(below, highest.cost)},
            });
            if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
                v.extend(extra);
            }
            v
        })
        .collect();
    Ok(json!({
        "object": "price_comparison",
        "task": used.as_str(),
        "task_source": if task.is_some() { "request" } else { "classifier" },
        "classification": class.as_ref().map(|c| c.to_json()),
        "input_tokens": input_tokens,
        "input_tokens_source": if req.is_some() { "prompt estimate" } else { "assumed for the task" },
        "max_tokens": max_tokens,
        "output_tokens_default": DEFAULT_OUTPUT_ESTIMATE,
        "models": models,
        "cheapest": cheapest.json(),
        "best_value": best_value.json(),
        "best_quality": best_quality.json(),
        "highest": highest.json(),
        "savings_vs_highest": {
            "model": cheapest.model.id,
            "vs_model": highest.model.id,
            "dollars": dollars(saved),
            "percent": percent(saved, highest.cost),
        },
        "filtered": filtered_json(call, &filtered),
    }))
}
