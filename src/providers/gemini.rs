//! Google Gemini (`generativelanguage.googleapis.com/v1beta`), provider side: canonical request →
//! `POST {base}/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`), and answers,
//! whole or as SSE chunks of the same `GenerateContentResponse` shape, back to canonical.
//! Wire types live in `gemini_wire.rs`; the judgement calls are documented where they are made.

use std::borrow::Cow;

use bytes::Bytes;
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent,
    ToolCall, ToolChoice, Usage,
};

use super::{joined_text, ProviderAdapter, Rendered, StreamDecoder};
use crate::config::Model;
use crate::wire::sse::SseEvent;

#[path = "gemini_wire.rs"]
mod wire;

pub struct Gemini;

/// Gemini 3 refuses (400) a model turn whose first `functionCall` has no thought signature. For
/// history Gemini did not sign (another model's turns, a client that dropped the signature), the
/// thought-signatures FAQ names this placeholder; it is accepted by the Gemini API and Vertex alike.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// `generationConfig.stopSequences` takes at most five.
const MAX_STOP_SEQUENCES: usize = 5;

/// The model name as it goes in the path (a catalog may spell it `models/gemini-…`).
fn upstream_name(model: &Model) -> &str {
    model
        .upstream_model
        .strip_prefix("models/")
        .unwrap_or(&model.upstream_model)
}

/// Whether Gemini can read an image given by URL, and its MIME type. Since January 2026 the API
/// fetches public and signed https URLs passed as `fileData` (docs: file-input-methods, "External
/// HTTP / Signed URLs"), except on the Gemini 2.0 family; it needs the MIME type with the URL.
/// Errors never echo the URL: signed URLs carry credentials.
fn image_url_mime(url: &str, model: &Model) -> Result<&'static str, String> {
    if !url.starts_with("https://") {
        return Err("Gemini only fetches https image URLs; send the image inline (base64)".into());
    }
    if upstream_name(model).starts_with("gemini-2.0") {
        return Err("Gemini 2.0 models cannot fetch image URLs; send the image inline (base64)".into());
    }
    wire::image_mime_from_url(url).ok_or_else(|| {
        "an image URL without a png/jpeg/webp/heic/heif/bmp extension: Gemini needs its type; send it inline".into()
    })
}

/// The function a tool result answers. Gemini matches results by function name, so it is taken
/// from the nearest earlier assistant call with the same id (the client's `name` as a fallback).
fn tool_name<'a>(before: &'a [Message], m: &'a Message) -> Option<&'a str> {
    if let Some(id) = m.tool_call_id.as_deref() {
        for prev in before.iter().rev() {
            if let Some(c) = prev.tool_calls.iter().find(|c| c.id == id) {
                return Some(&c.name);
            }
        }
    }
    m.name.as_deref()
}

/// `reasoning_effort` as a thinking budget. `thinkingBudget` is understood by Gemini 2.5 and 3
/// alike, where `thinkingLevel` would be refused by 2.5; the numbers are the ones Google's own
/// OpenAI-compatible endpoint uses for low/medium/high (1K/8K/24K), `none` turns thinking off.
fn effort_budget(effort: &str) -> Option<i64> {
    Some(match effort {
        "none" => 0,
        "minimal" => 512,
        "low" => 1024,
        "medium" => 8192,
        "high" => 24576,
        "xhigh" => 32768,
        _ => return None,
    })
}

/// What a render could not carry, each named once.
#[derive(Default)]
struct Notes {
    late_system: bool,
    reasoning_text: bool,
    foreign_signature: bool,
    image_detail: bool,
    bad_args: bool,
}

impl Notes {
    fn into_lossy(self, req: &ChatRequest) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |on: bool, s: &str| {
            if on {
                out.push(s.to_string());
            }
        };
        note(
            self.late_system,
            "system messages after the first turn are moved into Gemini's systemInstruction",
        );
        note(
            self.reasoning_text,
            "reasoning text of earlier turns is not sent to Gemini (its thought signatures are)",
        );
        note(
            self.foreign_signature,
            "reasoning signatures made by another model were not sent to Gemini",
        );
        note(
            self.image_detail,
            "image detail has no Gemini equivalent and was not sent",
        );
        note(
            self.bad_args,
            "tool call arguments that were not a JSON object were sent to Gemini as {}",
        );
        note(
            req.parallel_tool_calls == Some(false),
            "parallel_tool_calls: false cannot be enforced by Gemini, which may call several functions at once",
        );
        note(
            req.tools.iter().any(|t| t.strict == Some(true)),
            "strict tools: Gemini does not guarantee arguments match the schema",
        );
        note(req.user.is_some(), "user: no Gemini equivalent, not sent");
        note(
            req.seed.is_some_and(|s| i32::try_from(s).is_err()),
            "seed: outside Gemini's 32-bit range, sent truncated",
        );
        note(
            req.reasoning_effort
                .as_deref()
                .is_some_and(|e| req.reasoning_budget.is_none() && effort_budget(e).is_none()),
            "reasoning_effort: not a level Gemini's thinking budget knows, not sent",
        );
        for f in &req.unknown_fields {
            out.push(format!("{f}: not understood by the gateway, not sent"));
        }
        out
    }
}

fn media<'a>(
    source: &'a ImageSource,
    detail: &Option<String>,
    model: &Model,
    notes: &mut Notes,
) -> Result<wire::Part<'a>, String> {
    notes.image_detail |= detail.as_deref().is_some_and(|d| d != "auto");
    Ok(match source {
        ImageSource::Base64 { media_type, data } => wire::Part {
            inline_data: Some(wire::Blob {
                mime_type: media_type,
                data,
            }),
            ..wire::Part::default()
        },
        ImageSource::Url(url) => wire::Part {
            file_data: Some(wire::FileData {
                mime_type: image_url_mime(url, model)?,
                file_uri: url,
            }),
            ..wire::Part::default()
        },
    })
}

fn other_part(kind: &str) -> String {
    format!("{kind} parts cannot be sent to Gemini")
}

fn user_parts<'a>(m: &'a Message, model: &Model, notes: &mut Notes) -> Result<Vec<wire::Part<'a>>, String> {
    let mut parts = Vec::with_capacity(m.content.len());
    for p in &m.content {
        match p {
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => parts.push(wire::Part::text(t)),
            Part::Image { source, detail } => parts.push(media(source, detail, model, notes)?),
            Part::Reasoning { .. } => notes.reasoning_text = true,
            Part::Other { kind, .. } => return Err(other_part(kind)),
        }
    }
    Ok(parts)
}

