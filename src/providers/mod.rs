//! Provider adapters. Each provider kind has a [`ProviderAdapter`]: it says whether it can honour a
//! canonical request, renders it in the provider's wire format, and parses answers (whole, or as a
//! stream through a [`StreamDecoder`]) back into canonical terms. `prepare` picks, per attempt, a
//! lossless pass-through when the client and the provider speak the same schema, and translation
//! through the IR otherwise. Adding a provider is one module and one line in `adapter`.

pub mod anthropic;
pub mod gemini;
pub mod openai;
pub mod simulator;

use std::borrow::Cow;

use bytes::Bytes;
use switchyard_sdk::ir::{ChatRequest, ChatResponse, Part, StreamEvent, Usage};

use crate::api::{self, anthropic_passthrough, openai_passthrough, ClientCodec, Schema, StreamEncoder};
use crate::config::{Model, Provider, ProviderKind};
use crate::error::GatewayError;
use crate::wire::json::parse_object;
use crate::wire::sse::SseEvent;
use crate::wire::{Finalizer, Incomplete, StreamTranslator};

/// A request rendered for a provider.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Path and query, from the provider's base path.
    pub path: String,
    /// Headers besides credentials (e.g. `anthropic-version`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// What the provider's schema could not carry, named (e.g. "seed: not supported by anthropic").
    pub lossy: Vec<String>,
}

/// One provider kind's wire format.
pub trait ProviderAdapter: Sync {
    /// Whether this provider can honour `req` at all. `Err` names what it cannot do: the model is
    /// then not eligible for the request, rather than silently dropping the feature.
    fn check(&self, req: &ChatRequest, model: &Model) -> Result<(), String>;

    /// Render `req` for `model` (streaming if `req.stream`).
    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, String>;

    /// The credential headers for `key`.
    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)>;

    /// Parse a complete answer.
    fn parse_response(&self, body: &[u8], model: &Model) -> Result<ChatResponse, String>;

    /// A fresh decoder for one streamed answer.
    fn stream_decoder(&self, model: &Model) -> Box<dyn StreamDecoder>;

    /// The human-readable message of an error body from this provider.
    fn error_message(&self, body: &[u8]) -> String;

    /// Seconds to wait, when the provider says so in an error body rather than a `Retry-After`
    /// header (Gemini's `RetryInfo`).
    fn retry_after(&self, _body: &[u8]) -> Option<u64> {
        None
    }
}

/// Turns a provider's SSE events into canonical events.
pub trait StreamDecoder: Send + Sync {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>);
    /// The provider's explicit end of stream was seen (`[DONE]`, `message_stop`).
    fn done(&self) -> bool;
    /// Whether the connection closing now would be a normal end (Gemini ends streams by closing
    /// them, after a finish reason).
    fn complete_at_eof(&self) -> bool {
        self.done()
    }
}

/// The text parts of a message joined, for providers whose message content is one string (borrowed
/// when there is a single part, as there nearly always is).
pub fn joined_text(parts: &[Part]) -> Cow<'_, str> {
    let mut texts = parts.iter().filter_map(|p| match p {
        Part::Text(t) => Some(t.as_str()),
        _ => None,
    });
    match (texts.next(), texts.next()) {
        (None, _) => Cow::Borrowed(""),
        (Some(one), None) => Cow::Borrowed(one),
        (Some(a), Some(b)) => {
            let mut s = String::from(a);
            s.push_str(b);
            texts.for_each(|t| s.push_str(t));
            Cow::Owned(s)
        }
    }
}

pub fn adapter(kind: ProviderKind) -> &'static dyn ProviderAdapter {
    match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock => &openai::OpenAi,
        ProviderKind::Anthropic => &anthropic::Anthropic,
        ProviderKind::Gemini => &gemini::Gemini,
    }
}

/// The Anthropic API version Switchyard speaks (the `anthropic-version` header).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How one attempt is carried out.
#[derive(Clone, Copy)]
pub enum Plan {
    /// OpenAI chat client and OpenAI-schema provider: the client's body, edited in place.
    PassOpenAi,
    /// Anthropic Messages client and Anthropic provider: likewise.
    PassAnthropic,
    /// Through the canonical IR.
    Translate {
        codec: &'static dyn ClientCodec,
        adapter: &'static dyn ProviderAdapter,
    },
}

/// One attempt's upstream request and how its answer is handled.
pub struct Prepared {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    pub plan: Plan,
    pub lossy: Vec<String>,
}

fn is_openai_schema(kind: ProviderKind) -> bool {
    matches!(
        kind,
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock
    )
}

/// Whether `model` can serve `req` at all (see [`ProviderAdapter::check`]).
pub fn check(schema: Schema, req: &ChatRequest, model: &Model) -> Result<(), String> {
    if (schema == Schema::OpenAiChat && is_openai_schema(model.provider.kind))
        || (schema == Schema::AnthropicMessages && model.provider.kind == ProviderKind::Anthropic)
    {
        return Ok(());
    }
    adapter(model.provider.kind).check(req, model)
}

