//! Which image model answers: the image models the caller may use now (scopes, the workspace's
//! exclusions, budget, quality floor, health, the caller's filters), ranked in the mode, or the model
//! the request names with its fallback chain.

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::Money;

use super::{times, ImageAsk, SCORED_SHOWN, TASK};
use crate::config::routing::Mode;
use crate::config::{Model, ProviderKind};
use crate::endpoints::compose::report::{entries, Entry};
use crate::error::GatewayError;
use crate::proxy::ctx::Ctx;
use crate::router::health::Unavailable;
use crate::router::score::{self, deciding_term, quality_for, scored_json, Candidate};
use crate::router::{permitted, Route, RouterState};

/// Why `m` cannot serve an image request, if it cannot.
pub(super) fn cannot_draw(m: &Model) -> Option<String> {
    if !m.has(TASK) {
        return Some(format!(
            "the catalog does not list the image_generation capability for {}",
            m.id
        ));
    }
    if !matches!(
        m.provider.kind,
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock
    ) {
        return Some(format!(
            "images are generated through the OpenAI Images API; {} is a {} model",
            m.id,
            m.provider.kind.as_str()
        ));
    }
    None
}

/// The mode: `x-jt-route`, then `auto:<mode>`, then `router_mode`/`optimization`, then the workspace's
/// default, then the gateway's.
fn mode(
    ctx: &Ctx,
    state: &RouterState,
    header: Option<&str>,
    named: Option<&str>,
    field: Option<&str>,
) -> Result<Mode, GatewayError> {
    for (value, param) in [(header, "x-jt-route"), (named, "model"), (field, "router_mode")] {
        if let Some(v) = value {
            return Mode::parse(v).ok_or_else(|| {
                GatewayError::invalid(
                    param,
                    format!("unknown routing mode {v:?}; use quality, cost, latency or balanced"),
                )
            });
        }
    }
    let routing = &ctx.snap.routing;
    Ok(state
        .preferences(&ctx.snap, ctx.ex.identity.as_ref())
        .and_then(|w| w.default_optimization)
        .unwrap_or(routing.default_mode))
}

/// The image models the caller could use now, with their cost for this request, and the ones left out
/// with why (`auto`'s rules: simulated models for test keys only, scopes, the workspace's exclusions,
/// the prompt's size, the budget, the quality floor, open circuits).
struct Pool {
    cands: Vec<Candidate>,
    filtered: Vec<(String, String)>,
    /// Every model left out was left out for its health alone.
    unhealthy_only: bool,
    cooling_only: bool,
    retry_in: std::time::Duration,
}

fn pool(
    ctx: &Ctx,
    state: &RouterState,
    ask: &ImageAsk,
    filter: &(dyn Fn(&Model, Money) -> Option<String> + Send + Sync),
) -> Pool {
    let snap = &ctx.snap;
    let id = ctx.ex.identity.as_ref();
    let prefs = state.preferences(snap, id);
    let prefs = prefs.as_deref();
    let floor = prefs
        .and_then(|p| p.quality_floor)
        .unwrap_or(snap.routing.quality_floor);
    let prompt_tokens = ctx.ex.request().map_or(0, |r| r.estimated_input_tokens());
    let mut p = Pool {
        cands: Vec::new(),
        filtered: Vec::new(),
        unhealthy_only: true,
        cooling_only: true,
        retry_in: std::time::Duration::MAX,
    };
    for m in snap.catalog.models.iter().filter(|m| crate::router::visible(m, id)) {
        let cost = times(m.pricing.image.unwrap_or(Money::ZERO), ask.n);
        let why = if m.provider.kind == ProviderKind::Mock && !id.is_some_and(|i| i.test_key) {
            Some("simulated models answer test keys only".to_string())
        } else if cannot_draw(m).is_some() {
            Some("does not produce image output".to_string())
        } else if prefs.is_some_and(|p| {
            p.excluded_providers.iter().any(|x| **x == *m.provider.name) || p.excluded_models.iter().any(|x| *x == m.id)
        }) {
            Some("excluded by the workspace's preferences".to_string())
        } else if let Err(e) = permitted(m, id, &m.id) {
            Some(e.to_string())
        } else if prompt_tokens > m.context_window {
            Some(format!(
                "the prompt needs ~{prompt_tokens} tokens, the model takes {}",
                m.context_window
            ))
        } else if ask.budget.is_some_and(|b| cost > b) {
            Some(format!("estimated ${cost} is over the budget"))
        } else if quality_for(m, TASK) < floor {
            Some(format!(
                "quality {:.2} for {TASK} is under the floor {floor:.2}",
                quality_for(m, TASK)
            ))
        } else {
            filter(m, cost)
        };
        if let Some(w) = why {
            p.unhealthy_only = false;
            p.filtered.push((m.id.clone(), w));
            continue;
        }
        let caller = id.map(|i| state.health.caller(&i.key_id));
        if let Err(u) = state.health.available(&m.id, &m.provider.name, caller) {
            p.cooling_only &= matches!(u, Unavailable::CoolingDown { .. });
            p.retry_in = p.retry_in.min(u.retry_in());
            p.filtered.push((m.id.clone(), u.describe()));
            continue;
        }
        p.cands.push(Candidate {
            model: m.clone(),
            cost,
            needed_tokens: prompt_tokens,
        });
    }
    p
}

