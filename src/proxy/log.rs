//! The one place that records a finished request: metrics and one structured access-log line (JSON
//! through `tracing`). No secrets and no prompt text: the key appears by its configured name only.

use switchyard_sdk::{Endpoint, Outcome as PhaseOutcome};

use super::ctx::Ctx;
use crate::metrics::m;
use crate::router::health::Outcome;
use crate::router::RouterState;

/// How attempt `i` ended, for the health tracker.
fn health_outcome(ctx: &Ctx, i: usize) -> Outcome {
    let a = &ctx.attempts[i];
    let last = i + 1 == ctx.attempts.len();
    let retry_after = a.retry_after.map(std::time::Duration::from_secs);
    match (a.status, &a.error) {
        (Some(429 | 500..=599), _) => Outcome::Failure { retry_after },
        (Some(s), _) if (400..500).contains(&s) => Outcome::Neutral,
        (Some(_), _) if last && ctx.truncated => Outcome::Failure { retry_after: None },
        (Some(_), None) if last && ctx.status == 499 => Outcome::Neutral,
        (Some(_), None) => {
            let ttft = match (ctx.first_byte, ctx.ex.request.as_ref().is_some_and(|r| r.stream)) {
                (Some(t), true) => t.saturating_duration_since(a.started),
                _ => a.headers_after.unwrap_or_default(),
            };
            let tps = match (ctx.usage, a.duration) {
                (Some(u), Some(d)) if d > ttft && u.output_tokens > 0 => {
                    Some(u.output_tokens as f64 / (d - ttft).as_secs_f64())
                }
                _ => None,
            };
            Outcome::Success {
                ttft,
                tokens_per_sec: tps,
            }
        }
        (Some(_), Some(_)) | (None, _) if last && ctx.status == 499 => Outcome::Neutral,
        (Some(_), Some(_)) | (None, _) => Outcome::Failure { retry_after: None },
    }
}

/// Teach the health tracker, and keep a session on the model that served it.
fn learn(ctx: &Ctx, router: &RouterState) {
    let r = &ctx.snap.routing;
    for (i, a) in ctx.attempts.iter().enumerate() {
        router.health.record(
            &a.model.id,
            &a.model.provider.name,
            health_outcome(ctx, i),
            r.breaker_failures,
            r.breaker_open,
        );
    }
    let auto = ctx.route.as_ref().is_some_and(|route| route.mode != "pinned");
    let session = ctx.ex.request.as_ref().and_then(|q| q.routing.session_id.as_deref());
    if let (true, Some(sid), Some(id), Some(m), true) = (
        auto,
        session,
        ctx.ex.identity.as_ref(),
        ctx.current_model(),
        (200..300).contains(&ctx.status),
    ) {
        router.sessions.put(&id.workspace, sid, &m.id, r.session_ttl);
    }
}

