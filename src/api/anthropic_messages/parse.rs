//! An Anthropic Messages request body → the canonical request. A user message's `tool_result`
//! blocks become `tool` messages, `mid_conv_system` blocks system messages, and what only Anthropic
//! understands (server tools, cache_control, citations) is named in `unknown_fields`.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{
    ChatRequest, ImageSource, JsonText, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};

use crate::api::fields::{billed, missing, parse_fields, routing_field, FieldValue, Fields, Naming};
use crate::api::ParsedRequest;
use crate::error::GatewayError;
use crate::wire::anthropic::{compact_json, Block, ContentIn, ImageSourceIn};

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

/// Anthropic-defined tools the client runs (billed as tokens only); any other typed tool runs on
/// Anthropic's side and is billed per use (web search, web fetch, code execution, ...).
const CLIENT_RUN_TOOLS: &[&str] = &["bash_", "text_editor_", "computer_", "memory_"];

fn convert_tools(tools: Vec<ToolIn>, r: &mut ChatRequest, extras: &mut bool) -> Result<Vec<Tool>, GatewayError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.into_iter().enumerate() {
        match t.kind.as_deref() {
            None | Some("custom") => {}
            // Anthropic's own tools: only Anthropic runs or understands them.
            Some(kind) => {
                r.unknown_fields.push(format!("tools[{i}] ({kind})"));
                if !CLIENT_RUN_TOOLS.iter().any(|p| kind.starts_with(p)) {
                    let feature = if kind.starts_with("web_search") {
                        "web_search"
                    } else if kind.starts_with("web_fetch") {
                        "web_fetch"
                    } else if kind.starts_with("code_execution") {
                        "code_execution"
                    } else {
                        "server_tool"
                    };
                    billed(r, format!("tools[{i}]"), feature, Some("tools"));
                }
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
                    r.tools = convert_tools(t, r, &mut self.extras)?;
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
                let Some(m) = v.read::<Map<String, Value>>(k)? else {
                    return Ok(());
                };
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
            // Forwarded as is to Anthropic; named as lossy for any other provider. MCP servers and
            // code-execution containers are billed per use.
            _ => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                    match k {
                        "mcp_servers" => billed(r, k, "mcp_servers", Some("tools")),
                        "container" => billed(r, k, "code_execution", None),
                        _ => {}
                    }
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
