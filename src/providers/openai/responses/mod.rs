//! OpenAI Responses client ↔ a provider that speaks the Responses API (OpenAI; an
//! `openai_compatible` server with `responses_api: true`). Same schema on both sides: the client's
//! body goes to `POST {base}/responses` with only `model` changed (and Switchyard's own fields
//! left out), so every field the provider has passes, built-in tools, namespaces and custom tools
//! included, with nothing parsed but what routing needs. Answers are edited in place: `model`
//! becomes the catalog id, `usage` gains `cost`, and the final `response` object gains `router`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_sdk::ir::Usage;

use crate::api::{codec, Schema};
use crate::config::Model;
use crate::providers::ProviderError;
use crate::wire::answer_edit::{fields, finish_object, rewrite_answer, with_field, with_model};
use crate::wire::json::RawObject;
use crate::wire::json_out::write_str;
use crate::wire::sse::{write_event, SseEvent};
use crate::wire::{Finalizer, Incomplete, StreamTranslator, GATEWAY_FIELDS};

/// The upstream request body: the client's fields in the client's order, with the provider's model
/// name, without Switchyard's own fields and the model's rejected fields (`quirks.drop_fields`).
pub fn render_request(raw: &RawObject, model: &Model) -> Vec<u8> {
    let size: usize = raw.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + model.upstream_model.len() + 2);
    out.push(b'{');
    let mut first = true;
    for (k, v) in raw {
        let k = k.as_str();
        if GATEWAY_FIELDS.contains(&k) || model.quirks.drop_fields.iter().any(|d| d == k) {
            continue;
        }
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        write_str(&mut out, k);
        out.push(b':');
        if k == "model" {
            write_str(&mut out, &model.upstream_model);
        } else {
            out.extend_from_slice(v.get().as_bytes());
        }
    }
    out.push(b'}');
    out
}

#[derive(Deserialize, Default)]
struct Details {
    #[serde(default)]
    cached_tokens: u64,
    #[serde(default)]
    reasoning_tokens: u64,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<Details>,
    #[serde(default)]
    output_tokens_details: Option<Details>,
}

/// A Responses `usage` object in canonical terms (input includes cached tokens, output includes
/// reasoning tokens, as OpenAI reports them).
pub fn usage_of(v: &RawValue) -> Option<Usage> {
    let u: WireUsage = serde_json::from_str(v.get()).ok()?;
    Some(Usage {
        input_tokens: u.input_tokens,
        cached_input_tokens: u.input_tokens_details.map_or(0, |d| d.cached_tokens),
        cache_write_tokens: 0,
        output_tokens: u.output_tokens,
        reasoning_tokens: u.output_tokens_details.map_or(0, |d| d.reasoning_tokens),
        reasoning_unknown: false,
    })
}

/// A complete `response` object for the client.
pub fn rewrite_response(body: &[u8], model_id: &str, fin: &mut dyn Finalizer) -> Result<Vec<u8>, ProviderError> {
    rewrite_answer(body, "output", model_id, usage_of, fin).map_err(ProviderError::InvalidResponse)
}

/// The fields a Responses event is read for.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// Passes a Responses stream through, event by event: each `response` object (in
/// `response.created`, `.in_progress`, `.completed`, ...) gets the catalog id as `model`; the final
/// one (`response.completed` or `response.incomplete`) gets `usage.cost` and `router`. Every other
/// event is copied as it came.
pub struct PassthroughStream {
    model_id: String,
    usage: Option<Usage>,
    done: bool,
    failure: Option<String>,
}

impl PassthroughStream {
    pub fn new(model_id: String) -> Self {
        PassthroughStream {
            model_id,
            usage: None,
            done: false,
            failure: None,
        }
    }

    /// The event with its `response` object edited by `edit`.
    fn edit_response(
        &mut self,
        ev: &SseEvent,
        out: &mut Vec<u8>,
        edit: impl FnOnce(&mut Self, &crate::wire::answer_edit::Fields, Option<&RawValue>) -> Vec<u8>,
    ) {
        let Ok(outer) = fields(&ev.data) else {
            write_event(out, ev.event.as_deref(), ev.data.as_bytes());
            return;
        };
        let Some(resp) = outer.iter().find(|(k, _)| k == "response").map(|(_, v)| *v) else {
            write_event(out, ev.event.as_deref(), ev.data.as_bytes());
            return;
        };
        let Ok(inner) = fields(resp.get()) else {
            write_event(out, ev.event.as_deref(), ev.data.as_bytes());
            return;
        };
        let usage = inner.iter().find(|(k, _)| k == "usage").map(|(_, v)| *v);
        let edited = edit(self, &inner, usage);
        write_event(out, ev.event.as_deref(), &with_field(&outer, "response", &edited));
    }
}

fn error_text(data: &str) -> String {
    let v: Value = serde_json::from_str(data).unwrap_or_default();
    let e = v.get("response").and_then(|r| r.get("error")).unwrap_or(&v);
    let e = e.get("error").unwrap_or(e);
    e.get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error in the stream")
        .to_string()
}

impl StreamTranslator for PassthroughStream {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if !ev.has_data || self.done || self.failure.is_some() {
            return;
        }
        let kind = serde_json::from_str::<Probe>(&ev.data)
            .ok()
            .and_then(|p| p.kind)
            .map(|k| k.into_owned())
            .or_else(|| ev.event.clone())
            .unwrap_or_default();
        match kind.as_str() {
            "response.completed" | "response.incomplete" => {
                self.edit_response(ev, out, |me, inner, usage| {
                    me.usage = usage.and_then(usage_of);
                    let (router, cost) = fin.finish_bytes(me.usage);
                    me.done = true;
                    finish_object(inner, &me.model_id, usage, &router, cost)
                });
            }
            "response.failed" | "error" => self.failure = Some(error_text(&ev.data)),
            _ if ev.data.contains("\"response\"") => {
                self.edit_response(ev, out, |me, inner, _| with_model(inner, &me.model_id));
            }
            _ => write_event(out, ev.event.as_deref(), ev.data.as_bytes()),
        }
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

    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        codec(Schema::OpenAiResponses).stream_error(error, out);
    }
}

#[cfg(test)]
mod tests;
