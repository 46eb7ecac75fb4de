//! The attempt engine: every upstream call, whatever the endpoint, goes through these steps, driven
//! by Pingora's retry loop (`upstream_peer` → ... → `error_while_proxy`/`fail_to_connect` → again):
//!
//! - [`begin`]: the next candidate of the route, recorded as an [`Attempt`], the health tracker told;
//! - [`render`]: that candidate's upstream request (a composed endpoint's own, or the client's
//!   request for the candidate's provider, re-rendered when a phase edited it);
//! - [`answered`]: the upstream's status and time to headers recorded;
//! - [`end`]: the attempt's failure (the first reason wins) and duration;
//! - [`fall_back`]: whether another candidate may be tried (within `max_attempts`, only while the
//!   client has no byte), counted per provider and reason;
//! - [`classify`] and [`exhausted`]: the client's error when nothing is left;
//! - [`learn`]: once the request is over, the health tracker and the session table learn from every
//!   attempt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::{Error, ErrorSource, ErrorType};

use super::ctx::{Attempt, Ctx};
use crate::config::Model;
use crate::error::{client_status_for_upstream, GatewayError};
use crate::metrics::m;
use crate::router::health::{Health, Outcome};
use crate::router::sessions::{Bounds, SessionKey};
use crate::router::RouterState;

/// Start the next attempt on the route's next candidate.
pub fn begin(ctx: &mut Ctx, health: &Health) -> Option<Arc<Model>> {
    let model = ctx.next_candidate()?.clone();
    health.begin_attempt(&model.id);
    ctx.attempts.push(Attempt {
        model: model.clone(),
        started: Instant::now(),
        status: None,
        headers_after: None,
        error: None,
        duration: None,
        lossy: Vec::new(),
        retry_after: None,
        unreachable: false,
    });
    Some(model)
}

/// Render the current attempt's upstream request into `ctx.upstream`.
pub fn render(ctx: &mut Ctx, model: &Arc<Model>) -> Result<(), GatewayError> {
    let prepared = match ctx.decision.composer.as_ref() {
        Some(c) => c.render(ctx, model)?,
        None => None,
    };
    let prepared = match prepared {
        Some(p) => p,
        None => super::rerender::prepare(ctx, model)?,
    };
    ctx.upstream.path = prepared.path;
    ctx.upstream.headers = prepared.headers;
    ctx.upstream.body = prepared.body;
    ctx.upstream.plan = Some(prepared.plan);
    if let Some(a) = ctx.attempts.last_mut() {
        a.lossy = prepared.lossy;
    }
    Ok(())
}

/// The upstream answered with `status` (its headers are in): record it.
pub fn answered(ctx: &mut Ctx, status: u16, retry_after: Option<u64>) -> Option<Duration> {
    let a = ctx.attempts.last_mut()?;
    let after = a.started.elapsed();
    a.status = Some(status);
    a.headers_after = Some(after);
    if status == 429 || status == 503 {
        a.retry_after = retry_after;
    }
    m().upstream_latency
        .with_label_values(&[&*a.model.provider.name])
        .observe(after.as_secs_f64());
    Some(after)
}

/// End the current attempt with `why` (a reason already recorded is kept).
pub fn end(ctx: &mut Ctx, why: impl Into<String>) {
    if let Some(a) = ctx.attempts.last_mut() {
        a.error.get_or_insert_with(|| why.into());
        a.duration.get_or_insert(a.started.elapsed());
    }
}

/// The current attempt ended because its provider could not be reached or did not answer in time
/// (`why`): health counts this towards the provider's breaker too.
pub fn end_unreachable(ctx: &mut Ctx, why: impl Into<String>) {
    if let Some(a) = ctx.attempts.last_mut() {
        a.unreachable |= a.error.is_none();
    }
    end(ctx, why);
}

/// Whether a Pingora error says the upstream could not be reached or did not answer in time.
pub fn is_unreachable(e: &Error) -> bool {
    matches!(
        e.etype(),
        ErrorType::ConnectTimedout
            | ErrorType::ConnectRefused
            | ErrorType::ConnectNoRoute
            | ErrorType::ConnectError
            | ErrorType::BindError
            | ErrorType::TLSHandshakeFailure
            | ErrorType::TLSHandshakeTimedout
            | ErrorType::ReadTimedout
            | ErrorType::WriteTimedout
    )
}

/// The current attempt ended without the upstream's fault (the client went away): only its duration.
pub fn end_quietly(ctx: &mut Ctx) {
    if let Some(a) = ctx.attempts.last_mut() {
        a.duration.get_or_insert(a.started.elapsed());
    }
}

/// After the current attempt failed for `reason`: may the next candidate be tried? Counted as a
/// fallback away from this provider when it may. The caller has checked that the client has no byte.
pub fn fall_back(ctx: &Ctx, reason: &str) -> bool {
    let ok = ctx.can_fall_back();
    if ok {
        m().fallbacks.with_label_values(&[ctx.provider_name(), reason]).inc();
    }
    ok
}

