//! The phase mechanism: request checks and policies (auth, size, validation, limits, firewall, rules,
//! cache, ...) are [`Phase`]s that the core's one phase runner calls at each stage of a request, in
//! registration order. A phase sees the request's head and its [`Exchange`]; at the request stages it
//! returns a [`Decision`] (go on, refuse, or answer in the gateway's place), and on the way back it
//! may read, rewrite or refuse the answer, whole or streamed.

use crate::answer::PhaseAnswer;
use crate::exchange::Exchange;
use crate::ir::{ChatResponse, Usage};
use crate::money::Money;

/// A request filter. Phases are synchronous on purpose: they run on the proxy's worker threads and
/// must not do I/O or block; state they need (counters, caches) lives in memory behind cheap locks,
/// and anything slow belongs in a background task fed by the core.
pub trait Phase: Send + Sync {
    /// Stable name, used in traces, logs and metrics.
    fn name(&self) -> &'static str;

    /// Whether this phase runs in a dry run (`POST /v1/rules/preview`: the firewall, rules and
    /// routing decision for a request, with no upstream call). A phase that counts, stores, charges
    /// or answers from state says no, so that previewing has no side effect.
    fn in_preview(&self) -> bool {
        true
    }

    /// Runs when only the request head is known (before the body is read): cheap checks that can
    /// refuse a request without reading its body, such as authentication or a declared size.
    fn on_headers(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> Decision {
        Decision::Continue
    }

    /// Runs once the body has been parsed into the canonical request (`ex.request()` is `Some`).
    /// A phase may rewrite the request through [`Exchange::request_mut`] (the edit reaches the
    /// provider on every path), annotate the trace, refuse the request, or answer it.
    fn on_request(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> Decision {
        Decision::Continue
    }

    /// Runs once the route is chosen ([`Exchange::routed`] says which model, and the estimated cost),
    /// before anything goes upstream: checks that need the choice, such as a prepaid balance that must
    /// cover the estimate. Not called when a phase answered at an earlier stage.
    fn on_routed(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> Decision {
        Decision::Continue
    }

    /// Asked once per request, after the request stage: does this phase want to see the answer?
    /// `None` (the default) keeps the answer on the core's fast path for this phase.
    fn watch_answer(&self, _ex: &Exchange) -> Option<AnswerWatch> {
        None
    }

    /// A whole (non-streamed) answer in canonical terms, before it is rendered for the client: the
    /// phase may edit its text and tool-call arguments, or refuse it (`Decision::Respond`). Called
    /// only when [`Phase::watch_answer`] asked for it.
    fn on_answer(&self, _ex: &mut Exchange, _answer: &mut ChatResponse) -> Decision {
        Decision::Continue
    }

    /// A streamed answer's text, delta by delta. `held` holds this phase's unreleased text with the
    /// new delta appended; the phase may edit it in place (e.g. mask) and says how many of its leading
    /// bytes may go to the client now. The rest stays held, up to the holdback the phase declared in
    /// [`AnswerWatch`]: beyond it the core releases the oldest bytes anyway. `last` is true once, when
    /// the stream is complete: everything still held is released after this call. Called only when
    /// [`Phase::watch_answer`] asked for it.
    fn on_stream_delta(&self, _ex: &mut Exchange, held: &mut String, _last: bool) -> StreamDecision {
        StreamDecision::Release(held.len())
    }

    /// Runs once the request is over (answered, refused or failed), for accounting. Must be cheap.
    fn on_complete(&self, _ex: &Exchange, _outcome: &Outcome) {}
}

/// What a phase wants to see of one request's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerWatch {
    /// Call [`Phase::on_answer`] with a whole answer.
    pub whole: bool,
    /// Call [`Phase::on_stream_delta`] with a streamed answer's text.
    pub stream: bool,
    /// The most bytes of streamed text this phase may hold back at once (a match split across events
    /// needs at most the longest match's length minus one).
    pub holdback: usize,
    /// Assemble the canonical answer (streams included) for [`Outcome::answer`].
    pub collect: bool,
}

/// What a phase decided about a streamed delta.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamDecision {
    /// Release this many leading bytes of the held text (clamped to a character boundary).
    Release(usize),
    /// End the stream now with the client schema's in-band error; nothing more is released.
    End(Reject),
}

/// How a request ended, as far as accounting cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome<'a> {
    /// The status the client got.
    pub status: u16,
    /// Whether the request got past every phase and reached an upstream.
    pub proxied: bool,
    /// The phase that answered in the gateway's place, if one did.
    pub answered_by: Option<&'static str>,
    /// The catalog id of the model that answered.
    pub model: Option<&'a str>,
    /// Usage reported by the provider that answered.
    pub usage: Option<Usage>,
    /// What the answer cost, billed to the model that answered.
    pub cost: Option<Money>,
    /// The whole answer in canonical terms, when a phase asked the core to collect it.
    pub answer: Option<&'a ChatResponse>,
    /// The `router` object the client got (serialized JSON), when the answer carried one.
    pub router: Option<&'a [u8]>,
}

