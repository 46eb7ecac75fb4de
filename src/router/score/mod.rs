//! Scoring the eligible models for one request: quality for the prompt's task (catalog), expected
//! latency (live EWMA from the health tracker, the catalog's prior when cold, plus a penalty while a
//! model is failing), estimated cost, and context headroom. Cost and latency are compared on a log
//! scale across the candidates (a model twice as cheap gains the same wherever prices sit). The mode's
//! weights combine the terms; the strong/weak signal moves weight towards quality for hard prompts.

use std::sync::Arc;

use switchyard_sdk::Money;

use super::health::{latency_penalty_ms, Health};
use crate::config::routing::{Mode, Weights};
use crate::config::Model;

/// A candidate with the facts the score needs.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub model: Arc<Model>,
    pub cost: Money,
    /// Prompt plus requested output, in tokens.
    pub needed_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Terms {
    pub quality: f64,
    pub cost: f64,
    pub latency: f64,
    pub context: f64,
}

#[derive(Debug, Clone)]
pub struct Scored {
    pub model: Arc<Model>,
    pub score: f64,
    pub terms: Terms,
    pub cost: Money,
    pub expected_latency_ms: f64,
    pub preferred: bool,
}

/// Bonus for a workspace's preferred providers: enough to win a near tie, not to override quality.
const PREFERRED_BONUS: f64 = 0.05;

/// The catalog's quality for `task` (the model's `chat` score, else 0.5, when the catalog has none).
pub fn quality_for(m: &Model, task: &str) -> f64 {
    m.quality
        .get(task)
        .or_else(|| m.quality.get("chat"))
        .copied()
        .unwrap_or(0.5)
}

/// Expected time to first token: live when measured, the catalog prior otherwise.
pub fn expected_latency_ms(m: &Model, health: &Health) -> f64 {
    let s = health.model(&m.id);
    s.ewma_ttft_ms.unwrap_or(m.latency_prior_ms as f64) + latency_penalty_ms(&s) as f64
}

/// 1 for the smallest value, 0 for the largest, log-scaled in between.
fn log_rank(v: f64, min: f64, max: f64) -> f64 {
    let (v, min, max) = (v.max(1e-9).ln(), min.max(1e-9).ln(), max.max(1e-9).ln());
    if max - min < 1e-12 {
        1.0
    } else {
        ((max - v) / (max - min)).clamp(0.0, 1.0)
    }
}

/// Weights adjusted for how much the prompt needs a strong model (`strong` in 0..1): quality counts
/// from 0.6× (easy) to 1.4× (hard) its configured weight, the other terms are rescaled to keep the sum.
/// In quality mode the caller asked for quality, so an easy prompt never lowers its weight.
pub fn adjust(w: Weights, strong: f64, mode: Mode) -> Weights {
    let sum = w.quality + w.cost + w.latency + w.context;
    let mut factor = 0.6 + 0.8 * strong.clamp(0.0, 1.0);
    if mode == Mode::Quality {
        factor = factor.max(1.0);
    }
    let q = (w.quality * factor).min(sum);
    let rest = sum - w.quality;
    let k = if rest > 0.0 { (sum - q) / rest } else { 0.0 };
    Weights {
        quality: q,
        cost: w.cost * k,
        latency: w.latency * k,
        context: w.context * k,
    }
}

/// Score and rank `cands` (best first). Ties go to the cheaper model, then to the smaller id, so the
/// order is a function of the snapshot and the health state alone.
pub fn rank(cands: &[Candidate], task: &str, w: Weights, health: &Health, preferred: &[String]) -> Vec<Scored> {
    if cands.is_empty() {
        return Vec::new();
    }
    let costs: Vec<f64> = cands.iter().map(|c| (c.cost.0 as f64).max(1.0)).collect();
    let lats: Vec<f64> = cands
        .iter()
        .map(|c| expected_latency_ms(&c.model, health).max(1.0))
        .collect();
    let (cmin, cmax) = costs.iter().fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let (lmin, lmax) = lats.iter().fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let mut out: Vec<Scored> = cands
        .iter()
        .zip(costs.iter().zip(&lats))
        .map(|(c, (&cost, &lat))| {
            let terms = Terms {
                quality: quality_for(&c.model, task),
                cost: log_rank(cost, cmin, cmax),
                latency: log_rank(lat, lmin, lmax),
                context: (1.0 - c.needed_tokens as f64 / c.model.context_window.max(1) as f64).clamp(0.0, 1.0),
            };
            let is_preferred = preferred.iter().any(|p| **p == *c.model.provider.name);
            let score = w.quality * terms.quality
                + w.cost * terms.cost
                + w.latency * terms.latency
                + w.context * terms.context
                + if is_preferred { PREFERRED_BONUS } else { 0.0 };
            Scored {
                model: c.model.clone(),
                score,
                terms,
                cost: c.cost,
                expected_latency_ms: lat,
                preferred: is_preferred,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.cost.cmp(&b.cost))
            .then_with(|| a.model.id.cmp(&b.model.id))
    });
    out
}

/// Which term decided between the winner and the runner-up, as a phrase for the reason string.
pub fn deciding_term(w: Weights, first: &Scored, second: &Scored) -> String {
    let diffs = [
        ("quality", w.quality * (first.terms.quality - second.terms.quality)),
        ("cost", w.cost * (first.terms.cost - second.terms.cost)),
        ("latency", w.latency * (first.terms.latency - second.terms.latency)),
        (
            "context headroom",
            w.context * (first.terms.context - second.terms.context),
        ),
    ];
    let (name, d) = diffs
        .iter()
        .copied()
        .fold(("quality", f64::MIN), |acc, x| if x.1 > acc.1 { x } else { acc });
    if first.preferred && !second.preferred && d < PREFERRED_BONUS {
        return format!("a preferred provider over {}", second.model.id);
    }
    format!("{name} (+{:.3} over {})", d.max(0.0), second.model.id)
}

/// A scored model as the `router` object shows it (`candidates`): a plain struct, serialized once where
/// the object is written, rather than a `Value` tree built for every `auto` request (that tree and its
/// ordered maps were about a tenth of `auto`'s instructions).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoredShown {
    pub model: String,
    pub score: f64,
    pub quality: f64,
    pub cost: f64,
    pub latency: f64,
    pub context: f64,
    pub estimated_cost_dollars: f64,
    pub expected_latency_ms: f64,
}

pub fn scored_json(s: &Scored) -> ScoredShown {
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    ScoredShown {
        model: s.model.id.clone(),
        score: r(s.score),
        quality: r(s.terms.quality),
        cost: r(s.terms.cost),
        latency: r(s.terms.latency),
        context: r(s.terms.context),
        estimated_cost_dollars: s.cost.as_dollars_f64(),
        expected_latency_ms: s.expected_latency_ms.round(),
    }
}

#[cfg(test)]
mod tests;