/// The error the client should see for a Pingora failure of the current attempt.
pub fn classify(e: &Error, ctx: &Ctx) -> GatewayError {
    let provider = ctx.provider_name().to_string();
    match e.etype() {
        ErrorType::HTTPStatus(code) => GatewayError::UpstreamStatus {
            provider,
            status: client_status_for_upstream(*code),
            upstream_status: *code,
            message: format!("every candidate failed; the last answered {code}"),
            retry_after: None,
        },
        ErrorType::ConnectTimedout
        | ErrorType::ReadTimedout
        | ErrorType::WriteTimedout
        | ErrorType::TLSHandshakeTimedout => GatewayError::UpstreamTimeout { provider },
        _ if e.esource() == &ErrorSource::Upstream => GatewayError::UpstreamUnreachable {
            provider,
            detail: e.to_string(),
        },
        _ => GatewayError::Internal(e.to_string()),
    }
}

/// An upstream failure after a fallback chain was tried is the chain's failure: 503 with every
/// attempt listed (a lone candidate keeps its own error, e.g. 502 when fallback was off).
pub fn exhausted(err: GatewayError, ctx: &Ctx) -> GatewayError {
    let upstream = matches!(err.status(), 429 | 500..=599) && err.provider().is_some();
    if ctx.attempts.len() > 1 && upstream {
        GatewayError::AllCandidatesFailed {
            summary: err.to_string(),
            attempts: ctx.attempts_json(),
        }
    } else {
        err
    }
}

/// How attempt `i` ended, for the health tracker.
fn health_outcome(ctx: &Ctx, i: usize) -> Outcome {
    let a = &ctx.attempts[i];
    let last = i + 1 == ctx.attempts.len();
    let status = ctx.answer.status;
    let retry_after = a.retry_after.map(Duration::from_secs);
    let phase_refused = matches!(ctx.answer.error, Some(GatewayError::Rejected(_)));
    match (a.status, &a.error) {
        (Some(429 | 500..=599), _) => Outcome::Failure { retry_after },
        (Some(s), _) if (400..500).contains(&s) => Outcome::Neutral,
        // A stream a phase ended (a firewall block) is not the provider's failure.
        (Some(_), _) if last && ctx.answer.truncated && !phase_refused => Outcome::Failure { retry_after: None },
        (Some(_), _) if last && phase_refused => Outcome::Neutral,
        (Some(_), None) if last && status == 499 => Outcome::Neutral,
        (Some(_), None) => {
            let stream = ctx.streaming();
            let ttft = match (ctx.answer.first_byte, stream) {
                (Some(t), true) => t.saturating_duration_since(a.started),
                _ => a.headers_after.unwrap_or_default(),
            };
            // Only a stream's pace is a generation speed: a whole answer arrives at once, after the
            // model finished, so its "rate" would be the network's.
            let tps = match (stream, ctx.answer.usage, a.duration) {
                (true, Some(u), Some(d)) if d > ttft && u.output_tokens > 0 => {
                    Some(u.output_tokens as f64 / (d - ttft).as_secs_f64())
                }
                _ => None,
            };
            Outcome::Success {
                ttft,
                tokens_per_sec: tps,
            }
        }
        (Some(_), Some(_)) | (None, _) if last && status == 499 => Outcome::Neutral,
        _ if a.unreachable => Outcome::Unreachable,
        (Some(_), Some(_)) | (None, _) => Outcome::Failure { retry_after: None },
    }
}

/// Teach the health tracker from every attempt, and keep a session on the model that served it.
pub fn learn(ctx: &Ctx, router: &RouterState) {
    let r = &ctx.snap.routing;
    let caller = ctx.ex.identity.as_ref().map(|i| router.health.caller(&i.key_id));
    for (i, a) in ctx.attempts.iter().enumerate() {
        router.health.record(
            &a.model.id,
            &a.model.provider.name,
            caller,
            health_outcome(ctx, i),
            r.breaker_failures,
            r.breaker_open,
        );
    }
    let auto = ctx.decision.route.as_ref().is_some_and(|route| route.mode != "pinned");
    let session = ctx.ex.request().and_then(|q| q.routing.session_id.as_deref());
    if let (true, Some(sid), Some(id), Some(m), true) = (
        auto,
        session,
        ctx.ex.identity.as_ref(),
        ctx.current_model(),
        (200..300).contains(&ctx.answer.status),
    ) {
        let bounds = Bounds {
            max_entries: r.session_max_entries,
            max_bytes: r.session_max_bytes,
        };
        router
            .sessions
            .put(SessionKey::new(id, sid), &m.id, r.session_ttl, bounds);
    }
}
