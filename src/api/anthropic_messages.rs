//! Anthropic Messages, client side (`POST /v1/messages`): requests parsed into the canonical IR, and
//! canonical answers rendered back as `message` objects or Anthropic SSE streams. Wire format:
//! platform.claude.com/docs/en/api/messages and …/build-with-claude/streaming.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, FinishReason, ImageSource, JsonText, Message, OutPart, Part, ResponseFormat, Role,
    StreamEvent, Tool, ToolCall, ToolChoice, Usage,
};
use switchyard_sdk::Money;

use super::fields::{missing, parse_fields, routing_field, FieldValue, Fields, Naming};
use super::{ClientCodec, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;
use crate::wire::anthropic::{compact_json, error_json, write_error_event, Block, ContentIn, ImageSourceIn, ToolInput};
use crate::wire::Finalizer;

pub struct MessagesCodec;

#[derive(Deserialize)]
struct MessageIn {
    role: RoleIn,
    content: ContentIn,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum RoleIn {
    User,
    Assistant,
    /// Mid-conversation system instructions (newer models).
    System,
}

#[derive(Deserialize)]
struct ToolIn {
    name: String,
    description: Option<String>,
    input_schema: Option<Box<RawValue>>,
    strict: Option<bool>,
    /// Absent or `custom` for client tools; a versioned name for Anthropic's server tools.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToolChoiceIn {
    Auto {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Any {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Tool {
        name: String,
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    None {},
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ThinkingIn {
    Enabled {
        budget_tokens: u32,
    },
    Disabled {},
    /// The model decides how much to think (newer models); steered by `output_config.effort`.
    Adaptive {},
}

#[derive(Deserialize)]
struct OutputConfigIn {
    format: Option<FormatIn>,
    effort: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FormatIn {
    JsonSchema { schema: Value },
}

fn image_part(source: ImageSourceIn) -> Part {
    let source = match source {
        ImageSourceIn::Base64 { media_type, data } => ImageSource::Base64 { media_type, data },
        ImageSourceIn::Url { url } => ImageSource::Url(url),
        // A Files API image means something to Anthropic only: kept whole for it.
        ImageSourceIn::File { file_id } => {
            return Part::Other {
                kind: "image".into(),
                raw: json!({"type": "image", "source": {"type": "file", "file_id": file_id}}),
            }
        }
    };
    Part::Image { source, detail: None }
}

/// A `tool_result`'s content: text, images and Anthropic's own document-like blocks.
fn result_parts(
    content: Option<ContentIn>,
    at: &dyn Fn() -> String,
    extras: &mut bool,
) -> Result<Vec<Part>, GatewayError> {
    let blocks = match content {
        None => return Ok(Vec::new()),
        Some(ContentIn::Text(t)) => return Ok(vec![Part::Text(t)]),
        Some(ContentIn::Blocks(b)) => b,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (k, b) in blocks.into_iter().enumerate() {
        *extras |= b.extras();
        parts.push(match b {
            Block::Text(t) => Part::Text(t.text),
            Block::Image(i) => image_part(i.source),
            Block::Other { kind, raw } => Part::Other { kind, raw },
            _ => {
                let msg = "a tool_result's content takes text, image and document blocks only";
                return Err(GatewayError::invalid(format!("{}.content[{k}]", at()), msg));
            }
        });
    }
    Ok(parts)
}

/// Anthropic messages → canonical messages. A user message's `tool_result` blocks become `tool`
/// messages in place (what precedes and follows them stays user text), and `mid_conv_system`
/// blocks become system messages in place.
fn convert_messages(msgs: Vec<MessageIn>, extras: &mut bool) -> Result<Vec<Message>, GatewayError> {
    let mut out = Vec::with_capacity(msgs.len() + 4);
    for (i, m) in msgs.into_iter().enumerate() {
        let role = match m.role {
            RoleIn::User => Role::User,
            RoleIn::Assistant => Role::Assistant,
            RoleIn::System => Role::System,
        };
        let blocks = match m.content {
            ContentIn::Text(t) => {
                out.push(Message::text(role, t));
                continue;
            }
            ContentIn::Blocks(b) => b,
        };
        let pushed = out.len();
        let mut cur = Message::new(role, Vec::new());
        for (j, b) in blocks.into_iter().enumerate() {
            let at = || format!("messages[{i}].content[{j}]");
            *extras |= b.extras();
            match b {
                Block::Text(t) => cur.content.push(Part::Text(t.text)),
                _ if role == Role::System => {
                    return Err(GatewayError::invalid(at(), "system messages take text blocks only"))
                }
                Block::Image(img) => cur.content.push(image_part(img.source)),
                Block::Thinking(t) => cur.content.push(Part::Reasoning {
                    text: t.thinking,
                    signature: t.signature,
                }),
                Block::ToolUse(_) if role != Role::Assistant => {
                    return Err(GatewayError::invalid(
                        at(),
                        "tool_use blocks belong in assistant messages",
                    ))
                }
                Block::ToolUse(u) if !u.input.get().trim_start().starts_with('{') => {
                    return Err(GatewayError::invalid(
                        format!("{}.input", at()),
                        "tool_use input must be an object",
                    ));
                }
                Block::ToolUse(u) => cur.tool_calls.push(ToolCall {
                    arguments: compact_json(u.input.get()),
                    id: u.id,
                    name: u.name,
                }),
                Block::ToolResult(_) if role != Role::User => {
                    return Err(GatewayError::invalid(
                        at(),
                        "tool_result blocks belong in user messages",
                    ))
                }
                Block::ToolResult(r) => {
                    if !cur.content.is_empty() {
                        out.push(std::mem::replace(&mut cur, Message::new(role, Vec::new())));
                    }
                    let mut t = Message::new(Role::Tool, Vec::new());
                    t.content = result_parts(r.content, &at, extras)?;
                    t.tool_call_id = Some(r.tool_use_id);
                    t.is_error = r.is_error;
                    out.push(t);
                }
                Block::System(sys) => {
                    if !cur.content.is_empty() || !cur.tool_calls.is_empty() {
                        out.push(std::mem::replace(&mut cur, Message::new(role, Vec::new())));
                    }
                    let mut s = Message::new(Role::System, Vec::new());
                    s.content = sys.content.into_iter().map(|t| Part::Text(t.text)).collect();
                    out.push(s);
                }
                Block::Other { kind, raw } => cur.content.push(Part::Other { kind, raw }),
            }
        }
        // An empty message is kept (an empty final assistant turn means something to Anthropic).
        if !cur.content.is_empty() || !cur.tool_calls.is_empty() || out.len() == pushed {
            out.push(cur);
        }
    }
    Ok(out)
}

/// `system`: a string or text blocks, one canonical system message per block (joining them would
/// glue sentences together for renderers that concatenate a message's parts).
fn convert_system(system: ContentIn, extras: &mut bool) -> Result<Vec<Message>, GatewayError> {
    let blocks = match system {
        ContentIn::Text(t) => return Ok(vec![Message::text(Role::System, t)]),
        ContentIn::Blocks(blocks) => blocks,
    };
    let mut out = Vec::with_capacity(blocks.len());
    for (j, b) in blocks.into_iter().enumerate() {
        *extras |= b.extras();
        match b {
            Block::Text(t) => out.push(Message::text(Role::System, t.text)),
            _ => {
                return Err(GatewayError::invalid(
                    format!("system[{j}]"),
                    "system blocks must be text blocks",
                ))
            }
        }
    }
    Ok(out)
}

fn convert_tools(tools: Vec<ToolIn>, unknown: &mut Vec<String>, extras: &mut bool) -> Result<Vec<Tool>, GatewayError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.into_iter().enumerate() {
        match t.kind.as_deref() {
            None | Some("custom") => {}
            // Anthropic's server tools (web search, code execution, …): only Anthropic runs them.
            Some(kind) => {
                unknown.push(format!("tools[{i}] ({kind})"));
                continue;
            }
        }
        *extras |= t.cache_control.is_some();
        out.push(Tool {
            name: t.name,
            description: t.description,
            parameters: JsonText::from_raw(
                t.input_schema
                    .ok_or_else(|| missing(&format!("tools[{i}].input_schema")))?,
            ),
            strict: t.strict,
        });
    }
    Ok(out)
}

/// The request as its fields arrive.
#[derive(Default)]
struct MessagesFields {
    r: ChatRequest,
    have_model: bool,
    have_messages: bool,
    have_max: bool,
    system: Vec<Message>,
    adaptive: bool,
    effort: Option<String>,
    extras: bool,
}

impl Fields for MessagesFields {
    fn set<V: FieldValue>(&mut self, k: &str, v: &mut V) -> Result<(), GatewayError> {
        let r = &mut self.r;
        match k {
            "model" => {
                if let Some(m) = v.read(k)? {
                    r.model = m;
                    self.have_model = true;
                }
            }
            "messages" => {
                if let Some(m) = v.read(k)? {
                    r.messages = convert_messages(m, &mut self.extras)?;
                    self.have_messages = true;
                }
            }
            "system" => {
                if let Some(s) = v.read(k)? {
                    self.system = convert_system(s, &mut self.extras)?;
                }
            }
            "max_tokens" => {
                if let Some(n) = v.read(k)? {
                    r.max_tokens = Some(n);
                    self.have_max = true;
                }
            }
            "stop_sequences" => r.stop = v.read(k)?.unwrap_or_default(),
            "temperature" => r.temperature = v.read(k)?,
            "top_p" => r.top_p = v.read(k)?,
            "top_k" => r.top_k = v.read(k)?,
            "stream" => r.stream = v.read(k)?.unwrap_or_default(),
            "tools" => {
                if let Some(t) = v.read(k)? {
                    r.tools = convert_tools(t, &mut r.unknown_fields, &mut self.extras)?;
                }
            }
            "tool_choice" => {
                let Some(choice) = v.read(k)? else { return Ok(()) };
                let (choice, disable) = match choice {
                    ToolChoiceIn::Auto {
                        disable_parallel_tool_use,
                    } => (ToolChoice::Auto, disable_parallel_tool_use),
                    ToolChoiceIn::Any {
                        disable_parallel_tool_use,
                    } => (ToolChoice::Required, disable_parallel_tool_use),
                    ToolChoiceIn::Tool {
                        name,
                        disable_parallel_tool_use,
                    } => (ToolChoice::Named(name), disable_parallel_tool_use),
                    ToolChoiceIn::None {} => (ToolChoice::None, false),
                };
                r.tool_choice = Some(choice);
                if disable {
                    r.parallel_tool_calls = Some(false);
                }
            }
            "thinking" => match v.read(k)? {
                Some(ThinkingIn::Enabled { budget_tokens }) => r.reasoning_budget = Some(budget_tokens),
                Some(ThinkingIn::Disabled {}) | None => {}
                Some(ThinkingIn::Adaptive {}) => self.adaptive = true,
            },
            // `output_format` is the structured-outputs beta's name for `output_config.format`.
            "output_config" | "output_format" => {
                let c: Option<OutputConfigIn> = if k == "output_format" {
                    v.read(k)?.map(|format| OutputConfigIn {
                        format: Some(format),
                        effort: None,
                    })
                } else {
                    v.read(k)?
                };
                let Some(c) = c else { return Ok(()) };
                if let Some(FormatIn::JsonSchema { schema }) = c.format {
                    r.response_format = Some(ResponseFormat::JsonSchema {
                        name: "output".into(),
                        schema,
                        strict: Some(true),
                    });
                }
                self.effort = c.effort;
            }
            "metadata" => {
                let Some(m) = v.read::<Map<String, Value>>(k)? else { return Ok(()) };
                match m.get("user_id") {
                    Some(Value::String(u)) => r.user = Some(u.clone()),
                    None | Some(Value::Null) => {}
                    Some(_) => {
                        return Err(GatewayError::invalid(
                            "metadata.user_id",
                            "metadata.user_id must be a string",
                        ))
                    }
                }
                r.metadata = m;
            }
            _ if routing_field(k, v, &mut r.routing)? => {}
            // Forwarded as is to Anthropic; named as lossy for any other provider.
            _ => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                }
            }
        }
        Ok(())
    }
}

/// Parse an Anthropic Messages request body.
pub fn parse(body: &[u8]) -> Result<ParsedRequest, GatewayError> {
    let MessagesFields {
        mut r,
        have_model,
        have_messages,
        have_max,
        mut system,
        adaptive,
        effort,
        extras,
    } = parse_fields(body, Naming::MissingField)?;
    if !have_model {
        return Err(missing("model"));
    }
    if !have_messages {
        return Err(missing("messages"));
    }
    if !have_max {
        return Err(missing("max_tokens")); // required, as Anthropic itself requires it
    }
    if adaptive {
        // Adaptive thinking's depth is the effort level, `high` unless the client set one.
        r.reasoning_effort = Some(effort.unwrap_or_else(|| "high".into()));
    } else if effort.is_some() {
        r.unknown_fields.push("output_config.effort".into());
    }
    if extras {
        r.unknown_fields
            .push("cache_control and citations on content blocks".into());
    }
    if !system.is_empty() {
        system.append(&mut r.messages);
        r.messages = system;
    }
    Ok(ParsedRequest { request: r })
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

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentOut<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: ToolInput<'a>,
    },
}

#[derive(Serialize)]
struct MessageOut<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<ContentOut<'a>>,
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
    router: Value,
}

/// Usage for a client that must always get a `usage` object.
fn usage_out(u: Option<&Usage>, cost: Option<Money>) -> UsageOut {
    UsageOut::new(u.unwrap_or(&Usage::default()), cost)
}

impl ClientCodec for MessagesCodec {
    fn schema(&self) -> Schema {
        Schema::AnthropicMessages
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        parse(body)
    }

    fn render_response(&self, resp: &ChatResponse, _req: Option<&ChatRequest>, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
        let content = resp
            .parts
            .iter()
            .filter_map(|p| match p {
                OutPart::Text(t) if t.is_empty() => None,
                OutPart::Text(text) => Some(ContentOut::Text { text }),
                OutPart::Reasoning { text, signature } => Some(ContentOut::Thinking {
                    thinking: text,
                    signature: signature.as_deref().unwrap_or(""),
                }),
                OutPart::ToolCall(c) => Some(ContentOut::ToolUse {
                    id: &c.id,
                    name: &c.name,
                    input: ToolInput::new(&c.arguments),
                }),
            })
            .collect();
        let (router, cost) = fin.finish(resp.usage);
        let msg = MessageOut {
            id: message_id(&resp.id),
            kind: "message",
            role: "assistant",
            model: model_id,
            content,
            stop_reason: resp.finish.as_ref().map_or("end_turn", stop_reason),
            stop_sequence: None,
            usage: usage_out(resp.usage.as_ref(), cost),
            router,
        };
        crate::wire::json_out::to_vec(&msg).unwrap_or_default()
    }

    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        Box::new(Encoder {
            id: message_id(""),
            model_id: model_id.to_string(),
            estimate: req.estimated_input_tokens(),
            ..Default::default()
        })
    }

    fn error_body(&self, error: &Value) -> Vec<u8> {
        serde_json::to_vec(&error_json(error)).unwrap_or_default()
    }

    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        write_error_event(error, out);
    }
}

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
struct Encoder {
    id: String,
    model_id: String,
    /// The request's input-token estimate: `message_start` goes out before the provider reports
    /// usage (OpenAI-schema providers only do at the very end), and the exact figures follow in
    /// `message_delta`, whose cumulative usage clients take over.
    estimate: u64,
    started: bool,
    open: Option<(usize, Open)>,
    /// The next content block index.
    next: usize,
    /// Block index of each canonical tool call.
    tools: Vec<Option<usize>>,
    last_thinking: Option<usize>,
    finish: Option<FinishReason>,
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
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let msg = json!({"type": "message_start", "message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model_id, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": self.estimate, "output_tokens": 0},
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
        MessagesCodec.stream_error(error, out);
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
            StreamEvent::Error { .. } => {} // the pipeline ends the stream with `stream_error`
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        self.start(out);
        self.close(out);
        let (router, cost) = fin.finish(self.usage);
        let reason = self.finish.as_ref().map_or("end_turn", stop_reason);
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

#[cfg(test)]
pub(crate) mod tests {
    use switchyard_sdk::ir::ToolCall;

    use super::*;
    use crate::wire::sse::SseParser;
    use crate::wire::testing::{accumulate, Fin};

    #[test]
    fn parses_a_full_request() {
        let p = parse(include_bytes!("../../tests/fixtures/anthropic/request_full.json")).unwrap();
        let r = &p.request;
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        use Role::*;
        assert_eq!(roles, [System, System, User, Assistant, Tool, Tool, User]);
        assert_eq!(
            r.messages[1].content,
            vec![Part::Text("<policy>Never book without confirmation.</policy>".into())]
        );
        assert!(
            matches!(&r.messages[2].content[1], Part::Image { source: ImageSource::Base64 { media_type, .. }, .. } if media_type == "image/jpeg")
        );
        let a = &r.messages[3];
        assert!(matches!(&a.content[0], Part::Reasoning { signature: Some(s), .. } if s.starts_with("EqQB")));
        assert_eq!(a.content[1], Part::Text("That looks like Paris. Let me check.".into()));
        assert_eq!(
            a.tool_calls,
            vec![
                ToolCall {
                    id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into()
                },
                ToolCall {
                    id: "toolu_01B3Zy8mQ7pXvWq5Lr2Tt9Kc".into(),
                    name: "get_time".into(),
                    arguments: "{}".into()
                },
            ]
        );
        assert_eq!(
            r.messages[4].tool_call_id.as_deref(),
            Some("toolu_01A09q90qw90lq917835lq9")
        );
        assert_eq!(r.messages[4].content, vec![Part::Text("15 degrees, light rain".into())]);
        assert!(r.messages[5].is_error && !r.messages[4].is_error);
        assert_eq!(
            r.messages[6].content,
            vec![Part::Text("Should I take an umbrella?".into())]
        );
        assert_eq!(r.tools.len(), 2, "the server tool is Anthropic's alone");
        assert_eq!(r.tools[0].parameters.to_value()["required"], json!(["location"]));
        assert_eq!(
            (r.tool_choice.clone(), r.parallel_tool_calls),
            (Some(ToolChoice::Auto), Some(false))
        );
        assert_eq!(
            (r.reasoning_budget, r.max_tokens, r.stream),
            (Some(2048), Some(4096), true)
        );
        assert_eq!(r.user.as_deref(), Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b"));
        assert_eq!(r.stop, vec!["\n\nHuman:".to_string()]);
        assert_eq!(r.routing.fallback, vec!["openai/gpt-4o"]);
        assert_eq!(r.routing.budget, Money::from_dollars(0.25));
        assert_eq!(
            r.unknown_fields,
            [
                "tools[2] (web_search_20250305)",
                "service_tier",
                "cache_control and citations on content blocks"
            ]
        );
    }

    #[test]
    fn parses_a_simple_request() {
        let r = parse(include_bytes!("../../tests/fixtures/anthropic/request_simple.json"))
            .unwrap()
            .request;
        assert_eq!(
            r.messages[0],
            Message::text(Role::System, "Answer multiple-choice questions with a single letter.")
        );
        assert_eq!(r.messages[4], Message::text(Role::Assistant, "The best answer is ("));
        assert_eq!((r.temperature, r.top_k, r.max_tokens), (Some(0.0), Some(5), Some(1)));
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.parallel_tool_calls, None);
        assert_eq!(
            r.unknown_fields,
            ["output_config.effort"],
            "effort without adaptive thinking"
        );
        assert_eq!(
            (r.routing.session_id.as_deref(), r.routing.mode.as_deref()),
            (Some("s-42"), Some("cost"))
        );
        let r = parse(br#"{"model":"m","max_tokens":9000,"thinking":{"type":"adaptive"},"output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object"}}},
            "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"mid_conv_system","content":[{"type":"text","text":"be terse"}]},{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]}"#)
            .unwrap()
            .request;
        assert_eq!(r.reasoning_effort.as_deref(), Some("medium"));
        assert!(matches!(r.response_format, Some(ResponseFormat::JsonSchema { .. })));
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::System, Role::User]);
        assert!(
            matches!(&r.messages[2].content[0], Part::Other { kind, raw } if kind == "document" && raw["source"]["url"] == "https://x/a.pdf")
        );
        // `type` need not come first.
        let r = parse(br#"{"model":"m","max_tokens":9,"messages":[{"role":"assistant","content":[{"id":"toolu_1","name":"f","input":{ "a" : [1, 2] },"type":"tool_use"}]}]}"#)
            .unwrap()
            .request;
        assert_eq!(r.messages[0].tool_calls[0].arguments, r#"{"a":[1,2]}"#);
    }

    #[test]
    fn bad_input_names_the_param() {
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/anthropic/parse_errors.json")).unwrap();
        for c in cases {
            let body = match c.get("text") {
                Some(t) => t.as_str().unwrap().to_string(),
                None => c["body"].to_string(),
            };
            let e = parse(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status(), e.code(), e.param()),
                (400, c["code"].as_str().unwrap(), c["param"].as_str()),
                "{}: {e}",
                c["why"]
            );
        }
    }

    fn answer() -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-9x".into(),
            created: 1,
            model: "gpt-4o".into(),
            parts: vec![
                OutPart::Reasoning {
                    text: "hmm".into(),
                    signature: None,
                },
                OutPart::Text("Let me look.".into()),
                OutPart::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: "{\"a\":[1,2]}".into(),
                }),
            ],
            finish: Some(FinishReason::ToolCalls),
            usage: Some(Usage {
                input_tokens: 100,
                cached_input_tokens: 60,
                cache_write_tokens: 10,
                output_tokens: 7,
                reasoning_tokens: 3,
            }),
        }
    }

    #[test]
    fn renders_a_message() {
        let mut fin = Fin(0);
        let v: Value =
            serde_json::from_slice(&MessagesCodec.render_response(&answer(), None, "openai/gpt-4o", &mut fin)).unwrap();
        assert_eq!(v["id"], "msg_chatcmpl-9x");
        assert_eq!(
            (&v["type"], &v["role"], &v["model"]),
            (&json!("message"), &json!("assistant"), &json!("openai/gpt-4o"))
        );
        assert_eq!(
            v["content"],
            json!([{"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": [1, 2]}}])
        );
        assert_eq!(
            (&v["stop_reason"], &v["stop_sequence"]),
            (&json!("tool_use"), &Value::Null)
        );
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 30, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 60, "output_tokens": 7, "cost": 0.000007})
        );
        assert_eq!((v["router"]["calls"].as_u64(), fin.0), (Some(1), 1));
    }

    #[test]
    fn encodes_streams_that_parse_back() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "weather in Paris and Rome?")],
            ..Default::default()
        };
        let mut e = MessagesCodec.stream_encoder(&req, "openai/gpt-4o");
        let mut out = Vec::new();
        let a = answer();
        for ev in [
            StreamEvent::Start {
                id: "chatcmpl-9x".into(),
                model: "gpt-4o".into(),
            },
            StreamEvent::ReasoningDelta("hm".into()),
            StreamEvent::ReasoningDelta("m".into()),
            StreamEvent::ReasoningSignature("sig".into()),
            StreamEvent::TextDelta("Let me ".into()),
            StreamEvent::TextDelta("look.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "f".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"a\":".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "[1,2]}".into(),
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "call_2".into(),
                name: "g".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: "{}".into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(a.usage.unwrap()),
        ] {
            let before = out.len();
            e.event(ev.clone(), &mut out);
            if matches!(ev, StreamEvent::TextDelta(_)) {
                assert!(
                    out[before..].ends_with(b"\n\n") && out.len() > before,
                    "text goes out at once"
                );
            }
        }
        let mut fin = Fin(0);
        e.finish(&mut out, &mut fin);
        assert_eq!(fin.0, 1);
        let (msg, router) = accumulate(&out);
        assert_eq!(msg["id"], "msg_chatcmpl-9x");
        assert_eq!(msg["model"], "openai/gpt-4o");
        assert_eq!(
            msg["content"],
            json!([{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": [1, 2]}},
                   {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}])
        );
        assert_eq!(msg["stop_reason"], "tool_use");
        assert_eq!(
            msg["usage"]["input_tokens"], 30,
            "message_delta's exact figure replaces the estimate"
        );
        assert_eq!(msg["usage"]["cost"], 0.000007);
        assert_eq!(router["calls"], 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("event: message_start\n"));
        assert!(text.ends_with("\n\n") && text.contains("event: message_stop\n"));
    }

    #[test]
    fn signed_thinking_blocks_stay_apart() {
        let mut e = MessagesCodec.stream_encoder(&ChatRequest::default(), "m/x");
        let mut out = Vec::new();
        for ev in [
            StreamEvent::ReasoningDelta("a".into()),
            StreamEvent::ReasoningSignature("s1".into()),
            StreamEvent::ReasoningDelta("b".into()),
            StreamEvent::ReasoningSignature("s2".into()),
            StreamEvent::TextDelta("ok".into()),
        ] {
            e.event(ev, &mut out);
        }
        e.finish(&mut out, &mut Fin(0));
        let (msg, _) = accumulate(&out);
        assert_eq!(
            msg["content"],
            json!([{"type": "thinking", "thinking": "a", "signature": "s1"},
                   {"type": "thinking", "thinking": "b", "signature": "s2"}, {"type": "text", "text": "ok"}])
        );
    }

    #[test]
    fn a_stream_without_usage_still_closes() {
        let mut e = MessagesCodec.stream_encoder(&ChatRequest::default(), "m/x");
        let mut out = Vec::new();
        e.finish(&mut out, &mut Fin(0));
        let (msg, router) = accumulate(&out);
        assert_eq!(
            (msg["stop_reason"].as_str(), msg["content"].as_array().map(Vec::len)),
            (Some("end_turn"), Some(0))
        );
        assert_eq!(router["calls"], 1);
    }

    #[test]
    fn errors_take_anthropics_shape() {
        let err = crate::error::GatewayError::invalid("messages[0].content", "bad").to_json("req_1", &[]);
        let v: Value = serde_json::from_slice(&MessagesCodec.error_body(&err)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"], err["error"], "every field of ours is kept");
        assert_eq!(v["request_id"], "req_1");
        let mut out = Vec::new();
        MessagesCodec.stream_error(&err, &mut out);
        let mut p = SseParser::new(1 << 20);
        let mut evs = Vec::new();
        p.push(&out, |e| evs.push(e)).unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].event.as_deref(), Some("error"));
        let d: Value = serde_json::from_str(&evs[0].data).unwrap();
        assert_eq!(
            (d["type"].as_str(), d["error"]["param"].as_str()),
            (Some("error"), Some("messages[0].content"))
        );
    }
}