/// Render the client's request for `model`'s provider.
pub fn prepare(schema: Schema, model: &Model, req: &ChatRequest, body: &[u8]) -> Result<Prepared, GatewayError> {
    let p = &model.provider;
    let unsupported = |reason: String| GatewayError::Unsupported {
        model: model.id.clone(),
        reason,
    };
    if schema == Schema::OpenAiChat && is_openai_schema(p.kind) {
        return Ok(Prepared {
            path: format!("{}/chat/completions", p.origin.base_path()),
            headers: Vec::new(),
            body: Bytes::from(openai_passthrough::render_request(&parse_object(body)?, req, model)),
            plan: Plan::PassOpenAi,
            lossy: Vec::new(),
        });
    }
    if schema == Schema::AnthropicMessages && p.kind == ProviderKind::Anthropic {
        return Ok(Prepared {
            path: format!("{}/messages", p.origin.base_path()),
            headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
            body: Bytes::from(anthropic_passthrough::render_request(&parse_object(body)?, req, model)),
            plan: Plan::PassAnthropic,
            lossy: Vec::new(),
        });
    }
    let adapter = adapter(p.kind);
    adapter.check(req, model).map_err(unsupported)?;
    let r = adapter.render(req, model).map_err(unsupported)?;
    Ok(Prepared {
        path: format!("{}{}", p.origin.base_path(), r.path),
        headers: r.headers,
        body: r.body,
        plan: Plan::Translate {
            codec: api::codec(schema),
            adapter,
        },
        lossy: r.lossy,
    })
}

/// Credentials for `p`, as (name, value) pairs.
pub fn auth_headers(p: &Provider) -> Vec<(&'static str, String)> {
    match &p.api_key {
        Some(k) => adapter(p.kind).auth_headers(k),
        None => Vec::new(),
    }
}

/// Translate a complete answer for the client. `Err` says why the provider's answer is unusable.
pub fn translate_json(plan: Plan, body: &[u8], model: &Model, fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    translate_json_for(plan, body, None, model, fin)
}

/// Like [`translate_json`], for a known request (schemas that echo request settings use it).
pub fn translate_json_for(plan: Plan, body: &[u8], req: Option<&ChatRequest>, model: &Model, fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    match plan {
        Plan::PassOpenAi => openai_passthrough::rewrite_response(body, &model.id, fin),
        Plan::PassAnthropic => anthropic_passthrough::rewrite_response(body, &model.id, fin),
        Plan::Translate { codec, adapter } => {
            let resp = adapter.parse_response(body, model)?;
            Ok(codec.render_response(&resp, req, &model.id, fin))
        }
    }
}

/// The retry delay a provider put in an error body, if any.
pub fn retry_after_in_body(plan: Plan, body: &[u8]) -> Option<u64> {
    match plan {
        Plan::Translate { adapter, .. } => adapter.retry_after(body),
        Plan::PassOpenAi | Plan::PassAnthropic => None,
    }
}

/// The message of a provider's error body.
pub fn error_message(plan: Plan, body: &[u8]) -> String {
    match plan {
        Plan::PassOpenAi => openai_passthrough::error_message(body),
        Plan::PassAnthropic => anthropic::Anthropic.error_message(body),
        Plan::Translate { adapter, .. } => adapter.error_message(body),
    }
}

/// A translator for one streamed answer to `req`.
pub fn stream_translator(plan: Plan, req: &ChatRequest, model: &Model) -> Box<dyn StreamTranslator> {
    match plan {
        Plan::PassOpenAi => Box::new(openai_passthrough::PassthroughStream::new(
            model.id.clone(),
            req.stream_include_usage,
        )),
        Plan::PassAnthropic => Box::new(anthropic_passthrough::PassthroughStream::new(model.id.clone())),
        Plan::Translate { codec, adapter } => Box::new(Pipeline {
            decoder: adapter.stream_decoder(model),
            encoder: codec.stream_encoder(req, &model.id),
            events: Vec::new(),
            usage: None,
            finished: false,
            failure: None,
        }),
    }
}

/// Provider decoder → client encoder, event by event: nothing is held back but a partial line.
struct Pipeline {
    decoder: Box<dyn StreamDecoder>,
    encoder: Box<dyn StreamEncoder>,
    events: Vec<StreamEvent>,
    usage: Option<Usage>,
    finished: bool,
    failure: Option<String>,
}

impl StreamTranslator for Pipeline {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if self.finished || self.failure.is_some() {
            return;
        }
        self.decoder.event(ev, &mut self.events);
        for e in self.events.drain(..) {
            match e {
                StreamEvent::Usage(u) => {
                    self.usage = Some(u);
                    self.encoder.event(StreamEvent::Usage(u), out);
                }
                StreamEvent::Error { message } => {
                    self.failure = Some(message);
                    return;
                }
                e => self.encoder.event(e, out),
            }
        }
        if self.decoder.done() {
            self.encoder.finish(out, fin);
            self.finished = true;
        }
    }

    fn end(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) -> Result<(), Incomplete> {
        if let Some(f) = self.failure.take() {
            return Err(Incomplete::ProviderError(f));
        }
        if !self.finished {
            if !self.decoder.complete_at_eof() {
                return Err(Incomplete::Truncated);
            }
            self.encoder.finish(out, fin);
            self.finished = true;
        }
        Ok(())
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn fail(&mut self, error: &serde_json::Value, out: &mut Vec<u8>) {
        self.encoder.fail(error, out);
    }

    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}
