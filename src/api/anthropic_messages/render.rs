//! A canonical answer → an Anthropic `message` object, and the pieces of Anthropic's answer shape the
//! stream encoder writes too (content blocks, usage, stop reason, message id).

use serde::Serialize;
use serde_json::Value;
use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, Usage};
use switchyard_sdk::Money;

use crate::wire::anthropic::ToolInput;
use crate::wire::{finish, Finalizer};

/// Canonical usage in Anthropic's shape, plus the exact cost in dollars.
#[derive(Serialize, Debug)]
pub struct UsageOut {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl UsageOut {
    pub fn new(u: &Usage, cost: Option<Money>) -> Self {
        let read = u.cached_input_tokens.min(u.input_tokens);
        let write = u.cache_write_tokens.min(u.input_tokens - read);
        UsageOut {
            input_tokens: u.input_tokens - read - write,
            cache_creation_input_tokens: write,
            cache_read_input_tokens: read,
            output_tokens: u.output_tokens,
            cost: cost.map(Money::as_dollars_f64),
        }
    }
}

/// A canonical finish reason as an Anthropic `stop_reason` (its enum only: another provider's word
/// is sent as the nearest and named in `router.lossy`). An answer the model refused (an OpenAI
/// `refusal`) stops with `refusal`, as Anthropic's own refusals do.
pub fn stop_reason(f: Option<&FinishReason>, refused: bool, fin: &mut dyn Finalizer) -> &'static str {
    if refused {
        return "refusal";
    }
    let (sent, note) = finish::messages(f);
    if let Some(n) = note {
        fin.note(n);
    }
    sent
}

/// A `msg_…` id for an answer whose upstream id may have another shape.
pub fn message_id(upstream: &str) -> String {
    if upstream.starts_with("msg_") {
        upstream.to_string()
    } else if upstream.is_empty() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("msg_{nanos:x}")
    } else {
        format!("msg_{upstream}")
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ContentOut<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: ToolInput<'a>,
    },
}

#[derive(Serialize)]
struct MessageOut<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<ContentOut<'a>>,
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
    router: Value,
}

/// Usage for a client that must always get a `usage` object.
fn usage_out(u: Option<&Usage>, cost: Option<Money>) -> UsageOut {
    UsageOut::new(u.unwrap_or(&Usage::default()), cost)
}

/// A complete answer as a `message` object; `model_id` is the catalog id that answered.
pub(super) fn render_response(resp: &ChatResponse, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
    let content = resp
        .parts
        .iter()
        .filter_map(|p| match p {
            OutPart::Text(t) | OutPart::Refusal(t) if t.is_empty() => None,
            OutPart::Text(text) | OutPart::Refusal(text) => Some(ContentOut::Text { text }),
            OutPart::Reasoning { text, signature } => Some(ContentOut::Thinking {
                thinking: text,
                signature: signature.as_deref().unwrap_or(""),
            }),
            OutPart::ToolCall(c) => Some(ContentOut::ToolUse {
                id: &c.id,
                name: &c.name,
                input: ToolInput::new(&c.arguments),
            }),
        })
        .collect();
    let refused = resp.parts.iter().any(|p| matches!(p, OutPart::Refusal(_)));
    let stop_reason = stop_reason(resp.finish.as_ref(), refused, fin);
    let (router, cost) = fin.finish(resp.usage);
    let msg = MessageOut {
        id: message_id(&resp.id),
        kind: "message",
        role: "assistant",
        model: model_id,
        content,
        stop_reason,
        stop_sequence: None,
        usage: usage_out(resp.usage.as_ref(), cost),
        router,
    };
    crate::wire::json_out::to_vec(&msg).unwrap_or_default()
}
