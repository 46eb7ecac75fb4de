//! An OpenAI Chat Completions request body → the canonical request. The wire structs follow the
//! public API reference (platform.openai.com/docs/api-reference/chat/create).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{
    ChatRequest, ImageSource, JsonText, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};

use crate::api::fields::{billed, missing, parse_fields, routing_field, FieldValue, Fields, Naming, OneOrMany};
use crate::api::ParsedRequest;
use crate::error::GatewayError;

#[derive(Deserialize)]
struct WireMessage {
    role: WireRole,
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum WireRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

/// `content`: a string, or an array of typed parts.
enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

impl<'de> Deserialize<'de> for WireContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireContent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WireContent, E> {
                Ok(WireContent::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<WireContent, E> {
                Ok(WireContent::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<WireContent, A::Error> {
                Vec::<WirePart>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(WireContent::Parts)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart {
    Text {
        text: String,
        /// Anthropic's prompt-cache breakpoint, as clients of Anthropic models through OpenAI's
        /// schema write it.
        #[serde(default)]
        cache_control: Option<Value>,
    },
    ImageUrl {
        image_url: WireImageUrl,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    InputAudio {
        input_audio: Value,
    },
    File {
        file: Value,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    Refusal {
        refusal: String,
    },
}

#[derive(Deserialize)]
struct WireImageUrl {
    url: String,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    #[serde(rename = "type", default)]
    _kind: Option<String>,
    function: WireFunctionCall,
}

#[derive(Deserialize)]
struct WireFunctionCall {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireTool {
    #[serde(rename = "type")]
    kind: String,
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireToolChoice {
    Mode(String),
    Named { function: WireNamed },
}

#[derive(Deserialize)]
struct WireNamed {
    name: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: WireJsonSchema },
}

#[derive(Deserialize)]
struct WireJsonSchema {
    name: String,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
struct WireStreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// `data:` URLs become base64 images; anything else stays a URL.
pub fn image_source(url: &str) -> ImageSource {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((meta, data)) = rest.split_once(',') {
            if let Some(media_type) = meta.strip_suffix(";base64") {
                return ImageSource::Base64 {
                    media_type: media_type.to_string(),
                    data: data.to_string(),
                };
            }
        }
    }
    ImageSource::Url(url.to_string())
}

fn convert_message(i: usize, m: WireMessage) -> Result<Message, GatewayError> {
    let role = match m.role {
        WireRole::System => Role::System,
        WireRole::Developer => Role::Developer,
        WireRole::User => Role::User,
        WireRole::Assistant => Role::Assistant,
        WireRole::Tool => Role::Tool,
    };
    let mut cache_breakpoints = Vec::new();
    let content = match m.content {
        None => Vec::new(),
        Some(WireContent::Text(t)) => vec![Part::Text(t)],
        Some(WireContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, p) in parts.into_iter().enumerate() {
                let (part, cache) = match p {
                    WirePart::Text { text, cache_control } => (Part::Text(text), cache_control),
                    WirePart::Refusal { refusal } => (Part::Text(refusal), None),
                    WirePart::ImageUrl {
                        image_url,
                        cache_control,
                    } => (
                        Part::Image {
                            source: image_source(&image_url.url),
                            detail: image_url.detail,
                        },
                        cache_control,
                    ),
                    WirePart::InputAudio { input_audio } => (
                        Part::Other {
                            kind: "input_audio".into(),
                            raw: input_audio,
                        },
                        None,
                    ),
                    WirePart::File { file, cache_control } => (
                        Part::Other {
                            kind: "file".into(),
                            raw: file,
                        },
                        cache_control,
                    ),
                };
                if let Some(c) = cache.filter(|c| !c.is_null()) {
                    cache_breakpoints.push((j, c));
                }
                out.push(part);
            }
            out
        }
    };
    if content.is_empty() && m.tool_calls.as_ref().is_none_or(Vec::is_empty) && role != Role::Assistant {
        return Err(GatewayError::invalid(
            format!("messages[{i}].content"),
            format!("messages[{i}] has no content"),
        ));
    }
    let tool_calls = m
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|c| ToolCall {
            id: c.id,
            name: c.function.name,
            arguments: c.function.arguments,
        })
        .collect();
    Ok(Message {
        role,
        content,
        tool_calls,
        tool_call_id: m.tool_call_id,
        name: m.name,
        is_error: false,
        cache_breakpoints,
    })
}

fn convert_tools(tools: Vec<WireTool>) -> Result<Vec<Tool>, GatewayError> {
    tools
        .into_iter()
        .enumerate()
        .map(|(i, t)| match (t.kind.as_str(), t.function) {
            ("function", Some(f)) => Ok(Tool {
                name: f.name,
                description: f.description,
                parameters: f
                    .parameters
                    .map_or_else(JsonText::empty_object_schema, JsonText::from_raw),
                strict: f.strict,
            }),
            ("function", None) => Err(missing(&format!("tools[{i}].function"))),
            (other, _) => Err(GatewayError::invalid(
                format!("tools[{i}].type"),
                format!("tool type {other:?} is not supported; use \"function\""),
            )),
        })
        .collect()
}

/// A `tool_choice` given as a string (Chat Completions and Responses share these).
pub(crate) fn tool_choice_mode(m: &str) -> Result<ToolChoice, GatewayError> {
    match m {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" => Ok(ToolChoice::Required),
        _ => Err(GatewayError::invalid(
            "tool_choice",
            format!("tool_choice {m:?} must be auto, none, required or a named function"),
        )),
    }
}

fn convert_tool_choice(c: WireToolChoice) -> Result<ToolChoice, GatewayError> {
    Ok(match c {
        WireToolChoice::Mode(m) => tool_choice_mode(&m)?,
        WireToolChoice::Named { function } => ToolChoice::Named(function.name),
    })
}

/// The request as its fields arrive.
#[derive(Default)]
struct ChatFields {
    r: ChatRequest,
    have_model: bool,
    have_messages: bool,
}

impl Fields for ChatFields {
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
                if let Some(msgs) = v.read::<Vec<WireMessage>>(k)? {
                    r.messages = msgs
                        .into_iter()
                        .enumerate()
                        .map(|(i, m)| convert_message(i, m))
                        .collect::<Result<_, _>>()?;
                    self.have_messages = true;
                }
            }
            "tools" => r.tools = convert_tools(v.read(k)?.unwrap_or_default())?,
            "tool_choice" => r.tool_choice = v.read(k)?.map(convert_tool_choice).transpose()?,
            "parallel_tool_calls" => r.parallel_tool_calls = v.read(k)?,
            "temperature" => r.temperature = v.read(k)?,
            "top_p" => r.top_p = v.read(k)?,
            "max_tokens" | "max_completion_tokens" => {
                if let Some(n) = v.read(k)? {
                    r.max_tokens = Some(n);
                }
            }
            "stop" => r.stop = v.read::<OneOrMany>(k)?.map(OneOrMany::into_vec).unwrap_or_default(),
            "seed" => r.seed = v.read(k)?,
            "presence_penalty" => r.presence_penalty = v.read(k)?,
            "frequency_penalty" => r.frequency_penalty = v.read(k)?,
            "n" => r.n = v.read(k)?,
            "logprobs" => r.logprobs = v.read(k)?,
            "top_logprobs" => r.top_logprobs = v.read(k)?,
            "response_format" => {
                r.response_format = v.read::<WireResponseFormat>(k)?.map(|f| match f {
                    WireResponseFormat::Text => ResponseFormat::Text,
                    WireResponseFormat::JsonObject => ResponseFormat::JsonObject,
                    WireResponseFormat::JsonSchema { json_schema } => ResponseFormat::JsonSchema {
                        name: json_schema.name,
                        schema: json_schema.schema.unwrap_or_else(|| serde_json::json!({})),
                        strict: json_schema.strict,
                    },
                })
            }
            "reasoning_effort" => r.reasoning_effort = v.read(k)?,
            "stream" => r.stream = v.read(k)?.unwrap_or_default(),
            "stream_options" => {
                r.stream_include_usage = v
                    .read::<WireStreamOptions>(k)?
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false)
            }
            "user" => r.user = v.read(k)?,
            // A stored completion is kept (and billed for) at OpenAI: passed through to OpenAI-schema
            // providers with the `costly_features` scope only.
            "store" => {
                if v.read::<bool>(k)? == Some(true) {
                    billed(r, k, "stored_completion", None);
                }
            }
            // OpenAI's priority (and scale) tier costs more per token than the catalog price.
            "service_tier" => {
                if let Some(tier) = v.read::<String>(k)? {
                    r.unknown_fields.push(k.to_string());
                    if !matches!(tier.as_str(), "auto" | "default" | "flex") {
                        billed(r, k, "priority_tier", None);
                    }
                }
            }
            "web_search_options" => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                    billed(r, k, "web_search", Some("web_search"));
                }
            }
            "audio" => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                    billed(r, k, "audio_output", Some("audio_output"));
                }
            }
            "modalities" => {
                if let Some(m) = v.read::<Vec<String>>(k)? {
                    r.unknown_fields.push(k.to_string());
                    if m.iter().any(|x| x == "audio") {
                        billed(r, k, "audio_output", Some("audio_output"));
                    }
                }
            }
            "metadata" => r.metadata = v.read::<Map<String, Value>>(k)?.unwrap_or_default(),
            _ if routing_field(k, v, &mut r.routing)? => {}
            // Forwarded as is to OpenAI-schema providers; named as lossy elsewhere.
            _ => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                }
            }
        }
        Ok(())
    }
}

/// Parse an OpenAI chat request body.
pub fn parse(body: &[u8]) -> Result<ParsedRequest, GatewayError> {
    let f: ChatFields = parse_fields(body, Naming::Path)?;
    if !f.have_model {
        return Err(missing("model"));
    }
    if !f.have_messages {
        return Err(missing("messages"));
    }
    Ok(ParsedRequest { request: f.r })
}
