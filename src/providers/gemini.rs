//! Google Gemini `generateContent`, provider side. (Being written: replaced wholesale by its implementation.)

use switchyard_sdk::ir::{ChatRequest, ChatResponse, StreamEvent};

use super::{ProviderAdapter, Rendered, StreamDecoder};
use crate::config::Model;
use crate::sse::SseEvent;

pub struct Gemini;

const PENDING: &str = "the gemini adapter is not built yet";

impl ProviderAdapter for Gemini {
    fn check(&self, _req: &ChatRequest, _model: &Model) -> Result<(), String> {
        Err(PENDING.into())
    }
    fn render(&self, _req: &ChatRequest, _model: &Model) -> Result<Rendered, String> {
        Err(PENDING.into())
    }
    fn auth_headers(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![("x-goog-api-key", key.to_string())]
    }
    fn parse_response(&self, _body: &[u8], _model: &Model) -> Result<ChatResponse, String> {
        Err(PENDING.into())
    }
    fn stream_decoder(&self, _model: &Model) -> Box<dyn StreamDecoder> {
        Box::new(Nothing)
    }
    fn error_message(&self, body: &[u8]) -> String {
        String::from_utf8_lossy(body).into_owned()
    }
}

pub struct Nothing;

impl StreamDecoder for Nothing {
    fn event(&mut self, _ev: &SseEvent, _out: &mut Vec<StreamEvent>) {}
    fn done(&self) -> bool {
        false
    }
}
