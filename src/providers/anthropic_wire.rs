//! Anthropic Messages wire pieces shared by the provider adapter, the `/v1/messages` client codec and
//! the pass-through: the content-block reader, usage and stop-reason mappings, tool `input` handling
//! and error bodies. Wire format: platform.claude.com/docs/en/api/messages (API version 2023-06-01).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{FinishReason, StreamEvent, Usage};
use switchyard_sdk::Money;

use crate::providers::StreamDecoder;
use crate::wire::sse::SseEvent;

/// `usage` as Anthropic reports it. In `message_delta` every figure is cumulative and any may be
/// absent, hence all optional.
#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputDetails {
    pub thinking_tokens: Option<u64>,
}

impl WireUsage {
    /// Fold in a later report: its figures are cumulative, so each one present replaces ours.
    pub fn merge(&mut self, later: &WireUsage) {
        let pick = |a: &mut Option<u64>, b: Option<u64>| {
            if b.is_some() {
                *a = b;
            }
        };
        pick(&mut self.input_tokens, later.input_tokens);
        pick(&mut self.output_tokens, later.output_tokens);
        pick(&mut self.cache_creation_input_tokens, later.cache_creation_input_tokens);
        pick(&mut self.cache_read_input_tokens, later.cache_read_input_tokens);
        if later.output_tokens_details.is_some() {
            self.output_tokens_details = later.output_tokens_details;
        }
    }

    /// Canonical terms: Anthropic's `input_tokens` excludes cache reads and writes; ours includes both.
    pub fn canonical(&self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0) + read + write,
            cached_input_tokens: read,
            cache_write_tokens: write,
            output_tokens: self.output_tokens.unwrap_or(0),
            reasoning_tokens: self.output_tokens_details.and_then(|d| d.thinking_tokens).unwrap_or(0),
        }
    }
}

/// Canonical usage in Anthropic's shape, plus the exact cost in dollars.
#[derive(Serialize, Debug)]
pub struct UsageOut {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl UsageOut {
    pub fn new(u: &Usage, cost: Option<Money>) -> Self {
        let read = u.cached_input_tokens.min(u.input_tokens);
        let write = u.cache_write_tokens.min(u.input_tokens - read);
        UsageOut {
            input_tokens: u.input_tokens - read - write,
            cache_creation_input_tokens: write,
            cache_read_input_tokens: read,
            output_tokens: u.output_tokens,
            cost: cost.map(Money::as_dollars_f64),
        }
    }
}

pub fn finish_reason(stop: &str) -> FinishReason {
    match stop {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        // Running out of context is an output limit too (OpenAI reports it as `length`).
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

/// A canonical finish reason as an Anthropic `stop_reason`. Reasons from other providers that
/// Anthropic's enum lacks become `end_turn`, so that typed clients never meet an unknown value.
pub fn stop_reason(f: &FinishReason) -> &str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(s) => match s.as_str() {
            "end_turn"
            | "max_tokens"
            | "stop_sequence"
            | "tool_use"
            | "pause_turn"
            | "refusal"
            | "model_context_window_exceeded" => s,
            _ => "end_turn",
        },
    }
}

/// A `msg_…` id for an answer whose upstream id may have another shape.
pub fn message_id(upstream: &str) -> String {
    if upstream.starts_with("msg_") {
        upstream.to_string()
    } else if upstream.is_empty() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("msg_{nanos:x}")
    } else {
        format!("msg_{upstream}")
    }
}

/// A tool call's `input`. Anthropic requires a JSON object, while canonical arguments are the text a
/// model produced, which may be empty or not JSON at all.
pub enum ToolInput<'a> {
    Raw(crate::wire::json_out::Raw<'a>),
    Empty,
    /// Not a JSON object: carried as a string under [`INVALID_ARGUMENTS_KEY`].
    Wrapped(&'a str),
}

/// The key under which arguments that are not a JSON object travel inside `input`.
pub const INVALID_ARGUMENTS_KEY: &str = "_raw_arguments";

impl<'a> ToolInput<'a> {
    pub fn new(arguments: &'a str) -> Self {
        if arguments.trim().is_empty() {
            return ToolInput::Empty;
        }
        match crate::wire::json_out::raw_object(arguments) {
            Some(raw) => ToolInput::Raw(raw),
            None => ToolInput::Wrapped(arguments),
        }
    }

    pub fn is_faithful(&self) -> bool {
        !matches!(self, ToolInput::Wrapped(_))
    }
}

impl Serialize for ToolInput<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ToolInput::Raw(r) => r.serialize(s),
            ToolInput::Empty => s.serialize_map(Some(0))?.end(),
            ToolInput::Wrapped(text) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(INVALID_ARGUMENTS_KEY, text)?;
                m.end()
            }
        }
    }
}

/// Valid JSON text without insignificant whitespace (tool `input` → canonical arguments), copied
/// as is when it has none.
pub fn compact_json(json: &str) -> String {
    let b = json.as_bytes();
    let (mut in_str, mut esc) = (false, false);
    let mut needs = false;
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c.is_ascii_whitespace() {
            needs = true;
            break;
        }
    }
    if !needs {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut esc) = (false, false);
    for ch in json.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
            }
        } else if ch == '"' {
            in_str = true;
        } else if ch.is_ascii_whitespace() {
            continue;
        }
        out.push(ch);
    }
    out
}

/// The message of an Anthropic error body (`{"type":"error","error":{"type","message"}}`), else
/// the body's text.
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        message: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body {
            error: Inner { kind: Some(k), message },
        }) if !k.is_empty() => format!("{k}: {message}"),
        Ok(b) => b.error.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The provider's stream: Anthropic SSE events → canonical events.

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

