//! `model: "auto"`: classify the prompt, keep the models that can serve it (modality, scopes,
//! capabilities, what the provider's API can carry, context, budget, quality floor, preferences,
//! health), score them in the chosen mode, and order the chain: the session's model first when it is
//! still eligible, else an A/B arm when a split applies, then the ranking with consecutive candidates
//! on different providers so that a fallback does not hit the same outage.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use switchyard_sdk::ir::ChatRequest;

use super::classify::{Classification, Task};
use super::score::{adjust, deciding_term, quality_for, rank, scored_json, Candidate, Scored};
use super::sessions::SessionKey;
use super::{estimate_cost_for, ineligibility, permitted_with, Route, RouteInput};
use crate::config::routing::{Mode, Policy, Weights};
use crate::config::{Model, ProviderKind};
use crate::error::GatewayError;

/// How many scored models the `router` metadata lists.
const SCORED_SHOWN: usize = 5;

/// The mode: `auto:<mode>`, then the request's mode hint (`router_mode`/`optimization`, or the
/// `x-jt-route` header, which the proxy copies there before the phases run so that a rule's
/// `set_mode` can override the client), then the header when nothing copied it, then the matching
/// policy, the workspace's default, the gateway's default.
fn mode(
    input: &RouteInput,
    req: &ChatRequest,
    named: Option<&str>,
    policy: Option<&Policy>,
) -> Result<Mode, GatewayError> {
    let hint = req.routing.mode.as_deref();
    let hint_param = if hint.is_some() && hint == input.header_mode {
        "x-jt-route"
    } else {
        "router_mode"
    };
    let explicit = [(named, "model"), (hint, hint_param), (input.header_mode, "x-jt-route")];
    for (value, param) in explicit {
        if let Some(v) = value {
            return Mode::parse(v).ok_or_else(|| {
                GatewayError::invalid(
                    param,
                    format!("unknown routing mode {v:?}; use quality, cost, latency or balanced"),
                )
            });
        }
    }
    let routing = &input.snap.routing;
    let ws = input.state.preferences(input.snap, input.ex.identity.as_ref());
    Ok(policy
        .and_then(|p| p.mode)
        .or(ws.and_then(|w| w.default_optimization))
        .unwrap_or(routing.default_mode))
}

/// Why the request's routing hints (a rule's `pin_provider` or `exclude_providers`) leave `m` out.
pub fn hinted_out(m: &Model, hints: &switchyard_sdk::ir::RoutingHints) -> Option<String> {
    if hints.provider.as_deref().is_some_and(|p| p != &*m.provider.name) {
        return Some(format!(
            "a rule pinned provider {}",
            hints.provider.as_deref().unwrap_or("")
        ));
    }
    if hints.exclude_providers.iter().any(|x| **x == *m.provider.name) {
        return Some(format!("a rule excluded provider {}", m.provider.name));
    }
    None
}

/// Whether `m` offers the output the task asks for (text, image, speech, ...).
fn offers(m: &Model, task: Task) -> bool {
    match task.modality() {
        "image" => m.has("image_generation"),
        "audio" => m.has("speech") || m.has("audio_output"),
        "music" => m.has("music"),
        "video" => m.has("video"),
        _ => m.has("chat") || m.capabilities.is_empty(),
    }
}

fn matches_pattern(m: &Model, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => m.id.starts_with(prefix),
        None => m.id == *p || m.aliases.iter().any(|a| a == p),
    })
}

/// Stable hash of a stickiness key, for drawing an A/B arm.
fn draw(key: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// What `auto` would choose from, before stickiness, splits and the chain order: the classification,
/// the mode, the matching policy, the eligible models best first (with their scores) and the models
/// left out with why. Suggestions and price comparisons use it without touching an upstream.
pub struct Ranking<'a> {
    pub class: Classification,
    pub mode: Mode,
    pub policy: Option<&'a Policy>,
    pub weights: Weights,
    pub ranked: Vec<Scored>,
    pub filtered: Vec<(String, String)>,
    pub input_tokens: u64,
}