/// What a phase decided.
#[derive(Debug)]
pub enum Decision {
    /// Go on with the next phase.
    Continue,
    /// Stop here and answer the client with this error; nothing is sent upstream.
    Respond(Reject),
    /// Stop here and answer the client with this successful answer (a cache hit, an idempotent
    /// replay); the core renders it in the client's schema, whole or as a stream.
    Answer(Box<PhaseAnswer>),
}

/// A refusal, rendered by the core in the public error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub kind: RejectKind,
    /// Stable machine-readable code, e.g. `invalid_api_key`, `firewall_blocked`.
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, when there is one (`messages[0].content`).
    pub param: Option<String>,
    /// Response headers that go with the refusal (e.g. `x-ratelimit-*`).
    pub headers: Vec<(&'static str, String)>,
    /// Fields the error object carries besides the shape's own (e.g. `cap` on `cost_cap_reached`);
    /// boxed, as refusals travel in `Result`s.
    pub details: Option<Box<Vec<(&'static str, serde_json::Value)>>>,
}

/// Categories of refusal; each maps to exactly one HTTP status and error `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// 400: malformed or invalid request.
    InvalidRequest,
    /// 401: missing, unknown or revoked key.
    Unauthenticated,
    /// 402: wallet empty or cost cap reached.
    PaymentRequired,
    /// 403: the key lacks the scope, or a policy blocked the request.
    Forbidden,
    /// 404: unknown model or endpoint.
    NotFound,
    /// 409: the request conflicts with one in flight (e.g. an idempotency key in use).
    Conflict,
    /// 413: body over the configured limit.
    PayloadTooLarge,
    /// 422: no model satisfies the request's constraints, or a request cannot be processed as sent.
    Unprocessable,
    /// 429: rate limited; retry after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// 503: a shared resource is exhausted for now; retry after this many seconds.
    Unavailable { retry_after_secs: u64 },
    /// Any other status a policy chooses (a rules `reject` action), with its error `type`.
    Status { status: u16 },
}

impl Reject {
    pub fn new(kind: RejectKind, code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            kind,
            code,
            message: message.into(),
            param: None,
            headers: Vec::new(),
            details: None,
        }
    }

    pub fn with_detail(mut self, name: &'static str, value: serde_json::Value) -> Self {
        self.details.get_or_insert_with(Box::default).push((name, value));
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Reject::new(RejectKind::InvalidRequest, "invalid_request", message).with_param(param)
    }
}

impl RejectKind {
    pub fn status(self) -> u16 {
        match self {
            RejectKind::InvalidRequest => 400,
            RejectKind::Unauthenticated => 401,
            RejectKind::PaymentRequired => 402,
            RejectKind::Forbidden => 403,
            RejectKind::NotFound => 404,
            RejectKind::Conflict => 409,
            RejectKind::PayloadTooLarge => 413,
            RejectKind::Unprocessable => 422,
            RejectKind::RateLimited { .. } => 429,
            RejectKind::Unavailable { .. } => 503,
            RejectKind::Status { status } => status,
        }
    }

    /// The error `type` of the public error shape.
    pub fn error_type(self) -> &'static str {
        match self {
            RejectKind::InvalidRequest | RejectKind::PayloadTooLarge => "invalid_request_error",
            RejectKind::Unauthenticated => "authentication_error",
            RejectKind::PaymentRequired => "billing_error",
            RejectKind::Forbidden => "permission_error",
            RejectKind::NotFound => "not_found_error",
            RejectKind::Conflict => "conflict_error",
            RejectKind::Unprocessable => "routing_error",
            RejectKind::RateLimited { .. } => "rate_limit_error",
            RejectKind::Unavailable { .. } => "overloaded_error",
            RejectKind::Status { status } => match status {
                401 => "authentication_error",
                402 => "billing_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                400..=499 => "invalid_request_error",
                _ => "api_error",
            },
        }
    }

    /// Seconds the client should wait before trying again, for the statuses that carry it.
    pub fn retry_after(self) -> Option<u64> {
        match self {
            RejectKind::RateLimited { retry_after_secs } | RejectKind::Unavailable { retry_after_secs } => {
                Some(retry_after_secs)
            }
            _ => None,
        }
    }
}
