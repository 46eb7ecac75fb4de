//! What the composed answers share: the price comparison, timing and context blocks, and the
//! `/v1/auto/route` / `/v1/models/route` envelope.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use switchyard_sdk::Money;

use crate::config::Model;
use crate::proxy::ctx::Ctx;

/// A model the answer is compared with: its pre-flight estimate and its quality for the task.
pub struct Entry {
    pub model: Arc<Model>,
    pub estimate: Money,
    pub quality: f64,
}

/// The comparison's entries for a ranking: each model's estimate and quality for the task.
pub fn entries(ranked: &[crate::router::score::Scored]) -> Vec<Entry> {
    ranked
        .iter()
        .map(|s| Entry {
            model: s.model.clone(),
            estimate: s.cost,
            quality: s.terms.quality,
        })
        .collect()
}

/// How many models the comparison lists (cheapest first).
const COMPARED: usize = 20;

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

/// Where the time went: the whole request, waiting on upstreams (every attempt), Switchyard itself,
/// and the answering upstream's time to its response headers.
pub fn timing(ctx: &Ctx) -> Value {
    let total = ctx.started.elapsed();
    let upstream = ctx.upstream_time();
    json!({
        "total_ms": ms(total),
        "upstream_ms": ms(upstream),
        "overhead_ms": ms(total.saturating_sub(upstream)),
        "ttft_ms": ctx.attempts.last().and_then(|a| a.headers_after).map(ms),
    })
}

/// The request against the answering model's context window: tokens in (reported, else estimated),
/// the output budget, and what is left.
pub fn context(ctx: &Ctx) -> Value {
    let (Some(m), Some(req)) = (ctx.current_model(), ctx.ex.request()) else {
        return Value::Null;
    };
    let input = ctx
        .answer
        .usage
        .map(|u| u.input_tokens)
        .filter(|n| *n > 0)
        .unwrap_or_else(|| req.estimated_input_tokens());
    let output = ctx.answer.usage.map(|u| u.output_tokens);
    let budget = req.max_tokens.map(u64::from).or(output).unwrap_or(0);
    json!({
        "input_tokens": input,
        "output_tokens": output,
        "max_tokens": req.max_tokens,
        "context_window": m.context_window,
        "max_output": m.max_output,
        "headroom": m.context_window.saturating_sub(input + budget),
        "utilization": round((input + budget) as f64 / m.context_window.max(1) as f64, 4),
    })
}

fn priced(e: &Entry, cost: Money) -> Value {
    json!({"model": e.model.id, "cost_dollars": cost.as_dollars_f64()})
}

