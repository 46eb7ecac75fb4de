//! A stream the phases watch. The provider's events are decoded into canonical events; every text
//! delta goes through the phases' stream hooks (each may hold back a bounded tail, so a match split
//! across events can still be masked, or end the stream); what they release is encoded in the client's
//! schema. The held text is released when the answer's text ends (its finish event, or the stream's
//! end). A phase that ends the stream gets the schema's in-band error, never a clean finish.

use std::sync::Arc;

use bytes::Bytes;
use pingora::{Error, ErrorType};
use switchyard_sdk::ir::{ChatRequest, ChatResponse, OutPart, StreamEvent, ToolCall};
use switchyard_sdk::Reject;

use super::report::Report;
use super::stream::first_event_failed;
use super::MAX_EVENT_BYTES;
use crate::api::{codec, Schema};
use crate::config::Model;
use crate::error::GatewayError;
use crate::metrics::m;
use crate::phases::AnswerHooks;
use crate::providers;
use crate::proxy::ctx::{Ctx, HookedStream};
use crate::wire::sse::SseParser;

pub fn start(schema: Schema, req: &ChatRequest, model: &Arc<Model>, hooks: &AnswerHooks) -> Box<HookedStream> {
    let adapter = providers::adapter(model.provider.kind);
    Box::new(HookedStream {
        parser: SseParser::new(MAX_EVENT_BYTES),
        decoder: adapter.stream_decoder(model),
        encoder: codec(schema).stream_encoder(req, &model.id),
        hooks: hooks.stream_hooks(),
        usage: None,
        finished: false,
        failure: None,
        collected: hooks.collect().then(ChatResponse::default),
    })
}

/// What the phases made of this chunk's events.
#[derive(Default)]
struct Passed {
    events: Vec<StreamEvent>,
    blocked: Option<Reject>,
}

