//! A successful answer given by a phase in the gateway's place ([`crate::Decision::Answer`]): a cache
//! hit or an idempotent replay. The core renders it in the client's schema (whole JSON, or replayed
//! as a stream when the client asked for one), with the headers the phase adds, and logs the request
//! as answered by that phase.

use crate::ir::ChatResponse;

#[derive(Debug, Clone, PartialEq)]
pub struct PhaseAnswer {
    /// The answer in canonical terms.
    pub response: ChatResponse,
    /// The catalog id of the model that originally answered (reported as the answering model).
    pub model: String,
    /// The `router` object of the original answer (JSON text), if it had one; the core marks the
    /// replay in it (`cached: true` / `replayed: true`) rather than inventing a new decision.
    pub router: Option<String>,
    /// Extra response headers (e.g. `x-jt-cache: hit`, `idempotent-replayed: true`).
    pub headers: Vec<(&'static str, String)>,
    /// What the answer is: `cached` or `replayed`; the flag set to true in the `router` object.
    pub kind: AnswerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// Served from the response cache: cost 0, `router.cached: true`.
    Cached,
    /// The stored first answer to an idempotent request: `router.replayed: true`.
    Replayed,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Cached => "cached",
            AnswerKind::Replayed => "replayed",
        }
    }
}