/// An assistant message as a `model` turn. Thought signatures go back on the part Gemini put them
/// on: the one following the reasoning, except that the last signature before function calls
/// belongs to the first call (where Gemini 3 requires one; the placeholder stands in when none of
/// ours is at hand). Reasoning text itself is not sent: Gemini resumes its reasoning from the
/// signatures (docs: thought-signatures), and replayed summaries would only become prompt text.
fn model_parts<'a>(m: &'a Message, model: &Model, notes: &mut Notes) -> Result<Vec<wire::Part<'a>>, String> {
    let upstream = upstream_name(model);
    let mut parts = Vec::with_capacity(m.content.len() + m.tool_calls.len());
    let own = |p: &'a Part| match p {
        Part::Reasoning { signature: Some(s), .. } => wire::own_signature(s, upstream),
        _ => None,
    };
    let last_signed = if m.tool_calls.is_empty() {
        None
    } else {
        m.content.iter().rposition(|p| own(p).is_some())
    };
    let (mut pending, mut call_sig) = (None, None);
    for (j, p) in m.content.iter().enumerate() {
        match p {
            Part::Reasoning { text, signature } => {
                notes.reasoning_text |= !text.is_empty();
                match own(p) {
                    Some(s) if Some(j) == last_signed => call_sig = Some(s),
                    Some(s) => pending = Some(s),
                    None => notes.foreign_signature |= signature.is_some(),
                }
            }
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => parts.push(wire::Part {
                thought_signature: pending.take(),
                ..wire::Part::text(t)
            }),
            Part::Image { source, detail } => {
                let mut part = media(source, detail, model, notes)?;
                part.thought_signature = pending.take();
                parts.push(part);
            }
            Part::Other { kind, .. } => return Err(other_part(kind)),
        }
    }
    if let (Some(s), Some(last)) = (pending, parts.last_mut()) {
        last.thought_signature.get_or_insert(s);
    }
    for (k, c) in m.tool_calls.iter().enumerate() {
        // The model's arguments verbatim when they are a JSON object (validated, no `Value` built).
        let args = match crate::wire::json_out::raw_object(&c.arguments) {
            Some(r) => wire::Args::Raw(r),
            None => {
                notes.bad_args |= !c.arguments.trim().is_empty();
                wire::Args::Empty
            }
        };
        parts.push(wire::Part {
            function_call: Some(wire::FunctionCall {
                id: Some(c.id.as_str()).filter(|i| !i.is_empty()),
                name: &c.name,
                args,
            }),
            thought_signature: (k == 0).then(|| call_sig.unwrap_or(SKIP_SIGNATURE)),
            ..wire::Part::default()
        });
    }
    Ok(parts)
}

/// A tool result as a `functionResponse` (in a `user` turn); images the tool returned follow it as
/// parts of the same turn, which every Gemini model reads (multimodal function responses are
/// Gemini 3 only).
fn tool_parts<'a>(
    before: &'a [Message],
    m: &'a Message,
    model: &Model,
    notes: &mut Notes,
) -> Result<Vec<wire::Part<'a>>, String> {
    let name = tool_name(before, m).ok_or_else(unanswered)?;
    let text = joined_text(&m.content);
    let response = if m.is_error {
        wire::ToolOutput {
            output: None,
            error: Some(text),
        }
    } else {
        wire::ToolOutput {
            output: Some(text),
            error: None,
        }
    };
    let mut parts = vec![wire::Part {
        function_response: Some(wire::FunctionResponse {
            id: m.tool_call_id.as_deref().filter(|i| !i.is_empty()),
            name,
            response,
        }),
        ..wire::Part::default()
    }];
    for p in &m.content {
        if let Part::Image { source, detail } = p {
            parts.push(media(source, detail, model, notes)?);
        }
    }
    Ok(parts)
}

fn unanswered() -> String {
    "a tool result answers no earlier tool call, and Gemini needs the function's name".into()
}

fn tool_config(req: &ChatRequest) -> Option<wire::ToolConfig<'_>> {
    if req.tools.is_empty() {
        return None;
    }
    let (mode, allowed) = match req.tool_choice.as_ref()? {
        ToolChoice::Auto => ("AUTO", None),
        ToolChoice::None => ("NONE", None),
        ToolChoice::Required => ("ANY", None),
        ToolChoice::Named(n) => ("ANY", Some([n.as_str()])),
    };
    Some(wire::ToolConfig {
        function_calling_config: wire::FunctionCallingConfig {
            mode,
            allowed_function_names: allowed,
        },
    })
}

fn generation_config(req: &ChatRequest) -> wire::GenerationConfig<'_> {
    let (response_mime_type, response_json_schema) = match &req.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => (Some("application/json"), Some(wire::Schema(schema))),
    };
    let budget = req
        .reasoning_budget
        .map(i64::from)
        .or_else(|| req.reasoning_effort.as_deref().and_then(effort_budget));
    wire::GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        max_output_tokens: req.max_tokens,
        stop_sequences: (!req.stop.is_empty()).then_some(req.stop.as_slice()),
        candidate_count: req.n,
        // Truncation keeps a fixed seed fixed, which is what a seed is for.
        seed: req.seed.map(|s| s as i32),
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        response_mime_type,
        response_json_schema,
        thinking_config: budget.map(|b| wire::ThinkingConfig {
            thinking_budget: b,
            // The client asked for reasoning, so it gets the thought summaries to show.
            include_thoughts: (b != 0).then_some(true),
        }),
    }
}

/// About the size of the rendered body, so it is written into one allocation rather than grown
/// (and copied) a dozen times on the way to tens of kilobytes.
fn body_size_hint(req: &ChatRequest) -> usize {
    let part = |p: &Part| match p {
        Part::Text(t) => t.len() + 16,
        Part::Image {
            source: ImageSource::Base64 { data, .. },
            ..
        } => data.len() + 64,
        Part::Image {
            source: ImageSource::Url(u),
            ..
        } => u.len() + 64,
        Part::Reasoning { signature, .. } => signature.as_ref().map_or(0, String::len),
        Part::Other { .. } => 0,
    };
    let messages: usize = req
        .messages
        .iter()
        .map(|m| {
            let calls: usize = m
                .tool_calls
                .iter()
                .map(|c| 96 + c.id.len() + c.name.len() + c.arguments.len())
                .sum();
            48 + calls + m.content.iter().map(part).sum::<usize>()
        })
        .sum();
    let size = 256 + messages + 512 * req.tools.len();
    // Escapes (newlines, quotes) make JSON a little longer than its text.
    size + size / 8
}

