//! Canonical request → Anthropic Messages body (`POST {base}/messages`). What the IR holds that
//! Anthropic cannot carry is named in `Rendered.lossy`; what it cannot do at all (several choices,
//! log probabilities, JSON mode, audio) makes the model ineligible (`check`).

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, ImageSource, Part, ResponseFormat, Role, ToolChoice};

use super::wire::{BlockOut, Body, FormatOut, Out, OutputConfigOut, ResultOut, SourceOut, SystemText, ToolOut, Turn};
use crate::config::Model;
use crate::providers::ProviderError::{self, InvalidRequest, Unsupported};
use crate::providers::{Rendered, ANTHROPIC_VERSION};
use crate::wire::anthropic::{ToolInput, INVALID_ARGUMENTS_KEY};
use crate::wire::json_out::Verbatim;

use super::thinking::{own_signature, thinking};

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

/// Name a loss once.
pub(super) fn note(lossy: &mut Vec<String>, what: impl Into<String>) {
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

fn part<'a>(p: &'a Part, assistant: bool, lossy: &mut Vec<String>) -> Result<Option<Out<'a>>, ProviderError> {
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
        Part::Other { kind, raw } => Some(
            other_block(kind, raw).ok_or_else(|| Unsupported(format!("{kind} content cannot be sent to Anthropic")))?,
        ),
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

fn tool_result<'a>(m: &'a switchyard_sdk::ir::Message, lossy: &mut Vec<String>) -> Result<Out<'a>, ProviderError> {
    let id = m
        .tool_call_id
        .as_deref()
        .ok_or_else(|| Unsupported("a tool result without a tool_call_id cannot be sent to Anthropic".into()))?;
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

/// Anthropic takes at most this many cache breakpoints in a request (automatic caching's included).
pub(super) const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The client's cache breakpoint on part `i` of `m`, while fewer than the maximum were placed.
fn breakpoint<'a>(
    m: &'a switchyard_sdk::ir::Message,
    i: usize,
    placed: &mut usize,
    lossy: &mut Vec<String>,
) -> Option<&'a Value> {
    let (_, c) = m.cache_breakpoints.iter().find(|(at, _)| *at == i)?;
    if *placed >= MAX_CACHE_BREAKPOINTS {
        note(
            lossy,
            format!("cache breakpoints beyond Anthropic's {MAX_CACHE_BREAKPOINTS} were not sent"),
        );
        return None;
    }
    *placed += 1;
    Some(c)
}

/// Canonical messages → Anthropic `system` and alternating `messages`, and how many cache
/// breakpoints of the client's were placed.
fn convert<'a>(
    req: &'a ChatRequest,
    lossy: &mut Vec<String>,
) -> Result<(Vec<SystemText<'a>>, Vec<Turn<'a>>, usize), ProviderError> {
    let mut system = Vec::new();
    let mut turns: Vec<Turn<'a>> = Vec::with_capacity(req.messages.len());
    let mut placed = 0;
    for m in &req.messages {
        if m.role == Role::Tool && !m.cache_breakpoints.is_empty() {
            note(lossy, "cache breakpoints inside tool results were not sent");
        }
        match m.role {
            Role::System | Role::Developer => {
                if !turns.is_empty() {
                    note(
                        lossy,
                        "system messages after the conversation began were moved into the top-level system prompt",
                    );
                }
                for (i, p) in m.content.iter().enumerate() {
                    match p {
                        Part::Text(t) if !t.is_empty() => system.push(SystemText {
                            kind: "text",
                            text: t,
                            cache_control: breakpoint(m, i, &mut placed, lossy),
                        }),
                        Part::Text(_) | Part::Reasoning { .. } => {}
                        Part::Image { .. } | Part::Other { .. } => {
                            return Err(Unsupported("Anthropic's system prompt takes text only".into()))
                        }
                    }
                }
            }
            Role::User | Role::Assistant => {
                let assistant = m.role == Role::Assistant;
                let mut blocks = Vec::with_capacity(m.content.len() + m.tool_calls.len());
                for (i, p) in m.content.iter().enumerate() {
                    match (part(p, assistant, lossy)?, m.cache_breakpoints.is_empty()) {
                        (Some(b), false) => match breakpoint(m, i, &mut placed, lossy) {
                            Some(c) => blocks.push(b.cached(c)),
                            None => blocks.push(b),
                        },
                        (b, _) => blocks.extend(b),
                    }
                }
                for c in &m.tool_calls {
                    let input = ToolInput::new(&c.arguments);
                    if !input.is_faithful() {
                        note(
                            lossy,
                            format!(
                                "tool call arguments that are not a JSON object were sent as a string under `{}`",
                                INVALID_ARGUMENTS_KEY
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
        return Err(Unsupported(
            "Anthropic needs at least one user or assistant message".into(),
        ));
    }
    Ok((system, turns, placed))
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

/// Whether Anthropic can honour `req` at all ([`ProviderAdapter::check`](crate::providers::ProviderAdapter::check)).
pub(super) fn check(req: &ChatRequest) -> Result<(), ProviderError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(Unsupported("n > 1: Anthropic returns one answer per request".into()));
    }
    if req.logprobs == Some(true) || req.top_logprobs.is_some() {
        return Err(Unsupported(
            "logprobs: Anthropic does not return token log probabilities".into(),
        ));
    }
    if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
        return Err(Unsupported(
            "response_format json_object: Anthropic has no JSON mode (its structured outputs need a json_schema)"
                .into(),
        ));
    }
    let mut conversation = false;
    for m in &req.messages {
        let system = matches!(m.role, Role::System | Role::Developer);
        conversation |= !system;
        if m.role == Role::Tool && m.tool_call_id.is_none() {
            return Err(Unsupported(
                "a tool result without a tool_call_id cannot be sent to Anthropic".into(),
            ));
        }
        for p in &m.content {
            match p {
                Part::Image { .. } | Part::Other { .. } if system => {
                    return Err(Unsupported("Anthropic's system prompt takes text only".into()))
                }
                Part::Other { kind, raw } if other_block(kind, raw).is_none() => {
                    return Err(Unsupported(format!("{kind} content cannot be sent to Anthropic")))
                }
                _ => {}
            }
        }
    }
    if !conversation {
        return Err(Unsupported(
            "Anthropic needs at least one user or assistant message".into(),
        ));
    }
    Ok(())
}

/// `req` as the body of `POST {base}/messages` for `model`.
pub(super) fn render(req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
    let mut lossy = Vec::new();
    let (system, messages, placed) = convert(req, &mut lossy)?;
    // Automatic caching for translated requests when the provider enables it (one breakpoint,
    // counted against the limit).
    let cache_control =
        (model.provider.auto_cache && placed < MAX_CACHE_BREAKPOINTS).then(|| json!({"type": "ephemeral"}));
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
        Some(ResponseFormat::JsonObject) => return Err(Unsupported("Anthropic has no JSON mode".into())),
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
    for f in req.chat_extras.keys() {
        note(&mut lossy, format!("{f}: no Anthropic equivalent, not sent"));
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
        cache_control,
    };
    let body = crate::wire::json_out::to_vec(&body).map_err(InvalidRequest)?;
    Ok(Rendered {
        path: "/messages".into(),
        headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
        body: Bytes::from(body),
        lossy,
    })
}
