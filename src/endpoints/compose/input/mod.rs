//! The bodies of the complete endpoints: `/v1/auto/route` and `/v1/models/route` merge their `input`
//! (OpenAI chat fields) with the top level into one OpenAI chat body; `/v1/images/generations` is the
//! OpenAI Images API. Every refusal is a 400 naming its field (`input.<field>` for what came from
//! `input`).

use serde_json::{Map, Value};
use switchyard_sdk::Money;

use crate::api::ParsedRequest;
use crate::error::GatewayError;
use crate::router::classify::Task;

pub type Object = Map<String, Value>;

/// The body as a JSON object, with the codecs' errors for empty, non-UTF-8 or malformed bodies.
pub fn object(body: &[u8]) -> Result<Object, GatewayError> {
    let raw = crate::wire::json::parse_object(body)?;
    let mut o = Map::new();
    for (k, v) in raw {
        let v: Value = serde_json::from_str(v.get()).map_err(|e| GatewayError::InvalidRequest {
            code: "invalid_json",
            message: format!("malformed JSON in {k}: {e}"),
            param: Some(k.clone()),
        })?;
        o.insert(k, v);
    }
    Ok(o)
}

fn invalid_type(param: &str, want: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "invalid_type",
        message: format!("{param} must be {want}"),
        param: Some(param.to_string()),
    }
}

pub fn missing(param: &str, message: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "missing_field",
        message: message.to_string(),
        param: Some(param.to_string()),
    }
}

/// `o[key]` as a string; null counts as absent.
pub fn opt_str<'a>(o: &'a Object, key: &str, param: &str) -> Result<Option<&'a str>, GatewayError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid_type(param, "a string")),
    }
}

/// `o[key]` as an integer in `lo..=hi`.
pub fn opt_int(o: &Object, key: &str, param: &str, lo: u64, hi: u64) -> Result<Option<u64>, GatewayError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            Some(_) => Err(GatewayError::invalid(
                param,
                format!("{param} must be between {lo} and {hi}"),
            )),
            None => Err(invalid_type(param, "an integer")),
        },
    }
}

/// `budget_dollars`: a non-negative amount.
pub fn budget(o: &Object) -> Result<Option<Money>, GatewayError> {
    match o.get("budget_dollars") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .and_then(Money::from_dollars)
            .map(Some)
            .ok_or_else(|| GatewayError::invalid("budget_dollars", "budget_dollars must be a non-negative amount")),
    }
}

/// A routing task name (`task`, `filter.task_type`).
pub fn task(o: &Object, key: &str, param: &str) -> Result<Option<Task>, GatewayError> {
    match opt_str(o, key, param)? {
        None => Ok(None),
        Some(t) => Task::parse(t.trim()).map(Some).ok_or_else(|| {
            let known: Vec<&str> = Task::ALL.iter().map(|t| t.as_str()).collect();
            GatewayError::invalid(param, format!("unknown task {t:?}; known: {}", known.join(", ")))
        }),
    }
}

/// `stream: true` cannot be honoured by an answer given whole.
pub fn refuse_stream(o: &Object, param: &str) -> Result<(), GatewayError> {
    match o.get("stream") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(()),
        Some(Value::Bool(true)) => Err(GatewayError::invalid(
            param,
            "this endpoint answers with one complete response and cannot stream; use /v1/chat/completions \
             with model auto to stream",
        )),
        Some(_) => Err(invalid_type(param, "a boolean")),
    }
}

/// Whether a model name asks for automatic routing.
pub fn is_auto(model: &str) -> bool {
    crate::router::auto_mode(model).is_some()
}

/// Fields of the Images API besides `prompt`, `model` and `n`; they reach image models as sent.
pub const IMAGE_FIELDS: &[&str] = &[
    "size",
    "quality",
    "style",
    "background",
    "output_format",
    "output_compression",
    "moderation",
];

/// Chat fields `/v1/auto/route` and `/v1/models/route` take at the top level as well as in `input`.
const TOP_LEVEL_CHAT: &[&str] = &[
    "model",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop",
    "n",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "metadata",
    "budget_dollars",
    "session_id",
    "optimization",
    "router_mode",
    "fallback",
];

/// Which route endpoint a body is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RouteEndpoint {
    Auto,
    Models,
}

