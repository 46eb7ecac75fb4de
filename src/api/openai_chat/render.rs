//! A canonical answer (from a provider of another schema: Anthropic, Gemini) → an OpenAI
//! `chat.completion` object, and the pieces of it the chunk encoder writes too.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, Usage};
use switchyard_sdk::Money;

use crate::wire::Finalizer;

/// A canonical finish reason as OpenAI's `finish_reason`.
pub(super) fn finish_str(f: &FinishReason) -> &str {
    match f {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(s) => s,
    }
}

/// Canonical usage in OpenAI's shape, with the exact cost.
pub(super) fn usage_json(u: &Usage, cost: Option<Money>) -> Value {
    let mut v = json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    });
    if let Some(c) = cost {
        v["cost"] = json!(c.as_dollars_f64());
    }
    v
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(super) fn chat_id(upstream: &str) -> String {
    if upstream.starts_with("chatcmpl-") {
        upstream.to_string()
    } else {
        format!("chatcmpl-{upstream}")
    }
}

/// A complete answer as a `chat.completion` object; `model_id` is the catalog id that answered.
pub(super) fn render_response(resp: &ChatResponse, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    let text = resp.text();
    let calls: Vec<Value> = resp
        .tool_calls()
        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
        .collect();
    msg.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    let reasoning: String = resp
        .parts
        .iter()
        .filter_map(|p| {
            if let OutPart::Reasoning { text, .. } = p {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect();
    if !reasoning.is_empty() {
        // Not in OpenAI's schema; the field several OpenAI-compatible providers use for it.
        msg.insert("reasoning_content".into(), json!(reasoning));
    }
    msg.insert("refusal".into(), Value::Null);
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    let (router, cost) = fin.finish(resp.usage);
    let mut out = json!({
        "id": chat_id(&resp.id),
        "object": "chat.completion",
        "created": if resp.created > 0 { resp.created } else { now_secs() },
        "model": model_id,
        "choices": [{"index": 0, "message": msg, "logprobs": null,
                     "finish_reason": resp.finish.as_ref().map(finish_str).unwrap_or("stop")}],
        "router": router,
    });
    if let Some(u) = &resp.usage {
        out["usage"] = usage_json(u, cost);
    }
    out.to_string().into_bytes()
}
