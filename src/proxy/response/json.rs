//! A whole (non-streaming) answer: collected to its end, then rewritten for the client in one go.
//! On the fast path it is edited as text (model, usage cost, the `router` object); when phases watch
//! the answer it is parsed into canonical terms, shown to them (they may edit or refuse it), and
//! rendered in the client's schema; a composed endpoint then wraps it in its own envelope. An
//! unusable answer falls back to the next candidate while the client has no byte of it.

use bytes::Bytes;
use pingora::{Error, ErrorType};

use super::report::Report;
use super::retry_next;
use crate::api::codec;
use crate::error::GatewayError;
use crate::providers;
use crate::proxy::attempt;
use crate::proxy::ctx::Ctx;
use crate::translate::{self, Plan};

pub fn translate(buf: &mut Vec<u8>, body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<()> {
    if let Some(b) = body.take() {
        buf.extend_from_slice(&b);
        if buf.len() as u64 > ctx.snap.server.max_response_bytes {
            ctx.answer.error = Some(GatewayError::UpstreamInvalid {
                provider: ctx.provider_name().to_string(),
                detail: "response larger than max_response_bytes".into(),
            });
            return Err(Error::explain(ErrorType::InternalError, "upstream response too large"));
        }
    }
    if !eos {
        return Ok(());
    }
    match whole(buf, ctx) {
        Ok(out) => {
            ctx.answer.body_sent = true;
            *body = Some(Bytes::from(out));
            Ok(())
        }
        Err(Unusable::Refused(e)) => {
            // A phase refused the answer: nothing of it may reach the client.
            attempt::end_quietly(ctx);
            ctx.answer.error = Some(e);
            Err(Error::explain(ErrorType::InternalError, "a phase refused the answer"))
        }
        Err(Unusable::Invalid(detail)) => {
            attempt::end(ctx, format!("unusable response: {detail}"));
            if !ctx.answer.body_sent && attempt::fall_back(ctx, "invalid_response") {
                return Err(retry_next(502, "the answer was unusable; trying the next candidate"));
            }
            // The 200 header may be gone; closing without a final chunk tells the client the
            // answer is broken, where a JSON error in a 200 body would be taken as an answer.
            ctx.answer.error = Some(GatewayError::UpstreamInvalid {
                provider: ctx.provider_name().to_string(),
                detail,
            });
            Err(Error::explain(
                ErrorType::InvalidHTTPHeader,
                "upstream sent an unusable response",
            ))
        }
    }
}

enum Unusable {
    /// The provider's answer cannot be read.
    Invalid(String),
    /// A phase refused it.
    Refused(GatewayError),
}

/// The client's body for the provider's whole answer `buf`.
fn whole(buf: &[u8], ctx: &mut Ctx) -> Result<Vec<u8>, Unusable> {
    let (Some(plan), Some(model)) = (ctx.upstream.plan, ctx.current_model().cloned()) else {
        return Err(Unusable::Invalid("no attempt".into()));
    };
    let chat = ctx.decision.composer.as_ref().is_none_or(|c| c.translates_chat());
    let out = if !chat {
        buf.to_vec()
    } else if ctx.decision.hooks.wants_whole() {
        watched(buf, plan, &model, ctx)?
    } else {
        let mut report = Report::new(ctx);
        let out = translate::translate_json_for(plan, buf, ctx.ex.request(), &model, &mut report)
            .map_err(Unusable::Invalid)?;
        report.settled().keep(&mut ctx.answer);
        out
    };
    match ctx.decision.composer.take() {
        Some(mut c) => {
            let composed = c.compose(ctx, &out);
            ctx.decision.composer = Some(c);
            composed.map_err(Unusable::Invalid)
        }
        None => Ok(out),
    }
}

/// The answer through the phases that watch it: parsed, shown to each, rendered for the client.
fn watched(
    buf: &[u8],
    plan: Plan,
    model: &std::sync::Arc<crate::config::Model>,
    ctx: &mut Ctx,
) -> Result<Vec<u8>, Unusable> {
    let adapter = match plan {
        Plan::Translate { adapter, .. } => adapter,
        Plan::PassOpenAi | Plan::PassAnthropic | Plan::PassResponses => providers::adapter(model.provider.kind),
    };
    let mut resp = adapter
        .parse_response(buf, model)
        .map_err(|e| Unusable::Invalid(e.to_string()))?;
    let snap = ctx.snap.clone();
    ctx.ex.answering_model = Some(model.id.clone());
    let had_logprobs = resp.logprobs.is_some() || resp.more_choices.iter().any(|c| c.logprobs.is_some());
    ctx.decision
        .hooks
        .on_answer(&snap.phases, &mut ctx.ex, &mut resp)
        .map_err(Unusable::Refused)?;
    if had_logprobs && resp.logprobs.is_none() {
        if let Some(a) = ctx.attempts.last_mut() {
            a.lossy
                .push("logprobs: a phase rewrote the answer's text, which the tokens' log probabilities would spell; not sent".into());
        }
    }
    let mut report = Report::new(ctx);
    let out = codec(ctx.request.schema).render_response(&resp, ctx.ex.request(), &model.id, &mut report);
    report.settled().keep(&mut ctx.answer);
    if ctx.decision.hooks.collect() {
        ctx.answer.collected = Some(resp);
    }
    Ok(out)
}
