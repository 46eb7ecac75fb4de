//! Anthropic Messages client ↔ Anthropic provider. Same schema on both sides, so bodies pass through
//! losslessly (cache_control, thinking signatures, beta features' fields): the request keeps every
//! field the client sent but the gateway's own, and answers are edited in place (model, cost, router).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Part, Role, Usage};

use super::parse::error_message;
use super::wire::WireUsage;
use crate::config::Model;
use crate::providers::ProviderError;
use crate::wire::answer_edit::{rewrite_answer, write_field};
use crate::wire::anthropic::write_error_event;
use crate::wire::json::RawObject;
use crate::wire::json_out::write_str;
use crate::wire::sse::{write_event, SseEvent};
use crate::wire::{Finalizer, Incomplete, StreamTranslator, GATEWAY_FIELDS};

/// The upstream request body: the client's fields in the client's order, with the provider's model
/// name and without Switchyard's own fields. `metadata` is free-form for the gateway's rules but
/// Anthropic accepts only `user_id` in it, so only that goes on.
pub fn render_request(raw: &RawObject, req: &ChatRequest, model: &Model) -> Vec<u8> {
    render_request_noting(raw, req, model, &mut Vec::new())
}

/// [`render_request`], naming what had to change in `lossy`: thinking blocks Anthropic did not sign
/// (another provider's, tagged `gemini:`, or unsigned ones from OpenAI-compatible reasoning models,
/// which a Messages client gets back from those providers) are dropped, since Anthropic refuses
/// them; Anthropic's own signed blocks pass untouched.
pub fn render_request_noting(raw: &RawObject, req: &ChatRequest, model: &Model, lossy: &mut Vec<String>) -> Vec<u8> {
    let mut messages = None;
    let mut drop_thinking = false;
    if has_foreign_thinking(req) {
        if let Some(v) = field(raw, "messages") {
            if let Ok(mut msgs) = serde_json::from_str::<Vec<Value>>(v.get()) {
                strip_foreign_thinking(&mut msgs);
                lossy.push(
                    "thinking blocks not signed by Anthropic (another provider's reasoning) cannot be sent to Anthropic and were dropped"
                        .into(),
                );
                drop_thinking = thinking_on(raw) && unsigned_tool_turn(&msgs);
                if drop_thinking {
                    lossy.push(
                        "the tool loop's last assistant turn has no thinking block Anthropic signed, which Anthropic requires while thinking; thinking was not enabled"
                            .into(),
                    );
                }
                messages = Some(Value::Array(msgs).to_string());
            }
        }
    }
    let size: usize = raw.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + model.upstream_model.len() + 2);
    out.push(b'{');
    let mut first = true;
    for (k, v) in raw {
        match k.as_str() {
            "model" => {
                let mut m = Vec::with_capacity(model.upstream_model.len() + 2);
                write_str(&mut m, &model.upstream_model);
                write_field(&mut out, &mut first, k, &m);
            }
            k if GATEWAY_FIELDS.contains(&k) => {}
            "messages" if messages.is_some() => {
                let m = messages.take().unwrap_or_default();
                write_field(&mut out, &mut first, k, m.as_bytes());
            }
            "thinking" if drop_thinking => {}
            "metadata" => {
                let mut meta = serde_json::from_str::<Map<String, Value>>(v.get()).unwrap_or_default();
                let user = meta.remove("user_id").filter(|u| !u.is_null());
                if !meta.is_empty() {
                    lossy.push("metadata: Anthropic takes only user_id; the other keys were not sent".into());
                }
                if let Some(u) = user {
                    let mut m = Map::new();
                    m.insert("user_id".into(), u);
                    write_field(&mut out, &mut first, k, Value::Object(m).to_string().as_bytes());
                }
            }
            _ => write_field(&mut out, &mut first, k, v.get().as_bytes()),
        }
    }
    out.push(b'}');
    out
}

fn field<'a>(raw: &'a RawObject, name: &str) -> Option<&'a RawValue> {
    raw.iter().find(|(k, _)| k == name).map(|(_, v)| &**v)
}

/// Whether an assistant turn carries reasoning Anthropic did not sign.
fn has_foreign_thinking(req: &ChatRequest) -> bool {
    req.messages.iter().filter(|m| m.role == Role::Assistant).any(|m| {
        m.content.iter().any(|p| {
            matches!(p, Part::Reasoning { signature, .. } if !signature.as_deref().is_some_and(super::own_signature))
        })
    })
}

/// Drop `thinking` blocks without an Anthropic signature from the messages, and turns left empty.
fn strip_foreign_thinking(msgs: &mut Vec<Value>) {
    for m in msgs.iter_mut() {
        if let Some(Value::Array(blocks)) = m.get_mut("content") {
            blocks.retain(|b| {
                b.get("type").and_then(Value::as_str) != Some("thinking")
                    || b.get("signature")
                        .and_then(Value::as_str)
                        .is_some_and(super::own_signature)
            });
        }
    }
    msgs.retain(|m| !matches!(m.get("content"), Some(Value::Array(b)) if b.is_empty()));
}