pub fn record(ctx: &Ctx, router: &RouterState) {
    learn(ctx, router);
    let outcome = PhaseOutcome {
        status: ctx.status,
        proxied: !ctx.attempts.is_empty(),
        usage: ctx.usage,
        cost: ctx.cost,
    };
    for p in ctx.snap.phases.iter() {
        p.on_complete(&ctx.ex, &outcome);
    }
    let total = ctx.started.elapsed();
    let upstream = ctx.upstream_time();
    let overhead = total.saturating_sub(upstream);
    let endpoint = ctx.ex.endpoint.as_str();
    let model = ctx.current_model();
    let model_id = model.map_or("none", |m| m.id.as_str());
    let provider = model.map_or("none", |m| &*m.provider.name);
    let status = ctx.status.to_string();
    let metrics = m();
    metrics
        .requests
        .with_label_values(&[endpoint, model_id, provider, &status])
        .inc();
    metrics
        .request_duration
        .with_label_values(&[endpoint])
        .observe(total.as_secs_f64());
    if ctx.ex.endpoint.is_inference() {
        metrics.overhead.observe(overhead.as_secs_f64());
    }
    for a in &ctx.attempts {
        let outcome = match (a.status, &a.error) {
            (Some(s), None) if s < 400 => "ok",
            (Some(_), _) => "http_error",
            (None, _) => "failed",
        };
        metrics
            .attempts
            .with_label_values(&[&a.model.provider.name, outcome])
            .inc();
    }
    let stream = ctx.ex.request.as_ref().is_some_and(|r| r.stream);
    let ttft = ctx.first_byte.map(|t| t.duration_since(ctx.started));
    if let (true, Some(t), Some(m)) = (stream, ttft, model) {
        metrics
            .ttft
            .with_label_values(&[&*m.provider.name, m.id.as_str()])
            .observe(t.as_secs_f64());
    }
    if let Some(u) = ctx.usage {
        for (kind, n) in [
            ("input", u.input_tokens),
            ("cached_input", u.cached_input_tokens),
            ("output", u.output_tokens),
            ("reasoning", u.reasoning_tokens),
        ] {
            if n > 0 {
                metrics.tokens.with_label_values(&[model_id, kind]).inc_by(n);
            }
        }
    }
    if let Some(c) = ctx.cost {
        metrics
            .spend_nanodollars
            .with_label_values(&[model_id])
            .inc_by(c.as_nanodollars());
    }
    if !ctx.snap.server.access_log || ctx.ex.endpoint == Endpoint::Health {
        return;
    }
    let usage = ctx.usage.unwrap_or_default();
    let id = ctx.ex.identity.as_ref();
    let route = ctx.route.as_ref();
    let auto = route.filter(|r| r.mode != "pinned");
    tracing::info!(
        target: "access",
        request_id = ctx.request_id(),
        key = id.map(|i| &*i.key_name),
        workspace = id.map(|i| &*i.workspace),
        endpoint,
        requested_model = ctx.ex.request.as_ref().map(|r| r.model.as_str()),
        model = model.map(|m| m.id.as_str()),
        provider = model.map(|m| &*m.provider.name),
        status = ctx.status,
        stream,
        route = route.map(|r| r.mode),
        reason = auto.map(|r| r.reason.as_str()),
        policy = route.and_then(|r| r.policy.as_deref()),
        split_arm = route.and_then(|r| r.split_arm.as_deref()),
        session_sticky = auto.map(|r| r.sticky),
        attempts = ctx.attempts.len(),
        attempt_log = attempt_log(ctx),
        fallback = ctx.attempts.len() > 1,
        latency_ms = total.as_secs_f64() * 1e3,
        upstream_ms = upstream.as_secs_f64() * 1e3,
        ttft_ms = ttft.map(|t| t.as_secs_f64() * 1e3),
        overhead_us = overhead.as_micros() as u64,
        input_tokens = usage.input_tokens,
        cached_input_tokens = usage.cached_input_tokens,
        output_tokens = usage.output_tokens,
        reasoning_tokens = usage.reasoning_tokens,
        cost_usd = ctx.cost.map(|c| c.to_string()),
        truncated = ctx.truncated,
        error_code = ctx.error.as_ref().map(|e| e.code()),
        "request"
    );
}

/// Each attempt as `model status|error latency`, `;`-separated, when there was more than one or the
/// one failed (a single good attempt is already the line's model, status and upstream time).
fn attempt_log(ctx: &Ctx) -> Option<String> {
    let single_ok = ctx.attempts.len() == 1 && ctx.attempts[0].error.is_none();
    if ctx.attempts.is_empty() || single_ok {
        return None;
    }
    let parts: Vec<String> = ctx
        .attempts
        .iter()
        .map(|a| {
            let outcome = match (&a.error, a.status) {
                (Some(e), _) => e.clone(),
                (None, Some(s)) => s.to_string(),
                (None, None) => "no answer".to_string(),
            };
            let ms = a.duration.or(a.headers_after).map_or(0.0, |d| d.as_secs_f64() * 1e3);
            format!("{} {outcome} {ms:.1}ms", a.model.id)
        })
        .collect();
    Some(parts.join("; "))
}
