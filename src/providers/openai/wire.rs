//! OpenAI Chat Completions wire types of the provider side: messages and tools as the request body
//! carries them (borrowing the canonical request, written without an intermediate JSON tree), and the
//! answer's usage and finish reasons in canonical terms.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use switchyard_sdk::ir::{FinishReason, Usage};

use crate::wire::json_out::Verbatim;

/// One message in OpenAI's shape, borrowing the canonical one: written straight to the body,
/// without an intermediate JSON tree (the bulk of a request's bytes are here).
#[derive(Serialize)]
pub struct WireMessage<'a> {
    pub role: &'a str,
    pub content: WireContent<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Value>),
    /// An assistant turn that only calls tools.
    Null,
}

#[derive(Serialize)]
pub struct WireToolCall<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
pub struct WireFunctionCall<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

#[derive(Serialize)]
pub struct WireTool<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunction<'a>,
}

#[derive(Serialize)]
pub struct WireFunction<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: Verbatim<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

pub fn finish_reason(s: &str) -> FinishReason {
    match s {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

/// Usage in OpenAI's shape → canonical usage.
pub fn parse_usage(u: &Value) -> Option<Usage> {
    let o = u.as_object()?;
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        input_tokens: n(o.get("prompt_tokens")),
        cached_input_tokens: n(o.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens"))),
        cache_write_tokens: 0,
        output_tokens: n(o.get("completion_tokens")),
        reasoning_tokens: n(o
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))),
        reasoning_unknown: false,
    })
}
