//! A canonical answer (from a provider of another schema: Anthropic, Gemini) → an OpenAI
//! `chat.completion` object, and the pieces of it the chunk encoder writes too.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, TokenLogprob, Usage};
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

/// Token log probabilities as a choice's `logprobs` (`content`: token, logprob, bytes,
/// top_logprobs).
pub(super) fn logprobs_json(tokens: &[TokenLogprob]) -> Value {
    let entry = |token: &str, logprob: f64| json!({"token": token, "logprob": logprob, "bytes": token.as_bytes()});
    let content: Vec<Value> = tokens
        .iter()
        .map(|t| {
            let mut e = entry(&t.token, t.logprob);
            e["top_logprobs"] = t.top.iter().map(|(tok, lp)| entry(tok, *lp)).collect();
            e
        })
        .collect();
    json!({"content": content, "refusal": null})
}

/// One choice's `message`: text, tool calls, reasoning (as `reasoning_content`) and refusal.
fn message(parts: &[OutPart]) -> Map<String, Value> {
    let collect = |want: fn(&OutPart) -> Option<&str>| -> String { parts.iter().filter_map(want).collect() };
    let text = collect(|p| if let OutPart::Text(t) = p { Some(t) } else { None });
    let reasoning = collect(|p| {
        if let OutPart::Reasoning { text, .. } = p {
            Some(text)
        } else {
            None
        }
    });
    let refusal = collect(|p| if let OutPart::Refusal(t) = p { Some(t) } else { None });
    let calls: Vec<Value> = parts
        .iter()
        .filter_map(|p| if let OutPart::ToolCall(c) = p { Some(c) } else { None })
        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
        .collect();
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    let no_text = text.is_empty() && (!calls.is_empty() || !refusal.is_empty());
    msg.insert("content".into(), if no_text { Value::Null } else { json!(text) });
    if !reasoning.is_empty() {
        // Not in OpenAI's schema; the field several OpenAI-compatible providers use for it.
        msg.insert("reasoning_content".into(), json!(reasoning));
    }
    msg.insert(
        "refusal".into(),
        if refusal.is_empty() {
            Value::Null
        } else {
            json!(refusal)
        },
    );
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    msg
}

/// A complete answer as a `chat.completion` object; `model_id` is the catalog id that answered.
/// Several answers (`n`) are its choices, in order.
pub(super) fn render_response(resp: &ChatResponse, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
    let first = std::iter::once((resp.parts.as_slice(), resp.finish.as_ref(), resp.logprobs.as_deref()));
    let more = resp
        .more_choices
        .iter()
        .map(|c| (c.parts.as_slice(), c.finish.as_ref(), c.logprobs.as_deref()));
    let choices: Vec<Value> = first
        .chain(more)
        .enumerate()
        .map(|(index, (parts, finish, logprobs))| {
            json!({"index": index, "message": message(parts), "logprobs": logprobs.map(logprobs_json),
                   "finish_reason": finish_str(finish, fin)})
        })
        .collect();
    let (router, cost) = fin.finish(resp.usage);
    let mut out = json!({
        "id": chat_id(&resp.id),
        "object": "chat.completion",
        "created": if resp.created > 0 { resp.created } else { now_secs() },
        "model": model_id,
        "choices": choices,
        "router": router,
    });
    if let Some(u) = &resp.usage {
        out["usage"] = usage_json(u, cost);
    }
    out.to_string().into_bytes()
}
