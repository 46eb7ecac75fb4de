//! Anthropic Messages, provider side: canonical request → `POST {base}/messages`, and answers (whole
//! or streamed) → canonical. Wire format: platform.claude.com/docs/en/api/messages, API version
//! `2023-06-01`. What the IR holds that Anthropic cannot carry is named in `Rendered.lossy`; what it
//! cannot do at all (several choices, log probabilities, JSON mode, audio) makes the model ineligible.
//!
//! `render` builds the request body, `parse` reads a whole answer and error bodies, `stream` decodes
//! the SSE stream, `wire` holds the provider side's wire types (the content blocks both sides read are
//! in `crate::wire::anthropic`), and `passthrough` forwards an Anthropic Messages client's body as is.

mod parse;
pub mod passthrough;
mod render;
mod stream;
mod thinking;
mod wire;

#[cfg(test)]
pub(crate) mod tests;

use switchyard_sdk::ir::{ChatRequest, ChatResponse};
use thinking::own_signature;

use super::{ProviderAdapter, ProviderError, Rendered, StreamDecoder};
use crate::config::Model;

pub struct Anthropic;

impl ProviderAdapter for Anthropic {
    fn check(&self, req: &ChatRequest, _model: &Model) -> Result<(), ProviderError> {
        render::check(req)
    }

    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
        render::render(req, model)
    }

    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("x-api-key", key.to_string())]
    }

    fn parse_response(&self, body: &[u8], _model: &Model) -> Result<ChatResponse, ProviderError> {
        parse::parse_response(body)
    }

    fn stream_decoder(&self, _model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(stream::Decoder::default())
    }

    fn error_message(&self, body: &[u8]) -> String {
        parse::error_message(body)
    }
}
