//! Anthropic Messages, client side (`POST /v1/messages`): requests parsed into the canonical IR, and
//! canonical answers rendered back as `message` objects or Anthropic SSE streams. Wire format:
//! platform.claude.com/docs/en/api/messages and …/build-with-claude/streaming.
//!
//! `parse` reads the request, `render` writes a whole answer, `stream` encodes a streamed one. The
//! content-block reader and the error shape are shared with the Anthropic provider (`wire::anthropic`).

mod parse;
mod render;
mod stream;

#[cfg(test)]
mod tests;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;
use crate::wire::anthropic::{error_json, write_error_event};
use crate::wire::Finalizer;
pub use parse::parse;

pub struct MessagesCodec;

impl ClientCodec for MessagesCodec {
    fn schema(&self) -> Schema {
        Schema::AnthropicMessages
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        parse(body)
    }

    fn render_response(
        &self,
        resp: &ChatResponse,
        _req: Option<&ChatRequest>,
        model_id: &str,
        fin: &mut dyn Finalizer,
    ) -> Vec<u8> {
        render::render_response(resp, model_id, fin)
    }

    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        Box::new(stream::Encoder::new(req, model_id))
    }

    fn error_body(&self, error: &Value) -> Vec<u8> {
        serde_json::to_vec(&error_json(error)).unwrap_or_default()
    }

    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        write_error_event(error, out);
    }
}
