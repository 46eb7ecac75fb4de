//! OpenAI Chat client ↔ OpenAI-schema provider (OpenAI, OpenAI-compatible servers, the simulator).
//! Same schema on both sides, so bodies pass through losslessly: the request keeps every field the
//! client sent except the gateway's own, and responses are edited in place (model, cost, router).

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Role, Usage};

use crate::config::Model;
use crate::providers::openai::{max_tokens_field, render_messages};
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

/// Usage in OpenAI's shape → canonical usage.
pub fn parse_usage(u: &Value) -> Option<Usage> {
    let o = u.as_object()?;
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        input_tokens: n(o.get("prompt_tokens")),
        cached_input_tokens: n(o.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens"))),
        cache_write_tokens: 0,
        output_tokens: n(o.get("completion_tokens")),
        reasoning_tokens: n(o
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))),
    })
}

/// Rewrite a complete non-streaming response: `model` becomes the catalog id, `usage` gains `cost`,
/// and `router` is added. Only `usage` is parsed; every other field is copied as raw text.
pub fn rewrite_response(body: &[u8], model_id: &str, fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    let usage_of = |v: &RawValue| serde_json::from_str::<Value>(v.get()).ok().as_ref().and_then(parse_usage);
    rewrite_answer(body, "choices", model_id, usage_of, fin)
}