pub(super) fn route(
    ctx: &Ctx,
    state: &RouterState,
    ask: &ImageAsk,
    header_mode: Option<&str>,
    filter: &(dyn Fn(&Model, Money) -> Option<String> + Send + Sync),
    classification: Value,
) -> Result<(Route, Vec<Entry>), GatewayError> {
    let snap = &ctx.snap;
    let limit = if ctx.request.no_fallback {
        1
    } else {
        snap.server.max_attempts
    };
    let preferred = state
        .preferences(snap, ctx.ex.identity.as_ref())
        .map(|p| p.preferred_providers.clone())
        .unwrap_or_default();
    let Some(named) = crate::router::auto_mode(&ask.model) else {
        let route = pinned(ctx, state, ask, limit, classification)?;
        // What else the caller could have used, for the comparison (health and filters as `auto`).
        let p = pool(ctx, state, ask, filter);
        let weights = snap.routing.weights(snap.routing.default_mode);
        let ranked = score::rank(&p.cands, TASK, weights, &state.health, &preferred);
        return Ok((route, entries(&ranked)));
    };
    let mode = mode(ctx, state, header_mode, named, ask.mode.as_deref())?;
    let p = pool(ctx, state, ask, filter);
    if p.cands.is_empty() {
        return Err(if p.unhealthy_only && !p.filtered.is_empty() {
            GatewayError::ModelsUnavailable {
                message: p
                    .filtered
                    .iter()
                    .map(|(m, w)| format!("{m}: {w}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                retry_after: p.retry_in.as_secs().max(1),
                rate_limited: p.cooling_only,
            }
        } else {
            let reasons: Vec<(String, String)> = p.filtered;
            let over_budget = ask.budget.is_some() && reasons.iter().any(|(_, w)| w.contains("over the budget"));
            let by_filter = reasons
                .iter()
                .any(|(_, w)| w.starts_with("filter.") || w.starts_with("maxCost"));
            GatewayError::NoEligibleModel {
                reasons,
                param: if by_filter {
                    "filter"
                } else if over_budget {
                    "budget_dollars"
                } else {
                    "model"
                },
            }
        });
    }
    let weights = snap.routing.weights(mode);
    let ranked = score::rank(&p.cands, TASK, weights, &state.health, &preferred);
    let reason = format!(
        "{TASK}; mode {}; {}",
        mode.as_str(),
        match ranked.get(1) {
            Some(second) => format!(
                "chose {} by {}",
                ranked[0].model.id,
                deciding_term(weights, &ranked[0], second)
            ),
            None => format!("{} is the only eligible image model", ranked[0].model.id),
        }
    );
    let scored = ranked.iter().take(SCORED_SHOWN).map(scored_json).collect();
    let compared = entries(&ranked);
    let estimated_cost = ranked[0].cost;
    let candidates = crate::endpoints::compose::chain(ranked, limit);
    Ok((
        Route {
            candidates,
            mode: mode.as_str(),
            reason,
            estimated_cost,
            classification: Some(crate::router::RouteClass::Stated(classification)),
            scored,
            filtered: p.filtered,
            ..Default::default()
        },
        compared,
    ))
}

/// A named image model, then the caller's `fallback` chain (image models only), healthy ones first.
fn pinned(
    ctx: &Ctx,
    state: &RouterState,
    ask: &ImageAsk,
    limit: usize,
    classification: Value,
) -> Result<Route, GatewayError> {
    let snap = &ctx.snap;
    let id = ctx.ex.identity.as_ref();
    let usable = |name: &str, param: &'static str| -> Result<Arc<Model>, GatewayError> {
        let m = snap.catalog.get(name).ok_or_else(|| GatewayError::UnknownModel {
            model: name.to_string(),
            param,
            closest: String::new(),
        })?;
        permitted(m, id, name)?;
        Ok(m.clone())
    };
    let first = usable(&ask.model, "model")?;
    if let Some(reason) = cannot_draw(&first) {
        return Err(GatewayError::Unsupported {
            model: first.id.clone(),
            reason,
        });
    }
    let mut reason = format!("model {} pinned by the request", first.id);
    let mut filtered = Vec::new();
    let mut candidates = vec![first];
    for name in &ask.fallback {
        let m = usable(name, "fallback")?;
        if candidates.iter().any(|c| c.id == m.id) {
            continue;
        }
        match cannot_draw(&m) {
            Some(why) => {
                reason.push_str(&format!("; fallback {} skipped: {why}", m.id));
                filtered.push((m.id.clone(), why));
            }
            None => candidates.push(m),
        }
    }
    let mut unavailable = Vec::new();
    let caller = id.map(|i| state.health.caller(&i.key_id));
    candidates.retain(|m| match state.health.available(&m.id, &m.provider.name, caller) {
        Ok(()) => true,
        Err(u) => {
            unavailable.push((m.id.clone(), u));
            false
        }
    });
    if candidates.is_empty() {
        return Err(GatewayError::ModelsUnavailable {
            message: unavailable
                .iter()
                .map(|(m, u)| format!("{m}: {}", u.describe()))
                .collect::<Vec<_>>()
                .join("; "),
            retry_after: unavailable
                .iter()
                .map(|(_, u)| u.retry_in())
                .min()
                .unwrap_or_default()
                .as_secs()
                .max(1),
            rate_limited: unavailable
                .iter()
                .all(|(_, u)| matches!(u, Unavailable::CoolingDown { .. })),
        });
    }
    for (m, u) in unavailable {
        reason.push_str(&format!("; {m} skipped: {}", u.describe()));
        filtered.push((m, u.describe()));
    }
    candidates.truncate(limit);
    let estimated_cost = times(candidates[0].pricing.image.unwrap_or(Money::ZERO), ask.n);
    Ok(Route {
        candidates,
        mode: "pinned",
        reason,
        estimated_cost,
        classification: Some(crate::router::RouteClass::Stated(classification)),
        filtered,
        ..Default::default()
    })
}
