//! A phase's answer in the gateway's place (a cache hit, an idempotent replay): rendered in the
//! client's schema, whole or replayed as a stream when the client asked for one, through the phases
//! that watch answers (a policy that masks answers applies to replays too), wrapped by a composed
//! endpoint's envelope, and written with the phase's headers. Nothing is billed for it.

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, StreamEvent};
use switchyard_sdk::{Money, PhaseAnswer};

use super::ctx::Ctx;
use super::respond;
use crate::api::codec;
use crate::error::GatewayError;
use crate::phases::Pipeline;
use crate::wire::Finalizer;

/// The `router` object of the original answer, marked as replayed, and no cost.
struct Replay {
    router: Value,
}

impl Finalizer for Replay {
    fn finish(&mut self, _usage: Option<switchyard_sdk::ir::Usage>) -> (Value, Option<Money>) {
        (self.router.clone(), Some(Money::ZERO))
    }
}

pub async fn write(
    s: &mut Session,
    ctx: &mut Ctx,
    phase: &'static str,
    answer: PhaseAnswer,
) -> Result<(), GatewayError> {
    ctx.decision.answered_by = Some(phase);
    let PhaseAnswer {
        mut response,
        model,
        router,
        headers,
        kind,
    } = answer;
    let snap = ctx.snap.clone();
    let hooks = Pipeline::new(&snap.phases).watch(&ctx.ex);
    ctx.ex.answering_model = Some(model.clone());
    if hooks.wants_whole() {
        hooks.on_answer(&snap.phases, &mut ctx.ex, &mut response)?;
    }
    if hooks.wants_stream() {
        let mut hs = hooks.stream_hooks();
        for p in &mut response.parts {
            if let OutPart::Text(t) = p {
                let mut out = hs.delta(&snap.phases, &mut ctx.ex, t).map_err(GatewayError::Rejected)?;
                out.push_str(&hs.finish(&snap.phases, &mut ctx.ex).map_err(GatewayError::Rejected)?);
                *t = out;
            }
        }
    }
    let mut router = router
        .and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"request_id": ctx.request_id(), "model": model}));
    router[kind.as_str()] = json!(true);
    router["answered_by"] = json!(phase);
    router["request_id"] = json!(ctx.request_id());
    let mut fin = Replay { router };
    let stream = ctx.streaming();
    let c = codec(ctx.request.schema);
    let mut body = if stream {
        let Some(req) = ctx.ex.request() else {
            return Err(GatewayError::Internal("a streamed replay without a request".into()));
        };
        let mut enc = c.stream_encoder(req, &model);
        let mut out = Vec::new();
        for e in events(&response) {
            enc.event(e, &mut out);
        }
        enc.finish(&mut out, &mut fin);
        out
    } else {
        c.render_response(&response, ctx.ex.request(), &model, &mut fin)
    };
    if let Some(mut composer) = ctx.decision.composer.take() {
        ctx.answer.usage = response.usage;
        ctx.answer.cost = Some(Money::ZERO);
        body = composer
            .compose(ctx, &body)
            .map_err(|e| GatewayError::Internal(format!("composing a phase's answer: {e}")))?;
    }
    ctx.answer.usage = response.usage;
    ctx.answer.cost = Some(Money::ZERO);
    let mut extra: Vec<(&str, String)> = vec![
        ("x-jt-model", model.clone()),
        ("x-routed-model", model),
        ("x-jt-fallback", "false".into()),
        ("x-jt-cost-usd", "0".into()),
        ("x-jt-cost-basis", "actual".into()),
        ("cache-control", "no-cache".into()),
    ];
    extra.extend(headers.iter().map(|(k, v)| (*k, v.clone())));
    let ctype = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let _ = respond::send(s, ctx, 200, ctype, Bytes::from(body), &extra).await;
    Ok(())
}

/// A whole answer as the events of a stream.
fn events(r: &ChatResponse) -> Vec<StreamEvent> {
    let mut ev = vec![StreamEvent::Start {
        id: r.id.clone(),
        model: r.model.clone(),
    }];
    let mut tool = 0;
    for p in &r.parts {
        match p {
            OutPart::Text(t) => ev.push(StreamEvent::TextDelta(t.clone())),
            OutPart::Refusal(t) => ev.push(StreamEvent::RefusalDelta(t.clone())),
            OutPart::Reasoning { text, signature } => {
                ev.push(StreamEvent::ReasoningDelta(text.clone()));
                if let Some(s) = signature {
                    ev.push(StreamEvent::ReasoningSignature(s.clone()));
                }
            }
            OutPart::ToolCall(c) => {
                ev.push(StreamEvent::ToolCallStart {
                    index: tool,
                    id: c.id.clone(),
                    name: c.name.clone(),
                });
                ev.push(StreamEvent::ToolCallDelta {
                    index: tool,
                    arguments: c.arguments.clone(),
                });
                tool += 1;
            }
        }
    }
    if let Some(l) = &r.logprobs {
        ev.push(StreamEvent::Logprobs(l.clone()));
    }
    ev.push(StreamEvent::Finish(r.finish.clone().unwrap_or(FinishReason::Stop)));
    if let Some(u) = r.usage {
        ev.push(StreamEvent::Usage(u));
    }
    ev
}