/// The request's classification: the one the exchange already holds for this request's messages
/// (computed once, shared with the phases), else a fresh one.
fn classification_for(input: &RouteInput, req: &ChatRequest) -> Classification {
    if let (Some(c), Some(r)) = (input.ex.classification_if_known(), input.ex.request()) {
        if std::ptr::eq(r, req) || r.messages == req.messages {
            return Classification::from_sdk(c);
        }
    }
    Classification::from_sdk(&input.snap.classifier.classify(req))
}

pub fn rank_models<'a>(
    input: &RouteInput<'a>,
    req: &ChatRequest,
    named_mode: Option<&str>,
) -> Result<Ranking<'a>, GatewayError> {
    let (snap, ex) = (input.snap, input.ex);
    let routing = &snap.routing;
    let id = ex.identity.as_ref();
    let policy = routing.policy_for(
        id.map(|i| &*i.key_name),
        id.map(|i| &*i.workspace),
        &req.model,
        &req.metadata,
    );
    let mode = mode(input, req, named_mode, policy)?;
    let mut class = classification_for(input, req);
    if let Some(t) = req.routing.task.as_deref().and_then(Task::parse) {
        class.task = t;
        class.confidence = 1.0;
        class.reasons = vec!["task given by the request"];
    }
    let prefs = input.state.preferences(snap, id);
    let prefs = prefs.as_deref();
    if req.routing.task.is_none() && class.confidence < crate::config::routing::DEFAULT_TASK_BELOW {
        if let Some(t) = prefs.and_then(|p| p.default_task.as_deref()).and_then(Task::parse) {
            class.task = t;
            class.reasons = vec!["the workspace's default task (the classifier was unsure)"];
        }
    }
    let task = class.task;
    // A rule's floor (in the request's hints) is the operator's latest word; then the policy's,
    // the workspace's, the gateway's.
    let floor = req
        .routing
        .quality_floor
        .or(policy.and_then(|p| p.quality_floor))
        .or(prefs.and_then(|p| p.quality_floor))
        .unwrap_or(routing.quality_floor);
    let input_tokens = u64::from(class.tokens).max(req.estimated_input_tokens());
    let health = &input.state.health;
    let caller = id.map(|i| health.caller(&i.key_id));

    let mut filtered: Vec<(String, String)> = Vec::new();
    let mut cands: Vec<Candidate> = Vec::new();
    let mut unavailable_only = true;
    let mut cooling_only = true;
    let mut retry_in = std::time::Duration::MAX;
    let pool: Vec<&Arc<Model>> = match policy.filter(|p| !p.chain.is_empty()) {
        Some(p) => p.chain.iter().filter_map(|c| snap.catalog.get(c)).collect(),
        None => snap.catalog.models.iter().collect(),
    };
    // Models the caller may not see are not candidates, and are not listed as left out either.
    for m in pool.into_iter().filter(|m| super::visible(m, id)) {
        let out_tokens = req
            .max_tokens
            .map_or(super::DEFAULT_OUTPUT_ESTIMATE, u64::from)
            .min(m.max_output);
        let cost = estimate_cost_for(m, input_tokens, req.max_tokens);
        let why: Option<String> = if m.provider.kind == ProviderKind::Mock && !id.is_some_and(|i| i.test_key) {
            // The simulator's filler is not an answer: `auto` uses it for test keys only.
            Some("simulated models answer test keys only".into())
        } else if !offers(m, task) {
            Some(format!("does not produce {} output", task.modality()))
        } else if policy.is_some_and(|p| !p.models.is_empty() && !matches_pattern(m, &p.models)) {
            Some("outside the policy's models".into())
        } else if prefs.is_some_and(|p| {
            p.excluded_providers.iter().any(|x| **x == *m.provider.name) || p.excluded_models.iter().any(|x| *x == m.id)
        }) {
            Some("excluded by the workspace's preferences".into())
        } else if let Some(why) = hinted_out(m, &req.routing) {
            Some(why)
        } else if let Err(e) = permitted_with(m, id, &m.id, &ex.byok_providers) {
            Some(e.to_string())
        } else if let Some(w) = ineligibility(m, req, input.schema) {
            Some(w)
        } else if input_tokens + out_tokens > m.context_window {
            Some(format!(
                "needs ~{} tokens, context window is {}",
                input_tokens + out_tokens,
                m.context_window
            ))
        } else if req.routing.budget.is_some_and(|b| cost > b) {
            Some(format!("estimated ${cost} is over the budget"))
        } else if quality_for(m, task.as_str()) < floor {
            Some(format!(
                "quality {:.2} for {} is under the floor {floor:.2}",
                quality_for(m, task.as_str()),
                task.as_str()
            ))
        } else {
            None
        };
        if let Some(w) = why {
            unavailable_only = false;
            filtered.push((m.id.clone(), w));
            continue;
        }
        if let Err(u) = health.available(&m.id, &m.provider.name, caller) {
            cooling_only &= matches!(u, super::health::Unavailable::CoolingDown { .. });
            retry_in = retry_in.min(u.retry_in());
            filtered.push((m.id.clone(), u.describe()));
            continue;
        }
        cands.push(Candidate {
            model: m.clone(),
            cost,
            needed_tokens: input_tokens + out_tokens,
        });
    }
    if cands.is_empty() {
        return Err(if unavailable_only && !filtered.is_empty() {
            GatewayError::ModelsUnavailable {
                message: filtered
                    .iter()
                    .map(|(m, w)| format!("{m}: {w}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                retry_after: retry_in.as_secs().max(1),
                rate_limited: cooling_only,
            }
        } else {
            let budget = req.routing.budget.is_some() && filtered.iter().any(|(_, w)| w.contains("over the budget"));
            GatewayError::NoEligibleModel {
                reasons: filtered,
                param: if budget { "budget_dollars" } else { "model" },
            }
        });
    }

    let weights = adjust(routing.weights(mode), f64::from(class.strong), mode);
    let preferred = prefs.map(|p| p.preferred_providers.as_slice()).unwrap_or(&[]);
    let mut ranked: Vec<Scored> = rank(&cands, task.as_str(), weights, health, preferred);
    if !ex.byok_providers.is_empty() {
        // Between equal scores, a provider whose key the caller brought goes first (stable: the
        // cheaper-then-id order stays within each group).
        let byok = |s: &Scored| ex.byok_providers.contains(&s.model.provider.name);
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(byok(b).cmp(&byok(a))));
    }
    if !req.tool_forms.builtin.is_empty() && policy.is_none_or(|p| p.chain.is_empty()) {
        // Built-in tools (web_search, ...) run only at a provider that takes the Responses body as
        // it is: such a model goes first when one is eligible (a stable sort keeps the scores' order).
        ranked.sort_by_key(|s| !crate::translate::passes_responses(input.schema, &s.model));
    }
    if let Some(p) = policy.filter(|p| !p.chain.is_empty()) {
        // A configured chain keeps its order; the scores only explain it.
        ranked.sort_by_key(|s| {
            p.chain
                .iter()
                .position(|c| snap.catalog.get(c).is_some_and(|m| m.id == s.model.id))
                .unwrap_or(usize::MAX)
        });
    }
    Ok(Ranking {
        class,
        mode,
        policy,
        weights,
        ranked,
        filtered,
        input_tokens,
    })
}

