//! The core's own phases (authentication, body size, validation) and the one phase runner every
//! endpoint and stage goes through: [`Pipeline::run`] for the request stages (headers, request, routed;
//! the first refusal or answer wins), [`AnswerHooks`] for the way back (whole answers and streamed text), and
//! [`Pipeline::complete`] for accounting. Which phases run, in which order, is the registry's
//! (`crate::registry`).

pub mod auth;
pub mod body_limit;
pub mod costly;
pub mod hooks;
pub mod throttle;
pub mod validate;

use std::sync::Arc;

use switchyard_sdk::{Decision, Exchange, Outcome, Phase, PhaseAnswer};

use crate::error::GatewayError;
pub use hooks::{AnswerHooks, StreamHooks};

/// The request stages a phase can act at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The head is known, the body is not read yet.
    Headers,
    /// The body is parsed into the canonical request.
    Request,
    /// The route is chosen (`ex.routed`), nothing went upstream yet.
    Routed,
}

/// What the request stages decided, when no phase refused.
pub enum Verdict {
    /// Go on (to the next stage, routing, the upstream).
    Continue,
    /// A phase answered in the gateway's place.
    Answered {
        phase: &'static str,
        answer: Box<PhaseAnswer>,
    },
}

/// A snapshot's phases, in the order they run.
#[derive(Clone, Copy)]
pub struct Pipeline<'a> {
    phases: &'a [Arc<dyn Phase>],
}

impl<'a> Pipeline<'a> {
    pub fn new(phases: &'a [Arc<dyn Phase>]) -> Self {
        Pipeline { phases }
    }

    /// Run every phase at `stage`, in order. The first refusal becomes the request's error (with
    /// the trace the phases left in `ex`); the first answer ends the stage.
    pub fn run(&self, stage: Stage, head: &http::request::Parts, ex: &mut Exchange) -> Result<Verdict, GatewayError> {
        for p in self.phases {
            let d = match stage {
                Stage::Headers => p.on_headers(head, ex),
                Stage::Request => p.on_request(head, ex),
                Stage::Routed => p.on_routed(head, ex),
            };
            match d {
                Decision::Continue => {}
                Decision::Respond(r) => return Err(GatewayError::Rejected(r)),
                Decision::Answer(answer) => {
                    return Ok(Verdict::Answered {
                        phase: p.name(),
                        answer,
                    })
                }
            }
        }
        Ok(Verdict::Continue)
    }

    /// Which phases watch this request's answer (asked once, after the request stage). The core may
    /// add its own reason to collect the answer (`AnswerHooks::collect_too`).
    pub fn watch(&self, ex: &Exchange) -> AnswerHooks {
        AnswerHooks::new(self.phases, ex)
    }

    /// The request is over: every phase's accounting.
    pub fn complete(&self, ex: &Exchange, outcome: &Outcome) {
        for p in self.phases {
            p.on_complete(ex, outcome);
        }
    }

    pub fn phases(&self) -> &'a [Arc<dyn Phase>] {
        self.phases
    }
}

/// The headers a phase's refusal carries (none for other errors).
pub fn reject_headers(e: &GatewayError) -> &[(&'static str, String)] {
    match e {
        GatewayError::Rejected(r) => &r.headers,
        _ => &[],
    }
}

#[cfg(test)]
mod tests;
