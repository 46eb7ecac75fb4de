//! OpenAI Chat client ↔ OpenAI-schema provider (OpenAI, OpenAI-compatible servers, the simulator).
//! Same schema on both sides, so bodies pass through losslessly: the request keeps every field the
//! client sent except the gateway's own, and responses are edited in place (model, cost, router).

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Role, Usage};

use super::render::{max_tokens_field, render_messages};
use super::wire::parse_usage;
use crate::config::Model;
use crate::providers::ProviderError;
use crate::wire::answer_edit::{self, rewrite_answer, Fields};
use crate::wire::json::RawObject;
use crate::wire::json_out::write_str;
use crate::wire::sse::{write_event, SseEvent};
use crate::wire::{Finalizer, Incomplete, StreamTranslator, GATEWAY_FIELDS};

/// The upstream request body: the client's fields in the client's order, with the provider's model
/// name, without Switchyard's own fields, with usage requested on streams, and adjusted to the model's
/// catalog quirks (output-limit field name, rejected fields, no `developer` role).
pub fn render_request(raw: &RawObject, req: &ChatRequest, model: &Model) -> Vec<u8> {
    let q = &model.quirks;
    let size: usize = raw.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.push(b'{');
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
    };
    let store = raw.iter().any(|(k, v)| k == "store" && v.get() == "true");
    let rerender_messages = !q.developer_role && req.messages.iter().any(|m| m.role == Role::Developer);
    let mut stream_options: Option<Map<String, Value>> = None;
    for (k, v) in raw {
        match k.as_str() {
            "model" => {
                sep(&mut out);
                out.extend_from_slice(b"\"model\":");
                write_str(&mut out, &model.upstream_model);
            }
            "messages" if rerender_messages => {
                sep(&mut out);
                out.extend_from_slice(b"\"messages\":");
                // Serializing borrowed strings into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut out, &render_messages(&req.messages, model, &mut Vec::new()));
            }
            "stream_options" => stream_options = serde_json::from_str(v.get()).ok(),
            // OpenAI refuses `metadata` unless the completion is stored; for us it is a rules input.
            "metadata" if !store => {}
            k if GATEWAY_FIELDS.contains(&k) || q.drop_fields.iter().any(|d| d == k) => {}
            "max_tokens" | "max_completion_tokens" => {
                sep(&mut out);
                write_str(&mut out, max_tokens_field(model));
                out.push(b':');
                out.extend_from_slice(v.get().as_bytes());
            }
            _ => {
                sep(&mut out);
                write_str(&mut out, k);
                out.push(b':');
                out.extend_from_slice(v.get().as_bytes());
            }
        }
    }
    if req.stream && q.stream_usage {
        let mut so = stream_options.unwrap_or_default();
        so.insert("include_usage".into(), Value::Bool(true));
        sep(&mut out);
        out.extend_from_slice(b"\"stream_options\":");
        out.extend_from_slice(Value::Object(so).to_string().as_bytes());
    }
    out.push(b'}');
    out
}

/// Rewrite a complete non-streaming response: `model` becomes the catalog id, `usage` gains `cost`,
/// and `router` is added. Only `usage` is parsed; every other field is copied as raw text.
pub fn rewrite_response(body: &[u8], model_id: &str, fin: &mut dyn Finalizer) -> Result<Vec<u8>, ProviderError> {
    let usage_of = |v: &RawValue| {
        serde_json::from_str::<Value>(v.get())
            .ok()
            .as_ref()
            .and_then(parse_usage)
    };
    rewrite_answer(body, "choices", model_id, usage_of, fin).map_err(ProviderError::InvalidResponse)
}

/// Translates an OpenAI-schema SSE stream for an OpenAI client, event by event. Usage is always
/// requested upstream; a client that did not ask for it gets usage and `router` on its finish chunk
/// (held back until usage arrives, a few bytes later), a client that asked gets them on the usage chunk.
/// Events are edited as text: their top-level fields are borrowed, and only `model`, `usage` and
/// `router` are written anew.
pub struct PassthroughStream {
    model_id: String,
    /// `model_id` as a JSON string.
    model_json: Vec<u8>,
    include_usage: bool,
    /// The finish chunk as the provider wrote it, held until usage arrives.
    held: Option<String>,
    /// `id` and `created` of the first event, as JSON text, for a final event made up at the end.
    template: Option<(String, String)>,
    usage: Option<Usage>,
    finalized: bool,
    done: bool,
    failure: Option<String>,
}

/// The part of a choice that decides whether its event ends the answer.
#[derive(serde::Deserialize)]
struct Choice {
    #[serde(default)]
    finish_reason: Option<serde::de::IgnoredAny>,
}

/// What an event is read for, in one pass over its text: the fields the translation acts on, borrowed
/// (`null` reads as absent). Other fields are skipped, and copied as they were.
#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
    choices: Option<Vec<Choice>>,
}

