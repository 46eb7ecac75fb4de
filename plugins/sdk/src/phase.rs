//! The phase mechanism: request checks (auth, size, validation, firewall, rules, ...) are `Phase`s that
//! the proxy runs in registration order as request filters. Each returns a [`Decision`].

use crate::exchange::Exchange;
use crate::ir::Usage;
use crate::money::Money;

/// A request filter. Phases are synchronous on purpose: they run on the proxy's worker threads and
/// must not do I/O or block; state they need (counters, caches) lives in memory behind cheap locks,
/// and anything slow belongs in a background task fed by the core.
pub trait Phase: Send + Sync {
    /// Stable name, used in traces, logs and metrics.
    fn name(&self) -> &'static str;

    /// Runs when only the request head is known (before the body is read): cheap checks that can
    /// refuse a request without reading its body, such as authentication or a declared size.
    fn on_headers(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> Decision {
        Decision::Continue
    }

    /// Runs once the body has been parsed into the canonical request (`ex.request` is `Some`).
    /// A phase may rewrite the request (e.g. mask text), annotate the trace, or refuse it.
    fn on_request(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> Decision {
        Decision::Continue
    }

    /// Runs once the request is over (answered, refused or failed), for accounting. Must be cheap.
    fn on_complete(&self, _ex: &Exchange, _outcome: &Outcome) {}
}

/// How a request ended, as far as accounting cares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// The status the client got.
    pub status: u16,
    /// Whether the request got past every phase and reached an upstream.
    pub proxied: bool,
    /// Usage reported by the provider that answered.
    pub usage: Option<Usage>,
    /// What the answer cost, billed to the model that answered.
    pub cost: Option<Money>,
}

/// What a phase decided.
#[derive(Debug)]
pub enum Decision {
    /// Go on with the next phase.
    Continue,
    /// Stop here and answer the client with this error; nothing is sent upstream.
    Respond(Reject),
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
    /// 413: body over the configured limit.
    PayloadTooLarge,
    /// 422: no model satisfies the request's constraints.
    Unprocessable,
    /// 429: rate limited; retry after this many seconds.
    RateLimited { retry_after_secs: u64 },
}

impl Reject {
    pub fn new(kind: RejectKind, code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            kind,
            code,
            message: message.into(),
            param: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
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
            RejectKind::PayloadTooLarge => 413,
            RejectKind::Unprocessable => 422,
            RejectKind::RateLimited { .. } => 429,
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
            RejectKind::Unprocessable => "routing_error",
            RejectKind::RateLimited { .. } => "rate_limit_error",
        }
    }
}
