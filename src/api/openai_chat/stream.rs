//! Canonical stream events → OpenAI `chat.completion.chunk` events, ended by `[DONE]`.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, FinishReason, StreamEvent, Usage};

use super::render::{chat_id, finish_str, logprobs_json, now_secs, usage_json};
use super::OpenAiChatCodec;
use crate::api::{ClientCodec, StreamEncoder};
use crate::wire::sse::write_event;
use crate::wire::Finalizer;

/// Canonical events → `chat.completion.chunk` events.
pub(super) struct ChunkEncoder {
    id: String,
    created: u64,
    model_id: String,
    include_usage: bool,
    started: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ChunkEncoder {
    pub(super) fn new(req: &ChatRequest, model_id: &str) -> Self {
        ChunkEncoder {
            id: String::new(),
            created: now_secs(),
            model_id: model_id.to_string(),
            include_usage: req.stream_include_usage,
            started: false,
            finish: None,
            usage: None,
        }
    }

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
            StreamEvent::RefusalDelta(t) => {
                self.ensure_started(out);
                Self::emit(out, &self.chunk(json!({"refusal": t}), None));
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
            StreamEvent::Logprobs(l) => {
                self.ensure_started(out);
                let mut c = self.chunk(json!({}), None);
                if let Some(Value::Array(choices)) = c.get_mut("choices") {
                    if let Some(first) = choices.first_mut() {
                        first["logprobs"] = logprobs_json(&l);
                    }
                }
                Self::emit(out, &c);
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
        let reason = finish_str(self.finish.as_ref(), fin);
        let (router, cost) = fin.finish(self.usage);
        let mut last = self.chunk(json!({}), Some(reason));
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
