//! A whole Gemini answer (`GenerateContentResponse`) → canonical, and what an error body says: its
//! message, and the retry delay Google puts in it.

use std::borrow::Cow;

use switchyard_sdk::ir::{ChatResponse, Choice, FinishReason, OutPart, ToolCall};

use super::{upstream_name, wire};
use crate::config::Model;
use crate::providers::ProviderError::{self, InvalidResponse};

/// A prompt Gemini blocks comes back as a 200 without candidates (`promptFeedback.blockReason`);
/// it becomes an empty answer finished by `ContentFilter` (with the usage Google reports) — a
/// well-formed answer the client can act on, the way OpenAI reports filtered output — rather
/// than an error, which on this path would cut the response off after its 200.
pub(super) fn parse_response(body: &[u8], model: &Model) -> Result<ChatResponse, ProviderError> {
    let r: wire::Response = serde_json::from_slice(body)
        .map_err(|e| InvalidResponse(format!("response is not a Gemini GenerateContentResponse: {e}")))?;
    if let Some(e) = &r.error {
        return Err(InvalidResponse(error_text(e)));
    }
    let upstream = upstream_name(model);
    let response_id = r.response_id.as_deref().unwrap_or_default();
    // Several candidates when the request asked for them (`candidateCount`, the client's `n`).
    let mut choices = Vec::with_capacity(r.candidates.len());
    for (i, c) in r.candidates.into_iter().enumerate() {
        let (mut parts, mut calls) = (Vec::new(), 0);
        // Call ids are made from the response id: each candidate's of its own.
        let id_base = if i == 0 {
            Cow::Borrowed(response_id)
        } else {
            Cow::Owned(format!("{response_id}_{i}"))
        };
        for p in c.content.into_iter().flat_map(|c| c.parts) {
            push_part(&mut parts, p, upstream, &id_base, &mut calls);
        }
        let finish = c.finish_reason.map(|f| wire::finish(&f, calls > 0));
        let logprobs = c.logprobs_result.map(wire::LogprobsResult::canonical);
        choices.push(Choice {
            parts,
            finish,
            logprobs,
        });
    }
    let mut choices = choices.into_iter();
    let (parts, finish, logprobs) = match choices.next() {
        Some(c) => (c.parts, c.finish, c.logprobs),
        None if blocked(&r.prompt_feedback) => (Vec::new(), Some(FinishReason::ContentFilter), None),
        None => return Err(InvalidResponse("response has no candidates".into())),
    };
    Ok(ChatResponse {
        id: response_id.to_string(),
        created: 0,
        model: r.model_version.map_or_else(|| upstream.to_string(), Cow::into_owned),
        parts,
        finish,
        usage: r.usage_metadata.as_ref().map(wire::usage),
        more_choices: choices.collect(),
        logprobs,
    })
}

/// `google.rpc.RetryInfo` in `error.details`: `"retryDelay": "21s"` (decimal seconds), rounded up.
pub(super) fn retry_after(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = if v.is_array() {
        v.get(0)?.get("error")?
    } else {
        v.get("error")?
    };
    e.get("details")?.as_array()?.iter().find_map(|d| {
        let s = d.get("retryDelay")?.as_str()?.strip_suffix('s')?;
        let secs: f64 = s.parse().ok().filter(|x: &f64| x.is_finite() && *x >= 0.0)?;
        Some(secs.ceil() as u64)
    })
}

/// The message of a Gemini error body.
pub(super) fn error_message(body: &[u8]) -> String {
    // `{"error": {...}}`; the JSON-array stream shape wraps it in a one-element array. (serde
    // would also read a struct from an array, so the shape is decided by the first byte.)
    let array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if array {
        serde_json::from_slice::<Vec<wire::ErrorEnvelope>>(body)
            .ok()
            .and_then(|v| v.first().map(|e| error_text(&e.error)))
    } else {
        serde_json::from_slice::<wire::ErrorEnvelope>(body)
            .ok()
            .map(|e| error_text(&e.error))
    };
    match parsed {
        Some(m) => m,
        None => String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string(),
    }
}

pub(super) fn error_text(e: &wire::ErrorBody) -> String {
    match (&e.message, &e.status) {
        (Some(m), _) => m.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => "Gemini reported an error".into(),
    }
}

pub(super) fn blocked(f: &Option<wire::PromptFeedback>) -> bool {
    f.as_ref().is_some_and(|f| f.block_reason.is_some())
}

/// One response part into canonical parts. Thought text becomes reasoning; a thought signature
/// (which Gemini puts on the part after the thoughts, or on the first function call) closes the
/// reasoning before that part, or stands alone as reasoning without text.
fn push_part(parts: &mut Vec<OutPart>, p: wire::PartIn, model: &str, response_id: &str, calls: &mut usize) {
    let sig = p.thought_signature.as_deref().map(|s| wire::tag_signature(model, s));
    if p.thought {
        let text = p.text.unwrap_or_default();
        match parts.last_mut() {
            Some(OutPart::Reasoning {
                text: t,
                signature: s @ None,
            }) => {
                t.push_str(&text);
                *s = sig;
            }
            _ => parts.push(OutPart::Reasoning {
                text: text.into_owned(),
                signature: sig,
            }),
        }
        return;
    }
    if let Some(sig) = sig {
        match parts.last_mut() {
            Some(OutPart::Reasoning {
                signature: s @ None, ..
            }) => *s = Some(sig),
            _ => parts.push(OutPart::Reasoning {
                text: String::new(),
                signature: Some(sig),
            }),
        }
    }
    if let Some(fc) = p.function_call {
        parts.push(OutPart::ToolCall(ToolCall {
            id: wire::call_id(fc.id.as_deref(), response_id, *calls),
            name: fc.name.into_owned(),
            arguments: fc
                .args
                .map_or_else(|| "{}".to_string(), |a| wire::compact_json(a.get())),
        }));
        *calls += 1;
    } else if let Some(t) = p.text.filter(|t| !t.is_empty()) {
        match parts.last_mut() {
            Some(OutPart::Text(s)) => s.push_str(&t),
            _ => parts.push(OutPart::Text(t.into_owned())),
        }
    }
}
