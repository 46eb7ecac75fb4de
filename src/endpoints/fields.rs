//! Reading what a local endpoint is sent: JSON bodies and their fields, query strings and percent-
//! escaped path parts. Every refusal is a 400 in the public shape naming its field.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Role};
use switchyard_sdk::{Reject, RejectKind};

use super::Call;
use crate::config::Model;
use crate::error::GatewayError;

pub fn query_param<'a>(q: Option<&'a str>, name: &str) -> Option<&'a str> {
    q?.split('&')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// `%XX` escapes decoded (invalid ones kept as they are); `+` is left alone (paths, not forms).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The catalog's models this caller may see, in catalog order.
pub fn visible_models<'a>(call: &'a Call) -> impl Iterator<Item = &'a std::sync::Arc<Model>> + 'a {
    call.snap
        .catalog
        .models
        .iter()
        .filter(move |m| super::models::visible(m, call.identity))
}

// ---- request bodies ----

/// The body as a JSON object (400 `invalid_json` otherwise).
pub fn body_object(call: &Call) -> Result<Map<String, Value>, GatewayError> {
    match parse_json(call.body)? {
        Value::Object(o) => Ok(o),
        _ => Err(GatewayError::InvalidRequest {
            code: "invalid_json",
            message: "the request body must be a JSON object".into(),
            param: None,
        }),
    }
}

pub fn parse_json(body: &[u8]) -> Result<Value, GatewayError> {
    let bad = |message: String| GatewayError::InvalidRequest {
        code: "invalid_json",
        message,
        param: None,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("the request body is empty; send a JSON object".into()));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("malformed JSON: {e}")))
}

pub fn invalid_type(param: &str, expected: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "invalid_type",
        message: format!("{param} must be {expected}"),
        param: Some(param.to_string()),
    }
}

/// A field that is absent or null is `None`.
pub fn field<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    o.get(k).filter(|v| !v.is_null())
}

pub fn opt_str<'a>(o: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, GatewayError> {
    match field(o, k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid_type(k, "a string")),
    }
}

pub fn opt_bool(o: &Map<String, Value>, k: &str) -> Result<Option<bool>, GatewayError> {
    match field(o, k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid_type(k, "true or false")),
    }
}

pub fn opt_f64(o: &Map<String, Value>, k: &str) -> Result<Option<f64>, GatewayError> {
    match field(o, k) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| invalid_type(k, "a number")),
    }
}

/// An integer field within `min..=max`, or `default` when absent.
pub fn int_in(o: &Map<String, Value>, k: &str, min: u64, max: u64, default: u64) -> Result<u64, GatewayError> {
    match field(o, k) {
        None => Ok(default),
        Some(v) => {
            let n = v.as_u64().or_else(|| {
                // 5.0 is an integer too; -1 and 2.5 are not.
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 9.0e15)
                    .map(|f| f as u64)
            });
            match n {
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ if v.is_number() => Err(GatewayError::invalid(
                    k,
                    format!("{k} must be an integer from {min} to {max}"),
                )),
                _ => Err(invalid_type(k, &format!("an integer from {min} to {max}"))),
            }
        }
    }
}

/// A list of strings given as an array or as one comma-separated string.
pub fn str_list(o: &Map<String, Value>, k: &str) -> Result<Vec<String>, GatewayError> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    match field(o, k) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(s)),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| invalid_type(k, "an array of strings")),
        Some(_) => Err(invalid_type(k, "an array of strings")),
    }
}

/// The `task` field as a known task.
pub fn opt_task(o: &Map<String, Value>, k: &str) -> Result<Option<crate::router::classify::Task>, GatewayError> {
    use crate::router::classify::Task;
    match opt_str(o, k)? {
        None => Ok(None),
        Some(t) => Task::parse(t.trim()).map(Some).ok_or_else(|| {
            GatewayError::invalid(
                k,
                format!(
                    "unknown task {t:?}; known: {}",
                    Task::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        }),
    }
}

/// The request a `prompt` or `messages` field describes (`None` when the body has neither), with
/// `max_tokens` when given. `messages` are read as OpenAI chat messages, so their errors name the
/// offending field the way `/v1/chat/completions` does.
pub fn prompt_request(o: &Map<String, Value>) -> Result<Option<ChatRequest>, GatewayError> {
    let max_tokens = match field(o, "max_tokens") {
        None => None,
        Some(_) => Some(int_in(o, "max_tokens", 1, u64::from(u32::MAX), 0)? as u32),
    };
    let prompt = opt_str(o, "prompt")?;
    let messages = field(o, "messages");
    let mut req = match (prompt, messages) {
        (Some(_), Some(_)) => {
            return Err(GatewayError::invalid(
                "prompt",
                "send either prompt or messages, not both",
            ))
        }
        (Some(p), None) => {
            if p.trim().is_empty() {
                return Err(GatewayError::invalid("prompt", "prompt must not be empty"));
            }
            ChatRequest {
                messages: vec![Message::text(Role::User, p)],
                ..Default::default()
            }
        }
        (None, Some(m)) => {
            if !m.is_array() {
                return Err(invalid_type("messages", "an array of chat messages"));
            }
            let body = json!({"model": "auto", "messages": m}).to_string();
            let parsed = crate::api::openai_chat::parse(body.as_bytes())?;
            if parsed.request.messages.is_empty() {
                return Err(GatewayError::invalid("messages", "messages must not be empty"));
            }
            parsed.request
        }
        (None, None) => return Ok(None),
    };
    req.model = "auto".into();
    req.max_tokens = max_tokens;
    Ok(Some(req))
}

/// 404 in the public shape for something other than a model (`param` names what was not found).
pub fn not_found(code: &'static str, param: &str, message: String) -> GatewayError {
    GatewayError::Rejected(Reject::new(RejectKind::NotFound, code, message).with_param(param))
}

/// Dollars rounded to a pico-dollar-free f64 (the value is already exact to 1e-12).
pub fn dollars(m: switchyard_sdk::Money) -> f64 {
    m.as_dollars_f64()
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
