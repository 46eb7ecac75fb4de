//! Finish reasons across schemas. Each client schema has a closed set of values (chat's
//! `finish_reason`, Responses' `status` with `incomplete_details.reason`, Messages' `stop_reason`);
//! a provider's reason outside the client's set is sent as the nearest value, and the original is
//! named in `router.lossy` (the note each function returns), never passed on verbatim.

use switchyard_sdk::ir::FinishReason;

/// What a provider's finish reason means, whatever its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Stop,
    Length,
    ToolCalls,
    /// A safety or content filter stopped the answer.
    Filter,
    /// The provider paused a long turn to be continued (Anthropic `pause_turn`).
    Pause,
    /// The answer ended on a failure of the model's (Gemini `MALFORMED_FUNCTION_CALL`, `OTHER`, an
    /// unsupported `LANGUAGE`, an unknown reason): not a usable end of turn.
    Error,
}

/// The class of a canonical finish reason. `Other` holds the provider's word verbatim; adapters
/// already map the common ones, so this sorts the rest of every provider's enum (OpenAI chat,
/// Anthropic `stop_reason`, Gemini `FinishReason`).
pub fn class(f: &FinishReason) -> Class {
    match f {
        FinishReason::Stop => Class::Stop,
        FinishReason::Length => Class::Length,
        FinishReason::ToolCalls => Class::ToolCalls,
        FinishReason::ContentFilter => Class::Filter,
        FinishReason::Other(s) => match s.as_str() {
            "stop" | "end_turn" | "stop_sequence" | "STOP" => Class::Stop,
            "length" | "max_tokens" | "model_context_window_exceeded" | "MAX_TOKENS" => Class::Length,
            "tool_calls" | "function_call" | "tool_use" => Class::ToolCalls,
            "content_filter"
            | "refusal"
            | "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION" => Class::Filter,
            "pause_turn" => Class::Pause,
            _ => Class::Error,
        },
    }
}

/// The provider's own word for a reason outside the canonical four, if any.
fn original(f: &FinishReason) -> Option<&str> {
    match f {
        FinishReason::Other(s) => Some(s),
        _ => None,
    }
}

fn note(f: &FinishReason, sent: &str) -> Option<String> {
    original(f).map(|o| format!("finish reason {o:?} has no equivalent in the client's schema; sent as {sent:?}"))
}

/// OpenAI chat `finish_reason` (stop, length, tool_calls, content_filter) and the note naming the
/// original when it had to change.
pub fn chat(f: Option<&FinishReason>) -> (&'static str, Option<String>) {
    let Some(f) = f else {
        return ("stop", None);
    };
    let sent = match class(f) {
        Class::Stop | Class::Pause | Class::Error => "stop",
        Class::Length => "length",
        Class::ToolCalls => "tool_calls",
        Class::Filter => "content_filter",
    };
    (sent, note(f, sent))
}

/// Anthropic `stop_reason` (end_turn, max_tokens, stop_sequence, tool_use, pause_turn, refusal,
/// model_context_window_exceeded). Anthropic's own words pass unchanged.
pub fn messages(f: Option<&FinishReason>) -> (&'static str, Option<String>) {
    const OWN: &[&str] = &[
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
        "model_context_window_exceeded",
    ];
    let Some(f) = f else {
        return ("end_turn", None);
    };
    if let Some(own) = original(f).and_then(|o| OWN.iter().find(|w| **w == o)) {
        return (own, None);
    }
    let sent = match class(f) {
        Class::Stop | Class::Error => "end_turn",
        Class::Length => "max_tokens",
        Class::ToolCalls => "tool_use",
        Class::Filter => "refusal",
        Class::Pause => "pause_turn",
    };
    (sent, note(f, sent))
}

/// A Responses outcome: `status`, `incomplete_details.reason`, and for a failed answer the
/// message of its `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub incomplete: Option<&'static str>,
    pub error: Option<String>,
    pub note: Option<String>,
}

/// Responses `status`: `completed`; `incomplete` with `max_output_tokens` or `content_filter`; a
/// paused turn is `incomplete` without a reason (the enum has none for it); a model failure is
/// `failed` with an `error` (code `server_error`) naming the provider's reason.
pub fn responses(f: Option<&FinishReason>) -> Outcome {
    let done = |status, incomplete| Outcome {
        status,
        incomplete,
        error: None,
        note: None,
    };
    let Some(f) = f else {
        return done("completed", None);
    };
    let mut o = match class(f) {
        Class::Stop | Class::ToolCalls => done("completed", None),
        Class::Length => done("incomplete", Some("max_output_tokens")),
        Class::Filter => done("incomplete", Some("content_filter")),
        Class::Pause => done("incomplete", None),
        Class::Error => Outcome {
            status: "failed",
            incomplete: None,
            error: Some(format!(
                "the model stopped with {:?} before completing its answer",
                original(f).unwrap_or("an unknown reason")
            )),
            note: None,
        },
    };
    if let Some(orig) = original(f) {
        o.note = Some(format!(
            "finish reason {orig:?} has no equivalent in the client's schema; sent as status {:?}",
            o.status
        ));
    }
    o
}

#[cfg(test)]
mod tests;
