//! OpenAI Chat Completions SSE chunks → canonical stream events (the provider's [`StreamDecoder`]).

use serde_json::Value;
use switchyard_sdk::ir::StreamEvent;

use super::wire::{finish_reason, parse_usage};
use crate::providers::StreamDecoder;
use crate::wire::sse::SseEvent;

/// OpenAI stream chunks → canonical events.
pub(super) struct Decoder {
    pub(super) started: bool,
    pub(super) done: bool,
    pub(super) reasoning_field: Option<String>,
}

impl StreamDecoder for Decoder {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>) {
        if !ev.has_data || self.done {
            return;
        }
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        if let Some(e) = v.get("error") {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            out.push(StreamEvent::Error { message });
            return;
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: v["id"].as_str().unwrap_or_default().to_string(),
                model: v["model"].as_str().unwrap_or_default().to_string(),
            });
        }
        if let Some(choice) = v.get("choices").and_then(|c| c.get(0)) {
            let d = &choice["delta"];
            if let Some(f) = &self.reasoning_field {
                if let Some(r) = d.get(f).and_then(Value::as_str).filter(|r| !r.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta(r.to_string()));
                }
            }
            if let Some(t) = d.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta(t.to_string()));
            }
            if let Some(r) = d.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty()) {
                out.push(StreamEvent::RefusalDelta(r.to_string()));
            }
            for c in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                let index = c["index"].as_u64().unwrap_or(0) as usize;
                if let Some(name) = c["function"]["name"].as_str() {
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: c["id"].as_str().unwrap_or_default().to_string(),
                        name: name.to_string(),
                    });
                }
                if let Some(a) = c["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: a.to_string(),
                    });
                }
            }
            if let Some(c) = choice
                .pointer("/logprobs/content")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
            {
                out.push(StreamEvent::Logprobs(super::parse::logprobs(c)));
            }
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                out.push(StreamEvent::Finish(finish_reason(f)));
            }
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()).and_then(parse_usage) {
            out.push(StreamEvent::Usage(u));
        }
    }

    fn done(&self) -> bool {
        self.done
    }
}