impl ProviderAdapter for Gemini {
    fn check(&self, req: &ChatRequest, model: &Model) -> Result<(), String> {
        if req.logprobs == Some(true) || req.top_logprobs.is_some() {
            return Err("logprobs: the canonical answer has no place for Gemini's log probabilities".into());
        }
        if req.n.is_some_and(|n| n > 1) {
            return Err("n > 1: a translated answer carries one choice".into());
        }
        if req.stop.len() > MAX_STOP_SEQUENCES {
            return Err(format!("Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences"));
        }
        if let Some(t) = req.tools.iter().find(|t| !wire::valid_function_name(&t.name)) {
            return Err(format!("tool name {:?} is not a valid Gemini function name", t.name));
        }
        let mut turns = false;
        for (i, m) in req.messages.iter().enumerate() {
            let system = matches!(m.role, Role::System | Role::Developer);
            turns |= !system;
            for p in &m.content {
                match p {
                    Part::Other { kind, .. } => return Err(format!("messages[{i}]: {}", other_part(kind))),
                    Part::Image { .. } if system => {
                        return Err(format!("messages[{i}]: Gemini's system instruction carries text only"))
                    }
                    Part::Image {
                        source: ImageSource::Url(u),
                        ..
                    } => {
                        image_url_mime(u, model).map_err(|e| format!("messages[{i}]: {e}"))?;
                    }
                    _ => {}
                }
            }
            if m.role == Role::Tool && tool_name(&req.messages[..i], m).is_none() {
                return Err(format!("messages[{i}]: {}", unanswered()));
            }
        }
        if !turns {
            return Err("Gemini needs at least one user or assistant message".into());
        }
        Ok(())
    }

    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, String> {
        let mut notes = Notes::default();
        let mut system = Vec::new();
        let mut contents: Vec<wire::Content> = Vec::with_capacity(req.messages.len());
        for (i, m) in req.messages.iter().enumerate() {
            let (role, parts) = match m.role {
                Role::System | Role::Developer => {
                    notes.late_system |= !contents.is_empty();
                    system.extend(m.content.iter().filter_map(|p| match p {
                        Part::Text(t) if !t.is_empty() => Some(wire::TextPart { text: t }),
                        _ => None,
                    }));
                    continue;
                }
                Role::User => ("user", user_parts(m, model, &mut notes)?),
                Role::Assistant => ("model", model_parts(m, model, &mut notes)?),
                Role::Tool => ("user", tool_parts(&req.messages[..i], m, model, &mut notes)?),
            };
            if parts.is_empty() {
                continue;
            }
            // Gemini wants user and model turns to alternate: same-role neighbours (parallel tool
            // results, a tool result followed by the user's next words) become one turn.
            match contents.last_mut() {
                Some(last) if last.role == role => last.parts.extend(parts),
                _ => contents.push(wire::Content { role, parts }),
            }
        }
        let tools = (!req.tools.is_empty()).then(|| {
            [wire::Tools {
                function_declarations: req
                    .tools
                    .iter()
                    .map(|t| wire::FunctionDeclaration {
                        name: &t.name,
                        description: t.description.as_deref(),
                        parameters_json_schema: (!wire::is_empty_object_schema(t.parameters.get()))
                            .then_some(wire::ToolSchema(t.parameters.get())),
                    })
                    .collect(),
            }]
        });
        let body = wire::Request {
            contents,
            system_instruction: (!system.is_empty()).then_some(wire::SystemInstruction { parts: system }),
            tools,
            tool_config: tool_config(req),
            generation_config: generation_config(req),
        };
        let mut buf = Vec::with_capacity(body_size_hint(req));
        crate::wire::json_out::write(&mut buf, &body)?;
        let method = if req.stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        Ok(Rendered {
            path: format!("/models/{}:{method}", upstream_name(model)),
            headers: Vec::new(),
            body: Bytes::from(buf),
            lossy: notes.into_lossy(req),
        })
    }

    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("x-goog-api-key", key.to_string())]
    }

    /// A prompt Gemini blocks comes back as a 200 without candidates (`promptFeedback.blockReason`);
    /// it becomes an empty answer finished by `ContentFilter` (with the usage Google reports) — a
    /// well-formed answer the client can act on, the way OpenAI reports filtered output — rather
    /// than an error, which on this path would cut the response off after its 200.
    fn parse_response(&self, body: &[u8], model: &Model) -> Result<ChatResponse, String> {
        let r: wire::Response = serde_json::from_slice(body)
            .map_err(|e| format!("response is not a Gemini GenerateContentResponse: {e}"))?;
        if let Some(e) = &r.error {
            return Err(error_text(e));
        }
        let upstream = upstream_name(model);
        let response_id = r.response_id.as_deref().unwrap_or_default();
        let mut parts = Vec::new();
        let mut calls = 0;
        let finish = match r.candidates.into_iter().next() {
            Some(c) => {
                for p in c.content.into_iter().flat_map(|c| c.parts) {
                    push_part(&mut parts, p, upstream, response_id, &mut calls);
                }
                c.finish_reason.map(|f| wire::finish(&f, calls > 0))
            }
            None if blocked(&r.prompt_feedback) => Some(FinishReason::ContentFilter),
            None => return Err("response has no candidates".into()),
        };
        Ok(ChatResponse {
            id: response_id.to_string(),
            created: 0,
            model: r.model_version.map_or_else(|| upstream.to_string(), Cow::into_owned),
            parts,
            finish,
            usage: r.usage_metadata.as_ref().map(wire::usage),
        })
    }

    fn stream_decoder(&self, model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(Decoder {
            model: upstream_name(model).to_string(),
            response_id: String::new(),
            started: false,
            finished: false,
            failed: false,
            calls: 0,
            usage: None,
        })
    }

    /// `google.rpc.RetryInfo` in `error.details`: `"retryDelay": "21s"` (decimal seconds), rounded up.
    fn retry_after(&self, body: &[u8]) -> Option<u64> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let e = if v.is_array() { v.get(0)?.get("error")? } else { v.get("error")? };
        e.get("details")?.as_array()?.iter().find_map(|d| {
            let s = d.get("retryDelay")?.as_str()?.strip_suffix('s')?;
            let secs: f64 = s.parse().ok().filter(|x: &f64| x.is_finite() && *x >= 0.0)?;
            Some(secs.ceil() as u64)
        })
    }

    fn error_message(&self, body: &[u8]) -> String {
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
}

fn error_text(e: &wire::ErrorBody) -> String {
    match (&e.message, &e.status) {
        (Some(m), _) => m.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => "Gemini reported an error".into(),
    }
}

fn blocked(f: &Option<wire::PromptFeedback>) -> bool {
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

/// Gemini SSE chunks → canonical events. Each chunk is a whole `GenerateContentResponse` holding
/// the new parts; function calls arrive whole, so a call is one start and one arguments delta. The
/// stream ends by closing, with no end marker: `done` stays false and a close is a normal end once
/// a finish reason (or a prompt block) was seen.
struct Decoder {
    model: String,
    response_id: String,
    started: bool,
    finished: bool,
    failed: bool,
    calls: usize,
    usage: Option<Usage>,
}

impl Decoder {
    fn fail(&mut self, message: String, out: &mut Vec<StreamEvent>) {
        self.failed = true;
        out.push(StreamEvent::Error { message });
    }
}

impl StreamDecoder for Decoder {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>) {
        if !ev.has_data || self.failed || ev.data.trim().is_empty() {
            return;
        }
        let r: wire::Response = match serde_json::from_str(&ev.data) {
            Ok(r) => r,
            Err(e) => return self.fail(format!("unreadable Gemini stream event: {e}"), out),
        };
        if let Some(e) = &r.error {
            return self.fail(error_text(e), out);
        }
        if !self.started {
            self.started = true;
            self.response_id = r.response_id.as_deref().unwrap_or_default().to_string();
            out.push(StreamEvent::Start {
                id: self.response_id.clone(),
                model: r.model_version.as_deref().unwrap_or(&self.model).to_string(),
            });
        }
        let mut finish = None;
        match r.candidates.into_iter().next() {
            Some(c) => {
                for p in c.content.into_iter().flat_map(|c| c.parts) {
                    self.part(p, out);
                }
                finish = c.finish_reason.map(|f| wire::finish(&f, self.calls > 0));
            }
            None if blocked(&r.prompt_feedback) => finish = Some(FinishReason::ContentFilter),
            None => {}
        }
        if let Some(f) = finish.filter(|_| !self.finished) {
            self.finished = true;
            out.push(StreamEvent::Finish(f));
        }
        if let Some(u) = r.usage_metadata.as_ref().map(wire::usage) {
            if self.usage != Some(u) {
                self.usage = Some(u);
                out.push(StreamEvent::Usage(u));
            }
        }
    }

    fn done(&self) -> bool {
        false
    }

    fn complete_at_eof(&self) -> bool {
        self.finished && !self.failed
    }
}

