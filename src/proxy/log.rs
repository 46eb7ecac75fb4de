//! The one place that records a finished request: metrics, one structured access-log line (JSON
//! through `tracing`), the request log's row (handed to the store's queue: one channel send, never a
//! wait), and the end of an idempotent request (its answer kept, its key freed). No secrets, and no
//! prompt text unless the workspace's `content_mode_default` is `full` (then in the row only): the key
//! appears by its configured name only.
//! Lines of failed authentication are sampled (a client can make tens of thousands a second):
//! [`AUTH_FAILURE_LINES_PER_SECOND`] are written, the rest counted in
//! `access_log_sampled_out_total`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use switchyard_sdk::{Endpoint, Outcome as PhaseOutcome};

use super::attempt;
use super::ctx::Ctx;
use crate::metrics::m;
use crate::phases::Pipeline;
use crate::router::RouterState;
use crate::store::LogSink;

/// Access-log lines of failed authentication (401, and the 429 of a throttled address) written per
/// second at most.
pub const AUTH_FAILURE_LINES_PER_SECOND: u32 = 10;

/// How many sampled lines went out in the current second.
struct Sampler {
    epoch: Instant,
    second: AtomicU64,
    count: AtomicU32,
}

static AUTH_FAILURES: LazyLock<Sampler> = LazyLock::new(|| Sampler {
    epoch: Instant::now(),
    second: AtomicU64::new(0),
    count: AtomicU32::new(0),
});

impl Sampler {
    fn allow(&self, per_second: u32) -> bool {
        let now = self.epoch.elapsed().as_secs();
        let seen = self.second.load(Ordering::Relaxed);
        if seen != now
            && self
                .second
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.count.store(0, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed) < per_second
    }
}

/// Whether this request's line is of a sampled kind, and sampled out.
fn sampled_out(ctx: &Ctx) -> bool {
    let auth_failure =
        ctx.answer.status == 401 || ctx.answer.error.as_ref().is_some_and(|e| e.code() == "auth_throttled");
    if !auth_failure || AUTH_FAILURES.allow(AUTH_FAILURE_LINES_PER_SECOND) {
        return false;
    }
    m().log_lines_sampled_out
        .with_label_values(&[if ctx.answer.status == 401 { "401" } else { "429" }])
        .inc();
    true
}

