//! Anthropic Messages, client side (`POST /v1/messages`). (Being written: replaced wholesale.)

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, Finalizer, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;

pub struct MessagesCodec;

impl ClientCodec for MessagesCodec {
    fn schema(&self) -> Schema {
        Schema::AnthropicMessages
    }
    fn parse(&self, _body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        Err(GatewayError::Internal(
            "the Anthropic Messages codec is not built yet".into(),
        ))
    }
    fn render_response(&self, _resp: &ChatResponse, _model_id: &str, _fin: &mut dyn Finalizer) -> Vec<u8> {
        Vec::new()
    }
    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        super::openai_chat_render::OpenAiChatCodec.stream_encoder(req, model_id)
    }
    fn stream_error(&self, _error: &Value, _out: &mut Vec<u8>) {}
}