impl Decoder {
    fn part(&mut self, p: wire::PartIn, out: &mut Vec<StreamEvent>) {
        let sig = p
            .thought_signature
            .as_deref()
            .map(|s| wire::tag_signature(&self.model, s));
        if p.thought {
            if let Some(t) = p.text.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::ReasoningDelta(t.into_owned()));
            }
            out.extend(sig.map(StreamEvent::ReasoningSignature));
            return;
        }
        out.extend(sig.map(StreamEvent::ReasoningSignature));
        if let Some(fc) = p.function_call {
            let index = self.calls;
            self.calls += 1;
            out.push(StreamEvent::ToolCallStart {
                index,
                id: wire::call_id(fc.id.as_deref(), &self.response_id, index),
                name: fc.name.into_owned(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: fc
                    .args
                    .map_or_else(|| "{}".to_string(), |a| wire::compact_json(a.get())),
            });
        } else if let Some(t) = p.text.filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta(t.into_owned()));
        }
    }
}

/// A decoder that yields nothing; placeholder adapters still name it.
pub struct Nothing;

impl StreamDecoder for Nothing {
    fn event(&mut self, _ev: &SseEvent, _out: &mut Vec<StreamEvent>) {}
    fn done(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use serde_json::{json, Value};
    use switchyard_sdk::ir::Tool;

    use super::*;
    use crate::api::Schema as ClientSchema;
    use crate::wire::{Finalizer, Incomplete};
    use crate::config::raw::Quirks;
    use crate::config::{test_model, ProviderKind};
    use crate::translate::Plan;
    use crate::wire::sse::SseParser;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/gemini/", $name))
        };
    }

    fn model() -> Arc<Model> {
        test_model(ProviderKind::Gemini, Quirks::default())
    }

    fn model_named(upstream: &str) -> Model {
        let mut m = Arc::try_unwrap(model()).unwrap();
        m.upstream_model = upstream.into();
        m
    }

    fn openai(body: &str) -> ChatRequest {
        crate::api::openai_chat::parse(body.as_bytes()).unwrap().request
    }

    fn render(req: &ChatRequest, m: &Model) -> (Rendered, Value) {
        Gemini.check(req, m).unwrap();
        let r = Gemini.render(req, m).unwrap();
        let v = serde_json::from_slice(&r.body).unwrap();
        (r, v)
    }


    fn call(id: &str, name: &str, args: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        }
    }

    fn text(t: &str) -> Part {
        Part::Text(t.into())
    }

    #[test]
    fn renders_openai_requests_like_the_fixtures() {
        let cases = [
            (
                fixture!("openai_tools_request.json"),
                fixture!("gemini_tools_request.json"),
                "/models/up-m:streamGenerateContent?alt=sse",
                vec![
                    "parallel_tool_calls: false cannot be enforced by Gemini, which may call several functions at once",
                    "strict tools: Gemini does not guarantee arguments match the schema",
                    "user: no Gemini equivalent, not sent",
                    "service_tier: not understood by the gateway, not sent",
                ],
            ),
            (
                fixture!("openai_vision_request.json"),
                fixture!("gemini_vision_request.json"),
                "/models/up-m:generateContent",
                vec!["image detail has no Gemini equivalent and was not sent"],
            ),
        ];
        for (input, expected, path, lossy) in cases {
            let (r, body) = render(&openai(input), &model());
            let expected: Value = serde_json::from_str(expected).unwrap();
            assert_eq!(body, expected, "{path}");
            assert_eq!(r.path, path);
            assert_eq!(r.lossy, lossy);
            assert!(r.headers.is_empty());
        }
    }

    #[test]
    fn thought_signatures_go_back_where_gemini_put_them() {
        let m = model();
        let own = |s: &str| wire::tag_signature("up-m", s);
        let reasoning = |t: &str, s: Option<String>| Part::Reasoning {
            text: t.into(),
            signature: s,
        };
        let mut with_calls = Message::new(
            Role::Assistant,
            vec![
                reasoning("thinking", Some(own("S1"))),
                text("Checking."),
                reasoning("", Some(own("S2"))),
            ],
        );
        with_calls.tool_calls = vec![call("c1", "f", "{\"a\":1}"), call("c2", "f", "")];
        let plain = Message::new(Role::Assistant, vec![reasoning("more", Some(own("S3"))), text("Done.")]);
        let foreign = Message::new(
            Role::Assistant,
            vec![
                reasoning("", Some(wire::tag_signature("gemini-2.5-pro", "X"))),
                text("Hi"),
            ],
        );
        let mut foreign_call = Message::new(Role::Assistant, vec![reasoning("", Some("ErUBCkgIBRAB".into()))]);
        foreign_call.tool_calls = vec![call("c3", "f", "not json")];
        let mut tool = Message::new(Role::Tool, vec![text("oops")]);
        tool.tool_call_id = Some("c2".into());
        tool.is_error = true;
        let req = ChatRequest {
            messages: vec![
                Message::new(Role::User, vec![text("go")]),
                with_calls,
                tool,
                plain,
                Message::new(Role::User, vec![text("again")]),
                foreign,
                foreign_call,
            ],
            ..Default::default()
        };
        let (r, v) = render(&req, &m);
        let c = &v["contents"];
        assert_eq!(
            c[1]["parts"],
            json!([
                {"text": "Checking.", "thoughtSignature": "S1"},
                {"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "S2"},
                {"functionCall": {"id": "c2", "name": "f", "args": {}}},
            ])
        );
        assert_eq!(
            c[2]["parts"],
            json!([{"functionResponse": {"id": "c2", "name": "f", "response": {"error": "oops"}}}])
        );
        // A plain answer keeps its signature on the part after the reasoning.
        assert_eq!(c[3]["parts"], json!([{"text": "Done.", "thoughtSignature": "S3"}]));
        // Another model's signatures are not sent; a call then gets the documented placeholder.
        assert_eq!(
            c[5]["parts"],
            json!([
                {"text": "Hi"},
                {"functionCall": {"id": "c3", "name": "f", "args": {}}, "thoughtSignature": SKIP_SIGNATURE},
            ])
        );
        assert_eq!(c.as_array().unwrap().len(), 6, "consecutive model turns are merged");
        assert_eq!(
            r.lossy,
            vec![
                "reasoning text of earlier turns is not sent to Gemini (its thought signatures are)",
                "reasoning signatures made by another model were not sent to Gemini",
                "tool call arguments that were not a JSON object were sent to Gemini as {}",
            ]
        );
    }

    #[test]
    fn maps_controls_to_gemini() {
        let base = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}},
                     {"type":"function","function":{"name":"g"}}]"#;
        let cases = [
            (
                r#""tool_choice":"auto""#,
                json!({"functionCallingConfig": {"mode": "AUTO"}}),
            ),
            (
                r#""tool_choice":"none""#,
                json!({"functionCallingConfig": {"mode": "NONE"}}),
            ),
            (
                r#""tool_choice":"required""#,
                json!({"functionCallingConfig": {"mode": "ANY"}}),
            ),
            (
                r#""tool_choice":{"type":"function","function":{"name":"g"}}"#,
                json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["g"]}}),
            ),
            (r#""temperature":1"#, Value::Null),
        ];
        for (extra, expected) in cases {
            let (_, v) = render(&openai(&format!("{base},{extra}}}")), &model());
            assert_eq!(v["toolConfig"], expected, "{extra}");
            assert_eq!(v["tools"][0]["functionDeclarations"][1], json!({"name": "g"}));
        }
        let gen = |extra: &str| {
            let body = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],{extra}}}"#);
            let (r, v) = render(&openai(&body), &model());
            (v["generationConfig"].clone(), r.lossy)
        };
        assert_eq!(
            gen(r#""response_format":{"type":"json_object"},"max_tokens":5"#).0,
            json!({"maxOutputTokens": 5, "responseMimeType": "application/json"})
        );
        assert_eq!(gen(r#""response_format":{"type":"text"}"#).0, Value::Null);
        assert_eq!(
            gen(r#""reasoning_effort":"none""#).0,
            json!({"thinkingConfig": {"thinkingBudget": 0}})
        );
        assert_eq!(
            gen(r#""reasoning_effort":"galaxy-brain""#),
            (
                Value::Null,
                vec!["reasoning_effort: not a level Gemini's thinking budget knows, not sent".to_string()]
            )
        );
        assert_eq!(
            gen(r#""seed":4294967297"#),
            (
                json!({"seed": 1}),
                vec!["seed: outside Gemini's 32-bit range, sent truncated".to_string()]
            )
        );
        let req = ChatRequest {
            reasoning_budget: Some(2048),
            reasoning_effort: Some("high".into()),
            top_k: Some(40),
            messages: vec![Message::new(Role::User, vec![text("hi")])],
            ..Default::default()
        };
        assert_eq!(
            render(&req, &model()).1["generationConfig"],
            json!({"topK": 40, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}})
        );
    }

    #[test]
    fn turns_roles_and_system_placement() {
        let mut late = Message::new(Role::System, vec![text("late rule")]);
        late.role = Role::Developer;
        let mut tool = Message::new(Role::Tool, vec![text("r1")]);
        tool.tool_call_id = None;
        tool.name = Some("legacy_fn".into());
        let req = ChatRequest {
            messages: vec![
                Message::new(Role::System, vec![text("rule 1"), text("")]),
                Message::new(Role::User, vec![text("a"), text("")]),
                Message::new(Role::User, vec![text("b")]),
                Message::new(Role::Assistant, vec![text("")]),
                late,
                Message::new(Role::Assistant, vec![text("c")]),
                tool,
            ],
            ..Default::default()
        };
        let m = model_named("models/gemini-2.5-flash");
        let (r, v) = render(&req, &m);
        assert_eq!(r.path, "/models/gemini-2.5-flash:generateContent");
        assert_eq!(
            v,
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                    {"role": "model", "parts": [{"text": "c"}]},
                    {"role": "user", "parts": [{"functionResponse": {"name": "legacy_fn", "response": {"output": "r1"}}}]},
                ],
                "systemInstruction": {"parts": [{"text": "rule 1"}, {"text": "late rule"}]},
            })
        );
        assert_eq!(
            r.lossy,
            vec!["system messages after the first turn are moved into Gemini's systemInstruction"]
        );
    }

    #[test]
    fn tool_result_images_follow_the_function_response() {
        let mut a = Message::new(Role::Assistant, Vec::new());
        a.tool_calls = vec![call("t1", "screenshot", "{}")];
        let mut t = Message::new(
            Role::Tool,
            vec![
                text("captured"),
                Part::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/jpeg".into(),
                        data: "/9j/4AAQ".into(),
                    },
                    detail: None,
                },
            ],
        );
        t.tool_call_id = Some("t1".into());
        let req = ChatRequest {
            messages: vec![Message::new(Role::User, vec![text("look")]), a, t],
            ..Default::default()
        };
        let (_, v) = render(&req, &model());
        assert_eq!(
            v["contents"][2]["parts"],
            json!([
                {"functionResponse": {"id": "t1", "name": "screenshot", "response": {"output": "captured"}}},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
            ])
        );
    }

    #[test]
    fn refuses_what_gemini_cannot_honour() {
        let m = model();
        let ok = r#"{"role":"user","content":"hi"}"#;
        let img = |url: &str| {
            format!(r#"{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"{url}"}}}}]}}"#)
        };
        let cases: Vec<(String, &str, &str)> = vec![
            (ok.into(), r#""logprobs":true"#, "logprobs"),
            (ok.into(), r#""top_logprobs":2"#, "logprobs"),
            (ok.into(), r#""n":2"#, "one choice"),
            (ok.into(), r#""stop":["a","b","c","d","e","f"]"#, "at most 5 stop sequences"),
            (
                ok.into(),
                r#""tools":[{"type":"function","function":{"name":"9lives"}}]"#,
                "not a valid Gemini function name",
            ),
            (
                r#"{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}"#.into(),
                "",
                "messages[0]: input_audio parts cannot be sent to Gemini",
            ),
            (img("http://example.com/a.png"), "", "only fetches https"),
            (img("https://example.com/anim.gif?token=secret"), "", "needs its type"),
            (
                r#"{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},{"role":"user","content":"hi"}"#.into(),
                "",
                "system instruction carries text only",
            ),
            (
                r#"{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"nope","content":"x"}"#.into(),
                "",
                "messages[1]: a tool result answers no earlier tool call",
            ),
            (r#"{"role":"system","content":"only rules"}"#.into(), "", "at least one user or assistant"),
        ];
        for (messages, extra, want) in cases {
            let sep = if extra.is_empty() { "" } else { "," };
            let req = openai(&format!(r#"{{"model":"m","messages":[{messages}]{sep}{extra}}}"#));
            let e = Gemini.check(&req, &m).unwrap_err();
            assert!(e.contains(want), "{e:?} should mention {want:?}");
            assert!(!e.contains("secret"), "errors never echo image URLs");
        }
        let req = openai(&format!(
            r#"{{"model":"m","messages":[{}]}}"#,
            img("https://x.io/a.png")
        ));
        assert!(Gemini.check(&req, &m).is_ok());
        let e = Gemini.check(&req, &model_named("gemini-2.0-flash")).unwrap_err();
        assert!(e.contains("Gemini 2.0"), "{e}");
        assert!(Gemini
            .check(&openai(&format!(r#"{{"model":"m","messages":[{ok}],"n":1}}"#)), &m)
            .is_ok());
    }

    fn resp(parts: Vec<OutPart>, finish: Option<FinishReason>, id: &str, model: &str, u: [u64; 4]) -> ChatResponse {
        ChatResponse {
            id: id.into(),
            created: 0,
            model: model.into(),
            parts,
            finish,
            usage: Some(Usage {
                input_tokens: u[0],
                cached_input_tokens: u[1],
                cache_write_tokens: 0,
                output_tokens: u[2],
                reasoning_tokens: u[3],
            }),
        }
    }

    fn tool_call(id: &str, name: &str, args: &str) -> OutPart {
        OutPart::ToolCall(call(id, name, args))
    }

    #[test]
    fn parses_whole_answers() {
        let sig = |s: &str| Some(wire::tag_signature("up-m", s));
        let cases = [
            (
                fixture!("text.json"),
                resp(
                    vec![OutPart::Text("AI learns patterns from data to make predictions or decisions.".into())],
                    Some(FinishReason::Stop),
                    "65E2aavdMaiU1e8P246LmAc",
                    "gemini-2.5-flash",
                    [2056, 2048, 527, 515],
                ),
            ),
            (
                fixture!("thinking.json"),
                resp(
                    vec![
                        OutPart::Reasoning {
                            text: "**Calculating the product**\n\nI need 6 times 7. That is 42.\n".into(),
                            signature: sig("CpcBAdHtim9+Nqa0yLVPq1AbwYl3xxyi2EmxV9YEhVA3fRz+ccrW4ZldZrhJjbuDuRNX4dVR5kw2zH1Q+bM5WoiZnfAs6qhHJqeEIu3hY5BeA5R8Q=="),
                        },
                        OutPart::Text("6 × 7 = **42**.".into()),
                    ],
                    Some(FinishReason::Stop),
                    "Vf9faKf1HuvjmtkP8eGc0A4",
                    "gemini-2.5-pro",
                    [9, 0, 112, 103],
                ),
            ),
            (
                fixture!("function_calls.json"),
                resp(
                    vec![
                        OutPart::Reasoning {
                            text: String::new(),
                            signature: sig("CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwplAXLI2nyA/pIFcnZwFm+7WFmLyMd8R4DXwsjqaeAAfCKo5G1xIkbAlJp8VevnIWRZ9SyMmiiqmY6linicJ5dg3rVLHM9wwSQ8FEvAxgO3Ave1rRlh"),
                        },
                        tool_call("call_qpc2afWVFJK4vr0Pq6WiyAU_0", "get_weather", r#"{"location":"Tokyo","unit":"celsius"}"#),
                        tool_call(
                            "call_qpc2afWVFJK4vr0Pq6WiyAU_1",
                            "get_weather",
                            r#"{"location":"Paris, \"Île-de-France\"","unit":"celsius"}"#,
                        ),
                    ],
                    Some(FinishReason::ToolCalls),
                    "qpc2afWVFJK4vr0Pq6WiyAU",
                    "gemini-2.5-flash",
                    [83, 0, 132, 104],
                ),
            ),
            (
                fixture!("function_call_ids.json"),
                resp(
                    vec![
                        OutPart::Text("Let me look that up.".into()),
                        OutPart::Reasoning {
                            text: String::new(),
                            signature: sig("EqQBCkgBHtim8z7uTqQ1n3xZ0bU2Lq9Jm5v2e3Lr0P1sZ3GQv9mJtq4kR8aXo2w="),
                        },
                        tool_call("8x2kq1vd", "search_docs", r#"{"query":"retry budget","limit":3}"#),
                        tool_call("3nf0s7ab", "get_time", "{}"),
                    ],
                    Some(FinishReason::ToolCalls),
                    "c3RyZWFtLWlkLTk4NzY1",
                    "gemini-3-flash-preview",
                    [412, 0, 186, 145],
                ),
            ),
            (
                fixture!("max_tokens.json"),
                resp(
                    vec![OutPart::Text("Once upon a time, in a valley hidden between two".into())],
                    Some(FinishReason::Length),
                    "Xk1faOLyAu3Vz7IP9pSmwQo",
                    "gemini-2.5-flash-lite",
                    [7, 0, 10, 0],
                ),
            ),
            (
                fixture!("safety.json"),
                resp(
                    vec![],
                    Some(FinishReason::ContentFilter),
                    "L0dfaMz3Bq6Lz7IP4LihwAg",
                    "gemini-2.5-flash",
                    [24, 0, 0, 0],
                ),
            ),
            (
                fixture!("prompt_blocked.json"),
                resp(
                    vec![],
                    Some(FinishReason::ContentFilter),
                    "Bk9faJ3nJMqQz7IP_aSNwA4",
                    "gemini-2.5-flash",
                    [11, 0, 0, 0],
                ),
            ),
            (
                fixture!("malformed_call.json"),
                resp(
                    vec![],
                    Some(FinishReason::Other("MALFORMED_FUNCTION_CALL".into())),
                    "mVBfaNmUGvPtz7IP0qiV4A0",
                    "gemini-2.5-flash",
                    [95, 0, 0, 0],
                ),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(Gemini.parse_response(body.as_bytes(), &model()).unwrap(), expected);
        }
        let m = model();
        assert!(Gemini.parse_response(b"{}", &m).unwrap_err().contains("no candidates"));
        assert!(Gemini.parse_response(b"<html>", &m).is_err());
        assert_eq!(
            Gemini
                .parse_response(fixture!("error_400.json").as_bytes(), &m)
                .unwrap_err(),
            "API key not valid. Please pass a valid API key."
        );
        let bare = Gemini
            .parse_response(br#"{"candidates":[{"content":{"parts":[{"text":"x"}]}}]}"#, &m)
            .unwrap();
        assert_eq!((bare.model.as_str(), bare.finish, bare.usage), ("up-m", None, None));
    }

    #[test]
    fn finish_reasons() {
        use FinishReason as F;
        for (reason, calls, want) in [
            ("STOP", false, F::Stop),
            ("STOP", true, F::ToolCalls),
            ("MAX_TOKENS", true, F::Length),
            ("SAFETY", false, F::ContentFilter),
            ("RECITATION", false, F::ContentFilter),
            ("PROHIBITED_CONTENT", false, F::ContentFilter),
            ("BLOCKLIST", false, F::ContentFilter),
            ("SPII", false, F::ContentFilter),
            ("LANGUAGE", false, F::Other("LANGUAGE".into())),
            ("OTHER", false, F::Other("OTHER".into())),
        ] {
            assert_eq!(wire::finish(reason, calls), want, "{reason}");
        }
    }

    #[test]
    fn retry_delay_from_the_body() {
        assert_eq!(Gemini.retry_after(fixture!("error_429.json").as_bytes()), Some(21));
        assert_eq!(Gemini.retry_after(br#"{"error":{"details":[{"retryDelay":"1.2s"}]}}"#), Some(2));
        assert_eq!(Gemini.retry_after(fixture!("error_400.json").as_bytes()), None);
    }

    #[test]
    fn error_messages() {
        let cases = [
            (fixture!("error_400.json"), "API key not valid. Please pass a valid API key."),
            (
                fixture!("error_429.json"),
                "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
            ),
            (r#"{"error":{"code":503,"status":"UNAVAILABLE"}}"#, "UNAVAILABLE"),
            ("upstream connect error\n", "upstream connect error"),
        ];
        for (body, want) in cases {
            assert_eq!(Gemini.error_message(body.as_bytes()), want);
        }
        assert_eq!(Gemini.auth_headers("k1"), vec![("x-goog-api-key", "k1".to_string())]);
    }

    /// Feed `pieces` through the SSE parser into a fresh decoder.
    fn decode(pieces: &[&[u8]]) -> (Vec<StreamEvent>, Box<dyn StreamDecoder>) {
        let m = model();
        let mut parser = SseParser::new(1 << 20);
        let mut dec = Gemini.stream_decoder(&m);
        let mut out = Vec::new();
        for p in pieces {
            parser.push(p, |ev| dec.event(&ev, &mut out)).unwrap();
        }
        assert!(!parser.has_pending());
        (out, dec)
    }

    fn usage(input: u64, output: u64, reasoning: u64) -> StreamEvent {
        StreamEvent::Usage(Usage {
            input_tokens: input,
            output_tokens: output,
            reasoning_tokens: reasoning,
            ..Default::default()
        })
    }

    fn start(id: &str) -> StreamEvent {
        StreamEvent::Start {
            id: id.into(),
            model: "gemini-2.5-flash".into(),
        }
    }

    #[test]
    fn decodes_streams_split_anywhere() {
        use StreamEvent as E;
        let cases: Vec<(&str, Vec<StreamEvent>, bool)> = vec![
            (
                fixture!("stream_text.sse"),
                vec![
                    start("IZI2acSKMoWl0-kPmYj2yQc"),
                    E::TextDelta("Okay, let's create a Tetris game in Python for the console! We'll use the `curses` library.\n\n**Important Notes:**\n\n1.  **`curses".into()),
                    usage(4, 2091, 2042),
                    E::TextDelta("` is primarily for Unix-like systems (Linux, macOS).** On Windows use `windows-curses` — «pip install windows-curses».".into()),
                    usage(4, 2139, 2042),
                    E::TextDelta("\n2.  Run it: `python tetris.py` 🎮".into()),
                    E::Finish(FinishReason::Stop),
                    usage(4, 2154, 2042),
                ],
                true,
            ),
            (
                fixture!("stream_tools.sse"),
                vec![
                    start("qpc2afWVFJK4vr0Pq6WiyAU"),
                    E::ReasoningDelta("**Planning the lookup**\n\nThe user wants the weather in two cities, so I will call the tool twice.\n".into()),
                    usage(83, 0, 0),
                    E::TextDelta("Let me check both cities.".into()),
                    E::ReasoningSignature(wire::tag_signature("up-m", "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwplAXLI2nyA/pIFcnZwFm+7WFmLyMd8R4DXwsjqaeAAfCKo5G1xIkbAlJp8VevnIWRZ9SyMmiiqmY6linicJ5dg3rVLHM9wwSQ8FEvAxgO3Ave1rRlh")),
                    E::ToolCallStart { index: 0, id: "call_qpc2afWVFJK4vr0Pq6WiyAU_0".into(), name: "get_weather".into() },
                    E::ToolCallDelta { index: 0, arguments: r#"{"location":"Tokyo","unit":"celsius"}"#.into() },
                    E::ToolCallStart { index: 1, id: "call_qpc2afWVFJK4vr0Pq6WiyAU_1".into(), name: "get_weather".into() },
                    E::ToolCallDelta { index: 1, arguments: r#"{"location":"Paris","unit":"celsius"}"#.into() },
                    E::Finish(FinishReason::ToolCalls),
                    usage(83, 132, 104),
                ],
                true,
            ),
            (
                fixture!("stream_error.sse"),
                vec![
                    start("H5RfaPLmNsuQz7IP_5ivyAc"),
                    E::TextDelta("The first three primes are 2, 3".into()),
                    usage(12, 48, 40),
                    E::Error { message: "The model is overloaded. Please try again later.".into() },
                ],
                false,
            ),
            (
                fixture!("stream_blocked.sse"),
                vec![start("Bk9faJ3nJMqQz7IP_aSNwA4"), E::Finish(FinishReason::ContentFilter), usage(17, 0, 0)],
                true,
            ),
        ];
        for (sse, expected, complete) in cases {
            let whole = sse.as_bytes();
            let (got, dec) = decode(&[whole]);
            assert_eq!(got, expected);
            assert_eq!(dec.complete_at_eof(), complete);
            assert!(!dec.done(), "Gemini streams have no end marker");
            for split in 1..whole.len() {
                let (got, _) = decode(&[&whole[..split], &whole[split..]]);
                assert_eq!(got, expected, "split at {split}");
            }
            let bytes: Vec<&[u8]> = whole.chunks(1).collect();
            assert_eq!(decode(&bytes).0, expected);
        }
    }

    #[test]
    fn a_stream_is_complete_only_after_a_finish_reason() {
        let sse = fixture!("stream_tools.sse");
        let events: Vec<&str> = sse.split_inclusive("\n\n").collect();
        assert_eq!(events.len(), 3);
        for n in 0..events.len() {
            let head = events[..n].concat();
            let (_, dec) = decode(&[head.as_bytes()]);
            assert!(!dec.complete_at_eof(), "cut after {n} events");
        }
        let (_, dec) = decode(&[sse.as_bytes()]);
        assert!(dec.complete_at_eof());
        let (out, dec) = decode(&[b"data: {\"candidates\": [\n\n"]);
        assert!(matches!(&out[..], [StreamEvent::Error { .. }]));
        assert!(!dec.complete_at_eof());
    }

    struct Fin;
    impl Finalizer for Fin {
        fn finish(&mut self, _usage: Option<Usage>) -> (Value, Option<switchyard_sdk::Money>) {
            (json!({"routed": true}), None)
        }
    }

    #[test]
    fn streams_through_the_pipeline_to_an_openai_client() {
        let m = model();
        let req = ChatRequest {
            stream: true,
            ..Default::default()
        };
        let plan = Plan::Translate {
            codec: crate::api::codec(ClientSchema::OpenAiChat),
            adapter: &Gemini,
        };
        let run = |sse: &str| {
            let mut t = crate::translate::stream_translator(plan, &req, &m);
            let mut parser = SseParser::new(1 << 20);
            let mut out = Vec::new();
            parser
                .push(sse.as_bytes(), |ev| t.event(&ev, &mut out, &mut Fin))
                .unwrap();
            let end = t.end(&mut out, &mut Fin);
            (String::from_utf8(out).unwrap(), end, t.usage())
        };
        let (out, end, u) = run(fixture!("stream_tools.sse"));
        assert_eq!(end, Ok(()));
        assert!(out.contains(r#""finish_reason":"tool_calls""#), "{out}");
        assert!(out.contains(r#""id":"call_qpc2afWVFJK4vr0Pq6WiyAU_1""#), "{out}");
        assert!(out.ends_with("data: [DONE]\n\n"));
        assert_eq!(u.map(|u| u.output_tokens), Some(132));
        let cut: String = fixture!("stream_tools.sse").split_inclusive("\n\n").take(2).collect();
        assert_eq!(run(&cut).1, Err(Incomplete::Truncated));
        let (_, end, _) = run(fixture!("stream_error.sse"));
        assert_eq!(
            end,
            Err(Incomplete::ProviderError(
                "The model is overloaded. Please try again later.".into()
            ))
        );
    }

    // ---- canonical → Gemini wire → canonical ------------------------------------------------

    /// A test-only reader of Gemini request bodies back into canonical terms: what both sides
    /// support must survive the trip.
    fn parse_gemini_request(v: &Value) -> ChatRequest {
        let mut messages = Vec::new();
        let system: Vec<Part> = v["systemInstruction"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| text(p["text"].as_str().unwrap()))
            .collect();
        if !system.is_empty() {
            messages.push(Message::new(Role::System, system));
        }
        for c in v["contents"].as_array().unwrap() {
            let model_turn = c["role"] == "model";
            if model_turn {
                messages.push(Message::new(Role::Assistant, Vec::new()));
            }
            for p in c["parts"].as_array().unwrap() {
                if let Some(t) = p["text"].as_str() {
                    match messages.last_mut() {
                        Some(m) if m.role == Role::User || model_turn => m.content.push(text(t)),
                        _ => messages.push(Message::new(Role::User, vec![text(t)])),
                    }
                } else if let Some(fc) = p.get("functionCall") {
                    let m = messages.last_mut().unwrap();
                    m.tool_calls.push(call(
                        fc["id"].as_str().unwrap(),
                        fc["name"].as_str().unwrap(),
                        &fc["args"].to_string(),
                    ));
                } else if let Some(fr) = p.get("functionResponse") {
                    let r = &fr["response"];
                    let mut m = Message::new(
                        Role::Tool,
                        vec![text(r["output"].as_str().or(r["error"].as_str()).unwrap())],
                    );
                    m.tool_call_id = fr["id"].as_str().map(str::to_string);
                    m.is_error = r.get("error").is_some();
                    messages.push(m);
                }
            }
        }
        let g = &v["generationConfig"];
        ChatRequest {
            messages,
            temperature: g["temperature"].as_f64(),
            max_tokens: g["maxOutputTokens"].as_u64().map(|n| n as u32),
            stop: g["stopSequences"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
            ..Default::default()
        }
    }

    /// The canonical form both sides agree on: system text first, neighbouring user (and
    /// assistant) messages as one, developer as system.
    fn normalize(msgs: &[Message]) -> Vec<Message> {
        let system: Vec<Part> = msgs
            .iter()
            .filter(|m| matches!(m.role, Role::System | Role::Developer))
            .flat_map(|m| m.content.clone())
            .collect();
        let mut out: Vec<Message> = Vec::new();
        if !system.is_empty() {
            out.push(Message::new(Role::System, system));
        }
        for m in msgs
            .iter()
            .filter(|m| !matches!(m.role, Role::System | Role::Developer))
        {
            match out.last_mut() {
                Some(last) if last.role == m.role && m.role != Role::Tool => {
                    last.content.extend(m.content.iter().cloned());
                    last.tool_calls.extend(m.tool_calls.iter().cloned());
                }
                _ => out.push(m.clone()),
            }
        }
        out
    }

    #[derive(Debug, Clone)]
    struct Round {
        system: Option<(bool, String)>,
        users: Vec<String>,
        reply: Option<String>,
        calls: Vec<(usize, String, bool, String)>,
    }

    fn some_text() -> impl Strategy<Value = String> {
        "[ -~éü😀\n]{1,24}"
    }

    fn some_args() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            any::<i32>().prop_map(Value::from),
            some_text().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ];
        prop::collection::btree_map("[a-z_]{1,8}", value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()).to_string())
    }

    fn round() -> impl Strategy<Value = Round> {
        (
            prop::option::of((any::<bool>(), some_text())),
            prop::collection::vec(some_text(), 1..3),
            prop::option::of(some_text()),
            prop::collection::vec((0..3usize, some_args(), any::<bool>(), some_text()), 0..3),
        )
            .prop_map(|(system, users, reply, calls)| Round {
                system,
                users,
                reply,
                calls,
            })
    }

    const TOOLS: [&str; 3] = ["get_weather", "search", "lookup.v2"];

    fn conversation(rounds: &[Round]) -> Vec<Message> {
        let mut out = Vec::new();
        let mut n = 0;
        for r in rounds {
            if let Some((developer, s)) = &r.system {
                let role = if *developer { Role::Developer } else { Role::System };
                out.push(Message::new(role, vec![text(s)]));
            }
            out.extend(r.users.iter().map(|u| Message::new(Role::User, vec![text(u)])));
            if r.reply.is_none() && r.calls.is_empty() {
                continue;
            }
            let mut a = Message::new(Role::Assistant, r.reply.iter().map(|t| text(t)).collect());
            let mut results = Vec::new();
            for (tool, args, is_error, result) in &r.calls {
                n += 1;
                let id = format!("call_{n}");
                a.tool_calls.push(call(&id, TOOLS[*tool], args));
                let mut t = Message::new(Role::Tool, vec![text(result)]);
                t.tool_call_id = Some(id);
                t.is_error = *is_error;
                results.push(t);
            }
            out.push(a);
            out.extend(results);
        }
        out
    }

    proptest! {
        #[test]
        fn canonical_survives_the_gemini_wire(
            rounds in prop::collection::vec(round(), 1..5),
            stop in prop::collection::vec("[a-z]{1,5}", 0..=5),
            temperature in prop::option::of((0u32..=200).prop_map(|t| f64::from(t) / 100.0)),
            max_tokens in prop::option::of(1u32..100_000),
        ) {
            let req = ChatRequest {
                messages: conversation(&rounds),
                tools: TOOLS
                    .iter()
                    .map(|n| Tool {
                        name: n.to_string(),
                        description: None,
                        parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}).into(),
                        strict: None,
                    })
                    .collect(),
                stop,
                temperature,
                max_tokens,
                ..Default::default()
            };
            let m = model();
            prop_assert!(Gemini.check(&req, &m).is_ok());
            let r = Gemini.render(&req, &m).unwrap();
            let back = parse_gemini_request(&serde_json::from_slice(&r.body).unwrap());
            prop_assert_eq!(back.messages, normalize(&req.messages));
            prop_assert_eq!(back.stop, req.stop);
            prop_assert_eq!(back.temperature, req.temperature);
            prop_assert_eq!(back.max_tokens, req.max_tokens);
        }
    }
}
