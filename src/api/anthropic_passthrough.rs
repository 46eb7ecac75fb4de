//! Anthropic Messages client ↔ Anthropic provider. Same schema on both sides, so bodies pass through
//! losslessly (cache_control, thinking signatures, beta features' fields): the request keeps every
//! field the client sent but the gateway's own, and answers are edited in place (model, cost, router).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Usage};

use crate::config::Model;
use crate::providers::anthropic::wire::{error_message, WireUsage};
use crate::wire::answer_edit::{rewrite_answer, write_field};
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
pub fn rewrite_response(body: &[u8], model_id: &str, fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    let usage_of = |v: &RawValue| serde_json::from_str::<WireUsage>(v.get()).ok().map(|u| u.canonical());
    rewrite_answer(body, "content", model_id, usage_of, fin)
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
        use super::ClientCodec;
        super::anthropic_messages::MessagesCodec.stream_error(error, out);
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::anthropic_messages::tests::{accumulate, Fin};
    use crate::config::raw::Quirks;
    use crate::config::{test_model, ProviderKind};
    use crate::wire::json::parse_object;
    use crate::wire::sse::SseParser;

    #[test]
    fn request_passes_through_but_for_model_and_gateway_fields() {
        let body = include_bytes!("../../tests/fixtures/anthropic/request_full.json");
        let parsed = crate::api::anthropic_messages::parse(body).unwrap();
        let m = test_model(ProviderKind::Anthropic, Quirks::default());
        let out: Map<String, Value> =
            serde_json::from_slice(&render_request(&parse_object(body).unwrap(), &parsed.request, &m)).unwrap();
        let mut orig: Map<String, Value> = serde_json::from_slice(body).unwrap();
        assert_eq!(out["model"], "up-m");
        for k in GATEWAY_FIELDS {
            assert!(!out.contains_key(*k), "{k}");
            orig.remove(*k);
        }
        orig.insert("model".into(), json!("up-m"));
        assert_eq!(
            out, orig,
            "everything else verbatim: cache_control, signatures, server tools"
        );
        let keys: Vec<&String> = out.keys().collect();
        let orig_keys: Vec<&String> = orig.keys().collect();
        assert_eq!(keys, orig_keys, "in the client's order");
        let strip = |body: &[u8]| {
            let p = crate::api::anthropic_messages::parse(body).unwrap();
            serde_json::from_slice::<Value>(&render_request(&parse_object(body).unwrap(), &p.request, &m)).unwrap()
        };
        let v = strip(br#"{"model":"m","max_tokens":5,"messages":[],"metadata":{"user_id":"u1","team":"x"}}"#);
        assert_eq!(
            v["metadata"],
            json!({"user_id": "u1"}),
            "Anthropic accepts only user_id in metadata"
        );
        let v = strip(br#"{"model":"m","max_tokens":5,"messages":[],"metadata":{"team":"x"}}"#);
        assert!(v.get("metadata").is_none());
    }

    #[test]
    fn response_gets_model_cost_router() {
        let body = include_bytes!("../../tests/fixtures/anthropic/response_tool_use.json");
        let mut fin = Fin(0);
        let out = rewrite_response(body, "anthropic/claude-sonnet-4", &mut fin).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let orig: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["model"], "anthropic/claude-sonnet-4");
        assert_eq!(v["content"], orig["content"]);
        assert_eq!(v["usage"]["cache_read_input_tokens"], 2048);
        assert_eq!(
            v["usage"]["cost"], 0.000065,
            "Fin prices output tokens at a micro-dollar"
        );
        assert_eq!((v["router"]["calls"].as_u64(), fin.0), (Some(1), 1));
        assert!(rewrite_response(b"<html>", "m", &mut Fin(0)).is_err());
        let err = include_bytes!("../../tests/fixtures/anthropic/error_overloaded.json");
        assert!(rewrite_response(err, "m", &mut Fin(0)).is_err());
    }

    fn run(stream: &[u8], split: usize) -> (Vec<u8>, Result<(), Incomplete>, u32, Option<Usage>) {
        let mut t = PassthroughStream::new("anthropic/claude".into());
        let mut p = SseParser::new(1 << 20);
        let mut out = Vec::new();
        let mut fin = Fin(0);
        for chunk in [&stream[..split], &stream[split..]] {
            p.push(chunk, |e| t.event(&e, &mut out, &mut fin)).unwrap();
        }
        let end = t.end(&mut out, &mut fin);
        (out, end, fin.0, t.usage())
    }

    fn events(sse: &[u8]) -> Vec<SseEvent> {
        let mut evs = Vec::new();
        SseParser::new(1 << 20).push(sse, |e| evs.push(e)).unwrap();
        evs
    }

    #[test]
    fn stream_is_forwarded_with_model_cost_and_router() {
        let stream = include_bytes!("../../tests/fixtures/anthropic/stream_thinking.sse");
        let (whole, end, calls, usage) = run(stream, 0);
        assert_eq!((end, calls), (Ok(()), 1));
        assert_eq!(
            usage.map(|u| (u.input_tokens, u.cached_input_tokens, u.output_tokens)),
            Some((2128, 2000, 106))
        );
        let (ours, theirs) = (events(&whole), events(stream));
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            match a.event.as_deref() {
                Some("message_start" | "message_delta" | "message_stop") => {}
                _ => assert_eq!(a, b, "content events pass byte for byte"),
            }
        }
        let (msg, router) = accumulate(&whole);
        assert_eq!(msg["model"], "anthropic/claude");
        assert_eq!(msg["usage"]["cost"], 0.000106);
        assert_eq!(router["calls"], 1);
        assert_eq!(
            msg["content"][0]["signature"],
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds=="
        );
        for split in 0..=stream.len() {
            assert_eq!(run(stream, split).0, whole, "split at {split}");
        }
    }

    #[test]
    fn errors_and_truncation_are_reported_at_the_end() {
        let (out, end, _, usage) = run(include_bytes!("../../tests/fixtures/anthropic/stream_error.sse"), 0);
        assert_eq!(
            end,
            Err(Incomplete::ProviderError("overloaded_error: Overloaded".into()))
        );
        assert!(
            !String::from_utf8(out).unwrap().contains("event: error"),
            "the proxy writes the one error event"
        );
        assert_eq!(usage.map(|u| u.input_tokens), Some(42), "the prompt is still billed");
        let (_, end, calls, _) = run(include_bytes!("../../tests/fixtures/anthropic/stream_truncated.sse"), 0);
        assert_eq!((end, calls), (Err(Incomplete::Truncated), 0));
    }
}
