//! A whole OpenAI Chat Completions answer → canonical, and the message of an OpenAI-shaped error body.

use serde_json::Value;
use switchyard_sdk::ir::{ChatResponse, Choice, OutPart, TokenLogprob, ToolCall};

use super::wire::{finish_reason, parse_usage};
use crate::config::Model;
use crate::providers::ProviderError::{self, InvalidResponse};

/// A whole `chat.completion` → canonical answer (`model`'s quirks name a reasoning field). Every
/// choice is read: the first is the answer, the others (`n`) its `more_choices`.
pub(super) fn parse_response(body: &[u8], model: &Model) -> Result<ChatResponse, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| InvalidResponse(format!("response is not JSON: {e}")))?;
    let mut choices = v
        .get("choices")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| InvalidResponse("response has no choices".into()))?
        .iter()
        .map(|c| choice(c, model));
    let first = choices
        .next()
        .ok_or_else(|| InvalidResponse("response has no choices".into()))??;
    let more_choices = choices.collect::<Result<Vec<_>, _>>()?;
    Ok(ChatResponse {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        created: v["created"].as_u64().unwrap_or(0),
        model: v["model"].as_str().unwrap_or_default().to_string(),
        parts: first.parts,
        finish: first.finish,
        usage: v.get("usage").and_then(parse_usage),
        more_choices,
        logprobs: first.logprobs,
    })
}

/// One choice: its message's parts, finish reason and log probabilities.
fn choice(choice: &Value, model: &Model) -> Result<Choice, ProviderError> {
    let msg = choice
        .get("message")
        .ok_or_else(|| InvalidResponse("choice has no message".into()))?;
    let mut parts = Vec::new();
    if let Some(field) = &model.quirks.reasoning_field {
        if let Some(r) = msg.get(field).and_then(Value::as_str).filter(|r| !r.is_empty()) {
            parts.push(OutPart::Reasoning {
                text: r.to_string(),
                signature: None,
            });
        }
    }
    if let Some(t) = msg.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        parts.push(OutPart::Text(t.to_string()));
    }
    if let Some(r) = msg.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty()) {
        parts.push(OutPart::Refusal(r.to_string()));
    }
    for c in msg.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        parts.push(OutPart::ToolCall(ToolCall {
            id: c["id"].as_str().unwrap_or_default().to_string(),
            name: c["function"]["name"].as_str().unwrap_or_default().to_string(),
            arguments: c["function"]["arguments"].as_str().unwrap_or_default().to_string(),
        }));
    }
    Ok(Choice {
        parts,
        finish: choice.get("finish_reason").and_then(Value::as_str).map(finish_reason),
        logprobs: choice
            .pointer("/logprobs/content")
            .and_then(Value::as_array)
            .map(|c| logprobs(c)),
    })
}

/// A choice's `logprobs.content` in canonical terms.
pub(super) fn logprobs(content: &[Value]) -> Vec<TokenLogprob> {
    let pair = |v: &Value| {
        (
            v["token"].as_str().unwrap_or_default().to_string(),
            v["logprob"].as_f64().unwrap_or_default(),
        )
    };
    content
        .iter()
        .map(|t| {
            let (token, logprob) = pair(t);
            TokenLogprob {
                token,
                logprob,
                top: t["top_logprobs"].as_array().into_iter().flatten().map(pair).collect(),
            }
        })
        .collect()
}

/// The message of an OpenAI-shaped error body (`{"error": {"message": …}}`), else the body's text.
pub fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let msg = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/message"))
                .or_else(|| v.get("error"))
        })
        .and_then(Value::as_str);
    match msg {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string(),
    }
}