pub fn resolve(input: &RouteInput, req: &ChatRequest, named_mode: Option<&str>) -> Result<Route, GatewayError> {
    let (snap, ex) = (input.snap, input.ex);
    let id = ex.identity.as_ref();
    let Ranking {
        class,
        mode,
        policy,
        weights,
        mut ranked,
        filtered,
        input_tokens,
    } = rank_models(input, req, named_mode)?;
    let task = class.task;
    let mut reason = format!(
        "{} prompt ({}, confidence {:.2}); mode {}",
        task.as_str(),
        class.complexity_tier.as_str(),
        class.confidence,
        mode.as_str()
    );
    if let Some(p) = policy {
        reason.push_str(&format!("; policy {}", p.name));
    }
    let mut sticky = false;
    let mut split_arm = None;
    let sessions = &input.state.sessions;
    let session = req.routing.session_id.as_deref().zip(id);
    if let Some(tag) = session.and_then(|(sid, id)| sessions.get(SessionKey::new(id, sid))) {
        if let Some(pos) = ranked.iter().position(|s| sessions.tag(&s.model.id) == tag) {
            let s = ranked.remove(pos);
            // The id itself stays out of the reason (and so out of the log): it is the client's text.
            reason.push_str(&format!("; kept on {} for its session", s.model.id));
            ranked.insert(0, s);
            sticky = true;
        }
    }
    if let Some(p) = policy.filter(|p| !p.split.is_empty() && !sticky) {
        let key = req
            .routing
            .session_id
            .clone()
            .or_else(|| id.map(|i| i.key_name.to_string()))
            .unwrap_or_else(|| ex.request_id.clone());
        let total: u64 = p.split.iter().map(|a| u64::from(a.weight)).sum();
        let mut pick = draw(&key) % total.max(1);
        let arm = p.split.iter().find(|a| {
            let hit = pick < u64::from(a.weight);
            pick = pick.saturating_sub(u64::from(a.weight));
            hit
        });
        if let Some(arm) = arm {
            if let Some(pos) = ranked
                .iter()
                .position(|s| snap.catalog.get(&arm.model).is_some_and(|m| m.id == s.model.id))
            {
                let s = ranked.remove(pos);
                ranked.insert(0, s);
                split_arm = Some(arm.model.clone());
                reason.push_str(&format!("; A/B split {} drew {}", p.name, arm.model));
            }
        }
    }
    if !sticky && split_arm.is_none() && policy.is_none_or(|p| p.chain.is_empty()) {
        reason.push_str(&match ranked.get(1) {
            Some(second) => format!(
                "; chose {} by {}",
                ranked[0].model.id,
                deciding_term(weights, &ranked[0], second)
            ),
            None => format!("; {} is the only eligible model", ranked[0].model.id),
        });
    }
    let scored = ranked.iter().take(SCORED_SHOWN).map(scored_json).collect();
    // A configured chain is the operator's order; a ranking is diversified across providers.
    let chain = if policy.is_some_and(|p| !p.chain.is_empty()) {
        ranked
    } else {
        diversify(ranked)
    };
    let limit = if input.no_fallback { 1 } else { snap.server.max_attempts };
    let candidates: Vec<Arc<Model>> = chain.into_iter().take(limit).map(|s| s.model).collect();
    let estimated_cost = estimate_cost_for(&candidates[0], input_tokens, req.max_tokens);
    Ok(Route {
        candidates,
        mode: mode.as_str(),
        reason,
        estimated_cost,
        classification: Some(super::RouteClass::Classified(class)),
        scored,
        filtered,
        policy: policy.map(|p| p.name.clone()),
        split_arm,
        sticky,
    })
}

/// Keep the first; after it, each next candidate is the best remaining one on a provider other than
/// the previous candidate's, when there is one.
pub fn diversify(mut ranked: Vec<Scored>) -> Vec<Scored> {
    let mut out = Vec::with_capacity(ranked.len());
    while !ranked.is_empty() {
        let pos = out
            .last()
            .and_then(|prev: &Scored| {
                ranked
                    .iter()
                    .position(|s| s.model.provider.name != prev.model.provider.name)
            })
            .unwrap_or(0);
        out.push(ranked.remove(pos));
    }
    out
}
