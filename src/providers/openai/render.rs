//! Canonical request → OpenAI Chat Completions body (`POST {base}/chat/completions`), adjusted to the
//! model's catalog quirks. The pass-through re-renders messages with the same code.

use bytes::Bytes;
use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, ImageSource, Message, Part, ResponseFormat, Role, ToolChoice};

use super::wire::{WireContent, WireFunction, WireFunctionCall, WireMessage, WireTool, WireToolCall};
use crate::config::{Model, ProviderKind};
use crate::providers::ProviderError::{self, InvalidRequest, Unsupported};
use crate::providers::{joined_text, Rendered};
use crate::wire::json_out::Verbatim;

/// Content part types OpenAI's chat API accepts besides text and images.
const OPENAI_PARTS: &[&str] = &["input_audio", "file"];
/// Anthropic's encrypted reasoning: only Anthropic can read it, so other providers do without it.
const REDACTED_THINKING: &str = "redacted_thinking";

/// The field the model's server wants for the output limit.
pub fn max_tokens_field(model: &Model) -> &str {
    match (&model.quirks.max_tokens_field, model.provider.kind) {
        (Some(f), _) => f,
        // OpenAI deprecated `max_tokens` (its reasoning models refuse it); most compatible servers
        // only know `max_tokens`.
        (None, ProviderKind::OpenAi) => "max_completion_tokens",
        (None, _) => "max_tokens",
    }
}

pub fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url(u) => u.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

fn part_json(p: &Part) -> Option<Value> {
    match p {
        Part::Text(t) => Some(json!({"type": "text", "text": t})),
        Part::Image { source, detail } => {
            let mut img = json!({"url": image_url(source)});
            if let Some(d) = detail {
                img["detail"] = json!(d);
            }
            Some(json!({"type": "image_url", "image_url": img}))
        }
        Part::Other { kind, .. } if kind == REDACTED_THINKING => None,
        Part::Other { kind, raw } => Some(json!({"type": kind, kind.clone(): raw})),
        Part::Reasoning { .. } => None,
    }
}

/// Canonical messages in OpenAI's shape. `lossy` collects what cannot be carried.
pub fn render_messages<'a>(msgs: &'a [Message], model: &Model, lossy: &mut Vec<String>) -> Vec<WireMessage<'a>> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let role = match m.role {
            Role::Developer if !model.quirks.developer_role => "system",
            r => r.as_str(),
        };
        if m.content.iter().any(|p| matches!(p, Part::Reasoning { .. }))
            && !lossy.iter().any(|l| l.starts_with("reasoning"))
        {
            lossy.push("reasoning blocks of earlier turns are not sent to OpenAI-schema providers".into());
        }
        if m.content
            .iter()
            .any(|p| matches!(p, Part::Other { kind, .. } if kind == REDACTED_THINKING))
            && !lossy.iter().any(|l| l.starts_with("redacted_thinking"))
        {
            lossy.push("redacted_thinking blocks of earlier turns are not sent to OpenAI-schema providers".into());
        }
        let has_image = m.content.iter().any(|p| matches!(p, Part::Image { .. }));
        let content = match m.role {
            Role::Assistant | Role::Tool | Role::System | Role::Developer => {
                if has_image && m.role != Role::Tool {
                    WireContent::Parts(m.content.iter().filter_map(part_json).collect())
                } else {
                    if m.role == Role::Tool && has_image {
                        lossy.push("images in tool results are sent as text-only tool messages".into());
                    }
                    let text = joined_text(&m.content);
                    if text.is_empty() && !m.tool_calls.is_empty() {
                        WireContent::Null
                    } else {
                        WireContent::Text(text)
                    }
                }
            }
            Role::User => {
                if m.content.len() == 1 && matches!(m.content[0], Part::Text(_)) {
                    WireContent::Text(joined_text(&m.content))
                } else {
                    WireContent::Parts(m.content.iter().filter_map(part_json).collect())
                }
            }
        };
        let tool_calls = m
            .tool_calls
            .iter()
            .map(|c| WireToolCall {
                id: &c.id,
                kind: "function",
                function: WireFunctionCall {
                    name: &c.name,
                    arguments: &c.arguments,
                },
            })
            .collect();
        if m.is_error && !lossy.iter().any(|l| l.starts_with("tool error")) {
            lossy.push("tool error flags have no OpenAI equivalent; the result is sent as is".into());
        }
        out.push(WireMessage {
            role,
            content,
            tool_calls,
            tool_call_id: m.tool_call_id.as_deref(),
            name: m.name.as_deref(),
        });
    }
    out
}

fn effort_for_budget(budget: u32) -> &'static str {
    match budget {
        0..=2048 => "low",
        2049..=16384 => "medium",
        _ => "high",
    }
}

