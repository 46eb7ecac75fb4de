//! Anthropic Messages, provider side: canonical request → `POST {base}/messages`, and answers (whole
//! or streamed) → canonical. Wire format: platform.claude.com/docs/en/api/messages, API version
//! `2023-06-01`. What the IR holds that Anthropic cannot carry is named in `Rendered.lossy`; what it
//! cannot do at all (several choices, log probabilities, JSON mode, audio) makes the model ineligible.

#[path = "anthropic_wire.rs"]
pub mod wire;

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, ImageSource, OutPart, Part, ResponseFormat, Role, ToolCall, ToolChoice,
};

use super::{ProviderAdapter, Rendered, StreamDecoder, ANTHROPIC_VERSION};
use crate::config::Model;
use crate::wire::json_out::Verbatim;
use wire::{compact_json, finish_reason, Block, ToolInput, WireUsage};

pub struct Anthropic;

/// Anthropic's smallest `thinking.budget_tokens`.
const MIN_THINKING_BUDGET: u32 = 1024;

/// Block types of Anthropic's own that the client codec keeps whole in `Part::Other`: sent back as
/// they came.
const NATIVE_BLOCKS: &[&str] = &[
    "image",
    "document",
    "search_result",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "tool_reference",
    "container_upload",
];

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemText<'a>>,
    messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutputConfigOut<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    stream: bool,
}

#[derive(Serialize)]
struct SystemText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: Vec<Out<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Out<'a> {
    Block(BlockOut<'a>),
    /// An Anthropic block the client sent, carried whole.
    Raw(&'a Value),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: Cow<'a, str>,
    },
    Image {
        source: SourceOut<'a>,
    },
    Document {
        source: SourceOut<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: ToolInput<'a>,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<ResultOut<'a>>,
        #[serde(skip_serializing_if = "is_false")]
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SourceOut<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Serialize)]
#[serde(untagged)]
enum ResultOut<'a> {
    Text(&'a str),
    Blocks(Vec<Out<'a>>),
}

#[derive(Serialize)]
struct ToolOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: Verbatim<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

#[derive(Serialize)]
struct OutputConfigOut<'a> {
    format: FormatOut<'a>,
}

#[derive(Serialize)]
struct FormatOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'a Value,
}

/// Name a loss once.
fn note(lossy: &mut Vec<String>, what: impl Into<String>) {
    let what = what.into();
    if !lossy.contains(&what) {
        lossy.push(what);
    }
}

/// Anthropic tool ids match `^[a-zA-Z0-9_-]+$`; some OpenAI-compatible servers use others. The same
/// mapping applies to `tool_use.id` and `tool_result.tool_use_id`, so pairs still match.
fn tool_id(id: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(ok) {
        Cow::Borrowed(id)
    } else if id.is_empty() {
        Cow::Borrowed("toolu_unnamed")
    } else {
        Cow::Owned(id.chars().map(|c| if ok(c) { c } else { '_' }).collect())
    }
}

fn data_url(u: &str) -> Option<(&str, &str)> {
    let (meta, data) = u.strip_prefix("data:")?.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

/// A `Part::Other` Anthropic can take: one of its own blocks, or a PDF file (OpenAI `file` parts).
fn other_block<'a>(kind: &str, raw: &'a Value) -> Option<Out<'a>> {
    if NATIVE_BLOCKS.contains(&kind) && raw.get("type").and_then(Value::as_str) == Some(kind) {
        return Some(Out::Raw(raw));
    }
    if kind == "file" {
        let (media_type, data) = raw.get("file_data").and_then(Value::as_str).and_then(data_url)?;
        if media_type == "application/pdf" {
            return Some(Out::Block(BlockOut::Document {
                source: SourceOut::Base64 { media_type, data },
                title: raw.get("filename").and_then(Value::as_str),
            }));
        }
    }
    None
}

fn image(source: &ImageSource) -> Out<'_> {
    Out::Block(BlockOut::Image {
        source: match source {
            ImageSource::Base64 { media_type, data } => SourceOut::Base64 { media_type, data },
            ImageSource::Url(url) => SourceOut::Url { url },
        },
    })
}

fn part<'a>(p: &'a Part, assistant: bool, lossy: &mut Vec<String>) -> Result<Option<Out<'a>>, String> {
    Ok(match p {
        Part::Text(t) if t.is_empty() => None, // Anthropic rejects empty text blocks
        Part::Text(t) => Some(Out::Block(BlockOut::Text { text: Cow::Borrowed(t) })),
        Part::Image { source, detail } => {
            if detail.is_some() {
                note(
                    lossy,
                    "image detail hints have no Anthropic equivalent and were not sent",
                );
            }
            Some(image(source))
        }
        Part::Reasoning {
            text,
            signature: Some(signature),
        } if assistant && own_signature(signature) => Some(Out::Block(BlockOut::Thinking {
            thinking: text,
            signature,
        })),
        Part::Reasoning { .. } => {
            note(
                lossy,
                "reasoning without an Anthropic signature cannot be sent back and was dropped",
            );
            None
        }
        Part::Other { kind, raw } => {
            Some(other_block(kind, raw).ok_or_else(|| format!("{kind} content cannot be sent to Anthropic"))?)
        }
    })
}

