//! Client schemas. Each has a [`ClientCodec`] (one folder per schema: `mod.rs` with the codec,
//! `parse`, `render`, `stream`, `tests`): it parses the client's request body into the canonical IR
//! and renders canonical answers, whole or as a stream, back in the client's schema. `fields` is the
//! typed field parsing the codecs share. Nothing here knows a provider: the lossless same-schema
//! pass-throughs live with their provider, and `crate::translate` pairs a codec with an adapter.

pub mod anthropic_messages;
pub mod fields;
pub mod openai_chat;
pub mod openai_responses;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse, StreamEvent};

use crate::error::GatewayError;
use crate::wire::Finalizer;

/// The schema a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    OpenAiChat,
    OpenAiResponses,
    AnthropicMessages,
}

impl Schema {
    /// The schema of an inference endpoint.
    pub fn for_endpoint(e: switchyard_sdk::Endpoint) -> Option<Schema> {
        use switchyard_sdk::Endpoint as E;
        match e {
            E::ChatCompletions => Some(Schema::OpenAiChat),
            E::Responses => Some(Schema::OpenAiResponses),
            E::Messages => Some(Schema::AnthropicMessages),
            _ => None,
        }
    }
}

/// A parsed client request: the canonical view. Same-schema pass-through reads the raw fields from
/// the body again ([`crate::wire::json::parse_object`]) only for the providers that need them.
#[derive(Debug)]
pub struct ParsedRequest {
    pub request: ChatRequest,
}

/// One client schema.
pub trait ClientCodec: Sync {
    fn schema(&self) -> Schema;

    /// Parse the request body; errors name the offending field as `param`.
    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError>;

    /// Render a complete answer to `req` (when known: schemas that echo request settings use it).
    /// `model_id` is the catalog id that answered; the `router` object and the cost come from `fin`.
    fn render_response(
        &self,
        resp: &ChatResponse,
        req: Option<&ChatRequest>,
        model_id: &str,
        fin: &mut dyn Finalizer,
    ) -> Vec<u8>;

    /// A fresh encoder for one streamed answer to `req`.
    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder>;

    /// The body of an error response, given the public error object (`{"error": {...}}`).
    fn error_body(&self, error: &Value) -> Vec<u8> {
        error.to_string().into_bytes()
    }

    /// The in-band error event that ends a stream that broke after it started.
    fn stream_error(&self, error: &Value, out: &mut Vec<u8>);
}

/// Turns canonical stream events into the client's SSE events.
pub trait StreamEncoder: Send + Sync {
    fn event(&mut self, ev: StreamEvent, out: &mut Vec<u8>);
    /// The answer is complete: write the closing events, with usage, cost and the `router` object.
    fn finish(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer);
    /// The stream broke: end it with the client schema's in-band error (`error` is the public error
    /// object), consistent with what this encoder already sent.
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>);
}

pub fn codec(schema: Schema) -> &'static dyn ClientCodec {
    match schema {
        Schema::OpenAiChat => &openai_chat::OpenAiChatCodec,
        Schema::OpenAiResponses => &openai_responses::ResponsesCodec,
        Schema::AnthropicMessages => &anthropic_messages::MessagesCodec,
    }
}