impl PassthroughStream {
    pub fn new(model_id: String, include_usage: bool) -> Self {
        PassthroughStream {
            model_json: {
                let mut m = Vec::with_capacity(model_id.len() + 2);
                write_str(&mut m, &model_id);
                m
            },
            model_id,
            include_usage,
            held: None,
            template: None,
            usage: None,
            finalized: false,
            done: false,
            failure: None,
        }
    }

    /// Emits an event as it came but for `model`: `model`'s value (`Some` when the event has one,
    /// borrowed from `data`) is replaced in place; without one, an object is written again with it, and
    /// anything else passes as it came (under its `event` name).
    fn emit(&self, out: &mut Vec<u8>, data: &str, model: Option<&RawValue>, event: Option<&str>) {
        let bytes = data.as_bytes();
        // A borrowed value's address places it in the text.
        let start = model.map(|m| (m.get().as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize));
        let end = start.zip(model).map(|(s, m)| s + m.get().len());
        if let (Some(head), Some(tail)) = (start.and_then(|s| bytes.get(..s)), end.and_then(|e| bytes.get(e..))) {
            let mut event = Vec::with_capacity(bytes.len() + self.model_json.len());
            event.extend_from_slice(head);
            event.extend_from_slice(&self.model_json);
            event.extend_from_slice(tail);
            write_event(out, None, &event);
        } else if let Ok(fields) = answer_edit::fields(data) {
            write_event(out, None, &answer_edit::with_model(&fields, &self.model_id));
        } else {
            write_event(out, event, bytes);
        }
    }

    /// Emits the final event: `fields` with `usage` (and its cost) and the `router` object.
    fn emit_final(&self, out: &mut Vec<u8>, fields: &Fields, usage: Option<&RawValue>, fin: &mut dyn Finalizer) {
        let (router, cost) = fin.finish_bytes(self.usage);
        write_event(
            out,
            None,
            &answer_edit::finish_object(fields, &self.model_id, usage, &router, cost),
        );
    }

    /// The stream's end was reached (`[DONE]`): deliver what is still held, with the router object.
    fn close(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if self.finalized {
            return;
        }
        let text = self.held.take().unwrap_or_else(|| {
            let (id, created) = self.template.take().unwrap_or_else(|| ("null".into(), "null".into()));
            format!(r#"{{"id":{id},"object":"chat.completion.chunk","created":{created},"model":null,"choices":[]}}"#)
        });
        if let Ok(fields) = answer_edit::fields(&text) {
            self.emit_final(out, &fields, None, fin);
        }
        self.finalized = true;
    }
}

impl StreamTranslator for PassthroughStream {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if !ev.has_data || self.done || self.failure.is_some() {
            return;
        }
        if ev.data.trim() == "[DONE]" {
            self.close(out, fin);
            self.done = true;
            out.extend_from_slice(b"data: [DONE]\n\n");
            return;
        }
        let Ok(p) = serde_json::from_str::<Probe>(&ev.data) else {
            // Not an object we can read (or an odd `choices`): `model` is still set when it is an object.
            self.emit(out, &ev.data, None, ev.event.as_deref());
            return;
        };
        if let Some(e) = p.error {
            // Reported when the stream ends, in the public error shape.
            let e: Value = serde_json::from_str(e.get()).unwrap_or(Value::Null);
            self.failure = Some(
                e.get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
            );
            return;
        }
        if self.template.is_none() {
            let raw = |v: Option<&RawValue>| v.map_or_else(|| "null".to_string(), |v| v.get().to_string());
            self.template = Some((raw(p.id), raw(p.created)));
        }
        if let Some(u) = p.usage {
            self.usage = serde_json::from_str::<Value>(u.get())
                .ok()
                .as_ref()
                .and_then(parse_usage);
            let last = if self.include_usage {
                Some(ev.data.as_str())
            } else {
                self.held.as_deref()
            };
            if let Some(Ok(fields)) = last.map(answer_edit::fields) {
                self.emit_final(out, &fields, Some(u), fin);
                self.held = None;
                self.finalized = true;
            }
            return;
        }
        let finishing = p.choices.iter().flatten().any(|c| c.finish_reason.is_some());
        if finishing && !self.include_usage && !self.finalized {
            if let Some(prev) = self.held.replace(ev.data.clone()) {
                self.emit(out, &prev, None, None);
            }
            return;
        }
        self.emit(out, &ev.data, p.model, None);
    }

    fn end(&mut self, _out: &mut Vec<u8>, _fin: &mut dyn Finalizer) -> Result<(), Incomplete> {
        match self.failure.take() {
            Some(f) => Err(Incomplete::ProviderError(f)),
            None if self.done => Ok(()),
            None => Err(Incomplete::Truncated),
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        write_event(out, None, error.to_string().as_bytes());
    }

    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

#[cfg(test)]
mod tests;