/// `{"model":…,"messages":[…],"tools":[…],<rest>}` in one buffer.
fn write_body(
    model: &str,
    messages: &[WireMessage],
    tools: &[WireTool],
    rest: &Map<String, Value>,
) -> sonic_rs::Result<Vec<u8>> {
    use serde::ser::{SerializeMap, Serializer};
    let size: usize = messages.len() * 64
        + messages
            .iter()
            .map(|m| {
                if let WireContent::Text(t) = &m.content {
                    t.len()
                } else {
                    256
                }
            })
            .sum::<usize>()
        + tools.iter().map(|t| t.function.parameters.0.len() + 64).sum::<usize>();
    let mut out = Vec::with_capacity(size + 512);
    let mut ser = sonic_rs::Serializer::new(&mut out);
    let mut map = ser.serialize_map(Some(2 + usize::from(!tools.is_empty()) + rest.len()))?;
    map.serialize_entry("model", model)?;
    map.serialize_entry("messages", messages)?;
    if !tools.is_empty() {
        map.serialize_entry("tools", tools)?;
    }
    for (k, v) in rest {
        map.serialize_entry(k, v)?;
    }
    map.end()?;
    Ok(out)
}

/// Content parts OpenAI has no form for (Anthropic documents, search results, ...) make the model
/// ineligible; OpenAI's own audio and file parts pass.
pub(super) fn check(req: &ChatRequest) -> Result<(), ProviderError> {
    for m in &req.messages {
        for p in &m.content {
            if let Part::Other { kind, .. } = p {
                if !OPENAI_PARTS.contains(&kind.as_str()) && kind != REDACTED_THINKING {
                    return Err(Unsupported(format!(
                        "{kind} content blocks have no OpenAI chat equivalent"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `req` as the body of `POST {base}/chat/completions` for `model`.
pub(super) fn render(req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
    let mut lossy = Vec::new();
    let messages = render_messages(&req.messages, model, &mut lossy);
    let mut tools: Vec<WireTool> = req
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            function: WireFunction {
                name: &t.name,
                description: t.description.as_deref(),
                parameters: Verbatim(t.parameters.get()),
                strict: t.strict,
            },
        })
        .collect();
    if !tools.is_empty() && model.quirks.drop_fields.iter().any(|f| f == "tools") {
        tools.clear();
        lossy.push(format!("tools: not accepted by {}, not sent", model.provider.name));
    }
    // Everything else is small: a JSON map, written after the messages and tools.
    let mut b = Map::new();
    if let Some(tc) = &req.tool_choice {
        b.insert(
            "tool_choice".into(),
            match tc {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Named(n) => json!({"type": "function", "function": {"name": n}}),
            },
        );
    }
    let mut opt = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            b.insert(k.to_string(), v);
        }
    };
    opt("parallel_tool_calls", req.parallel_tool_calls.map(Value::from));
    opt("temperature", req.temperature.map(Value::from));
    opt("top_p", req.top_p.map(Value::from));
    opt(max_tokens_field(model), req.max_tokens.map(Value::from));
    opt("seed", req.seed.map(Value::from));
    opt("presence_penalty", req.presence_penalty.map(Value::from));
    opt("frequency_penalty", req.frequency_penalty.map(Value::from));
    opt("n", req.n.map(Value::from));
    opt("logprobs", req.logprobs.map(Value::from));
    opt("top_logprobs", req.top_logprobs.map(Value::from));
    opt("user", req.user.clone().map(Value::from));
    opt("stop", (!req.stop.is_empty()).then(|| json!(req.stop)));
    let effort = req
        .reasoning_effort
        .clone()
        .or_else(|| req.reasoning_budget.map(|n| effort_for_budget(n).to_string()));
    if req.reasoning_effort.is_none() && req.reasoning_budget.is_some() {
        lossy.push("a reasoning token budget is sent as the nearest reasoning_effort".into());
    }
    opt("reasoning_effort", effort.map(Value::from));
    opt(
        "response_format",
        req.response_format.as_ref().map(|f| match f {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema { name, schema, strict } => {
                let mut s = json!({"name": name, "schema": schema});
                if let Some(st) = strict {
                    s["strict"] = json!(st);
                }
                json!({"type": "json_schema", "json_schema": s})
            }
        }),
    );
    if req.stream {
        b.insert("stream".into(), json!(true));
        if model.quirks.stream_usage {
            b.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    if req.messages.iter().any(|m| !m.cache_breakpoints.is_empty()) {
        lossy.push(
            "cache_control breakpoints: OpenAI-schema providers cache prompt prefixes by themselves; not sent".into(),
        );
    }
    for (k, v) in &req.chat_extras {
        b.insert(k.clone(), v.clone());
    }
    if model.quirks.reasoning_field.is_none() {
        // Chat completions returns no reasoning (a server with a reasoning field does: its text
        // becomes the summary).
        if req.reasoning_summary.is_some() {
            lossy.push("reasoning.summary: chat completions returns no reasoning summary; none is returned".into());
        }
        if req.encrypted_reasoning {
            lossy.push(
                "include reasoning.encrypted_content: chat completions returns no reasoning items; none is returned"
                    .into(),
            );
        }
    }
    if req.top_k.is_some() {
        lossy.push("top_k is not part of OpenAI's API and was not sent".into());
    }
    for f in &req.unknown_fields {
        lossy.push(format!("{f}: not understood by the gateway, not sent"));
    }
    for f in &model.quirks.drop_fields {
        if b.remove(f).is_some() {
            lossy.push(format!("{f}: not accepted by {}, not sent", model.provider.name));
        }
    }
    let body = write_body(&model.upstream_model, &messages, &tools, &b).map_err(|e| InvalidRequest(e.to_string()))?;
    Ok(Rendered {
        path: "/chat/completions".into(),
        headers: Vec::new(),
        body: Bytes::from(body),
        lossy,
    })
}
