//! Canonical stream events → Anthropic Messages SSE (`message_start`, content blocks and their
//! deltas, `message_delta`, `message_stop`), as the Anthropic SDKs' stream accumulators read them.

use serde::Serialize;
use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, FinishReason, StreamEvent, Usage};

use super::render::{message_id, stop_reason, ContentOut, UsageOut};
use crate::api::StreamEncoder;
use crate::wire::anthropic::{write_error_event, ToolInput};
use crate::wire::Finalizer;

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Text,
    Thinking,
    Tool,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum DeltaOut<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

/// Canonical events → Anthropic SSE. Blocks open when their first piece arrives and close when the
/// next one starts; deltas go out as they come. `message_delta` (stop reason, usage, cost) and
/// `message_stop` (the `router` object) wait for the end, when the usage is final.
#[derive(Default)]
pub(super) struct Encoder {
    id: String,
    model_id: String,
    /// The request's input-token estimate: `message_start` goes out before the provider reports
    /// usage (OpenAI-schema providers only do at the very end), and the exact figures follow in
    /// `message_delta`, whose cumulative usage clients take over. A provider that reports usage
    /// with its start (Gemini, on every chunk) gives the real figure instead.
    estimate: u64,
    /// `message_start` said the estimate, not the provider's figure.
    estimated: bool,
    started: bool,
    open: Option<(usize, Open)>,
    /// The next content block index.
    next: usize,
    /// Block index of each canonical tool call.
    tools: Vec<Option<usize>>,
    last_thinking: Option<usize>,
    finish: Option<FinishReason>,
    /// The model refused (its words went out as text): the stop reason is `refusal`.
    refused: bool,
    usage: Option<Usage>,
}

fn write(out: &mut Vec<u8>, name: &str, data: &impl Serialize) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Through the same serializer as the whole answer, so a raw `ToolInput` is spliced in either way;
    // these plain structs cannot fail to serialize into a Vec.
    let _ = crate::wire::json_out::write(out, data);
    out.extend_from_slice(b"\n\n");
}

impl Encoder {
    pub(super) fn new(req: &ChatRequest, model_id: &str) -> Self {
        Encoder {
            id: message_id(""),
            model_id: model_id.to_string(),
            estimate: req.estimated_input_tokens(),
            ..Default::default()
        }
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let input = match &self.usage {
            Some(u) => UsageOut::new(u, None).input_tokens,
            None => {
                self.estimated = true;
                self.estimate
            }
        };
        let msg = json!({"type": "message_start", "message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model_id, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": 0},
        }});
        write(out, "message_start", &msg);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            write(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    fn open(&mut self, out: &mut Vec<u8>, kind: Open, block: ContentOut) -> usize {
        self.close(out);
        let index = self.next;
        self.next += 1;
        write(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        self.open = Some((index, kind));
        index
    }

    /// The open block of `kind`, opened if needed.
    fn block(&mut self, out: &mut Vec<u8>, kind: Open) -> usize {
        match self.open {
            Some((i, k)) if k == kind => i,
            _ => {
                let start = match kind {
                    Open::Thinking => ContentOut::Thinking {
                        thinking: "",
                        signature: "",
                    },
                    _ => ContentOut::Text { text: "" },
                };
                let i = self.open(out, kind, start);
                if kind == Open::Thinking {
                    self.last_thinking = Some(i);
                }
                i
            }
        }
    }

    fn delta(out: &mut Vec<u8>, index: usize, delta: DeltaOut) {
        #[derive(Serialize)]
        struct Ev<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            index: usize,
            delta: DeltaOut<'a>,
        }
        write(
            out,
            "content_block_delta",
            &Ev {
                kind: "content_block_delta",
                index,
                delta,
            },
        );
    }
}

impl StreamEncoder for Encoder {
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        write_error_event(error, out);
    }

    fn event(&mut self, ev: StreamEvent, out: &mut Vec<u8>) {
        match ev {
            StreamEvent::Start { id, .. } => {
                if !self.started && !id.is_empty() {
                    self.id = message_id(&id);
                }
                self.start(out);
            }
            StreamEvent::TextDelta(text) => {
                self.start(out);
                let i = self.block(out, Open::Text);
                Self::delta(out, i, DeltaOut::Text { text: &text });
            }
            StreamEvent::RefusalDelta(text) => {
                self.refused = true;
                self.start(out);
                let i = self.block(out, Open::Text);
                Self::delta(out, i, DeltaOut::Text { text: &text });
            }
            StreamEvent::ReasoningDelta(thinking) => {
                self.start(out);
                let i = self.block(out, Open::Thinking);
                Self::delta(out, i, DeltaOut::Thinking { thinking: &thinking });
            }
            StreamEvent::ReasoningSignature(signature) => {
                self.start(out);
                // A signature completes its thinking block (even one another block followed), so
                // that the next thinking starts a block of its own.
                let i = match (self.open, self.last_thinking) {
                    (Some((i, Open::Thinking)), _) | (_, Some(i)) => i,
                    _ => self.block(out, Open::Thinking),
                };
                Self::delta(out, i, DeltaOut::Signature { signature: &signature });
                if matches!(self.open, Some((_, Open::Thinking))) {
                    self.close(out);
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.start(out);
                let b = self.open(
                    out,
                    Open::Tool,
                    ContentOut::ToolUse {
                        id: &id,
                        name: &name,
                        input: ToolInput::Empty,
                    },
                );
                if self.tools.len() <= index {
                    self.tools.resize(index + 1, None);
                }
                self.tools[index] = Some(b);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.start(out);
                let b = match self.tools.get(index).copied().flatten() {
                    Some(b) => b,
                    None => {
                        // Arguments before their call began: open the block without id or name.
                        self.event(
                            StreamEvent::ToolCallStart {
                                index,
                                id: String::new(),
                                name: String::new(),
                            },
                            out,
                        );
                        self.tools.get(index).copied().flatten().unwrap_or(0)
                    }
                };
                // Providers stream one call after another; should one interleave, its arguments
                // still go to its own block index.
                Self::delta(
                    out,
                    b,
                    DeltaOut::InputJson {
                        partial_json: &arguments,
                    },
                );
            }
            StreamEvent::Finish(f) => {
                self.close(out);
                self.finish = Some(f);
            }
            StreamEvent::Usage(u) => self.usage = Some(u),
            // Messages has no log probabilities (and its clients cannot ask for them).
            StreamEvent::Logprobs(_) => {}
            StreamEvent::Error { .. } => {} // the pipeline ends the stream with `stream_error`
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        self.start(out);
        self.close(out);
        if self.estimated
            && self
                .usage
                .is_some_and(|u| UsageOut::new(&u, None).input_tokens != self.estimate)
        {
            fin.note(format!(
                "message_start's usage.input_tokens ({}) was the gateway's estimate, sent before the provider reported usage; message_delta's usage has the provider's figures",
                self.estimate
            ));
        }
        let reason = stop_reason(self.finish.as_ref(), self.refused, fin);
        let (router, cost) = fin.finish(self.usage);
        let usage = match &self.usage {
            Some(u) => serde_json::to_value(UsageOut::new(u, cost)).unwrap_or(Value::Null),
            None => json!({"output_tokens": 0}),
        };
        write(
            out,
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": usage}),
        );
        write(out, "message_stop", &json!({"type": "message_stop", "router": router}));
    }
}
