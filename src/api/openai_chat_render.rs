//! OpenAI Chat Completions, client side, for answers that come through the canonical IR (from
//! Anthropic or Gemini providers): `chat.completion` objects and `chat.completion.chunk` streams.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, ChatResponse, FinishReason, OutPart, StreamEvent, Usage};
use switchyard_sdk::Money;

use super::{openai_chat, ClientCodec, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;
use crate::wire::Finalizer;
use crate::wire::sse::write_event;

pub struct OpenAiChatCodec;

pub fn finish_str(f: &FinishReason) -> &str {
    match f {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(s) => s,
    }
}

/// Canonical usage in OpenAI's shape, with the exact cost.
pub fn usage_json(u: &Usage, cost: Option<Money>) -> Value {
    let mut v = json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    });
    if let Some(c) = cost {
        v["cost"] = json!(c.as_dollars_f64());
    }
    v
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn chat_id(upstream: &str) -> String {
    if upstream.starts_with("chatcmpl-") {
        upstream.to_string()
    } else {
        format!("chatcmpl-{upstream}")
    }
}

impl ClientCodec for OpenAiChatCodec {
    fn schema(&self) -> Schema {
        Schema::OpenAiChat
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        openai_chat::parse(body)
    }

    fn render_response(&self, resp: &ChatResponse, _req: Option<&ChatRequest>, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
        let mut msg = Map::new();
        msg.insert("role".into(), json!("assistant"));
        let text = resp.text();
        let calls: Vec<Value> = resp
            .tool_calls()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        msg.insert(
            "content".into(),
            if text.is_empty() && !calls.is_empty() {
                Value::Null
            } else {
                json!(text)
            },
        );
        let reasoning: String = resp
            .parts
            .iter()
            .filter_map(|p| {
                if let OutPart::Reasoning { text, .. } = p {
                    Some(text.as_str())
                } else {
                    None
                }
            })
            .collect();
        if !reasoning.is_empty() {
            // Not in OpenAI's schema; the field several OpenAI-compatible providers use for it.
            msg.insert("reasoning_content".into(), json!(reasoning));
        }
        msg.insert("refusal".into(), Value::Null);
        if !calls.is_empty() {
            msg.insert("tool_calls".into(), Value::Array(calls));
        }
        let (router, cost) = fin.finish(resp.usage);
        let mut out = json!({
            "id": chat_id(&resp.id),
            "object": "chat.completion",
            "created": if resp.created > 0 { resp.created } else { now_secs() },
            "model": model_id,
            "choices": [{"index": 0, "message": msg, "logprobs": null,
                         "finish_reason": resp.finish.as_ref().map(finish_str).unwrap_or("stop")}],
            "router": router,
        });
        if let Some(u) = &resp.usage {
            out["usage"] = usage_json(u, cost);
        }
        out.to_string().into_bytes()
    }

    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        Box::new(ChunkEncoder {
            id: String::new(),
            created: now_secs(),
            model_id: model_id.to_string(),
            include_usage: req.stream_include_usage,
            started: false,
            finish: None,
            usage: None,
        })
    }

    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        write_event(out, None, error.to_string().as_bytes());
    }
}

/// Canonical events → `chat.completion.chunk` events.
struct ChunkEncoder {
    id: String,
    created: u64,
    model_id: String,
    include_usage: bool,
    started: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ChunkEncoder {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("object".into(), json!("chat.completion.chunk"));
        m.insert("created".into(), json!(self.created));
        m.insert("model".into(), json!(self.model_id));
        m.insert(
            "choices".into(),
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
        );
        m
    }

    fn emit(out: &mut Vec<u8>, m: &Map<String, Value>) {
        write_event(out, None, Value::Object(m.clone()).to_string().as_bytes());
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            if self.id.is_empty() {
                self.id = format!("chatcmpl-{}", self.created);
            }
            let c = self.chunk(json!({"role": "assistant", "content": ""}), None);
            Self::emit(out, &c);
        }
    }
}