impl RouteEndpoint {
    /// The field holding the prompt, and the endpoint's own fields.
    fn own(self) -> (&'static str, &'static [&'static str]) {
        match self {
            RouteEndpoint::Auto => ("prompt", &["prompt", "input", "task", "stream"]),
            RouteEndpoint::Models => ("query", &["query", "prompt", "input", "maxCost", "filter", "stream"]),
        }
    }
}

/// A route body, merged.
pub struct Ask {
    /// The OpenAI chat body to parse (messages included).
    pub chat: Object,
    /// Top-level fields of `chat` that came from `input` (their errors say `input.<field>`).
    pub from_input: Vec<String>,
    /// Images API fields and a string `response_format` (used when the request turns out to be an
    /// image task).
    pub image: Object,
    /// The prompt: the prompt field, else the last user message's text.
    pub prompt: String,
}

/// The text of a chat message's `content` (a string, or the text parts).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Merge a route body: `input`'s fields, then the top level's (which win), then the prompt appended as
/// the last user turn unless the conversation already ends with it.
pub fn ask(o: &Object, ep: RouteEndpoint) -> Result<Ask, GatewayError> {
    let (prompt_key, own) = ep.own();
    for k in o.keys() {
        if !own.contains(&k.as_str()) && !TOP_LEVEL_CHAT.contains(&k.as_str()) && !IMAGE_FIELDS.contains(&k.as_str()) {
            return Err(GatewayError::InvalidRequest {
                code: "unknown_field",
                message: format!(
                    "unknown field {k:?}; chat request fields go in `input` (known top-level fields: {}, {})",
                    own.join(", "),
                    TOP_LEVEL_CHAT.join(", ")
                ),
                param: Some(k.clone()),
            });
        }
    }
    refuse_stream(o, "stream")?;
    if ep == RouteEndpoint::Models && o.contains_key("model") {
        return Err(GatewayError::invalid(
            "model",
            "/v1/models/route chooses the model from its filters; pin a model with /v1/auto/route",
        ));
    }
    let input = match o.get("input") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(i)) => i.clone(),
        Some(_) => return Err(invalid_type("input", "an object (OpenAI chat request fields)")),
    };
    refuse_stream(&input, "input.stream")?;
    if ep == RouteEndpoint::Models && input.contains_key("model") {
        return Err(GatewayError::invalid(
            "input.model",
            "/v1/models/route chooses the model from its filters; pin a model with /v1/auto/route",
        ));
    }
    let prompt_field = match ep {
        RouteEndpoint::Models => match opt_str(o, "query", "query")? {
            Some(q) => Some(q),
            None => opt_str(o, "prompt", "prompt")?,
        },
        RouteEndpoint::Auto => opt_str(o, "prompt", "prompt")?,
    };
    let mut chat = Map::new();
    let mut image = Map::new();
    let mut from_input = Vec::new();
    for (k, v) in &input {
        if k == "stream" {
            continue;
        }
        from_input.push(k.clone());
        chat.insert(k.clone(), v.clone());
    }
    for (k, v) in o {
        if TOP_LEVEL_CHAT.contains(&k.as_str()) || IMAGE_FIELDS.contains(&k.as_str()) {
            from_input.retain(|f| f != k);
            chat.insert(k.clone(), v.clone());
        }
    }
    // What only an image model understands stays out of the chat body.
    for k in IMAGE_FIELDS {
        if let Some(v) = chat.remove(*k) {
            image.insert((*k).to_string(), v);
        }
    }
    if let Some(Value::String(f)) = chat.get("response_format") {
        image.insert("response_format".into(), Value::String(f.clone()));
        chat.remove("response_format");
    }
    if let Some(n) = chat.get("n") {
        image.insert("n".into(), n.clone());
    }
    let mut messages = match chat.remove("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(invalid_type("input.messages", "an array of messages")),
    };
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| content_text(m.get("content").unwrap_or(&Value::Null)));
    if prompt_field.is_some_and(|p| p.trim().is_empty()) {
        return Err(GatewayError::invalid(
            prompt_key,
            format!("{prompt_key} must not be empty"),
        ));
    }
    let prompt = match (prompt_field, last_user) {
        (Some(p), last) => {
            let ends_with_it = messages
                .last()
                .is_some_and(|m| m.get("role").and_then(Value::as_str) == Some("user") && last.as_deref() == Some(p));
            if !ends_with_it {
                messages.push(serde_json::json!({"role": "user", "content": p}));
            }
            p.to_string()
        }
        (None, Some(last)) => last,
        (None, None) => {
            return Err(missing(
                prompt_key,
                &format!("send the prompt as {prompt_key}, or the conversation as input.messages"),
            ))
        }
    };
    chat.insert("messages".into(), Value::Array(messages));
    if !chat.contains_key("model") {
        chat.insert("model".into(), Value::String("auto".into()));
    }
    Ok(Ask {
        chat,
        from_input,
        image,
        prompt,
    })
}

/// `param` as the caller wrote it: a field that came from `input` is `input.<field>`.
fn remap_param(param: &mut Option<String>, from_input: &[String]) {
    if let Some(p) = param {
        let head = p.split(['.', '[']).next().unwrap_or("");
        if from_input.iter().any(|f| f == head) {
            *p = format!("input.{p}");
        }
    }
}

/// An error about the merged chat body, with its `param` as the caller wrote it.
pub fn remap(e: GatewayError, from_input: &[String]) -> GatewayError {
    match e {
        GatewayError::InvalidRequest {
            code,
            message,
            mut param,
        } => {
            remap_param(&mut param, from_input);
            GatewayError::InvalidRequest { code, message, param }
        }
        GatewayError::Rejected(mut r) => {
            remap_param(&mut r.param, from_input);
            GatewayError::Rejected(r)
        }
        e => e,
    }
}

/// Parse the merged chat body as an OpenAI chat request; the body is returned for pass-through.
pub fn parse_chat(ask: &Ask) -> Result<(ParsedRequest, bytes::Bytes), GatewayError> {
    let bytes = serde_json::to_vec(&ask.chat).map_err(|e| GatewayError::Internal(e.to_string()))?;
    let parsed = crate::api::openai_chat::parse(&bytes).map_err(|e| remap(e, &ask.from_input))?;
    Ok((parsed, bytes.into()))
}

/// `fallback`: a model or a list of models.
pub fn fallback(o: &Object) -> Result<Vec<String>, GatewayError> {
    match o.get("fallback") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid_type("fallback", "a model name or a list of model names")),
        Some(_) => Err(invalid_type("fallback", "a model name or a list of model names")),
    }
}

#[cfg(test)]
mod tests;
