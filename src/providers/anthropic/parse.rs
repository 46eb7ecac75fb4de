//! A whole Anthropic answer (a `message` object) → canonical, and the message of an error body.

use serde::Deserialize;
use switchyard_sdk::ir::{ChatResponse, OutPart, ToolCall};

use super::wire::{finish_reason, WireUsage};
use crate::providers::ProviderError::{self, InvalidResponse};
use crate::wire::anthropic::{compact_json, Block};

/// A whole Anthropic `message` → canonical answer.
pub(super) fn parse_response(body: &[u8]) -> Result<ChatResponse, ProviderError> {
    #[derive(Deserialize)]
    struct MessageIn {
        #[serde(default)]
        id: String,
        model: Option<String>,
        content: Vec<Block>,
        stop_reason: Option<String>,
        usage: Option<WireUsage>,
    }
    let m: MessageIn = serde_json::from_slice(body)
        .map_err(|e| InvalidResponse(format!("response is not an Anthropic message: {e}")))?;
    let mut parts = Vec::with_capacity(m.content.len());
    for b in m.content {
        match b {
            Block::Text(t) => parts.push(OutPart::Text(t.text)),
            Block::Thinking(t) => parts.push(OutPart::Reasoning {
                text: t.thinking,
                signature: t.signature,
            }),
            Block::ToolUse(u) => parts.push(OutPart::ToolCall(ToolCall {
                arguments: compact_json(u.input.get()),
                id: u.id,
                name: u.name,
            })),
            // Redacted thinking and server tools' blocks have no canonical form.
            _ => {}
        }
    }
    Ok(ChatResponse {
        id: m.id,
        created: 0,
        model: m.model.unwrap_or_default(),
        parts,
        finish: m.stop_reason.as_deref().map(finish_reason),
        usage: m.usage.map(|u| u.canonical()),
        more_choices: Vec::new(),
        logprobs: None,
    })
}

/// The message of an Anthropic error body (`{"type":"error","error":{"type","message"}}`), else
/// the body's text.
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        message: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body {
            error: Inner { kind: Some(k), message },
        }) if !k.is_empty() => format!("{k}: {message}"),
        Ok(b) => b.error.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string(),
    }
}
