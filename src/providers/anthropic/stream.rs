//! Anthropic SSE events → canonical stream events (the provider's [`StreamDecoder`]).

use std::borrow::Cow;

use serde::Deserialize;
use switchyard_sdk::ir::StreamEvent;

use super::parse::error_message;
use super::wire::{finish_reason, WireUsage};
use crate::providers::StreamDecoder;
use crate::wire::sse::SseEvent;

/// What a content block (by its stream `index`) is.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Ignored,
    /// The n-th tool call of the answer; whether any argument text was seen.
    Tool {
        index: usize,
        args: bool,
    },
}

/// One event's data. Every event type's fields in one flat struct: one parse per event, and the
/// data's `type` decides (Anthropic also names events, but relays may drop the `event:` line).
#[derive(Deserialize, Default)]
#[serde(default)]
struct EventIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: usize,
    message: Option<StartIn>,
    #[serde(borrow)]
    content_block: Option<BlockStartIn<'a>>,
    #[serde(borrow)]
    delta: Option<DeltaIn<'a>>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StartIn {
    id: String,
    model: String,
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BlockStartIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    id: String,
    name: String,
    text: String,
    thinking: String,
}

/// A `content_block_delta`'s delta, or a `message_delta`'s (which has `stop_reason`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct DeltaIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    text: String,
    partial_json: String,
    thinking: String,
    signature: String,
    stop_reason: Option<String>,
}

/// Anthropic stream events → canonical events.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    done: bool,
    slots: Vec<Slot>,
    tools: usize,
    usage: WireUsage,
}

impl Decoder {
    fn slot(&mut self, index: usize) -> &mut Slot {
        if index >= self.slots.len() {
            self.slots.resize(index + 1, Slot::Ignored);
        }
        &mut self.slots[index]
    }

    fn block_start(&mut self, index: usize, b: BlockStartIn, out: &mut Vec<StreamEvent>) {
        match &*b.kind {
            "text" if !b.text.is_empty() => out.push(StreamEvent::TextDelta(b.text)),
            "thinking" if !b.thinking.is_empty() => out.push(StreamEvent::ReasoningDelta(b.thinking)),
            "tool_use" => {
                let n = self.tools;
                self.tools += 1;
                out.push(StreamEvent::ToolCallStart {
                    index: n,
                    id: b.id,
                    name: b.name,
                });
                *self.slot(index) = Slot::Tool { index: n, args: false };
            }
            _ => {}
        }
    }

    fn block_delta(&mut self, index: usize, d: DeltaIn, out: &mut Vec<StreamEvent>) {
        match &*d.kind {
            "text_delta" if !d.text.is_empty() => out.push(StreamEvent::TextDelta(d.text)),
            "thinking_delta" if !d.thinking.is_empty() => out.push(StreamEvent::ReasoningDelta(d.thinking)),
            "signature_delta" if !d.signature.is_empty() => out.push(StreamEvent::ReasoningSignature(d.signature)),
            "input_json_delta" if !d.partial_json.is_empty() => {
                if let Slot::Tool { index, args } = self.slot(index) {
                    *args = true;
                    let index = *index;
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: d.partial_json,
                    });
                }
            }
            _ => {} // empty deltas, citations
        }
    }
}

impl StreamDecoder for Decoder {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>) {
        if !ev.has_data || self.done {
            return;
        }
        let Ok(e) = serde_json::from_str::<EventIn>(&ev.data) else {
            return;
        };
        match &*e.kind {
            "message_start" if !self.started => {
                self.started = true;
                let m = e.message.unwrap_or_default();
                out.push(StreamEvent::Start {
                    id: m.id,
                    model: m.model,
                });
                if let Some(u) = m.usage {
                    // Input usage at once, so that a stream cut short is still billed for its prompt.
                    self.usage = u;
                    out.push(StreamEvent::Usage(u.canonical()));
                }
            }
            "content_block_start" => {
                if let Some(b) = e.content_block {
                    self.block_start(e.index, b, out);
                }
            }
            "content_block_delta" => {
                if let Some(d) = e.delta {
                    self.block_delta(e.index, d, out);
                }
            }
            "content_block_stop" => {
                if let Slot::Tool {
                    index,
                    args: args @ false,
                } = self.slot(e.index)
                {
                    // A call without arguments still gets a valid JSON object.
                    *args = true;
                    let index = *index;
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: "{}".into(),
                    });
                }
            }
            "message_delta" => {
                if let Some(r) = e.delta.and_then(|d| d.stop_reason) {
                    out.push(StreamEvent::Finish(finish_reason(&r)));
                }
                if let Some(u) = e.usage {
                    self.usage.merge(&u);
                    out.push(StreamEvent::Usage(self.usage.canonical()));
                }
            }
            "message_stop" => self.done = true,
            "error" => out.push(StreamEvent::Error {
                message: error_message(ev.data.as_bytes()),
            }),
            _ => {} // ping, and event types added later (Anthropic's versioning policy allows them)
        }
    }

    fn done(&self) -> bool {
        self.done
    }
}
