//! `GET /v1/preferences/suggestions?days=N` (1–90, default 7): preferences the workspace's own traffic
//! suggests, each with its evidence and the `{key, value}` to `PUT`:
//!
//! - a provider that keeps failing for this workspace (at least 5 attempts, half or more failed) →
//!   add it to `excluded_providers`;
//! - a task where a cheaper catalog model is rated as well as the one serving it (quality for the task
//!   at least as high, lower price) → `default_optimization: cost`;
//! - a model callers keep naming instead of `auto` (at least 3 requests and 30% of the workspace's) →
//!   add its provider to `preferred_providers`;
//! - a task correction the feedback keeps making (at least 3 times) → `default_task`.

use serde_json::{json, Value};

use super::fields::query_param;
use super::logs::{store_failed, store_off};
use super::preferences::workspace;
use super::{BoxFuture, Call, Reply};
use crate::config::routing::Mode;
use crate::error::GatewayError;
use crate::router::score::quality_for;
use crate::store::feedback::Evidence;

pub fn suggestions<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(run(call))
}

/// A price to compare models by: input plus output per token.
fn price(m: &crate::config::Model) -> u64 {
    m.pricing.input.0.saturating_add(m.pricing.output.0)
}

fn with(list: &[String], add: &str) -> Vec<String> {
    let mut v = list.to_vec();
    if !v.iter().any(|x| x == add) {
        v.push(add.to_string());
    }
    v
}

/// The suggestions for the evidence, given the preferences that apply now.
pub fn derive(call: &Call, e: &Evidence, days: u64) -> Vec<Value> {
    let prefs = call
        .router
        .preferences(call.snap, call.identity)
        .map(|p| p.into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in &e.providers {
        if p.attempts >= 5 && p.failures * 2 >= p.attempts && !prefs.excluded_providers.contains(&p.provider) {
            out.push(json!({
                "kind": "failing_provider",
                "key": "excluded_providers",
                "value": with(&prefs.excluded_providers, &p.provider),
                "reason": format!("provider {} failed {} of {} attempts for this workspace in the last {days} day(s)",
                    p.provider, p.failures, p.attempts),
                "evidence": {"provider": p.provider, "attempts": p.attempts, "failures": p.failures},
            }));
        }
    }
    if prefs.default_optimization != Some(Mode::Cost) {
        let mut seen = std::collections::HashSet::new();
        for tm in e.task_models.iter().filter(|t| t.requests >= 3) {
            // The model that served the task most (rows come most requests first).
            if !seen.insert(tm.task.clone()) {
                continue;
            }
            let Some(used) = call.snap.catalog.get(&tm.model) else {
                continue;
            };
            let q = quality_for(used, &tm.task);
            let cheaper = call
                .snap
                .catalog
                .models
                .iter()
                .filter(|m| m.id != used.id && m.provider.available() && m.has("chat"))
                .filter(|m| price(m) < price(used) && quality_for(m, &tm.task) >= q)
                .filter(|m| {
                    !prefs.excluded_models.contains(&m.id)
                        && !prefs.excluded_providers.iter().any(|p| **p == *m.provider.name)
                })
                .min_by_key(|m| (price(m), m.id.clone()));
            if let Some(c) = cheaper {
                out.push(json!({
                    "kind": "cheaper_model",
                    "key": "default_optimization",
                    "value": "cost",
                    "reason": format!("{} {} request(s) went to {}; {} is rated as well for {} ({:.2} vs {:.2}) at a lower price",
                        tm.requests, tm.task, used.id, c.id, tm.task, quality_for(c, &tm.task), q),
                    "evidence": {"task": tm.task, "model": used.id, "requests": tm.requests, "cheaper_model": c.id},
                }));
            }
        }
    }
    for p in &e.pinned {
        let share = if e.requests > 0 {
            p.requests as f64 / e.requests as f64
        } else {
            0.0
        };
        let Some(m) = call.snap.catalog.get(&p.model) else {
            continue;
        };
        let provider = m.provider.name.to_string();
        if p.requests >= 3 && share >= 0.3 && !prefs.preferred_providers.contains(&provider) {
            out.push(json!({
                "kind": "overridden_model",
                "key": "preferred_providers",
                "value": with(&prefs.preferred_providers, &provider),
                "reason": format!("callers named {} instead of auto in {} of {} request(s)", m.id, p.requests, e.requests),
                "evidence": {"model": m.id, "requests": p.requests, "of": e.requests},
            }));
        }
    }
    if let Some(c) = e.corrections.iter().find(|c| c.count >= 3) {
        if prefs.default_task.as_deref() != Some(c.to.as_str()) {
            out.push(json!({
                "kind": "task_correction",
                "key": "default_task",
                "value": c.to,
                "reason": format!("feedback corrected {} to {} {} time(s)", c.from, c.to, c.count),
                "evidence": {"from": c.from, "to": c.to, "count": c.count},
            }));
        }
    }
    out
}

async fn run(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let days = match query_param(call.query, "days") {
        None => 7,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| GatewayError::invalid("days", "days must be a whole number from 1 to 90"))?,
    };
    let store = call.store.ok_or_else(store_off)?;
    store.flushed().await;
    let since = crate::store::now_ms() - i64::try_from(days * 86_400_000).unwrap_or(0);
    let e = store.evidence(&workspace(call), since).await.map_err(store_failed)?;
    let list = derive(call, &e, days);
    Ok(Reply::Json(
        200,
        json!({
            "object": "preferences.suggestions",
            "workspace": workspace(call),
            "window_days": days,
            "requests": e.requests,
            "feedback": e.feedback,
            "suggestions": list,
        }),
    ))
}
