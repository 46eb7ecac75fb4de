//! A provider's stream decoder feeding a client's stream encoder: the [`StreamTranslator`] of every
//! attempt that goes through the canonical IR.

use switchyard_sdk::ir::{StreamEvent, Usage};

use crate::api::StreamEncoder;
use crate::providers::StreamDecoder;
use crate::wire::sse::SseEvent;
use crate::wire::{Finalizer, Incomplete, StreamTranslator};

/// Provider decoder → client encoder, event by event: nothing is held back but a partial line.
pub(super) struct Pipeline {
    decoder: Box<dyn StreamDecoder>,
    encoder: Box<dyn StreamEncoder>,
    events: Vec<StreamEvent>,
    usage: Option<Usage>,
    finished: bool,
    failure: Option<String>,
}

impl Pipeline {
    pub(super) fn new(decoder: Box<dyn StreamDecoder>, encoder: Box<dyn StreamEncoder>) -> Self {
        Pipeline {
            decoder,
            encoder,
            events: Vec::new(),
            usage: None,
            finished: false,
            failure: None,
        }
    }
}

/// Usage a provider reports in the same event as the answer's start (Gemini reports it on every
/// chunk) goes to the encoder first: a client schema that announces usage up front (Messages'
/// `message_start`) then says the provider's figures instead of an estimate. Encoders keep usage
/// for the end otherwise, so nothing else changes.
fn usage_first(events: &mut [StreamEvent]) {
    if !matches!(events.first(), Some(StreamEvent::Start { .. })) {
        return;
    }
    if let Some(u) = events.iter().rposition(|e| matches!(e, StreamEvent::Usage(_))) {
        events[..=u].rotate_right(1);
    }
}

impl StreamTranslator for Pipeline {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
        if self.finished || self.failure.is_some() {
            return;
        }
        self.decoder.event(ev, &mut self.events);
        usage_first(&mut self.events);
        for e in self.events.drain(..) {
            match e {
                StreamEvent::Usage(u) => {
                    self.usage = Some(u);
                    self.encoder.event(StreamEvent::Usage(u), out);
                }
                StreamEvent::Error { message } => {
                    self.failure = Some(message);
                    return;
                }
                e => self.encoder.event(e, out),
            }
        }
        if self.decoder.done() {
            self.encoder.finish(out, fin);
            self.finished = true;
        }
    }

    fn end(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) -> Result<(), Incomplete> {
        if let Some(f) = self.failure.take() {
            return Err(Incomplete::ProviderError(f));
        }
        if !self.finished {
            if !self.decoder.complete_at_eof() {
                return Err(Incomplete::Truncated);
            }
            self.encoder.finish(out, fin);
            self.finished = true;
        }
        Ok(())
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn fail(&mut self, error: &serde_json::Value, out: &mut Vec<u8>) {
        self.encoder.fail(error, out);
    }

    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}
