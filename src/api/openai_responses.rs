//! OpenAI Responses API, client side (`POST /v1/responses`). (Being written: replaced wholesale.)

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, Finalizer, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;

pub struct ResponsesCodec;

impl ClientCodec for ResponsesCodec {
    fn schema(&self) -> Schema {
        Schema::OpenAiResponses
    }
    fn parse(&self, _body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        Err(GatewayError::Internal("the Responses codec is not built yet".into()))
    }
    fn render_response(&self, _resp: &ChatResponse, _model_id: &str, _fin: &mut dyn Finalizer) -> Vec<u8> {
        Vec::new()
    }
    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        super::openai_chat_render::OpenAiChatCodec.stream_encoder(req, model_id)
    }
    fn stream_error(&self, _error: &Value, _out: &mut Vec<u8>) {}
}