// ---------------------------------------------------------------------------------------------
// Content blocks, as requests (the client codec) and responses (the provider adapter) carry them.

/// Image `source`.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSourceIn {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    /// A Files API id: meaningful to Anthropic only.
    File {
        file_id: String,
    },
}

/// `content`: a string, or an array of blocks.
#[derive(Debug)]
pub enum ContentIn {
    Text(String),
    Blocks(Vec<Block>),
}

/// One content block. `Other` keeps every block type the canonical IR does not model (documents,
/// redacted thinking, server tools' results, …) whole, `type` included.
#[derive(Debug)]
pub enum Block {
    Text(TextIn),
    Image(ImageIn),
    ToolUse(ToolUseIn),
    ToolResult(ToolResultIn),
    Thinking(ThinkingIn),
    /// Mid-conversation system instructions (`mid_conv_system`).
    System(SystemIn),
    Other {
        kind: String,
        raw: Value,
    },
}

impl Block {
    /// Whether the block carries `cache_control` or `citations`: meaningful to Anthropic only, named
    /// as lossy for other providers.
    pub fn extras(&self) -> bool {
        match self {
            Block::Text(b) => b.cache_control.is_some() || b.citations.is_some(),
            Block::Image(b) => b.cache_control.is_some(),
            Block::ToolUse(b) => b.cache_control.is_some(),
            Block::ToolResult(b) => b.cache_control.is_some(),
            Block::Thinking(_) | Block::System(_) | Block::Other { .. } => false,
        }
    }
}

#[derive(Deserialize, Debug)]
pub struct TextIn {
    pub text: String,
    cache_control: Option<IgnoredAny>,
    citations: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ImageIn {
    pub source: ImageSourceIn,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ToolUseIn {
    pub id: String,
    pub name: String,
    pub input: Box<RawValue>,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ToolResultIn {
    pub tool_use_id: String,
    pub content: Option<ContentIn>,
    #[serde(default)]
    pub is_error: bool,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ThinkingIn {
    pub thinking: String,
    pub signature: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct SystemIn {
    pub content: Vec<TextIn>,
}

/// The block types read into structs; any other is kept whole.
const KINDS: &[&str] = &[
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "mid_conv_system",
];

/// A block's first key, not allocated when it is `type` (as it nearly always is): the reader runs
/// once per block of every request, where allocations are most of the cost.
struct FirstKey(Option<String>);

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FirstKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FirstKey, E> {
                Ok(FirstKey((s != "type").then(|| s.to_string())))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A block's `type`, borrowed from [`KINDS`] when known.
struct KindName(Cow<'static, str>);

impl<'de> Deserialize<'de> for KindName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KindName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content block type")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KindName, E> {
                Ok(KindName(match KINDS.iter().find(|k| **k == s) {
                    Some(k) => Cow::Borrowed(*k),
                    None => Cow::Owned(s.to_string()),
                }))
            }
        }
        d.deserialize_str(V)
    }
}

fn block_of<'de, D: Deserializer<'de>>(kind: Cow<'static, str>, d: D) -> Result<Block, D::Error> {
    Ok(match &*kind {
        "text" => Block::Text(TextIn::deserialize(d)?),
        "image" => Block::Image(ImageIn::deserialize(d)?),
        "tool_use" => Block::ToolUse(ToolUseIn::deserialize(d)?),
        "tool_result" => Block::ToolResult(ToolResultIn::deserialize(d)?),
        "thinking" => Block::Thinking(ThinkingIn::deserialize(d)?),
        "mid_conv_system" => Block::System(SystemIn::deserialize(d)?),
        _ => {
            let kind = kind.into_owned();
            let mut raw = Map::new();
            raw.insert("type".into(), Value::String(kind.clone()));
            raw.extend(Map::<String, Value>::deserialize(d)?);
            Block::Other {
                kind,
                raw: Value::Object(raw),
            }
        }
    })
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a content block object")
    }

    /// One pass when `type` comes first (as every SDK writes it): the rest of the object goes
    /// straight into the block's struct, so error paths reach inside the block. Otherwise the
    /// object is collected first.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        match map.next_key::<FirstKey>()? {
            None => Err(de::Error::missing_field("type")),
            Some(FirstKey(None)) => {
                let KindName(kind) = map.next_value()?;
                block_of(kind, de::value::MapAccessDeserializer::new(map))
            }
            Some(FirstKey(Some(first))) => {
                let mut obj = Map::new();
                obj.insert(first, map.next_value()?);
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    obj.insert(k, v);
                }
                let kind = match obj.remove("type") {
                    Some(Value::String(s)) => Cow::Owned(s),
                    Some(_) => return Err(de::Error::custom("`type` must be a string")),
                    None => return Err(de::Error::missing_field("type")),
                };
                // Through text again: a raw `input` cannot be read from a `Value`.
                let text = Value::Object(obj).to_string();
                block_of(kind, &mut serde_json::Deserializer::from_str(&text)).map_err(de::Error::custom)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BlockVisitor)
    }
}

impl<'de> Deserialize<'de> for ContentIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ContentIn, E> {
                Ok(ContentIn::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ContentIn, E> {
                Ok(ContentIn::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContentIn, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(b) = seq.next_element::<Block>()? {
                    out.push(b);
                }
                Ok(ContentIn::Blocks(out))
            }
        }
        d.deserialize_any(V)
    }
}
