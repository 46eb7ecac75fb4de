//! Provider adapters. Each provider kind has a [`ProviderAdapter`]: it says whether it can honour a
//! canonical request, renders it in the provider's wire format, and parses answers (whole, or as a
//! stream through a [`StreamDecoder`]) back into canonical terms. Each provider is one folder
//! (`mod.rs` with the adapter, `render`, `parse`, `stream`, `wire`, `tests`), with its same-schema
//! pass-through beside it. Which way an attempt goes (pass-through or the IR) is decided by
//! `crate::translate`, which pairs a client codec with an adapter; nothing here knows the client
//! side. Adding a provider is one folder and one line in `adapter`.

pub mod anthropic;
pub mod gemini;
pub mod openai;
pub mod simulator;

use std::borrow::Cow;

use bytes::Bytes;
use switchyard_sdk::ir::{ChatRequest, ChatResponse, Part, StreamEvent};

use crate::config::{Model, ProviderKind};
use crate::wire::sse::SseEvent;

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

/// Why a provider cannot take a request, or why its answer is unusable. The `Display` text is the
/// message alone (what the `String` errors said before), so messages reach clients and logs unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot carry something the request needs: the model is not eligible for it,
    /// rather than silently dropping the feature.
    #[error("{0}")]
    Unsupported(String),
    /// The request could not be written in the provider's wire format (a value the IR keeps as JSON
    /// text did not serialize).
    #[error("{0}")]
    InvalidRequest(String),
    /// The provider's answer cannot be used: not its schema, no content, or an error object in a
    /// successful response.
    #[error("{0}")]
    InvalidResponse(String),
}

impl From<ProviderError> for String {
    /// The message, moved out (no copy) where a caller keeps text only.
    fn from(e: ProviderError) -> String {
        match e {
            ProviderError::Unsupported(m) | ProviderError::InvalidRequest(m) | ProviderError::InvalidResponse(m) => m,
        }
    }
}

/// One provider kind's wire format.
pub trait ProviderAdapter: Sync {
    /// Whether this provider can honour `req` at all. `Err` ([`ProviderError::Unsupported`]) names
    /// what it cannot do: the model is then not eligible for the request, rather than silently
    /// dropping the feature.
    fn check(&self, req: &ChatRequest, model: &Model) -> Result<(), ProviderError>;

    /// Render `req` for `model` (streaming if `req.stream`).
    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError>;

    /// The credential headers for `key`.
    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)>;

    /// Parse a complete answer ([`ProviderError::InvalidResponse`] when it is unusable).
    fn parse_response(&self, body: &[u8], model: &Model) -> Result<ChatResponse, ProviderError>;

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