/// The answering model against the others the caller could have used: each one's pre-flight
/// estimate, and (`same_usage`) what the answer's own usage would have cost on it, which is the fair
/// comparison once the answer is known. Cheapest, most expensive, best quality, best value (quality
/// per dollar), and the savings of the choice against the most expensive.
pub fn comparison(ctx: &Ctx, entries: Vec<Entry>, same_usage: &dyn Fn(&Model) -> Option<Money>) -> Value {
    let Some(chosen) = ctx.current_model().cloned() else {
        return Value::Null;
    };
    let mut entries = entries;
    if !entries.iter().any(|e| e.model.id == chosen.id) {
        let estimate = ctx.decision.route.as_ref().map_or(Money::ZERO, |r| r.estimated_cost);
        let task = ctx
            .decision
            .route
            .as_ref()
            .and_then(|r| r.classification.as_ref())
            .and_then(|c| c.task())
            .unwrap_or("chat")
            .to_string();
        entries.push(Entry {
            quality: crate::router::score::quality_for(&chosen, &task),
            model: chosen.clone(),
            estimate,
        });
    }
    let actual_basis = ctx.answer.cost.is_some();
    let cost_of = |e: &Entry| -> Money {
        if e.model.id == chosen.id {
            if let Some(c) = ctx.answer.cost {
                return c;
            }
        }
        same_usage(&e.model).unwrap_or(e.estimate)
    };
    let mut costed: Vec<(Entry, Money)> = entries
        .into_iter()
        .map(|e| {
            let c = cost_of(&e);
            (e, c)
        })
        .collect();
    costed.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.model.id.cmp(&b.0.model.id)));
    let chosen_cost = costed
        .iter()
        .find(|(e, _)| e.model.id == chosen.id)
        .map_or(Money::ZERO, |(_, c)| *c);
    let cheapest = costed.first().map(|(e, c)| priced(e, *c));
    let dearest = costed.last();
    let best_quality = costed
        .iter()
        .max_by(|a, b| a.0.quality.total_cmp(&b.0.quality).then(b.1.cmp(&a.1)))
        .map(|(e, c)| json!({"model": e.model.id, "cost_dollars": c.as_dollars_f64(), "quality": e.quality}));
    let per_dollar = |e: &Entry, c: Money| e.quality / c.as_dollars_f64().max(1e-9);
    let best_value = costed
        .iter()
        .max_by(|a, b| per_dollar(&a.0, a.1).total_cmp(&per_dollar(&b.0, b.1)))
        .map(|(e, c)| {
            json!({"model": e.model.id, "cost_dollars": c.as_dollars_f64(), "quality": e.quality,
                   "quality_per_dollar": round(per_dollar(e, *c), 3)})
        });
    let savings = dearest.map_or(0.0, |(_, c)| c.as_dollars_f64() - chosen_cost.as_dollars_f64());
    let percent = dearest
        .map(|(_, c)| c.as_dollars_f64())
        .filter(|d| *d > 0.0)
        .map_or(0.0, |d| round(100.0 * savings / d, 1));
    let models: Vec<Value> = costed
        .iter()
        .take(COMPARED)
        .map(|(e, c)| {
            json!({
                "model": e.model.id,
                "provider": &*e.model.provider.name,
                "price_tier": e.model.price_tier,
                "quality": e.quality,
                "estimated_cost_dollars": e.estimate.as_dollars_f64(),
                "cost_dollars": c.as_dollars_f64(),
                "chosen": e.model.id == chosen.id,
            })
        })
        .collect();
    json!({
        "basis": if actual_basis { "the answer's usage, priced on each model" } else { "pre-flight estimates" },
        "chosen": {"model": chosen.id, "cost_dollars": chosen_cost.as_dollars_f64()},
        "cheapest": cheapest,
        "most_expensive": dearest.map(|(e, c)| priced(e, *c)),
        "best_quality": best_quality,
        "best_value": best_value,
        "savings_vs_most_expensive_dollars": round(savings, 9),
        "savings_percent": percent,
        "models": models,
    })
}

/// The envelope of `/v1/auto/route` and `/v1/models/route`: the decision, the model's answer
/// (`result`), the money, the time and the context.
pub fn route_answer(
    ctx: &Ctx,
    object: &str,
    classification: Value,
    comparison: Value,
    result: Value,
    router: Value,
) -> Value {
    let m = ctx.current_model();
    let route = ctx.decision.route.as_ref();
    json!({
        "id": ctx.request_id(),
        "object": object,
        "created": now_secs(),
        "classification": classification,
        "model": m.map(|m| m.id.as_str()),
        "provider": m.map(|m| &*m.provider.name),
        "requested_model": ctx.ex.request().map(|r| r.model.as_str()),
        "mode": route.map(|r| r.mode),
        "reason": route.map(|r| r.reason.as_str()),
        "price_comparison": comparison,
        "result": result,
        "cost": {
            "estimated_dollars": router["cost"]["estimated_dollars"].clone(),
            "actual_dollars": ctx.answer.cost.map(Money::as_dollars_f64),
            "basis": if ctx.answer.cost.is_some() { "actual" } else { "estimate" },
        },
        "timing": timing(ctx),
        "context": context(ctx),
        "attempts": ctx.attempts_json(),
        "fallback": ctx.attempts.len() > 1,
        "router": router,
    })
}
