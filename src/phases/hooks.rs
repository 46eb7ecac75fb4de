//! The answer side of the phase runner. After the request stage each phase says whether it wants to
//! see this request's answer ([`Phase::watch_answer`]); when none does, the answer stays on the core's
//! fast path (edited in place, never parsed). Otherwise a whole answer goes through every watching
//! phase's `on_answer` in canonical terms, and a streamed answer's text goes through [`StreamHooks`]:
//! each phase holds back what it needs (bounded by the holdback it declared) and passes the rest to
//! the next phase, so the client only ever gets text every phase has released.

use std::sync::Arc;

use switchyard_sdk::ir::ChatResponse;
use switchyard_sdk::{AnswerWatch, Decision, Exchange, Phase, Reject, StreamDecision};

use crate::error::GatewayError;

/// The phases watching one request's answer.
#[derive(Debug, Default, Clone)]
pub struct AnswerHooks {
    whole: Vec<usize>,
    stream: Vec<(usize, usize)>,
    collect: bool,
}

impl AnswerHooks {
    pub fn new(phases: &[Arc<dyn Phase>], ex: &Exchange) -> Self {
        let mut h = AnswerHooks::default();
        for (i, p) in phases.iter().enumerate() {
            if let Some(AnswerWatch {
                whole,
                stream,
                holdback,
                collect,
            }) = p.watch_answer(ex)
            {
                if whole {
                    h.whole.push(i);
                }
                if stream {
                    h.stream.push((i, holdback));
                }
                h.collect |= collect;
            }
        }
        h
    }

    /// No phase watches the answer: keep the fast path.
    pub fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.stream.is_empty() && !self.collect
    }

    /// Whether the whole answer must be read in canonical terms.
    pub fn wants_whole(&self) -> bool {
        !self.whole.is_empty() || self.collect
    }

    /// Whether a stream must be decoded into canonical events.
    pub fn wants_stream(&self) -> bool {
        !self.stream.is_empty() || self.collect
    }

    /// The core needs the canonical answer too (an idempotent request's first answer, a workspace
    /// that logs answers).
    pub fn collect_too(&mut self) {
        self.collect = true;
    }

    /// Whether the core must assemble the canonical answer for the phases' accounting.
    pub fn collect(&self) -> bool {
        self.collect
    }

    /// A whole answer through every watching phase, in order. A refusal becomes the request's error.
    pub fn on_answer(
        &self,
        phases: &[Arc<dyn Phase>],
        ex: &mut Exchange,
        resp: &mut ChatResponse,
    ) -> Result<(), GatewayError> {
        for &i in &self.whole {
            if let Some(p) = phases.get(i) {
                match p.on_answer(ex, resp) {
                    Decision::Continue | Decision::Answer(_) => {}
                    Decision::Respond(r) => return Err(GatewayError::Rejected(r)),
                }
            }
        }
        Ok(())
    }

    /// Fresh per-stream state for the watching phases.
    pub fn stream_hooks(&self) -> StreamHooks {
        StreamHooks {
            held: self.stream.iter().map(|&(i, max)| (i, max, String::new())).collect(),
        }
    }
}

/// One stream's held text, per watching phase.
#[derive(Debug, Default)]
pub struct StreamHooks {
    /// (phase index, most bytes it may hold, what it holds).
    held: Vec<(usize, usize, String)>,
}

/// The largest char boundary of `s` at or below `n`.
fn floor_boundary(s: &str, n: usize) -> usize {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// The smallest char boundary of `s` at or above `n`.
fn ceil_boundary(s: &str, n: usize) -> usize {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n += 1;
    }
    n
}

impl StreamHooks {
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Pass one text delta through the phases; returns the text the client may get now. `Err` ends
    /// the stream with that refusal.
    pub fn delta(&mut self, phases: &[Arc<dyn Phase>], ex: &mut Exchange, text: &str) -> Result<String, Reject> {
        self.pass(phases, ex, text.to_string(), false)
    }

    /// The stream is complete: everything still held, through the phases that come after.
    pub fn finish(&mut self, phases: &[Arc<dyn Phase>], ex: &mut Exchange) -> Result<String, Reject> {
        self.pass(phases, ex, String::new(), true)
    }

    fn pass(
        &mut self,
        phases: &[Arc<dyn Phase>],
        ex: &mut Exchange,
        mut text: String,
        last: bool,
    ) -> Result<String, Reject> {
        for (i, max, held) in &mut self.held {
            let Some(p) = phases.get(*i) else { continue };
            held.push_str(&text);
            if held.is_empty() && !last {
                text.clear();
                continue;
            }
            let release = match p.on_stream_delta(ex, held, last) {
                StreamDecision::End(r) => {
                    held.clear();
                    return Err(r);
                }
                StreamDecision::Release(_) if last => held.len(),
                // Beyond its declared holdback a phase must let the oldest bytes go.
                StreamDecision::Release(n) => {
                    let n = floor_boundary(held, n);
                    n.max(ceil_boundary(held, held.len().saturating_sub(*max)))
                }
            };
            text = held[..release].to_string();
            held.drain(..release);
        }
        Ok(text)
    }
}
