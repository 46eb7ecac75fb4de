//! Anthropic's extended thinking on the way in: a budget from `reasoning_budget` or
//! `reasoning_effort`, fitted to Anthropic's minimum and to `max_tokens`, and left off (named) where
//! Anthropic would refuse it (no reasoning model, a forced tool choice, a tool loop without a signed
//! thinking block of its own); which signatures are Anthropic's own.

use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, Part, Role, ToolChoice};

use super::render::note;
use crate::config::Model;

/// Anthropic's smallest `thinking.budget_tokens`.
const MIN_THINKING_BUDGET: u32 = 1024;

/// `reasoning_effort` as a thinking budget, consistent with the OpenAI adapter's inverse mapping.
fn budget_for_effort(effort: &str) -> Option<u32> {
    match effort {
        "none" => None,
        "minimal" => Some(MIN_THINKING_BUDGET),
        "low" => Some(2048),
        "high" => Some(24_576),
        "xhigh" | "max" => Some(32_768),
        _ => Some(8192),
    }
}

/// Signatures other providers made (the Gemini adapter tags its own `gemini:`) mean nothing to
/// Anthropic, and an empty one (reasoning of an OpenAI-compatible model, as a Messages client got
/// it back) is none.
pub(crate) fn own_signature(signature: &str) -> bool {
    !signature.is_empty() && !signature.starts_with("gemini:")
}

/// Whether the last assistant turn made tool calls without a signed thinking block of Anthropic's:
/// with thinking on, Anthropic requires that block at the start of the turn it answers in a tool loop,
/// and clients whose schema cannot carry signatures (OpenAI chat) cannot give it back.
fn unsigned_tool_turn(req: &ChatRequest) -> bool {
    req.messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant)
        .is_some_and(|m| {
            !m.tool_calls.is_empty()
                && !m
                    .content
                    .iter()
                    .any(|p| matches!(p, Part::Reasoning { signature: Some(s), .. } if own_signature(s)))
        })
}

pub(super) fn thinking(req: &ChatRequest, model: &Model, max_tokens: u64, lossy: &mut Vec<String>) -> Option<Value> {
    let budget = match (req.reasoning_budget, req.reasoning_effort.as_deref()) {
        (Some(0), _) | (None, None) => return None,
        (Some(b), _) => b,
        (None, Some(e)) => {
            let b = budget_for_effort(e)?;
            note(
                lossy,
                format!("reasoning_effort {e:?} was sent as a thinking budget of {b} tokens"),
            );
            b
        }
    };
    if !model.has("reasoning") {
        note(
            lossy,
            format!(
                "{} has no extended thinking; the reasoning request was not sent",
                model.id
            ),
        );
        return None;
    }
    if unsigned_tool_turn(req) {
        note(
            lossy,
            "the tool loop's last assistant turn carries no signed thinking block, which Anthropic requires while thinking; thinking was not enabled",
        );
        return None;
    }
    if matches!(req.tool_choice, Some(ToolChoice::Required | ToolChoice::Named(_))) && !req.tools.is_empty() {
        note(
            lossy,
            "Anthropic cannot think while a tool choice is forced; thinking was not enabled",
        );
        return None;
    }
    let mut budget = budget;
    if budget < MIN_THINKING_BUDGET {
        note(
            lossy,
            format!("the thinking budget was raised to Anthropic's minimum of {MIN_THINKING_BUDGET}"),
        );
        budget = MIN_THINKING_BUDGET;
    }
    if u64::from(budget) >= max_tokens {
        // Anthropic's max_tokens includes thinking, like OpenAI's max_completion_tokens: a budget
        // just under it would leave a token or two for the answer, so a quarter is kept for it.
        let answer = max_tokens / 4;
        let room = u32::try_from(max_tokens.saturating_sub(answer.max(1))).unwrap_or(u32::MAX);
        if room < MIN_THINKING_BUDGET {
            note(
                lossy,
                format!("max_tokens {max_tokens} leaves no room for Anthropic's minimum thinking budget of {MIN_THINKING_BUDGET} and an answer; thinking was not enabled"),
            );
            return None;
        }
        note(
            lossy,
            format!(
                "the thinking budget was lowered to {room} so that {} tokens are left for the answer within max_tokens",
                max_tokens - u64::from(room)
            ),
        );
        budget = room;
    }
    Some(json!({"type": "enabled", "budget_tokens": budget}))
}
