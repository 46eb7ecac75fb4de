//! The request log's row for a finished request, built from its context with what it already holds:
//! `Arc`s are cloned, the route's reason and chain are moved out (the request is over), numbers are
//! copied. The fallback chain's JSON is written on the store's thread, not here. Prompt and answer
//! text are kept only for a workspace whose `content_mode_default` is `full`.

use std::time::Duration;

use switchyard_sdk::ir::Part;

use super::ctx::Ctx;
use crate::config::routing::ContentMode;
use crate::router::{RouteClass, RouterState};
use crate::store::log::{AttemptRow, LogRow};

/// Prompt or answer text kept per row at most.
const TEXT_MAX: usize = 64 * 1024;

fn clip(mut s: String) -> String {
    if s.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The request's messages as `role: text` lines.
fn prompt_text(ctx: &Ctx) -> Option<String> {
    let req = ctx.ex.request()?;
    let mut out = String::new();
    for m in &req.messages {
        for p in &m.content {
            if let Part::Text(t) = p {
                out.push_str(m.role.as_str());
                out.push_str(": ");
                out.push_str(t);
                out.push('\n');
            }
        }
        if out.len() > TEXT_MAX {
            break;
        }
    }
    Some(clip(out))
}

pub fn row(
    ctx: &mut Ctx,
    router: &RouterState,
    total: Duration,
    ttft_ms: Option<f64>,
    firewall: Option<String>,
    rules: Option<String>,
) -> LogRow {
    let now = crate::store::now_ms();
    let at_ms = now - i64::try_from(total.as_millis()).unwrap_or(0);
    let id = ctx.ex.identity.as_ref();
    let route = ctx.decision.route.take();
    let class = ctx.ex.classification_if_known().cloned();
    let routed = route.as_ref().and_then(|r| r.classification.as_ref());
    let task = class
        .as_ref()
        .map(|c| c.task)
        .or_else(|| routed.and_then(RouteClass::task));
    let tier = class
        .as_ref()
        .map(|c| c.complexity_tier)
        .or_else(|| routed.and_then(RouteClass::tier));
    let attempts: Vec<AttemptRow> = ctx
        .attempts
        .iter_mut()
        .map(|a| AttemptRow {
            model: a.model.clone(),
            status: a.status,
            error: a.error.take(),
            latency_ms: a.duration.or(a.headers_after).map_or(0.0, |d| d.as_secs_f64() * 1e3),
        })
        .collect();
    let cache = match ctx.decision.answered_by {
        Some("cache") => Some("hit"),
        _ => ctx
            .ex
            .response_headers
            .iter()
            .find(|(k, _)| *k == "x-jt-cache")
            .map(|(_, v)| if v == "hit" { "hit" } else { "miss" }),
    };
    let (cost, cost_basis) = match (ctx.answer.cost, route.as_ref()) {
        (Some(c), _) => (Some(c), "actual"),
        (None, Some(r)) if !attempts.is_empty() && ctx.answer.status < 400 => (Some(r.estimated_cost), "estimate"),
        _ => (None, "none"),
    };
    let (prompt, answer) = if router.content_mode(&ctx.snap, id) == ContentMode::Full {
        (prompt_text(ctx), ctx.answer.collected.as_ref().map(|a| clip(a.text())))
    } else {
        (None, None)
    };
    let (mode, reason, policy, ab_arm) = match route {
        Some(r) => (Some(r.mode), Some(r.reason), r.policy, r.split_arm),
        None => (None, None, None, None),
    };
    LogRow {
        id: std::mem::take(&mut ctx.ex.request_id),
        at_ms,
        key_name: id.map(|i| i.key_name.clone()),
        workspace: id.map(|i| i.workspace.clone()),
        endpoint: ctx.ex.endpoint.as_str(),
        client_schema: ctx.ex.client_schema,
        requested_model: ctx.ex.request().map(|r| r.model.clone()),
        mode,
        task,
        tier,
        model: ctx.current_model().cloned(),
        reason: reason.filter(|r| !r.is_empty()),
        policy,
        ab_arm,
        attempts,
        status: ctx.answer.status,
        error_code: ctx.answer.error.as_ref().map(|e| e.code()),
        latency_ms: total.as_secs_f64() * 1e3,
        ttft_ms: if ctx.streaming() { ttft_ms } else { None },
        usage: ctx.answer.usage.unwrap_or_default(),
        cost,
        cost_basis,
        cache,
        answered_by: ctx.decision.answered_by,
        firewall,
        rules,
        stream: ctx.streaming(),
        stream_cut: ctx.answer.truncated,
        prompt,
        answer,
    }
}