fn is_tool_result(b: &Out) -> bool {
    matches!(b, Out::Block(BlockOut::ToolResult { .. }))
}

/// Append a turn, merging same-role neighbours: Anthropic wants user and assistant turns to alternate,
/// and a user turn's tool results before anything else in it.
fn push<'a>(turns: &mut Vec<Turn<'a>>, role: &'static str, blocks: Vec<Out<'a>>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(t) if t.role == role => {
            for b in blocks {
                if is_tool_result(&b) {
                    let at = t.content.iter().take_while(|x| is_tool_result(x)).count();
                    t.content.insert(at, b);
                } else {
                    t.content.push(b);
                }
            }
        }
        _ => turns.push(Turn { role, content: blocks }),
    }
}

fn tool_result<'a>(m: &'a switchyard_sdk::ir::Message, lossy: &mut Vec<String>) -> Result<Out<'a>, String> {
    let id = m
        .tool_call_id
        .as_deref()
        .ok_or("a tool result without a tool_call_id cannot be sent to Anthropic")?;
    let content = match m.content.as_slice() {
        [] => None,
        [Part::Text(t)] if t.is_empty() => None,
        [Part::Text(t)] => Some(ResultOut::Text(t)),
        parts => {
            let mut blocks = Vec::with_capacity(parts.len());
            for p in parts {
                blocks.extend(part(p, false, lossy)?);
            }
            Some(ResultOut::Blocks(blocks))
        }
    };
    Ok(Out::Block(BlockOut::ToolResult {
        tool_use_id: tool_id(id),
        content,
        is_error: m.is_error,
    }))
}

/// Canonical messages → Anthropic `system` and alternating `messages`.
fn convert<'a>(req: &'a ChatRequest, lossy: &mut Vec<String>) -> Result<(Vec<SystemText<'a>>, Vec<Turn<'a>>), String> {
    let mut system = Vec::new();
    let mut turns: Vec<Turn<'a>> = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer => {
                if !turns.is_empty() {
                    note(
                        lossy,
                        "system messages after the conversation began were moved into the top-level system prompt",
                    );
                }
                for p in &m.content {
                    match p {
                        Part::Text(t) if !t.is_empty() => system.push(SystemText { kind: "text", text: t }),
                        Part::Text(_) | Part::Reasoning { .. } => {}
                        Part::Image { .. } | Part::Other { .. } => {
                            return Err("Anthropic's system prompt takes text only".into())
                        }
                    }
                }
            }
            Role::User | Role::Assistant => {
                let assistant = m.role == Role::Assistant;
                let mut blocks = Vec::with_capacity(m.content.len() + m.tool_calls.len());
                for p in &m.content {
                    blocks.extend(part(p, assistant, lossy)?);
                }
                for c in &m.tool_calls {
                    let input = ToolInput::new(&c.arguments);
                    if !input.is_faithful() {
                        note(
                            lossy,
                            format!(
                                "tool call arguments that are not a JSON object were sent as a string under `{}`",
                                wire::INVALID_ARGUMENTS_KEY
                            ),
                        );
                    }
                    blocks.push(Out::Block(BlockOut::ToolUse {
                        id: tool_id(&c.id),
                        name: &c.name,
                        input,
                    }));
                }
                if m.name.is_some() {
                    note(lossy, "message names have no Anthropic equivalent and were not sent");
                }
                push(&mut turns, if assistant { "assistant" } else { "user" }, blocks);
            }
            Role::Tool => {
                let b = tool_result(m, lossy)?;
                push(&mut turns, "user", vec![b]);
            }
        }
    }
    trim_prefill(&mut turns, lossy);
    if turns.is_empty() {
        return Err("Anthropic needs at least one user or assistant message".into());
    }
    Ok((system, turns))
}

/// A final assistant turn is a prefill, which Anthropic refuses when it ends in whitespace.
fn trim_prefill(turns: &mut Vec<Turn>, lossy: &mut Vec<String>) {
    let Some(last) = turns.last_mut().filter(|t| t.role == "assistant") else {
        return;
    };
    if let Some(Out::Block(BlockOut::Text { text })) = last.content.last_mut() {
        let trimmed = text.trim_end().len();
        if trimmed == text.len() {
            return;
        }
        note(
            lossy,
            "trailing whitespace of the final assistant message (a prefill) was trimmed",
        );
        match text {
            Cow::Borrowed(s) => *s = &s[..trimmed],
            Cow::Owned(s) => s.truncate(trimmed),
        }
        if text.is_empty() {
            last.content.pop();
        }
    }
    if last.content.is_empty() {
        turns.pop();
    }
}

/// `reasoning_effort` as a thinking budget, consistent with the OpenAI adapter's inverse mapping.
fn budget_for_effort(effort: &str) -> Option<u32> {
    match effort {
        "none" => None,
        "minimal" => Some(MIN_THINKING_BUDGET),
        "low" => Some(2048),
        "high" => Some(24_576),
        "xhigh" | "max" => Some(32_768),
        _ => Some(8192),
    }
}

