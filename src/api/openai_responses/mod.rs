//! OpenAI Responses API, client side (`POST /v1/responses`): the request (instructions, input items,
//! function tools, text format) parsed into the canonical IR, and canonical answers rendered back as a
//! `response` object or as the Responses streaming events. Wire format: the API reference
//! (platform.openai.com/docs/api-reference/responses) and the official `openai` Python SDK's types and
//! stream accumulator (`lib/streaming/responses`), which must be able to consume what is written here.
//!
//! Refused with a 400 that names the field: stored state (`previous_response_id`, `conversation`,
//! `background`, `item_reference` items, stored `prompt`s), because the gateway keeps no responses.
//! Clients such as Codex that send the whole conversation each turn (`store: false`) need none.
//!
//! Codex's tool forms are taken: `additional_tools` input items (tools declared in the input),
//! `namespace` tools (their functions flattened to `namespace__name`), `custom` freeform tools (a
//! function of one string argument, `input`) with their `custom_tool_call` items, and built-in tools,
//! kept whole in `ChatRequest::tool_forms` for a provider that runs them. Rendering undoes the
//! flattening: calls come back with their namespace, custom tools' calls as `custom_tool_call`. A
//! provider that speaks the Responses API gets the client's body instead
//! (`providers::openai::responses`), when nothing needs the canonical form.

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;
use crate::wire::Finalizer;

pub struct ResponsesCodec;

impl ClientCodec for ResponsesCodec {
    fn schema(&self) -> Schema {
        Schema::OpenAiResponses
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        parse::parse(body)
    }

    fn render_response(
        &self,
        resp: &ChatResponse,
        req: Option<&ChatRequest>,
        model_id: &str,
        fin: &mut dyn Finalizer,
    ) -> Vec<u8> {
        render::render_response(resp, req, model_id, fin)
    }

    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        Box::new(stream::Encoder::new(req, model_id))
    }

    // `error_body` keeps the default: the public error object already has OpenAI's `{"error": {...}}`
    // shape, which the SDK turns into its typed `APIStatusError`s.

    /// A stream that broke after it started ends with in-band failure events the SDK raises on.
    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        stream::write_failure(error, out);
    }
}

pub mod input;
mod one_pass;
mod parse;
mod render;
mod stream;
mod wire;

#[cfg(test)]
mod tests;