pub fn record(ctx: &mut Ctx, router: &RouterState, sink: Option<&dyn LogSink>) {
    if let Some(claim) = ctx.decision.idempotency.take() {
        let complete = ctx.answer.error.is_none() && !ctx.answer.truncated;
        claim.finish(complete);
    }
    attempt::learn(ctx, router);
    let outcome = PhaseOutcome {
        status: ctx.answer.status,
        proxied: !ctx.attempts.is_empty(),
        answered_by: ctx.decision.answered_by,
        model: ctx.current_model().map(|m| m.id.as_str()),
        usage: ctx.answer.usage,
        cost: ctx.answer.cost,
        answer: ctx.answer.collected.as_ref(),
        router: ctx.answer.router.as_deref(),
    };
    Pipeline::new(&ctx.snap.phases).complete(&ctx.ex, &outcome);
    let total = ctx.started.elapsed();
    let upstream = ctx.upstream_time();
    let overhead = total.saturating_sub(upstream);
    let endpoint = ctx.ex.endpoint.as_str();
    let model = ctx.current_model();
    let model_id = model.map_or("none", |m| m.id.as_str());
    let provider = model.map_or("none", |m| &*m.provider.name);
    let status = ctx.answer.status.to_string();
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
    let stream = ctx.streaming();
    let ttft = ctx.answer.first_byte.map(|t| t.duration_since(ctx.started));
    if let (true, Some(t), Some(m)) = (stream, ttft, model) {
        metrics
            .ttft
            .with_label_values(&[&*m.provider.name, m.id.as_str()])
            .observe(t.as_secs_f64());
    }
    if let Some(u) = ctx.answer.usage {
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
    if let Some(c) = ctx.answer.cost {
        metrics
            .spend_nanodollars
            .with_label_values(&[model_id])
            .inc_by(c.as_nanodollars());
    }
    for f in &ctx.ex.firewall {
        metrics
            .firewall_actions
            .with_label_values(&[&*f.policy, f.action])
            .inc();
    }
    if let Some(phase) = ctx.decision.answered_by {
        metrics.phase_answers.with_label_values(&[phase]).inc();
    }
    if let Some(code) = ctx.answer.error.as_ref().map(|e| e.code()).filter(|c| {
        matches!(
            *c,
            "rate_limited" | "concurrency_limited" | "cost_cap_reached" | "insufficient_balance" | "byok_not_allowed"
        )
    }) {
        metrics.limits_refused.with_label_values(&[code]).inc();
    }
    if ctx.ex.byok {
        metrics.byok_requests.with_label_values(&[provider]).inc();
    }
    let (firewall, rules) = (firewall_log(ctx), rules_log(ctx));
    let ttft_ms = ttft.map(|t| t.as_secs_f64() * 1e3);
    if ctx.snap.server.access_log && ctx.ex.endpoint != Endpoint::Health && !sampled_out(ctx) {
        access_line(ctx, total, upstream, overhead, ttft_ms, stream, &firewall, &rules);
    }
    if let Some(sink) = sink.filter(|_| ctx.ex.endpoint != Endpoint::Health) {
        let row = super::log_row::row(ctx, router, total, ttft_ms, firewall, rules);
        sink.record(row);
    }
}

/// The access-log line.
#[allow(clippy::too_many_arguments)]
fn access_line(
    ctx: &Ctx,
    total: std::time::Duration,
    upstream: std::time::Duration,
    overhead: std::time::Duration,
    ttft_ms: Option<f64>,
    stream: bool,
    firewall: &Option<String>,
    rules: &Option<String>,
) {
    let endpoint = ctx.ex.endpoint.as_str();
    let model = ctx.current_model();
    let usage = ctx.answer.usage.unwrap_or_default();
    let id = ctx.ex.identity.as_ref();
    let route = ctx.decision.route.as_ref();
    let auto = route.filter(|r| r.mode != "pinned");
    tracing::info!(
        target: "access",
        request_id = ctx.request_id(),
        key = id.map(|i| &*i.key_name),
        workspace = id.map(|i| &*i.workspace),
        endpoint,
        requested_model = ctx.ex.request().map(|r| r.model.as_str()),
        model = model.map(|m| m.id.as_str()),
        provider = model.map(|m| &*m.provider.name),
        status = ctx.answer.status,
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
        ttft_ms,
        overhead_us = overhead.as_micros() as u64,
        input_tokens = usage.input_tokens,
        cached_input_tokens = usage.cached_input_tokens,
        output_tokens = usage.output_tokens,
        reasoning_tokens = usage.reasoning_tokens,
        cost_usd = ctx.answer.cost.map(|c| c.to_string()),
        truncated = ctx.answer.truncated,
        error_code = ctx.answer.error.as_ref().map(|e| e.code()),
        error_detail = ctx.answer.error.as_ref().filter(|e| e.is_server_side()).map(|e| e.log_detail()),
        answered_by = ctx.decision.answered_by,
        firewall = firewall.as_deref(),
        billed_extras = billed_extras_log(ctx),
        billing = if ctx.ex.byok { "byok" } else { "gateway" },
        rules = rules.as_deref(),
        "request"
    );
}

/// Firewall actions as `policy/rule action scope`, `;`-separated (never the matched text).
fn firewall_log(ctx: &Ctx) -> Option<String> {
    if ctx.ex.firewall.is_empty() {
        return None;
    }
    let parts: Vec<String> = ctx
        .ex
        .firewall
        .iter()
        .map(|f| format!("{}/{} {} {}", f.policy, f.rule, f.action, f.scope))
        .collect();
    Some(parts.join("; "))
}

/// Features billed outside token prices that the request passed on, `,`-separated.
fn billed_extras_log(ctx: &Ctx) -> Option<String> {
    let extras = &ctx.ex.request()?.billed_extras;
    (!extras.is_empty()).then(|| extras.iter().map(|e| e.feature).collect::<Vec<_>>().join(","))
}

/// The rules that fired, with their actions, `;`-separated.
fn rules_log(ctx: &Ctx) -> Option<String> {
    let parts: Vec<String> = ctx
        .ex
        .trace
        .iter()
        .filter(|t| t.fired)
        .map(|t| format!("{}/{}: {}", t.phase, t.rule, t.actions.join(", ")))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
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