/// Signatures other providers made (the Gemini adapter tags its own `gemini:`) mean nothing to Anthropic.
fn own_signature(signature: &str) -> bool {
    !signature.starts_with("gemini:")
}

/// Whether the last assistant turn made tool calls without a signed thinking block of Anthropic's:
/// with thinking on, Anthropic requires that block at the start of the turn it answers in a tool loop,
/// and clients whose schema cannot carry signatures (OpenAI chat) cannot give it back.
fn unsigned_tool_turn(req: &ChatRequest) -> bool {
    req.messages.iter().rev().find(|m| m.role == Role::Assistant).is_some_and(|m| {
        !m.tool_calls.is_empty()
            && !m.content.iter().any(|p| matches!(p, Part::Reasoning { signature: Some(s), .. } if own_signature(s)))
    })
}

fn thinking(req: &ChatRequest, model: &Model, max_tokens: u64, lossy: &mut Vec<String>) -> Option<Value> {
    let budget = match (req.reasoning_budget, req.reasoning_effort.as_deref()) {
        (Some(0), _) | (None, None) => return None,
        (Some(b), _) => b,
        (None, Some(e)) => {
            let b = budget_for_effort(e)?;
            note(
                lossy,
                format!("reasoning_effort {e:?} was sent as a thinking budget of {b} tokens"),
            );
            b
        }
    };
    if !model.has("reasoning") {
        note(
            lossy,
            format!(
                "{} has no extended thinking; the reasoning request was not sent",
                model.id
            ),
        );
        return None;
    }
    if unsigned_tool_turn(req) {
        note(
            lossy,
            "the tool loop's last assistant turn carries no signed thinking block, which Anthropic requires while thinking; thinking was not enabled",
        );
        return None;
    }
    if matches!(req.tool_choice, Some(ToolChoice::Required | ToolChoice::Named(_))) && !req.tools.is_empty() {
        note(
            lossy,
            "Anthropic cannot think while a tool choice is forced; thinking was not enabled",
        );
        return None;
    }
    let mut budget = budget;
    if budget < MIN_THINKING_BUDGET {
        note(
            lossy,
            format!("the thinking budget was raised to Anthropic's minimum of {MIN_THINKING_BUDGET}"),
        );
        budget = MIN_THINKING_BUDGET;
    }
    if u64::from(budget) >= max_tokens {
        // Anthropic's max_tokens includes thinking, like OpenAI's max_completion_tokens.
        let room = u32::try_from(max_tokens.saturating_sub(1)).unwrap_or(u32::MAX);
        if room < MIN_THINKING_BUDGET {
            note(
                lossy,
                format!("max_tokens {max_tokens} leaves no room for Anthropic's minimum thinking budget of {MIN_THINKING_BUDGET}; thinking was not enabled"),
            );
            return None;
        }
        note(
            lossy,
            format!("the thinking budget was lowered to {room} to fit under max_tokens"),
        );
        budget = room;
    }
    Some(json!({"type": "enabled", "budget_tokens": budget}))
}

fn tool_choice(req: &ChatRequest) -> Option<Value> {
    if req.tools.is_empty() {
        return None; // Anthropic refuses a tool_choice without tools
    }
    let mut c = match &req.tool_choice {
        None if req.parallel_tool_calls == Some(false) => json!({"type": "auto"}),
        None => return None,
        Some(ToolChoice::Auto) => json!({"type": "auto"}),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::Named(name)) => json!({"type": "tool", "name": name}),
        Some(ToolChoice::None) => return Some(json!({"type": "none"})),
    };
    if req.parallel_tool_calls == Some(false) {
        c["disable_parallel_tool_use"] = Value::Bool(true);
    }
    Some(c)
}

