//! Canonical request → Gemini `GenerateContentRequest` (`POST {base}/models/{model}:generateContent`,
//! or `:streamGenerateContent?alt=sse`). What Gemini cannot carry is named in `Rendered.lossy`; what
//! it cannot do at all makes the model ineligible (`check`). The judgement calls are documented where
//! they are made.

use bytes::Bytes;
use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ImageSource, Message, Part, ResponseFormat, Role, ToolChoice};

use super::{upstream_name, wire};
use crate::config::Model;
use crate::providers::ProviderError::{self, InvalidRequest, Unsupported};
use crate::providers::{joined_text, Rendered};

/// Gemini 3 refuses (400) a model turn whose first `functionCall` has no thought signature. For
/// history Gemini did not sign (another model's turns, a client that dropped the signature), the
/// thought-signatures FAQ names this placeholder; it is accepted by the Gemini API and Vertex alike.
pub(super) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// `generationConfig.stopSequences` takes at most five.
const MAX_STOP_SEQUENCES: usize = 5;

/// Whether Gemini can read an image given by URL, and its MIME type. Since January 2026 the API
/// fetches public and signed https URLs passed as `fileData` (docs: file-input-methods, "External
/// HTTP / Signed URLs"), except on the Gemini 2.0 family; it needs the MIME type with the URL.
/// Errors never echo the URL: signed URLs carry credentials.
fn image_url_mime(url: &str, model: &Model) -> Result<&'static str, ProviderError> {
    if !url.starts_with("https://") {
        return Err(Unsupported(
            "Gemini only fetches https image URLs; send the image inline (base64)".into(),
        ));
    }
    if upstream_name(model).starts_with("gemini-2.0") {
        return Err(Unsupported(
            "Gemini 2.0 models cannot fetch image URLs; send the image inline (base64)".into(),
        ));
    }
    // Gemini's `fileData` needs the MIME type up front; learning it from the URL's response would
    // mean fetching the image in the gateway before every such request, which it does not do.
    wire::image_mime_from_url(url).ok_or_else(|| {
        Unsupported(
            "an image URL without a png/jpeg/webp/heic/heif/bmp extension: Gemini needs the image's type with the URL and the gateway does not fetch images to learn it; give the URL its extension or send the image inline (base64)"
                .into(),
        )
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
    /// How the thinking budget was changed to fit the model's range.
    budget: Option<String>,
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
        if let Some(b) = self.budget {
            out.push(b);
        }
        for f in &req.unknown_fields {
            out.push(format!("{f}: not understood by the gateway, not sent"));
        }
        if req.messages.iter().any(|m| !m.cache_breakpoints.is_empty()) {
            out.push("cache_control breakpoints: Gemini caches prompt prefixes by itself; not sent".into());
        }
        for f in req.chat_extras.keys() {
            out.push(format!("{f}: no Gemini equivalent, not sent"));
        }
        out
    }
}

/// A thinking budget within the model's range (the catalog's `thinking_budget`): a value outside
/// never reaches Gemini, which refuses it; the change is named.
fn fit_budget(b: i64, model: &Model, notes: &mut Notes) -> i64 {
    let Some(r) = model.thinking_budget else {
        return b;
    };
    let (min, max) = (i64::from(r.min), i64::from(r.max));
    let fitted = match b {
        0 if r.can_disable => 0,
        0 => min,
        b if b < min => min,
        b if b > max => max,
        b => b,
    };
    if fitted != b {
        notes.budget = Some(if b == 0 {
            format!(
                "{} cannot turn thinking off; the thinking budget was raised to its minimum of {fitted}",
                model.id
            )
        } else {
            format!(
                "the thinking budget of {b} tokens is outside {}'s range of {min} to {max}; sent as {fitted}",
                model.id
            )
        });
    }
    fitted
}

fn media<'a>(
    source: &'a ImageSource,
    detail: &Option<String>,
    model: &Model,
    notes: &mut Notes,
) -> Result<wire::Part<'a>, ProviderError> {
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

