//! Anthropic Messages client ↔ Anthropic provider. Same schema on both sides, so bodies pass through
//! losslessly (cache_control, thinking signatures, beta features' fields): the request keeps every
//! field the client sent but the gateway's own, and answers are edited in place (model, cost, router).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Usage};

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
pub fn render_request(raw: &RawObject, _req: &ChatRequest, model: &Model) -> Vec<u8> {
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
            "metadata" => {
                let user = serde_json::from_str::<Map<String, Value>>(v.get())
                    .ok()
                    .and_then(|mut m| m.remove("user_id"))
                    .filter(|u| !u.is_null());
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
