//! Gemini SSE chunks → canonical stream events (the provider's [`StreamDecoder`]).

use switchyard_sdk::ir::{FinishReason, StreamEvent, Usage};

use super::parse::{blocked, error_text};
use super::{upstream_name, wire};
use crate::config::Model;
use crate::providers::StreamDecoder;
use crate::wire::sse::SseEvent;

/// Gemini SSE chunks → canonical events. Each chunk is a whole `GenerateContentResponse` holding
/// the new parts; function calls arrive whole, so a call is one start and one arguments delta. The
/// stream ends by closing, with no end marker: `done` stays false and a close is a normal end once
/// a finish reason (or a prompt block) was seen.
pub(super) struct Decoder {
    model: String,
    response_id: String,
    started: bool,
    finished: bool,
    failed: bool,
    calls: usize,
    usage: Option<Usage>,
}

impl Decoder {
    pub(super) fn new(model: &Model) -> Self {
        Decoder {
            model: upstream_name(model).to_string(),
            response_id: String::new(),
            started: false,
            finished: false,
            failed: false,
            calls: 0,
            usage: None,
        }
    }

    fn fail(&mut self, message: String, out: &mut Vec<StreamEvent>) {
        self.failed = true;
        out.push(StreamEvent::Error { message });
    }
}

impl StreamDecoder for Decoder {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>) {
        if !ev.has_data || self.failed || ev.data.trim().is_empty() {
            return;
        }
        let r: wire::Response = match serde_json::from_str(&ev.data) {
            Ok(r) => r,
            Err(e) => return self.fail(format!("unreadable Gemini stream event: {e}"), out),
        };
        if let Some(e) = &r.error {
            return self.fail(error_text(e), out);
        }
        if !self.started {
            self.started = true;
            self.response_id = r.response_id.as_deref().unwrap_or_default().to_string();
            out.push(StreamEvent::Start {
                id: self.response_id.clone(),
                model: r.model_version.as_deref().unwrap_or(&self.model).to_string(),
            });
        }
        let mut finish = None;
        match r.candidates.into_iter().next() {
            Some(c) => {
                for p in c.content.into_iter().flat_map(|c| c.parts) {
                    self.part(p, out);
                }
                if let Some(l) = c
                    .logprobs_result
                    .map(wire::LogprobsResult::canonical)
                    .filter(|l| !l.is_empty())
                {
                    out.push(StreamEvent::Logprobs(l));
                }
                finish = c.finish_reason.map(|f| wire::finish(&f, self.calls > 0));
            }
            None if blocked(&r.prompt_feedback) => finish = Some(FinishReason::ContentFilter),
            None => {}
        }
        if let Some(f) = finish.filter(|_| !self.finished) {
            self.finished = true;
            out.push(StreamEvent::Finish(f));
        }
        if let Some(u) = r.usage_metadata.as_ref().map(wire::usage) {
            if self.usage != Some(u) {
                self.usage = Some(u);
                out.push(StreamEvent::Usage(u));
            }
        }
    }

    fn done(&self) -> bool {
        false
    }

    fn complete_at_eof(&self) -> bool {
        self.finished && !self.failed
    }
}

impl Decoder {
    fn part(&mut self, p: wire::PartIn, out: &mut Vec<StreamEvent>) {
        let sig = p
            .thought_signature
            .as_deref()
            .map(|s| wire::tag_signature(&self.model, s));
        if p.thought {
            if let Some(t) = p.text.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::ReasoningDelta(t.into_owned()));
            }
            out.extend(sig.map(StreamEvent::ReasoningSignature));
            return;
        }
        out.extend(sig.map(StreamEvent::ReasoningSignature));
        if let Some(fc) = p.function_call {
            let index = self.calls;
            self.calls += 1;
            out.push(StreamEvent::ToolCallStart {
                index,
                id: wire::call_id(fc.id.as_deref(), &self.response_id, index),
                name: fc.name.into_owned(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: fc
                    .args
                    .map_or_else(|| "{}".to_string(), |a| wire::compact_json(a.get())),
            });
        } else if let Some(t) = p.text.filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta(t.into_owned()));
        }
    }
}

/// A decoder that yields nothing; placeholder adapters still name it.
pub struct Nothing;

impl StreamDecoder for Nothing {
    fn event(&mut self, _ev: &SseEvent, _out: &mut Vec<StreamEvent>) {}
    fn done(&self) -> bool {
        false
    }
}
