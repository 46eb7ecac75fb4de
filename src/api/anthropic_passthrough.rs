//! Anthropic Messages client ↔ Anthropic provider: same schema, pass-through. (Being written:
//! replaced wholesale.)

use switchyard_sdk::ir::{ChatRequest, Usage};

use super::{Finalizer, Incomplete, RawObject, StreamTranslator};
use crate::config::Model;
use crate::sse::SseEvent;

pub fn render_request(_raw: &RawObject, _req: &ChatRequest, _model: &Model) -> Vec<u8> {
    Vec::new()
}

pub fn rewrite_response(_body: &[u8], _model_id: &str, _fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    Err("the Anthropic pass-through is not built yet".into())
}

pub struct PassthroughStream;

impl PassthroughStream {
    pub fn new(_model_id: String) -> Self {
        PassthroughStream
    }
}

impl StreamTranslator for PassthroughStream {
    fn event(&mut self, _ev: &SseEvent, _out: &mut Vec<u8>, _fin: &mut dyn Finalizer) {}
    fn end(&mut self, _out: &mut Vec<u8>, _fin: &mut dyn Finalizer) -> Result<(), Incomplete> {
        Err(Incomplete::Truncated)
    }
    fn usage(&self) -> Option<Usage> {
        None
    }
}
