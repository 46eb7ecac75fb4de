//! OpenAI Chat Completions, provider side (OpenAI, OpenAI-compatible servers and the simulator):
//! canonical request → `POST {base}/chat/completions`, and answers (whole or streamed) → canonical.
//! Wire format: platform.openai.com/docs/api-reference/chat. Servers' departures from it are the
//! model's catalog `quirks`.
//!
//! `render` builds the request body, `parse` reads a whole answer and error bodies, `stream` decodes
//! the SSE stream, `wire` holds the wire types, and `passthrough` forwards an OpenAI chat client's
//! body as is (the same schema on both sides), and `responses` forwards a Responses client's body
//! to a provider that speaks the Responses API.

mod parse;
pub mod passthrough;
mod render;
pub mod responses;
mod stream;
mod wire;

use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ProviderAdapter, ProviderError, Rendered, StreamDecoder};
use crate::config::Model;
pub use parse::error_message;

pub struct OpenAi;

impl ProviderAdapter for OpenAi {
    /// Content parts OpenAI has no form for (Anthropic documents, search results, ...) make the model
    /// ineligible; OpenAI's own audio and file parts pass.
    fn check(&self, req: &ChatRequest, _model: &Model) -> Result<(), ProviderError> {
        render::check(req)
    }

    fn render(&self, req: &ChatRequest, model: &Model) -> Result<Rendered, ProviderError> {
        render::render(req, model)
    }

    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Bearer {key}"))]
    }

    fn parse_response(&self, body: &[u8], model: &Model) -> Result<ChatResponse, ProviderError> {
        parse::parse_response(body, model)
    }

    fn stream_decoder(&self, model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(stream::Decoder {
            started: false,
            done: false,
            reasoning_field: model.quirks.reasoning_field.clone(),
        })
    }

    fn error_message(&self, body: &[u8]) -> String {
        error_message(body)
    }
}