/// A PDF document as Gemini takes it (document understanding: `inlineData` or, for an https URL,
/// `fileData`, both `application/pdf`): an OpenAI `file` part with a `data:` URL, or an Anthropic
/// `document` block with a base64 or URL source.
fn document<'a>(kind: &str, raw: &'a Value) -> Option<wire::Part<'a>> {
    const PDF: &str = "application/pdf";
    let inline = |data: &'a str| wire::Part {
        inline_data: Some(wire::Blob { mime_type: PDF, data }),
        ..wire::Part::default()
    };
    match kind {
        "file" => {
            let url = raw.get("file_data")?.as_str()?;
            let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
            (meta.strip_suffix(";base64")? == PDF).then(|| inline(data))
        }
        "document" => {
            let src = raw.get("source")?;
            match src.get("type")?.as_str()? {
                "base64" if src.get("media_type")?.as_str()? == PDF => Some(inline(src.get("data")?.as_str()?)),
                "url" => {
                    let url = src.get("url")?.as_str()?;
                    url.starts_with("https://").then_some(wire::Part {
                        file_data: Some(wire::FileData {
                            mime_type: PDF,
                            file_uri: url,
                        }),
                        ..wire::Part::default()
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn user_parts<'a>(m: &'a Message, model: &Model, notes: &mut Notes) -> Result<Vec<wire::Part<'a>>, ProviderError> {
    let mut parts = Vec::with_capacity(m.content.len());
    for p in &m.content {
        match p {
            Part::Text(t) if t.is_empty() => {}
            Part::Text(t) => parts.push(wire::Part::text(t)),
            Part::Image { source, detail } => parts.push(media(source, detail, model, notes)?),
            Part::Reasoning { .. } => notes.reasoning_text = true,
            Part::Other { kind, raw } => parts.push(document(kind, raw).ok_or_else(|| Unsupported(other_part(kind)))?),
        }
    }
    Ok(parts)
}

/// An assistant message as a `model` turn. Thought signatures go back on the part Gemini put them
/// on: the one following the reasoning, except that the last signature before function calls
/// belongs to the first call (where Gemini 3 requires one; the placeholder stands in when none of
/// ours is at hand). Reasoning text itself is not sent: Gemini resumes its reasoning from the
/// signatures (docs: thought-signatures), and replayed summaries would only become prompt text.
fn model_parts<'a>(m: &'a Message, model: &Model, notes: &mut Notes) -> Result<Vec<wire::Part<'a>>, ProviderError> {
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
            // Anthropic's encrypted reasoning means nothing to Gemini, like another model's signature.
            Part::Other { kind, .. } if kind == "redacted_thinking" => notes.foreign_signature = true,
            Part::Other { kind, .. } => return Err(Unsupported(other_part(kind))),
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
) -> Result<Vec<wire::Part<'a>>, ProviderError> {
    let name = tool_name(before, m).ok_or_else(|| Unsupported(unanswered()))?;
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

fn generation_config<'a>(req: &'a ChatRequest, model: &Model, notes: &mut Notes) -> wire::GenerationConfig<'a> {
    let (response_mime_type, response_json_schema) = match &req.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => (Some("application/json"), Some(wire::Schema(schema))),
    };
    let budget = req
        .reasoning_budget
        .map(i64::from)
        .or_else(|| req.reasoning_effort.as_deref().and_then(effort_budget))
        .map(|b| fit_budget(b, model, notes));
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
        response_logprobs: (req.logprobs == Some(true) || req.top_logprobs.is_some()).then_some(true),
        logprobs: req.top_logprobs.filter(|n| *n > 0),
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

/// Whether Gemini can honour `req` for `model` at all.
pub(super) fn check(req: &ChatRequest, model: &Model) -> Result<(), ProviderError> {
    // Log probabilities go as `responseLogprobs` and come back on the choice (each chunk's, streamed).
    // Several answers go as `candidateCount` and come back as the chat answer's choices; a stream
    // of several interleaved candidates has no translation yet.
    if req.n.is_some_and(|n| n > 1) && req.stream {
        return Err(Unsupported(
            "n > 1 with stream: a translated stream carries one choice (without stream, n goes to Gemini as candidateCount)"
                .into(),
        ));
    }
    if req.stop.len() > MAX_STOP_SEQUENCES {
        return Err(Unsupported(format!(
            "Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences"
        )));
    }
    if let Some(t) = req.tools.iter().find(|t| !wire::valid_function_name(&t.name)) {
        return Err(Unsupported(format!(
            "tool name {:?} is not a valid Gemini function name",
            t.name
        )));
    }
    let mut turns = false;
    for (i, m) in req.messages.iter().enumerate() {
        let system = matches!(m.role, Role::System | Role::Developer);
        turns |= !system;
        for p in &m.content {
            match p {
                Part::Other { kind, .. } if kind == "redacted_thinking" && m.role == Role::Assistant => {}
                Part::Other { kind, raw } if m.role == Role::User && document(kind, raw).is_some() => {}
                Part::Other { kind, .. } => return Err(Unsupported(format!("messages[{i}]: {}", other_part(kind)))),
                Part::Image { .. } if system => {
                    return Err(Unsupported(format!(
                        "messages[{i}]: Gemini's system instruction carries text only"
                    )))
                }
                Part::Image {
                    source: ImageSource::Url(u),
                    ..
                } => {
                    image_url_mime(u, model).map_err(|e| Unsupported(format!("messages[{i}]: {e}")))?;
                }
                _ => {}
            }
        }
        if m.role == Role::Tool && tool_name(&req.messages[..i], m).is_none() {
            return Err(Unsupported(format!("messages[{i}]: {}", unanswered())));
        }
    }
    if !turns {
        return Err(Unsupported(
            "Gemini needs at least one user or assistant message".into(),
        ));
    }
    Ok(())
}

/// `req` as the body of `POST {base}/models/{model}:generateContent` (or the streaming method).
pub(super) fn render(req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
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
        generation_config: generation_config(req, model, &mut notes),
    };
    let mut buf = Vec::with_capacity(body_size_hint(req));
    crate::wire::json_out::write(&mut buf, &body).map_err(InvalidRequest)?;
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
