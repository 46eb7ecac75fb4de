//! A stream on the fast path: the provider's SSE events translated (or edited in place, same schema)
//! event by event, with a line buffer because chunks do not align with events. A stream whose first
//! event is an error, before the client has a byte, falls back to the next candidate, or, with none
//! left, is answered as a JSON error like any failure before the answer began.

use bytes::Bytes;
use pingora::{Error, ErrorType};

use super::report::Report;
use super::retry_next;
use crate::error::GatewayError;
use crate::metrics::m;
use crate::proxy::attempt;
use crate::proxy::ctx::{Ctx, StreamState};
use crate::wire::Incomplete;

pub fn translate(state: &mut StreamState, body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<()> {
    let StreamState { parser, translator } = state;
    let mut out = Vec::new();
    let mut report = Report::new(ctx);
    let mut too_long = false;
    if let Some(b) = body.as_ref() {
        too_long = parser
            .push(b, |ev| translator.event(&ev, &mut out, &mut report))
            .is_err();
    }
    // The provider's first event was an error and the client has no byte yet.
    if let (Some(failure), true) = (translator.failure(), out.is_empty() && !ctx.answer.body_sent) {
        let failure = failure.to_string();
        drop(report);
        return Err(first_event_failed(ctx, failure));
    }
    let broken = if eos || too_long {
        let provider = ctx.provider_name().to_string();
        match translator.end(&mut out, &mut report) {
            Ok(()) if !too_long => None,
            Ok(()) => Some(GatewayError::UpstreamUnreachable {
                provider,
                detail: "stream event too long".into(),
            }),
            Err(Incomplete::Truncated) => Some(GatewayError::UpstreamUnreachable {
                provider,
                detail: "the stream ended before it finished".into(),
            }),
            Err(Incomplete::ProviderError(message)) => Some(GatewayError::UpstreamStream { provider, message }),
        }
    } else {
        None
    };
    report.settled().keep(&mut ctx.answer);
    if ctx.answer.usage.is_none() {
        ctx.answer.usage = translator.usage();
    }
    if let Some(e) = broken {
        translator.fail(&e.to_json(ctx.request_id(), &ctx.ex.trace), &mut out);
        m().stream_truncated.with_label_values(&[ctx.provider_name()]).inc();
        ctx.answer.truncated = true;
        ctx.answer.error = Some(e);
    }
    ctx.answer.body_sent |= !out.is_empty();
    *body = if out.is_empty() && !eos {
        None
    } else {
        Some(Bytes::from(out))
    };
    Ok(())
}

/// A stream's first event was the provider's error `failure`, and the client has no byte of it: try
/// the next candidate (its headers are ignored if this one's were written; its body continues the
/// response), or, with none left, fail the request so the client gets the error as JSON with its
/// status (in-band only if the stream's header has already gone out).
pub fn first_event_failed(ctx: &mut Ctx, failure: String) -> Box<Error> {
    attempt::end(ctx, format!("error event before the first byte: {failure}"));
    if attempt::fall_back(ctx, "stream_error") {
        return retry_next(502, "the stream's first event was an error; trying the next candidate");
    }
    ctx.answer.error = Some(GatewayError::UpstreamStream {
        provider: ctx.provider_name().to_string(),
        message: failure,
    });
    Error::explain(ErrorType::HTTPStatus(502), "the stream's first event was an error")
}