fn thinking_on(raw: &RawObject) -> bool {
    field(raw, "thinking")
        .and_then(|v| serde_json::from_str::<Value>(v.get()).ok())
        .is_some_and(|t| t.get("type").and_then(Value::as_str).is_some_and(|t| t != "disabled"))
}

/// Whether the last assistant turn calls tools without a thinking block first (Anthropic then
/// refuses a request that thinks).
fn unsigned_tool_turn(msgs: &[Value]) -> bool {
    let Some(Value::Array(blocks)) = msgs
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .and_then(|m| m.get("content"))
    else {
        return false;
    };
    let kind = |b: &Value| b.get("type").and_then(Value::as_str).map(str::to_string);
    blocks.iter().any(|b| kind(b).as_deref() == Some("tool_use"))
        && !blocks
            .first()
            .and_then(kind)
            .is_some_and(|k| k == "thinking" || k == "redacted_thinking")
}

/// Rewrite a complete non-streaming answer: `model` becomes the catalog id, `usage` gains `cost`,
/// and `router` is added. Only `usage` is parsed; every other field is copied as raw text.
pub fn rewrite_response(body: &[u8], model_id: &str, fin: &mut dyn Finalizer) -> Result<Vec<u8>, ProviderError> {
    let usage_of = |v: &RawValue| serde_json::from_str::<WireUsage>(v.get()).ok().map(|u| u.canonical());
    rewrite_answer(body, "content", model_id, usage_of, fin).map_err(ProviderError::InvalidResponse)
}

/// Passes an Anthropic SSE stream through, event by event: content events go out byte for byte;
/// `message_start` gets the catalog id as `model`, the final `message_delta` gets `usage.cost`,
/// `message_stop` gets `router`. An in-band `error` event is not forwarded but reported by `end`, so
/// the client gets one error event, in the public error shape.
pub struct PassthroughStream {
    model_id: String,
    usage: Option<WireUsage>,
    router: Option<Value>,
    done: bool,
    failure: Option<String>,
}

impl PassthroughStream {
    pub fn new(model_id: String) -> Self {
        PassthroughStream {
            model_id,
            usage: None,
            router: None,
            done: false,
            failure: None,
        }
    }

    fn merge_usage(&mut self, u: Option<&Value>) {
        if let Some(u) = u.and_then(|u| WireUsage::deserialize(u).ok()) {
            match &mut self.usage {
                Some(have) => have.merge(&u),
                None => self.usage = Some(u),
            }
        }
    }

    fn emit(out: &mut Vec<u8>, name: &str, m: &Map<String, Value>) {
        match serde_json::to_vec(m) {
            Ok(b) => write_event(out, Some(name), &b),
            Err(_) => write_event(out, Some(name), b"{}"),
        }
    }
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

impl StreamTranslator for PassthroughStream {
    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        write_error_event(error, out);
    }

    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if !ev.has_data || self.done || self.failure.is_some() {
            return;
        }
        let name = match ev.event.as_deref() {
            Some(n) => Cow::Borrowed(n),
            None => match serde_json::from_str::<TypeOnly>(&ev.data) {
                Ok(t) => Cow::Owned(t.kind),
                Err(_) => Cow::Borrowed(""),
            },
        };
        if !matches!(&*name, "message_start" | "message_delta" | "message_stop" | "error") {
            write_event(out, ev.event.as_deref(), ev.data.as_bytes());
            return;
        }
        if name == "error" {
            self.failure = Some(error_message(ev.data.as_bytes()));
            return;
        }
        let Ok(mut m) = serde_json::from_str::<Map<String, Value>>(&ev.data) else {
            write_event(out, ev.event.as_deref(), ev.data.as_bytes());
            return;
        };
        match &*name {
            "message_start" => {
                if let Some(Value::Object(msg)) = m.get_mut("message") {
                    msg.insert("model".into(), Value::String(self.model_id.clone()));
                    self.merge_usage(msg.get("usage"));
                }
            }
            "message_delta" => {
                self.merge_usage(m.get("usage"));
                let stopping = m
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .is_some_and(|r| !r.is_null());
                if stopping && self.router.is_none() {
                    // The usage is final here: cost and the router object are computed once.
                    let (router, cost) = fin.finish(self.usage());
                    if let (Some(Value::Object(u)), Some(c)) = (m.get_mut("usage"), cost) {
                        u.insert("cost".into(), Value::from(c.as_dollars_f64()));
                    }
                    self.router = Some(router);
                }
            }
            _ => {
                // message_stop
                let router = match self.router.take() {
                    Some(r) => r,
                    None => fin.finish(self.usage()).0,
                };
                m.insert("router".into(), router);
                self.done = true;
            }
        }
        Self::emit(out, &name, &m);
    }

    fn end(&mut self, _out: &mut Vec<u8>, _fin: &mut dyn Finalizer) -> Result<(), Incomplete> {
        match self.failure.take() {
            Some(f) => Err(Incomplete::ProviderError(f)),
            None if self.done => Ok(()),
            None => Err(Incomplete::Truncated),
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(|u| u.canonical())
    }
}

#[cfg(test)]
mod tests;