pub fn translate(st: &mut HookedStream, body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<()> {
    let mut decoded = Vec::new();
    let mut too_long = false;
    if let Some(b) = body.as_ref() {
        let decoder = &mut st.decoder;
        too_long = st.parser.push(b, |ev| decoder.event(&ev, &mut decoded)).is_err();
    }
    let done = st.decoder.done() || (eos && st.decoder.complete_at_eof());
    let passed = pass(st, decoded, done, ctx);
    let mut out = Vec::new();
    for e in passed.events {
        st.encoder.event(e, &mut out);
    }
    if let (Some(failure), true) = (st.failure.clone(), out.is_empty() && !ctx.answer.body_sent) {
        return Err(first_event_failed(ctx, failure));
    }
    let broken = if let Some(r) = passed.blocked {
        if out.is_empty() && !ctx.answer.body_sent {
            // Nothing of the answer went out: the refusal is the answer, with its own status.
            ctx.answer.error = Some(GatewayError::Rejected(r));
            return Err(Error::explain(ErrorType::InternalError, "a phase ended the stream"));
        }
        Some(GatewayError::Rejected(r))
    } else if let Some(message) = st.failure.clone() {
        Some(GatewayError::UpstreamStream {
            provider: ctx.provider_name().to_string(),
            message,
        })
    } else if too_long || (eos && !done && !st.finished) {
        Some(GatewayError::UpstreamUnreachable {
            provider: ctx.provider_name().to_string(),
            detail: if too_long {
                "stream event too long".into()
            } else {
                "the stream ended before it finished".into()
            },
        })
    } else {
        None
    };
    if broken.is_none() && done && !st.finished {
        let mut report = Report::new(ctx);
        st.encoder.finish(&mut out, &mut report);
        report.settled().keep(&mut ctx.answer);
        st.finished = true;
    }
    if ctx.answer.usage.is_none() {
        ctx.answer.usage = st.usage;
    }
    if let Some(e) = broken {
        st.encoder.fail(&e.to_json(ctx.request_id(), &ctx.ex.trace), &mut out);
        m().stream_truncated.with_label_values(&[ctx.provider_name()]).inc();
        ctx.answer.truncated = true;
        ctx.answer.error = Some(e);
        st.finished = true;
    }
    if st.finished {
        if let Some(c) = st.collected.take() {
            ctx.answer.collected = Some(c);
        }
    }
    ctx.answer.body_sent |= !out.is_empty();
    *body = if out.is_empty() && !eos {
        None
    } else {
        Some(Bytes::from(out))
    };
    Ok(())
}

/// The decoded events through the phases' text hooks. `done`: the stream is complete, so whatever
/// the phases still hold is released.
fn pass(st: &mut HookedStream, decoded: Vec<StreamEvent>, done: bool, ctx: &mut Ctx) -> Passed {
    let mut p = Passed::default();
    if st.finished || st.failure.is_some() {
        return p;
    }
    let snap = ctx.snap.clone();
    let phases = &snap.phases;
    if let Some(m) = ctx.current_model() {
        ctx.ex.answering_model = Some(m.id.clone());
    }
    let flush =
        |st: &mut HookedStream, p: &mut Passed, ex: &mut switchyard_sdk::Exchange| match st.hooks.finish(phases, ex) {
            Ok(rest) if !rest.is_empty() => emit(st, p, StreamEvent::TextDelta(rest)),
            Ok(_) => {}
            Err(r) => p.blocked = Some(r),
        };
    for e in decoded {
        if p.blocked.is_some() {
            return p;
        }
        match e {
            StreamEvent::TextDelta(t) => match st.hooks.delta(phases, &mut ctx.ex, &t) {
                Ok(released) if !released.is_empty() => emit(st, &mut p, StreamEvent::TextDelta(released)),
                Ok(_) => {}
                Err(r) => p.blocked = Some(r),
            },
            StreamEvent::Finish(f) => {
                flush(st, &mut p, &mut ctx.ex);
                if p.blocked.is_none() {
                    emit(st, &mut p, StreamEvent::Finish(f));
                }
            }
            StreamEvent::Usage(u) => {
                st.usage = Some(u);
                emit(st, &mut p, StreamEvent::Usage(u));
            }
            StreamEvent::Error { message } => {
                st.failure = Some(message);
                return p;
            }
            // Phases watching the text may rewrite it; the tokens' log probabilities would spell the
            // original, so a watched stream carries none.
            StreamEvent::Logprobs(_) => {
                const NOTE: &str =
                    "logprobs: phases watch this stream's text and may rewrite it, which the tokens' log probabilities would spell; not sent";
                if let Some(a) = ctx.attempts.last_mut().filter(|a| !a.lossy.iter().any(|l| l == NOTE)) {
                    a.lossy.push(NOTE.into());
                }
            }
            other => emit(st, &mut p, other),
        }
    }
    if done && p.blocked.is_none() {
        flush(st, &mut p, &mut ctx.ex);
    }
    p
}

/// Keep `e` for the client (and for the collected answer).
fn emit(st: &mut HookedStream, p: &mut Passed, e: StreamEvent) {
    if let Some(c) = st.collected.as_mut() {
        collect(c, &e);
    }
    p.events.push(e);
}

/// Assemble a whole answer from the events the client gets.
fn collect(resp: &mut ChatResponse, e: &StreamEvent) {
    match e {
        StreamEvent::Start { id, model } => {
            resp.id.clone_from(id);
            resp.model.clone_from(model);
        }
        StreamEvent::TextDelta(t) => match resp.parts.last_mut() {
            Some(OutPart::Text(s)) => s.push_str(t),
            _ => resp.parts.push(OutPart::Text(t.clone())),
        },
        StreamEvent::RefusalDelta(t) => match resp.parts.last_mut() {
            Some(OutPart::Refusal(s)) => s.push_str(t),
            _ => resp.parts.push(OutPart::Refusal(t.clone())),
        },
        StreamEvent::ReasoningDelta(t) => match resp.parts.last_mut() {
            Some(OutPart::Reasoning { text, .. }) => text.push_str(t),
            _ => resp.parts.push(OutPart::Reasoning {
                text: t.clone(),
                signature: None,
            }),
        },
        StreamEvent::ReasoningSignature(s) => {
            if let Some(OutPart::Reasoning { signature, .. }) = resp.parts.last_mut() {
                *signature = Some(s.clone());
            }
        }
        StreamEvent::ToolCallStart { id, name, .. } => resp.parts.push(OutPart::ToolCall(ToolCall {
            id: id.clone(),
            name: name.clone(),
            arguments: String::new(),
        })),
        StreamEvent::ToolCallDelta { index, arguments } => {
            if let Some(OutPart::ToolCall(c)) = resp
                .parts
                .iter_mut()
                .filter(|p| matches!(p, OutPart::ToolCall(_)))
                .nth(*index)
            {
                c.arguments.push_str(arguments);
            }
        }
        StreamEvent::Logprobs(l) => resp.logprobs.get_or_insert_with(Vec::new).extend(l.iter().cloned()),
        StreamEvent::Finish(f) => resp.finish = Some(f.clone()),
        StreamEvent::Usage(u) => resp.usage = Some(*u),
        StreamEvent::Error { .. } => {}
    }
}
