//! Client schemas. Each has a [`ClientCodec`]: it parses the client's request body into the canonical
//! IR (plus the raw top-level fields, for lossless pass-through to a provider of the same schema) and
//! renders canonical answers, whole or as a stream, back in the client's schema.

pub mod answer_edit;
pub mod anthropic_messages;
pub mod anthropic_passthrough;
pub mod json;
pub mod openai_chat;
pub mod openai_chat_render;
pub mod openai_passthrough;
pub mod openai_responses;

use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse, StreamEvent, Usage};
use switchyard_sdk::Money;

use crate::error::GatewayError;
use crate::sse::SseEvent;

/// A JSON object's top-level fields in client order, values kept as raw JSON text.
pub type RawObject = Vec<(String, Box<RawValue>)>;

/// Switchyard's own request fields (API.md): read by the gateway, never forwarded to a provider.
pub const GATEWAY_FIELDS: &[&str] = &[
    "fallback",
    "budget_dollars",
    "session_id",
    "router_mode",
    "optimization",
];

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
/// the body again ([`json::parse_object`]) only for the providers that need them.
#[derive(Debug)]
pub struct ParsedRequest {
    pub request: ChatRequest,
}

/// What a translator needs from the proxy when the answer is complete: the `router` object and the
/// exact cost for the usage the provider reported (`None` when it reported none).
pub trait Finalizer {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>);

    /// The same with the `router` object serialized, for answers written as text; an implementor
    /// can serialize it without building a `Value`.
    fn finish_bytes(&mut self, usage: Option<Usage>) -> (Vec<u8>, Option<Money>) {
        let (router, cost) = self.finish(usage);
        (serde_json::to_vec(&router).unwrap_or_default(), cost)
    }
}

/// One client schema.
pub trait ClientCodec: Sync {
    fn schema(&self) -> Schema;

    /// Parse the request body; errors name the offending field as `param`.
    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError>;

    /// Render a complete answer to `req` (when known: schemas that echo request settings use it).
    /// `model_id` is the catalog id that answered; the `router` object and the cost come from `fin`.
    fn render_response(&self, resp: &ChatResponse, req: Option<&ChatRequest>, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8>;

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

/// Translates one upstream stream for one client, SSE event by SSE event: either a same-schema
/// pass-through that edits events in place, or a provider decoder feeding a client encoder.
pub trait StreamTranslator: Send + Sync {
    /// One complete upstream event in; zero or more client events out.
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer);
    /// The upstream closed its stream. On a normal end the closing events have been written; `Err`
    /// says why the stream is incomplete.
    fn end(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) -> Result<(), Incomplete>;
    fn usage(&self) -> Option<Usage>;
    /// The error the provider reported inside the stream, once it has (the proxy falls back to the
    /// next candidate when this happens before the client got a byte).
    fn failure(&self) -> Option<&str>;
    /// The stream broke: end it with the client's in-band error (`error` is the public error object).
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>);
}

/// Why a stream did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomplete {
    /// It was cut off before its end.
    Truncated,
    /// The provider reported an error inside it.
    ProviderError(String),
}

pub fn codec(schema: Schema) -> &'static dyn ClientCodec {
    match schema {
        Schema::OpenAiChat => &openai_chat_render::OpenAiChatCodec,
        Schema::OpenAiResponses => &openai_responses::ResponsesCodec,
        Schema::AnthropicMessages => &anthropic_messages::MessagesCodec,
    }
}