impl StreamEncoder for ChunkEncoder {
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        OpenAiChatCodec.stream_error(error, out);
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<u8>) {
        match ev {
            StreamEvent::Start { id, .. } => {
                if !self.started {
                    self.id = chat_id(&id);
                }
                self.ensure_started(out);
            }
            StreamEvent::TextDelta(t) => {
                self.ensure_started(out);
                Self::emit(out, &self.chunk(json!({"content": t}), None));
            }
            StreamEvent::ReasoningDelta(t) => {
                self.ensure_started(out);
                Self::emit(out, &self.chunk(json!({"reasoning_content": t}), None));
            }
            StreamEvent::ReasoningSignature(_) => {}
            StreamEvent::ToolCallStart { index, id, name } => {
                self.ensure_started(out);
                let d = json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
                Self::emit(out, &self.chunk(d, None));
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.ensure_started(out);
                let d = json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]});
                Self::emit(out, &self.chunk(d, None));
            }
            StreamEvent::Finish(f) => self.finish = Some(f),
            StreamEvent::Usage(u) => self.usage = Some(u),
            StreamEvent::Error { .. } => {}
        }
    }

    /// Usage and `router` go on the finish chunk, or on a usage chunk after it when the client asked
    /// for usage (OpenAI's `include_usage` shape); then `[DONE]`.
    fn finish(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        self.ensure_started(out);
        let (router, cost) = fin.finish(self.usage);
        let reason = self.finish.as_ref().map(finish_str).unwrap_or("stop").to_string();
        let mut last = self.chunk(json!({}), Some(&reason));
        if self.include_usage {
            Self::emit(out, &last);
            last = self.chunk(json!({}), None);
            last.insert("choices".into(), json!([]));
        }
        if let Some(u) = &self.usage {
            last.insert("usage".into(), usage_json(u, cost));
        } else if self.include_usage {
            last.insert("usage".into(), Value::Null);
        }
        last.insert("router".into(), router);
        Self::emit(out, &last);
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::ir::ToolCall;

    struct Fin;
    impl Finalizer for Fin {
        fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
            (json!({"ok": true}), usage.map(|_| Money(2_000_000)))
        }
    }

    #[test]
    fn renders_a_tool_call_answer() {
        let resp = ChatResponse {
            id: "msg_1".into(),
            created: 5,
            model: "claude".into(),
            parts: vec![OutPart::ToolCall(ToolCall {
                id: "toolu_1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            })],
            finish: Some(FinishReason::ToolCalls),
            usage: Some(Usage {
                input_tokens: 10,
                output_tokens: 3,
                ..Default::default()
            }),
        };
        let v: Value =
            serde_json::from_slice(&OpenAiChatCodec.render_response(&resp, None, "anthropic/x", &mut Fin)).unwrap();
        assert_eq!(v["id"], "chatcmpl-msg_1");
        assert_eq!(v["model"], "anthropic/x");
        assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["id"], "toolu_1");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["total_tokens"], 13);
        assert_eq!(v["usage"]["cost"], json!(0.000002));
        assert_eq!(v["router"]["ok"], true);
    }

    fn run(include_usage: bool) -> Vec<Value> {
        let req = ChatRequest {
            stream_include_usage: include_usage,
            ..Default::default()
        };
        let mut e = OpenAiChatCodec.stream_encoder(&req, "m/x");
        let mut out = Vec::new();
        for ev in [
            StreamEvent::Start {
                id: "abc".into(),
                model: "up".into(),
            },
            StreamEvent::TextDelta("Hi".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "c1".into(),
                name: "f".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{}".into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(Usage {
                input_tokens: 1,
                output_tokens: 2,
                ..Default::default()
            }),
        ] {
            e.event(ev, &mut out);
        }
        e.finish(&mut out, &mut Fin);
        let s = String::from_utf8(out).unwrap();
        assert!(s.ends_with("data: [DONE]\n\n"));
        s.split("\n\n")
            .filter_map(|e| {
                e.strip_prefix("data: {")
                    .map(|r| serde_json::from_str(&format!("{{{r}")).unwrap())
            })
            .collect()
    }

    #[test]
    fn streams_chunks_then_usage_and_router() {
        let ev = run(false);
        assert_eq!(ev[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(ev[1]["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(ev[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "f");
        assert_eq!(
            ev[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        let last = ev.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(last["usage"]["completion_tokens"], 2);
        assert_eq!(last["router"]["ok"], true);
        let ev = run(true);
        let last = ev.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(ev[ev.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
    }
}