/// The message of an OpenAI-shaped error body (`{"error": {"message": …}}`), else the body's text.
pub fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let msg = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/message"))
                .or_else(|| v.get("error"))
        })
        .and_then(Value::as_str);
    match msg {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string(),
    }
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
        write_event(out, None, &answer_edit::finish_object(fields, &self.model_id, usage, &router, cost));
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
            self.failure =
                Some(e.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| e.to_string()));
            return;
        }
        if self.template.is_none() {
            let raw = |v: Option<&RawValue>| v.map_or_else(|| "null".to_string(), |v| v.get().to_string());
            self.template = Some((raw(p.id), raw(p.created)));
        }
        if let Some(u) = p.usage {
            self.usage = serde_json::from_str::<Value>(u.get()).ok().as_ref().and_then(parse_usage);
            let last = if self.include_usage { Some(ev.data.as_str()) } else { self.held.as_deref() };
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
mod tests {
    use super::*;
    use crate::config::raw::Quirks;
    use crate::config::{test_model, ProviderKind};
    use crate::wire::sse::SseParser;
    use serde_json::json;
    use switchyard_sdk::Money;

    struct Fin(u32);
    impl Finalizer for Fin {
        fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
            self.0 += 1;
            (
                json!({"calls": self.0}),
                usage.map(|u| Money(u.input_tokens * 1_000_000)),
            )
        }
    }

    fn render(body: &[u8], model: &Model) -> Value {
        let parsed = crate::api::openai_chat::parse(body).unwrap();
        serde_json::from_slice(&render_request(&crate::wire::json::parse_object(body).unwrap(), &parsed.request, model)).unwrap()
    }

    #[test]
    fn request_keeps_unknown_fields_and_drops_gateway_ones() {
        let m = test_model(ProviderKind::OpenAi, Quirks::default());
        let v = render(br#"{"model":"alias","messages":[{"role":"user","content":"hi"}],"logprobs":true,"fallback":["x"],"metadata":{"a":1},"stream":true,"stream_options":{"include_usage":false,"x":1},"max_tokens":9}"#, &m);
        assert_eq!(v["model"], "up-m");
        assert_eq!(v["logprobs"], true);
        assert!(v.get("fallback").is_none() && v.get("metadata").is_none());
        assert_eq!(v["stream_options"], json!({"include_usage": true, "x": 1}));
        assert_eq!(
            v["max_completion_tokens"], 9,
            "OpenAI itself gets max_completion_tokens"
        );
        let v = render(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"store":true,"metadata":{"a":1}}"#,
            &m,
        );
        assert_eq!(v["metadata"], json!({"a": 1}));
        assert!(v.get("stream_options").is_none());
    }

    #[test]
    fn request_follows_catalog_quirks() {
        let q = Quirks {
            max_tokens_field: Some("max_tokens".into()),
            stream_usage: false,
            developer_role: false,
            drop_fields: vec!["parallel_tool_calls".into()],
            reasoning_field: None,
        };
        let m = test_model(ProviderKind::OpenAiCompatible, q);
        let v = render(br#"{"model":"m","messages":[{"role":"developer","content":"be terse"},{"role":"user","content":"hi"}],"max_completion_tokens":5,"stream":true,"parallel_tool_calls":false}"#, &m);
        assert_eq!(v["max_tokens"], 5);
        assert!(v.get("max_completion_tokens").is_none());
        assert!(v.get("stream_options").is_none());
        assert!(v.get("parallel_tool_calls").is_none());
        assert_eq!(v["messages"][0]["role"], "system");
        assert_eq!(v["messages"][1]["content"], "hi");
    }

    #[test]
    fn response_gets_model_cost_router() {
        let body = br#"{"id":"c1","object":"chat.completion","model":"gpt-4o-2024","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}}"#;
        let out = rewrite_response(body, "openai/gpt-4o", &mut Fin(0)).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "openai/gpt-4o");
        assert_eq!(v["usage"]["cost"], json!(0.000003));
        assert_eq!(v["router"]["calls"], 1);
        assert!(rewrite_response(b"<html>", "m", &mut Fin(0)).is_err());
    }

    fn run(stream: &str, include_usage: bool) -> (Vec<Value>, bool) {
        let mut t = PassthroughStream::new("sim/fast".into(), include_usage);
        let mut p = SseParser::new(1 << 20);
        let mut out = Vec::new();
        let mut fin = Fin(0);
        p.push(stream.as_bytes(), |e| t.event(&e, &mut out, &mut fin)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let done = text.ends_with("data: [DONE]\n\n");
        let events = text
            .split("\n\n")
            .filter(|s| s.starts_with("data: {"))
            .map(|s| serde_json::from_str(&s[6..]).unwrap())
            .collect();
        (events, done)
    }

    const STREAM: &str = "data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
        data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n\
        data: [DONE]\n\n";

    #[test]
    fn stream_without_usage_request_folds_usage_into_finish_chunk() {
        let (ev, done) = run(STREAM, false);
        assert!(done);
        assert_eq!(ev.len(), 2);
        assert!(ev.iter().all(|e| e["model"] == "sim/fast"));
        assert_eq!(ev[1]["choices"][0]["finish_reason"], "stop");
        assert_eq!(ev[1]["usage"]["prompt_tokens"], 5);
        assert_eq!(ev[1]["router"]["calls"], 1);
    }

    #[test]
    fn stream_with_usage_request_keeps_usage_chunk() {
        let (ev, done) = run(STREAM, true);
        assert!(done);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[2]["choices"], json!([]));
        assert_eq!(ev[2]["usage"]["cost"], json!(0.000005));
        assert_eq!(ev[2]["router"]["calls"], 1);
    }

    #[test]
    fn stream_without_upstream_usage_still_ends_with_router() {
        let s = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let (ev, done) = run(s, true);
        assert!(done);
        assert_eq!(ev.last().unwrap()["router"]["calls"], 1);
        assert!(ev.last().unwrap().get("usage").is_none());
    }

    #[test]
    fn model_is_set_once_whatever_the_event_holds() {
        let s = concat!(
            "data: {\"id\":\"c\",\"created\":1,\"model\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":\"odd\"}\n\n",
            "data: {\"note\":\"\\\"model\\\":\\\"up\\\"\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
            "data: [DONE]\n\n",
        );
        let mut t = PassthroughStream::new("sim/fast".into(), false);
        let mut out = Vec::new();
        SseParser::new(1 << 20).push(s.as_bytes(), |e| t.event(&e, &mut out, &mut Fin(0))).unwrap();
        let text = String::from_utf8(out).unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|e| e.starts_with("data: {")).map(|e| &e[6..]).collect();
        assert_eq!(events.len(), 6, "{text}");
        for e in &events {
            assert_eq!(e.matches("\"model\":").count(), 1, "one top-level model in {e}");
            assert_eq!(serde_json::from_str::<Value>(e).unwrap()["model"], "sim/fast");
        }
        let v = |i: usize| serde_json::from_str::<Value>(events[i]).unwrap();
        assert_eq!(v(2)["choices"], "odd");
        assert_eq!(v(3)["note"], "\"model\":\"up\"", "the text inside a string is left alone");
        // Two finish chunks: the first goes out as it came, the last one carries usage and router.
        assert_eq!(v(4)["choices"][0]["finish_reason"], "stop");
        assert!(v(4).get("router").is_none());
        assert_eq!(v(5)["choices"][0]["finish_reason"], "length");
        assert_eq!(v(5)["usage"]["prompt_tokens"], 5);
        assert_eq!(v(5)["usage"]["cost"], json!(0.000005));
        assert_eq!(v(5)["router"]["calls"], 1);
        assert!(text.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn an_error_event_ends_the_stream_as_a_failure() {
        let s = "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n\
            data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n\
            data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n";
        let mut t = PassthroughStream::new("sim/fast".into(), true);
        let mut out = Vec::new();
        SseParser::new(1 << 20).push(s.as_bytes(), |e| t.event(&e, &mut out, &mut Fin(0))).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().matches("data: ").count(), 1, "nothing after the error");
        assert_eq!(t.failure(), Some("overloaded"));
        assert!(matches!(t.end(&mut Vec::new(), &mut Fin(0)), Err(Incomplete::ProviderError(m)) if m == "overloaded"));
    }
}
