//! Google Gemini (`generativelanguage.googleapis.com/v1beta`), provider side: canonical request →
//! `POST {base}/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`), and answers,
//! whole or as SSE chunks of the same `GenerateContentResponse` shape, back to canonical.
//!
//! `render` builds the request body (the judgement calls are documented where they are made), `parse`
//! reads a whole answer and error bodies, `stream` decodes the SSE stream, and `wire` holds the wire
//! types and the small pure helpers around them.

mod parse;
mod render;
mod stream;
mod wire;

#[cfg(test)]
pub(crate) mod tests;

use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ProviderAdapter, ProviderError, Rendered, StreamDecoder};
use crate::config::Model;
pub use stream::Nothing;

pub struct Gemini;

/// The model name as it goes in the path (a catalog may spell it `models/gemini-…`).
fn upstream_name(model: &Model) -> &str {
    model
        .upstream_model
        .strip_prefix("models/")
        .unwrap_or(&model.upstream_model)
}

impl ProviderAdapter for Gemini {
    fn check(&self, req: &ChatRequest, model: &Model) -> Result<(), ProviderError> {
        render::check(req, model)
    }

    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
        render::render(req, model)
    }

    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("x-goog-api-key", key.to_string())]
    }

    /// A blocked prompt is an empty answer finished by `ContentFilter`, not an error (see
    /// `parse::parse_response`).
    fn parse_response(&self, body: &[u8], model: &Model) -> Result<ChatResponse, ProviderError> {
        parse::parse_response(body, model)
    }

    fn stream_decoder(&self, model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(stream::Decoder::new(model))
    }

    /// Gemini says it in the error body (`RetryInfo`, see `parse::retry_after`).
    fn retry_after(&self, body: &[u8]) -> Option<u64> {
        parse::retry_after(body)
    }

    fn error_message(&self, body: &[u8]) -> String {
        parse::error_message(body)
    }
}
