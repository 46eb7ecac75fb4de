//! A canonical answer (from a provider of another schema: Anthropic, Gemini) → an OpenAI
//! `chat.completion` object, and the pieces of it the chunk encoder writes too.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, Usage};
use switchyard_sdk::Money;

use crate::wire::{finish, Finalizer};

/// A canonical finish reason as OpenAI's `finish_reason` (its enum only: another provider's word is
/// named in `router.lossy`).
pub(super) fn finish_str(f: Option<&FinishReason>, fin: &mut dyn Finalizer) -> &'static str {
    let (sent, note) = finish::chat(f);
    if let Some(n) = note {
        fin.note(n);
    }
    sent
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
    if u.reasoning_unknown {
        // Unknown is not zero: the provider did not say (OpenAI's type makes the field optional).
        v["completion_tokens_details"] = json!({});
    }
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
    let refusal: String = resp
        .parts
        .iter()
        .filter_map(|p| if let OutPart::Refusal(t) = p { Some(t.as_str()) } else { None })
        .collect();
    if refusal.is_empty() {
        msg.insert("refusal".into(), Value::Null);
    } else {
        if text.is_empty() {
            msg.insert("content".into(), Value::Null);
        }
        msg.insert("refusal".into(), json!(refusal));
    }
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    let finish_reason = finish_str(resp.finish.as_ref(), fin);
    let (router, cost) = fin.finish(resp.usage);
    let mut out = json!({
        "id": chat_id(&resp.id),
        "object": "chat.completion",
        "created": if resp.created > 0 { resp.created } else { now_secs() },
        "model": model_id,
        "choices": [{"index": 0, "message": msg, "logprobs": null,
                     "finish_reason": finish_reason}],
        "router": router,
    });
    if let Some(u) = &resp.usage {
        out["usage"] = usage_json(u, cost);
    }
    out.to_string().into_bytes()
}