impl ProviderAdapter for Anthropic {
    fn check(&self, req: &ChatRequest, _model: &Model) -> Result<(), String> {
        if req.n.is_some_and(|n| n > 1) {
            return Err("n > 1: Anthropic returns one answer per request".into());
        }
        if req.logprobs == Some(true) || req.top_logprobs.is_some() {
            return Err("logprobs: Anthropic does not return token log probabilities".into());
        }
        if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
            return Err(
                "response_format json_object: Anthropic has no JSON mode (its structured outputs need a json_schema)"
                    .into(),
            );
        }
        let mut conversation = false;
        for m in &req.messages {
            let system = matches!(m.role, Role::System | Role::Developer);
            conversation |= !system;
            if m.role == Role::Tool && m.tool_call_id.is_none() {
                return Err("a tool result without a tool_call_id cannot be sent to Anthropic".into());
            }
            for p in &m.content {
                match p {
                    Part::Image { .. } | Part::Other { .. } if system => {
                        return Err("Anthropic's system prompt takes text only".into())
                    }
                    Part::Other { kind, raw } if other_block(kind, raw).is_none() => {
                        return Err(format!("{kind} content cannot be sent to Anthropic"))
                    }
                    _ => {}
                }
            }
        }
        if !conversation {
            return Err("Anthropic needs at least one user or assistant message".into());
        }
        Ok(())
    }

    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, String> {
        let mut lossy = Vec::new();
        let (system, messages) = convert(req, &mut lossy)?;
        let max_tokens = req.max_tokens.map_or(model.max_output, u64::from).max(1);
        let thinking = thinking(req, model, max_tokens, &mut lossy);
        let (mut temperature, mut top_p, mut top_k) = (req.temperature, req.top_p, req.top_k);
        if let Some(t) = temperature.filter(|t| *t > 1.0) {
            note(
                &mut lossy,
                format!("temperature {t} is above Anthropic's maximum and was sent as 1"),
            );
            temperature = Some(1.0);
        }
        if thinking.is_some() {
            if temperature.take_if(|t| *t != 1.0).is_some() {
                note(
                    &mut lossy,
                    "temperature cannot be changed while Anthropic thinks and was not sent",
                );
            }
            if top_k.take().is_some() {
                note(
                    &mut lossy,
                    "top_k cannot be set while Anthropic thinks and was not sent",
                );
            }
            if top_p.is_some_and(|p| p < 0.95) {
                note(
                    &mut lossy,
                    "top_p below 0.95 is not allowed while Anthropic thinks and was sent as 0.95",
                );
                top_p = Some(0.95);
            }
        }
        if temperature.is_some() && top_p.take().is_some() {
            note(
                &mut lossy,
                "top_p was not sent: current Claude models take temperature or top_p, not both",
            );
        }
        let mut stop_sequences = Vec::with_capacity(req.stop.len());
        for s in &req.stop {
            if s.trim().is_empty() {
                note(
                    &mut lossy,
                    "whitespace-only stop sequences are refused by Anthropic and were not sent",
                );
            } else {
                stop_sequences.push(s.as_str());
            }
        }
        let structured = model.has("json_schema");
        let tools = req
            .tools
            .iter()
            .map(|t| ToolOut {
                name: &t.name,
                description: t.description.as_deref(),
                input_schema: Verbatim(t.parameters.get()),
                strict: match t.strict {
                    Some(true) if !structured => {
                        note(
                            &mut lossy,
                            format!(
                                "strict tool schemas need structured outputs, which {} lacks; sent without strict",
                                model.id
                            ),
                        );
                        None
                    }
                    s => s,
                },
            })
            .collect();
        let output_config = match &req.response_format {
            Some(ResponseFormat::JsonSchema { schema, .. }) => Some(OutputConfigOut {
                format: FormatOut {
                    kind: "json_schema",
                    schema,
                },
            }),
            Some(ResponseFormat::JsonObject) => return Err("Anthropic has no JSON mode".into()),
            Some(ResponseFormat::Text) | None => None,
        };
        for (set, what) in [
            (req.seed.is_some(), "seed: Anthropic has no sampling seed; not sent"),
            (
                req.presence_penalty.is_some(),
                "presence_penalty: not supported by Anthropic; not sent",
            ),
            (
                req.frequency_penalty.is_some(),
                "frequency_penalty: not supported by Anthropic; not sent",
            ),
        ] {
            if set {
                note(&mut lossy, what);
            }
        }
        for f in &req.unknown_fields {
            note(&mut lossy, format!("{f}: not understood by the gateway, not sent"));
        }
        let body = Body {
            model: &model.upstream_model,
            max_tokens,
            system,
            messages,
            temperature,
            top_p,
            top_k,
            stop_sequences,
            tools,
            tool_choice: tool_choice(req),
            thinking,
            metadata: req.user.as_deref().map(|user_id| json!({"user_id": user_id})),
            output_config,
            stream: req.stream,
        };
        let body = crate::wire::json_out::to_vec(&body)?;
        Ok(Rendered {
            path: "/messages".into(),
            headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
            body: Bytes::from(body),
            lossy,
        })
    }

    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("x-api-key", key.to_string())]
    }

    fn parse_response(&self, body: &[u8], _model: &Model) -> Result<ChatResponse, String> {
        #[derive(Deserialize)]
        struct MessageIn {
            #[serde(default)]
            id: String,
            model: Option<String>,
            content: Vec<Block>,
            stop_reason: Option<String>,
            usage: Option<WireUsage>,
        }
        let m: MessageIn =
            serde_json::from_slice(body).map_err(|e| format!("response is not an Anthropic message: {e}"))?;
        let mut parts = Vec::with_capacity(m.content.len());
        for b in m.content {
            match b {
                Block::Text(t) => parts.push(OutPart::Text(t.text)),
                Block::Thinking(t) => parts.push(OutPart::Reasoning {
                    text: t.thinking,
                    signature: t.signature,
                }),
                Block::ToolUse(u) => parts.push(OutPart::ToolCall(ToolCall {
                    arguments: compact_json(u.input.get()),
                    id: u.id,
                    name: u.name,
                })),
                // Redacted thinking and server tools' blocks have no canonical form.
                _ => {}
            }
        }
        Ok(ChatResponse {
            id: m.id,
            created: 0,
            model: m.model.unwrap_or_default(),
            parts,
            finish: m.stop_reason.as_deref().map(finish_reason),
            usage: m.usage.map(|u| u.canonical()),
        })
    }

    fn stream_decoder(&self, _model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(wire::Decoder::default())
    }

    fn error_message(&self, body: &[u8]) -> String {
        wire::error_message(body)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use switchyard_sdk::ir::{FinishReason, Message, StreamEvent, Tool, Usage};

    use super::*;
    use crate::config::raw::Quirks;
    use crate::config::{test_model, ProviderKind};
    use crate::wire::sse::SseParser;

    pub(crate) fn model(caps: &[&str]) -> Arc<Model> {
        let mut m = test_model(ProviderKind::Anthropic, Quirks::default());
        let mm = Arc::get_mut(&mut m).unwrap();
        mm.capabilities = caps.iter().map(|c| c.to_string()).collect();
        mm.max_output = 64_000; // Claude Sonnet 4's
        m
    }

    fn render(req: &ChatRequest, m: &Model) -> (Value, Vec<String>) {
        Anthropic.check(req, m).unwrap();
        let r = Anthropic.render(req, m).unwrap();
        assert_eq!(r.path, "/messages");
        assert_eq!(r.headers, vec![("anthropic-version", "2023-06-01".to_string())]);
        (serde_json::from_slice(&r.body).unwrap(), r.lossy)
    }

    fn user(text: &str) -> Message {
        Message::text(Role::User, text)
    }

    #[test]
    fn renders_an_openai_conversation() {
        let body = include_bytes!("../../tests/fixtures/anthropic/openai_request_tools.json");
        let req = crate::api::openai_chat::parse(body).unwrap().request;
        let (v, lossy) = render(&req, &model(&["chat", "tools", "vision", "reasoning", "json_schema"]));
        assert_eq!(v["model"], "up-m");
        assert_eq!(
            v["max_tokens"], 64_000,
            "the catalog's max_output when the request has none"
        );
        assert_eq!(
            v["system"],
            json!([{"type": "text", "text": "You are a helpful assistant."}, {"type": "text", "text": "Answer in French."}])
        );
        let roles: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["user", "assistant", "user"],
            "alternating, tool results in a user turn"
        );
        let m = &v["messages"];
        assert_eq!(
            m[0]["content"][1]["source"],
            json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"})
        );
        assert_eq!(
            m[0]["content"][2]["source"],
            json!({"type": "url", "url": "https://upload.wikimedia.org/wikipedia/commons/a/a8/Tour_Eiffel.jpg"})
        );
        let calls = &m[1]["content"];
        assert_eq!(
            calls[0],
            json!({"type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": {"location": "Paris"}})
        );
        assert_eq!(calls[1]["input"], json!({}), "empty arguments are an empty object");
        assert_eq!(
            calls[2]["id"], "functions_lookup_2",
            "ids are mapped onto Anthropic's alphabet"
        );
        assert_eq!(calls[2]["input"], json!({"_raw_arguments": "{\"q\": \"Eiffel"}));
        let results = &m[2]["content"];
        assert_eq!(
            results[0],
            json!({"type": "tool_result", "tool_use_id": "call_abc123", "content": "15 degrees, light rain"})
        );
        assert_eq!(
            results[2]["tool_use_id"], "functions_lookup_2",
            "the same mapping keeps the pair together"
        );
        assert_eq!(results[3], json!({"type": "text", "text": "Thanks! Umbrella?"}));
        assert_eq!(results[4], json!({"type": "text", "text": "Be brief."}));
        assert_eq!(v["tools"][0]["strict"], true);
        assert_eq!(v["tools"][0]["input_schema"]["required"], json!(["location"]));
        assert_eq!(
            v["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        // The conversation ends in a tool loop whose assistant turn (from an OpenAI client) has no
        // signed thinking block, so thinking stays off and the sampling parameters are kept.
        assert!(v.get("thinking").is_none(), "{v}");
        assert_eq!(v["temperature"], 0.7);
        assert!(v.get("top_p").is_none(), "temperature or top_p, not both");
        assert_eq!(v["stop_sequences"], json!(["END"]));
        assert_eq!(v["metadata"], json!({"user_id": "user-1234"}));
        assert_eq!(v["output_config"]["format"]["type"], "json_schema");
        assert_eq!(v["output_config"]["format"]["schema"]["required"], json!(["answer"]));
        assert_eq!(v["stream"], true);
        for needle in [
            "seed",
            "frequency_penalty",
            "logit_bias",
            "image detail",
            "moved into the top-level system",
            "reasoning_effort \"medium\"",
            "_raw_arguments",
            "no signed thinking block",
            "top_p was not sent",
            "whitespace-only stop",
        ] {
            assert!(lossy.iter().any(|l| l.contains(needle)), "{needle} not in {lossy:#?}");
        }
        assert_eq!(lossy.len(), 10, "{lossy:#?}");
    }

    #[test]
    fn sampling_thinking_and_tool_choice_rules() {
        let tool = Tool {
            name: "f".into(),
            description: None,
            parameters: json!({"type": "object"}).into(),
            strict: Some(true),
        };
        let base = ChatRequest {
            messages: vec![user("hi")],
            ..Default::default()
        };
        let reasoner = model(&["chat", "tools", "reasoning"]);
        type Case = (&'static str, ChatRequest, Value, &'static str);
        let cases: Vec<Case> = vec![
            (
                "budget under an explicit max_tokens",
                ChatRequest {
                    max_tokens: Some(2000),
                    reasoning_budget: Some(4000),
                    ..base.clone()
                },
                json!({"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1999}}),
                "lowered to 1999",
            ),
            (
                "no room for the minimum budget",
                ChatRequest {
                    max_tokens: Some(500),
                    reasoning_budget: Some(2000),
                    ..base.clone()
                },
                json!({"max_tokens": 500, "thinking": null}),
                "no room",
            ),
            (
                "budget raised to the minimum",
                ChatRequest {
                    reasoning_budget: Some(10),
                    ..base.clone()
                },
                json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
                "raised",
            ),
            (
                "forced tool choice turns thinking off",
                ChatRequest {
                    reasoning_effort: Some("high".into()),
                    tools: vec![tool.clone()],
                    tool_choice: Some(ToolChoice::Required),
                    ..base.clone()
                },
                json!({"thinking": null, "tool_choice": {"type": "any"}}),
                "forced",
            ),
            (
                "named tool, one call at a time",
                ChatRequest {
                    tools: vec![tool.clone()],
                    tool_choice: Some(ToolChoice::Named("f".into())),
                    parallel_tool_calls: Some(false),
                    ..base.clone()
                },
                json!({"tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true}}),
                "strict",
            ),
            (
                "tool choice none",
                ChatRequest {
                    tools: vec![tool.clone()],
                    tool_choice: Some(ToolChoice::None),
                    ..base.clone()
                },
                json!({"tool_choice": {"type": "none"}, "tools": [{"name": "f", "input_schema": {"type": "object"}}]}),
                "strict",
            ),
            (
                "no tool_choice without tools",
                ChatRequest {
                    tool_choice: Some(ToolChoice::Auto),
                    ..base.clone()
                },
                json!({"tool_choice": null, "tools": null}),
                "",
            ),
            (
                "temperature above Anthropic's range; top_p dropped beside it",
                ChatRequest {
                    temperature: Some(1.5),
                    top_p: Some(0.5),
                    top_k: Some(3),
                    ..base.clone()
                },
                json!({"temperature": 1.0, "top_p": null, "top_k": 3}),
                "not both",
            ),
            (
                "reasoning_effort none",
                ChatRequest {
                    reasoning_effort: Some("none".into()),
                    ..base.clone()
                },
                json!({"thinking": null}),
                "",
            ),
            (
                "a prefill's trailing whitespace",
                ChatRequest {
                    messages: vec![user("hi"), Message::text(Role::Assistant, "The answer is ")],
                    ..base.clone()
                },
                json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": [{"type": "text", "text": "The answer is"}]}]}),
                "trailing whitespace",
            ),
        ];
        for (why, req, expect, lossy_needle) in cases {
            let (v, lossy) = render(&req, &reasoner);
            for (k, want) in expect.as_object().unwrap() {
                assert_eq!(v.get(k).unwrap_or(&Value::Null), want, "{why}: {k}");
            }
            if !lossy_needle.is_empty() {
                assert!(lossy.iter().any(|l| l.contains(lossy_needle)), "{why}: {lossy:?}");
            }
        }
        let (v, lossy) = render(
            &ChatRequest {
                reasoning_budget: Some(2048),
                ..base
            },
            &model(&["chat"]),
        );
        assert!(
            v.get("thinking").is_none() && lossy[0].contains("no extended thinking"),
            "{lossy:?}"
        );
    }

    #[test]
    fn check_refuses_what_anthropic_cannot_do() {
        let m = model(&["chat", "vision"]);
        let with = |f: &dyn Fn(&mut ChatRequest)| {
            let mut r = ChatRequest {
                messages: vec![user("hi")],
                ..Default::default()
            };
            f(&mut r);
            Anthropic.check(&r, &m)
        };
        let other = |kind: &str, raw: Value| Part::Other { kind: kind.into(), raw };
        type Edit = Box<dyn Fn(&mut ChatRequest)>;
        let refused: Vec<(&str, Edit)> = vec![
            ("n > 1", Box::new(|r| r.n = Some(2))),
            ("logprobs", Box::new(|r| r.logprobs = Some(true))),
            (
                "json_object",
                Box::new(|r| r.response_format = Some(ResponseFormat::JsonObject)),
            ),
            (
                "input_audio",
                Box::new(move |r| {
                    r.messages[0]
                        .content
                        .push(other("input_audio", json!({"data": "AAA", "format": "wav"})))
                }),
            ),
            (
                "file",
                Box::new(move |r| {
                    r.messages[0]
                        .content
                        .push(other("file", json!({"file_id": "file-abc"})))
                }),
            ),
            (
                "tool_call_id",
                Box::new(|r| r.messages.push(Message::text(Role::Tool, "42"))),
            ),
            (
                "at least one",
                Box::new(|r| r.messages = vec![Message::text(Role::System, "x")]),
            ),
            (
                "text only",
                Box::new(|r| {
                    let mut s = Message::text(Role::System, "x");
                    s.content.push(Part::Image {
                        source: ImageSource::Url("https://x/y.png".into()),
                        detail: None,
                    });
                    r.messages.insert(0, s);
                }),
            ),
        ];
        for (needle, f) in refused {
            let e = with(&*f).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        // What maps faithfully: a PDF file part, and Anthropic's own blocks kept whole.
        let pdf = other(
            "file",
            json!({"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}),
        );
        let doc = other(
            "document",
            json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}}),
        );
        let req = ChatRequest {
            messages: vec![Message {
                content: vec![pdf, doc.clone()],
                ..user("")
            }],
            ..Default::default()
        };
        let (v, _) = render(&req, &m);
        let c = &v["messages"][0]["content"];
        assert_eq!(
            c[0],
            json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}, "title": "a.pdf"})
        );
        let Part::Other { raw, .. } = doc else { unreachable!() };
        assert_eq!(c[1], raw);
        // Images in tool results stay images.
        let mut result = Message::text(Role::Tool, "see chart");
        result.tool_call_id = Some("call_9".into());
        result.content.push(Part::Image {
            source: ImageSource::Url("https://x/chart.png".into()),
            detail: None,
        });
        let req = ChatRequest {
            messages: vec![user("plot it"), result],
            ..Default::default()
        };
        let (v, _) = render(&req, &m);
        assert_eq!(
            v["messages"][0]["content"][0],
            json!({"type": "tool_result", "tool_use_id": "call_9", "content": [{"type": "text", "text": "see chart"},
                   {"type": "image", "source": {"type": "url", "url": "https://x/chart.png"}}]}),
            "a tool result leads its user turn"
        );
    }

    #[test]
    fn parses_responses() {
        let m = model(&["chat"]);
        let r = Anthropic
            .parse_response(
                include_bytes!("../../tests/fixtures/anthropic/response_tool_use.json"),
                &m,
            )
            .unwrap();
        assert_eq!(
            (r.id.as_str(), r.model.as_str()),
            ("msg_01Aq9w938a90dw8q", "claude-sonnet-4-20250514")
        );
        assert_eq!(
            r.parts[0],
            OutPart::Text("I'll check the current weather in Paris for you.".into())
        );
        assert_eq!(
            r.parts[1],
            OutPart::ToolCall(ToolCall {
                id: "toolu_01NRLabsLyVHZPKxbKvkfSMn".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into(),
            })
        );
        assert_eq!(r.finish, Some(FinishReason::ToolCalls));
        assert_eq!(
            r.usage,
            Some(Usage {
                input_tokens: 377 + 1024 + 2048,
                cached_input_tokens: 2048,
                cache_write_tokens: 1024,
                output_tokens: 65,
                reasoning_tokens: 0,
            })
        );
        let r = Anthropic
            .parse_response(
                include_bytes!("../../tests/fixtures/anthropic/response_thinking.json"),
                &m,
            )
            .unwrap();
        assert_eq!(r.parts.len(), 2, "redacted thinking has no canonical form");
        assert!(matches!(&r.parts[0], OutPart::Reasoning { signature: Some(s), .. } if s.starts_with("zbbJ")));
        assert_eq!(r.finish, Some(FinishReason::Stop));
        assert_eq!(
            r.usage.map(|u| (u.input_tokens, u.output_tokens, u.reasoning_tokens)),
            Some((406, 350, 310))
        );
        for (stop, f) in [
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other("pause_turn".into())),
        ] {
            assert_eq!(wire::finish_reason(stop), f);
        }
        let err = include_bytes!("../../tests/fixtures/anthropic/error_overloaded.json");
        assert!(Anthropic.parse_response(err, &m).is_err());
        assert_eq!(Anthropic.error_message(err), "overloaded_error: Overloaded");
        assert_eq!(
            Anthropic.error_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    pub(crate) fn decode(stream: &[u8], split: usize) -> (Vec<StreamEvent>, bool) {
        let mut d = Anthropic.stream_decoder(&model(&[]));
        let mut p = SseParser::new(1 << 20);
        let mut out = Vec::new();
        for chunk in [&stream[..split], &stream[split..]] {
            p.push(chunk, |e| d.event(&e, &mut out)).unwrap();
        }
        (out, d.done())
    }

    fn usage(input: u64, cached: u64, write: u64, output: u64, reasoning: u64) -> StreamEvent {
        StreamEvent::Usage(Usage {
            input_tokens: input,
            cached_input_tokens: cached,
            cache_write_tokens: write,
            output_tokens: output,
            reasoning_tokens: reasoning,
        })
    }

    #[test]
    fn decodes_streams_split_anywhere() {
        use StreamEvent as E;
        let text = |s: &str| E::TextDelta(s.into());
        let args = |index: usize, s: &str| E::ToolCallDelta {
            index,
            arguments: s.into(),
        };
        let start = |id: &str, model: &str| E::Start {
            id: id.into(),
            model: model.into(),
        };
        let call = |index: usize, id: &str, name: &str| E::ToolCallStart {
            index,
            id: id.into(),
            name: name.into(),
        };
        let cases: [(&[u8], Vec<StreamEvent>, bool); 4] = [
            (
                include_bytes!("../../tests/fixtures/anthropic/stream_text.sse"),
                vec![
                    start("msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK", "claude-3-opus-latest"),
                    usage(11, 0, 0, 1, 0),
                    text("Hello"),
                    text(" there"),
                    text("!"),
                    E::Finish(FinishReason::Stop),
                    usage(11, 0, 0, 6, 0),
                ],
                true,
            ),
            (
                include_bytes!("../../tests/fixtures/anthropic/stream_tool_use.sse"),
                vec![
                    start("msg_019Q1hrJbZG26Fb9BQhrkHEr", "claude-sonnet-4-20250514"),
                    usage(377, 0, 0, 1, 0),
                    text("I"),
                    text("'ll check the current weather in Paris for you."),
                    call(0, "toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather"),
                    args(0, "{\"locati"),
                    args(0, "on\": \"P"),
                    args(0, "ar"),
                    args(0, "is\"}"),
                    call(1, "toolu_01B3Zy8mQ7pXvWq5Lr2Tt9Kc", "get_time"),
                    args(1, "{}"),
                    E::Finish(FinishReason::ToolCalls),
                    usage(377, 0, 0, 65, 0),
                ],
                true,
            ),
            (
                include_bytes!("../../tests/fixtures/anthropic/stream_thinking.sse"),
                vec![
                    start("msg_01Hv3Kc4VxoFnuT8jUcTLRcZ", "claude-sonnet-4-5-20250929"),
                    usage(2128, 2000, 100, 5, 0),
                    E::ReasoningDelta("The user asks about \"claudius\" \u{2014} I'm Claude.".into()),
                    E::ReasoningSignature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds==".into()),
                    text("Hi \u{e9}t\u{e9} \u{1f31e}"),
                    call(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
                    args(0, "{\"location\": \"Paris\"}"),
                    E::Finish(FinishReason::ToolCalls),
                    usage(2128, 2000, 100, 106, 67),
                ],
                true,
            ),
            (
                include_bytes!("../../tests/fixtures/anthropic/stream_error.sse"),
                vec![
                    start("msg_01ErrStream0000000000001", "claude-sonnet-4-20250514"),
                    usage(42, 0, 0, 1, 0),
                    text("Partial"),
                    E::Error {
                        message: "overloaded_error: Overloaded".into(),
                    },
                ],
                false,
            ),
        ];
        for (stream, expect, done) in cases {
            for split in 0..=stream.len() {
                let (got, d) = decode(stream, split);
                assert_eq!((&got, d), (&expect, done), "split at {split}");
            }
        }
        let (got, done) = decode(include_bytes!("../../tests/fixtures/anthropic/stream_truncated.sse"), 0);
        assert!(!done, "no message_stop: truncated");
        assert_eq!(got.last(), Some(&text("!")));
    }

    /// Through the proxy's pipeline (decoder → client encoder): an in-band error and a cut-off
    /// stream are reported by `end`, never as a clean finish.
    #[test]
    fn pipeline_reports_errors_and_truncation() {
        use crate::api::{anthropic_messages::tests::Fin, anthropic_messages::MessagesCodec};
        use crate::wire::Incomplete;
        use crate::translate::{stream_translator, Plan};
        let plan = Plan::Translate {
            codec: &MessagesCodec,
            adapter: &Anthropic,
        };
        let m = model(&[]);
        let run = |stream: &[u8]| {
            let mut t = stream_translator(plan, &ChatRequest::default(), &m);
            let (mut out, mut fin) = (Vec::new(), Fin(0));
            SseParser::new(1 << 20)
                .push(stream, |e| t.event(&e, &mut out, &mut fin))
                .unwrap();
            let end = t.end(&mut out, &mut fin);
            (String::from_utf8(out).unwrap(), end, fin.0, t.usage())
        };
        let (out, end, calls, usage) = run(include_bytes!("../../tests/fixtures/anthropic/stream_error.sse"));
        assert_eq!(
            end,
            Err(Incomplete::ProviderError("overloaded_error: Overloaded".into()))
        );
        assert!(
            out.contains("\"text\":\"Partial\"") && !out.contains("message_stop"),
            "{out}"
        );
        assert_eq!((calls, usage.map(|u| u.input_tokens)), (0, Some(42)));
        let (out, end, calls, _) = run(include_bytes!("../../tests/fixtures/anthropic/stream_truncated.sse"));
        assert_eq!((end, calls), (Err(Incomplete::Truncated), 0));
        assert!(!out.contains("message_stop"));
        let (out, end, calls, _) = run(include_bytes!("../../tests/fixtures/anthropic/stream_text.sse"));
        assert_eq!((end, calls), (Ok(()), 1));
        assert!(out.ends_with("\n\n") && out.contains("event: message_stop"));
    }

    #[test]
    fn events_without_names_are_read_by_type() {
        let s = "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\"}}\n\n\
                 data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n\
                 data: {\"type\":\"message_stop\"}\n\n";
        let (got, done) = decode(s.as_bytes(), 0);
        assert!(done);
        assert_eq!(got[1], StreamEvent::TextDelta("x".into()));
    }
}
