//! OpenAI Chat Completions, client side (`POST /v1/chat/completions`): the request body parsed into
//! the canonical IR (`parse`), and answers that come through the IR (from Anthropic or Gemini
//! providers) rendered back as `chat.completion` objects (`render`) and `chat.completion.chunk`
//! streams (`stream`). Answers from OpenAI-schema providers skip the IR: they pass through
//! (`providers::openai::passthrough`).

mod parse;
mod render;
mod stream;

#[cfg(test)]
mod tests;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;
use crate::wire::sse::write_event;
use crate::wire::Finalizer;
pub(crate) use parse::tool_choice_mode;
pub use parse::{image_source, parse};

pub struct OpenAiChatCodec;

impl ClientCodec for OpenAiChatCodec {
    fn schema(&self) -> Schema {
        Schema::OpenAiChat
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
        Box::new(stream::ChunkEncoder::new(req, model_id))
    }

    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        write_event(out, None, error.to_string().as_bytes());
    }
}
