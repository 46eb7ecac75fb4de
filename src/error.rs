//! `GatewayError`: every way a request can fail, grouped by category. Status, stable `code`, `type`,
//! `param` and log level come from one exhaustive match, and the error renders once, in the public
//! JSON shape of API.md.

use bytes::Bytes;
use serde_json::json;
use switchyard_sdk::{Reject, TraceEntry};

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// A phase refused the request.
    #[error("{}", .0.message)]
    Rejected(Reject),
    /// Malformed body or invalid field (400).
    #[error("{message}")]
    InvalidRequest {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    #[error("unknown endpoint {method} {path}")]
    UnknownEndpoint { method: String, path: String },
    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed {
        method: String,
        path: String,
        /// The methods the path takes, `, `-separated (the `Allow` header).
        allowed: String,
    },
    /// A WebSocket upgrade (Codex tries the Responses API over WebSocket first): 426, which the
    /// OpenAI clients take as "not here", falling back to HTTPS at once without retrying.
    #[error("WebSocket is not supported on {path}; send the request over HTTP (POST {path})")]
    WebSocketNotSupported { path: String },
    /// `closest`: the catalog names nearest to it, `, `-separated (empty: none near).
    #[error("model {model:?} is not in the catalog{}", if closest.is_empty() { String::new() } else { format!("; the closest names are: {closest}") })]
    UnknownModel {
        model: String,
        param: &'static str,
        closest: String,
    },
    #[error("this key may not use model {model:?}")]
    ModelNotAllowed { model: String },
    #[error("a request body of unknown length over {limit} bytes cannot be proxied; send Content-Length")]
    LengthRequired { limit: u64 },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("the client did not send the request body in time")]
    BodyTimeout,
    /// The model's provider has no key configured, or its kind cannot serve this request yet.
    #[error("{message}")]
    ProviderUnavailable { provider: String, message: String },
    /// The provider answered with an error status; `status` is what the client gets.
    #[error("{message}")]
    UpstreamStatus {
        provider: String,
        status: u16,
        upstream_status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("provider {provider} did not answer in time")]
    UpstreamTimeout { provider: String },
    /// `detail` (what failed, with addresses) is for the log only: clients never see internal
    /// addresses or host names.
    #[error("provider {provider} is unreachable")]
    UpstreamUnreachable { provider: String, detail: String },
    /// The provider refused the gateway's own credentials (its 401 or 403): the operator's problem,
    /// not the client's. `detail`, the provider's message, is for the log only.
    #[error(
        "the gateway could not authenticate with provider {provider} (it answered {upstream_status}); \
         this is the gateway's configuration, not your request, and the operator has been told"
    )]
    ProviderAuthFailed {
        provider: String,
        upstream_status: u16,
        detail: String,
    },
    /// The gateway holds as many request bytes as it may (`server.max_body_bytes_in_flight`).
    #[error("the gateway is holding as many request bodies as it can; retry in a moment")]
    BodiesInFlight,
    #[error("provider {provider} sent an invalid response: {detail}")]
    UpstreamInvalid { provider: String, detail: String },
    /// `auto` found no model that satisfies the request (each model's reason listed).
    #[error("no model can serve this request: {}", summarize(reasons))]
    NoEligibleModel {
        reasons: Vec<(String, String)>,
        param: &'static str,
    },
    /// Every candidate is unavailable now (circuits open, cooling down after rate limits). When all of
    /// them are only cooling down after a provider's 429, the answer is a 429 too.
    #[error("every candidate model is unavailable: {message}")]
    ModelsUnavailable {
        message: String,
        retry_after: u64,
        rate_limited: bool,
    },
    /// Every candidate was tried and failed.
    #[error("every candidate failed: {summary}")]
    AllCandidatesFailed {
        summary: String,
        attempts: serde_json::Value,
    },
    /// The model cannot honour something the request needs (a feature its provider's API lacks).
    #[error("{model} cannot serve this request: {reason}")]
    Unsupported { model: String, reason: String },
    /// The provider reported an error inside a stream that had started.
    #[error("provider {provider} reported an error mid-stream: {message}")]
    UpstreamStream { provider: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
    /// The store is off, or a read or write it was asked for failed.
    #[error("{0}")]
    StoreUnavailable(String),
}

fn summarize(reasons: &[(String, String)]) -> String {
    const SHOWN: usize = 6;
    let mut s: Vec<String> = reasons.iter().take(SHOWN).map(|(m, w)| format!("{m}: {w}")).collect();
    if reasons.len() > SHOWN {
        s.push(format!("and {} more", reasons.len() - SHOWN));
    }
    s.join("; ")
}

impl GatewayError {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        GatewayError::InvalidRequest {
            code: "invalid_request",
            message: message.into(),
            param: Some(param.into()),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            GatewayError::Rejected(r) => r.kind.status(),
            GatewayError::InvalidRequest { .. } => 400,
            GatewayError::UnknownEndpoint { .. } | GatewayError::UnknownModel { .. } => 404,
            GatewayError::MethodNotAllowed { .. } => 405,
            GatewayError::WebSocketNotSupported { .. } => 426,
            GatewayError::ModelNotAllowed { .. } => 403,
            GatewayError::LengthRequired { .. } => 411,
            GatewayError::PayloadTooLarge { .. } => 413,
            GatewayError::BodyTimeout => 408,
            GatewayError::ProviderUnavailable { .. } => 503,
            GatewayError::Unsupported { .. } | GatewayError::NoEligibleModel { .. } => 422,
            GatewayError::ModelsUnavailable { rate_limited: true, .. } => 429,
            GatewayError::ModelsUnavailable { .. } | GatewayError::AllCandidatesFailed { .. } => 503,
            GatewayError::UpstreamStream { .. } => 502,
            GatewayError::UpstreamStatus { status, .. } => *status,
            GatewayError::UpstreamTimeout { .. } => 504,
            GatewayError::UpstreamUnreachable { .. } | GatewayError::UpstreamInvalid { .. } => 502,
            GatewayError::ProviderAuthFailed { .. } => 502,
            GatewayError::BodiesInFlight => 503,
            GatewayError::Internal(_) => 500,
            GatewayError::StoreUnavailable(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Rejected(r) => r.code,
            GatewayError::InvalidRequest { code, .. } => code,
            GatewayError::UnknownEndpoint { .. } => "unknown_endpoint",
            GatewayError::MethodNotAllowed { .. } => "method_not_allowed",
            GatewayError::WebSocketNotSupported { .. } => "websocket_not_supported",
            GatewayError::UnknownModel { .. } => "model_not_found",
            GatewayError::ModelNotAllowed { .. } => "model_not_allowed",
            GatewayError::LengthRequired { .. } => "length_required",
            GatewayError::PayloadTooLarge { .. } => "request_too_large",
            GatewayError::BodyTimeout => "request_timeout",
            GatewayError::ProviderUnavailable { .. } => "provider_unavailable",
            GatewayError::Unsupported { .. } | GatewayError::NoEligibleModel { .. } => "no_eligible_model",
            GatewayError::ModelsUnavailable { rate_limited: true, .. } => "upstream_rate_limited",
            GatewayError::ModelsUnavailable { .. } => "models_unavailable",
            GatewayError::AllCandidatesFailed { .. } => "all_candidates_failed",
            GatewayError::UpstreamStream { .. } => "upstream_stream_error",
            GatewayError::UpstreamStatus { status: 429, .. } => "upstream_rate_limited",
            GatewayError::UpstreamStatus { status, .. } if *status < 500 => "upstream_rejected_request",
            GatewayError::UpstreamStatus { .. } => "upstream_error",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
            GatewayError::UpstreamUnreachable { .. } => "upstream_unreachable",
            GatewayError::UpstreamInvalid { .. } => "upstream_invalid_response",
            GatewayError::ProviderAuthFailed { .. } => "provider_auth_failed",
            GatewayError::BodiesInFlight => "too_many_request_bytes",
            GatewayError::Internal(_) => "internal_error",
            GatewayError::StoreUnavailable(_) => "store_unavailable",
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            GatewayError::Rejected(r) => r.kind.error_type(),
            GatewayError::InvalidRequest { .. }
            | GatewayError::MethodNotAllowed { .. }
            | GatewayError::WebSocketNotSupported { .. }
            | GatewayError::LengthRequired { .. }
            | GatewayError::PayloadTooLarge { .. }
            | GatewayError::BodyTimeout => "invalid_request_error",
            GatewayError::UnknownEndpoint { .. } | GatewayError::UnknownModel { .. } => "not_found_error",
            GatewayError::ModelNotAllowed { .. } => "permission_error",
            GatewayError::ModelsUnavailable { rate_limited: true, .. } => "rate_limit_error",
            GatewayError::ProviderUnavailable { .. }
            | GatewayError::Unsupported { .. }
            | GatewayError::NoEligibleModel { .. }
            | GatewayError::ModelsUnavailable { .. }
            | GatewayError::AllCandidatesFailed { .. } => "routing_error",
            GatewayError::UpstreamStatus { status: 429, .. } => "rate_limit_error",
            GatewayError::UpstreamStatus { status, .. } if *status < 500 => "invalid_request_error",
            GatewayError::UpstreamStatus { .. }
            | GatewayError::UpstreamTimeout { .. }
            | GatewayError::UpstreamUnreachable { .. }
            | GatewayError::UpstreamInvalid { .. }
            | GatewayError::UpstreamStream { .. }
            | GatewayError::ProviderAuthFailed { .. } => "upstream_error",
            GatewayError::BodiesInFlight => "overloaded_error",
            GatewayError::Internal(_) => "internal_error",
            GatewayError::StoreUnavailable(_) => "api_error",
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            GatewayError::Rejected(r) => r.param.as_deref(),
            GatewayError::InvalidRequest { param, .. } => param.as_deref(),
            GatewayError::UnknownModel { param, .. } => Some(param),
            GatewayError::ModelNotAllowed { .. } | GatewayError::Unsupported { .. } => Some("model"),
            GatewayError::NoEligibleModel { param, .. } => Some(param),
            _ => None,
        }
    }

    pub fn provider(&self) -> Option<&str> {
        match self {
            GatewayError::ProviderUnavailable { provider, .. }
            | GatewayError::UpstreamStatus { provider, .. }
            | GatewayError::UpstreamTimeout { provider }
            | GatewayError::UpstreamUnreachable { provider, .. }
            | GatewayError::UpstreamInvalid { provider, .. }
            | GatewayError::UpstreamStream { provider, .. }
            | GatewayError::ProviderAuthFailed { provider, .. } => Some(provider),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            GatewayError::Rejected(r) => r.kind.retry_after(),
            GatewayError::UpstreamStatus {
                retry_after,
                status: 429 | 503,
                ..
            } => *retry_after,
            GatewayError::ModelsUnavailable { retry_after, .. } => Some(*retry_after),
            GatewayError::BodiesInFlight => Some(1),
            _ => None,
        }
    }

    /// Server-side failures are worth a warning in the log; client mistakes are not.
    pub fn is_server_side(&self) -> bool {
        self.status() >= 500
    }

    /// The message a client gets: what carries a provider's (or a failure's) text is redacted of
    /// secrets and internal addresses.
    pub fn client_message(&self) -> String {
        let text = self.to_string();
        match self {
            GatewayError::UpstreamStatus { .. }
            | GatewayError::UpstreamStream { .. }
            | GatewayError::UpstreamInvalid { .. }
            | GatewayError::AllCandidatesFailed { .. }
            | GatewayError::Internal(_) => crate::redact::for_client(&text, &[]).into_owned(),
            _ => text,
        }
    }

    /// What the operator's log says about the error beyond its code: the message with the details
    /// clients do not get (addresses, the provider's own words on a refused credential), secrets
    /// redacted.
    pub fn log_detail(&self) -> String {
        let text = match self {
            GatewayError::UpstreamUnreachable { detail, .. } | GatewayError::ProviderAuthFailed { detail, .. } => {
                format!("{self}: {detail}")
            }
            _ => self.to_string(),
        };
        crate::redact::secrets(&text).into_owned()
    }

    /// The error as the JSON body of API.md.
    pub fn to_json(&self, request_id: &str, trace: &[TraceEntry]) -> serde_json::Value {
        let trace = crate::proxy::router_meta::trace_json(trace);
        let mut v = json!({"error": {
            "type": self.error_type(),
            "code": self.code(),
            "message": self.client_message(),
            "param": self.param(),
            "http_status": self.status(),
            "provider": self.provider(),
            "request_id": request_id,
            "rule_trace": trace,
        }});
        if let Some(secs) = self.retry_after() {
            v["error"]["retry_after_seconds"] = json!(secs);
        }
        // Extensions of the shape for the routing errors: what was tried, what was left out and why.
        match self {
            GatewayError::Rejected(r) => {
                for (k, d) in r.details.iter().flat_map(|d| d.iter()) {
                    v["error"][*k] = d.clone();
                }
            }
            GatewayError::AllCandidatesFailed { attempts, .. } => v["error"]["attempts"] = attempts.clone(),
            GatewayError::NoEligibleModel { reasons, .. } => {
                v["error"]["filtered"] = reasons.iter().map(|(m, w)| json!({"model": m, "reason": w})).collect()
            }
            _ => {}
        }
        v
    }

    pub fn body(&self, request_id: &str, trace: &[TraceEntry]) -> Bytes {
        Bytes::from(self.to_json(request_id, trace).to_string())
    }
}

impl From<Reject> for GatewayError {
    fn from(r: Reject) -> Self {
        GatewayError::Rejected(r)
    }
}

/// How a provider's error status reaches the client: the client's own mistakes keep their status,
/// rate limits stay 429, and everything else is the gateway's upstream failing (502).
pub fn client_status_for_upstream(status: u16) -> u16 {
    match status {
        400 | 413 | 422 | 429 => status,
        _ => 502,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::RejectKind;

    #[test]
    fn renders_contract_shape() {
        let e = GatewayError::invalid("messages[0].content", "expected a string");
        let v = e.to_json("req_1", &[]);
        assert_eq!(v["error"]["http_status"], 400);
        assert_eq!(v["error"]["param"], "messages[0].content");
        assert_eq!(v["error"]["code"], "invalid_request");
        assert_eq!(v["error"]["provider"], serde_json::Value::Null);
        assert_eq!(v["error"]["request_id"], "req_1");
        assert!(v["error"]["rule_trace"].as_array().unwrap().is_empty());
    }

    #[test]
    fn upstream_statuses_map() {
        assert_eq!(client_status_for_upstream(400), 400);
        assert_eq!(client_status_for_upstream(401), 502);
        assert_eq!(client_status_for_upstream(429), 429);
        assert_eq!(client_status_for_upstream(503), 502);
        let e = GatewayError::UpstreamStatus {
            provider: "p".into(),
            status: 429,
            upstream_status: 429,
            message: "slow down".into(),
            retry_after: Some(3),
        };
        assert_eq!(
            (e.status(), e.code(), e.retry_after(), e.provider()),
            (429, "upstream_rate_limited", Some(3), Some("p"))
        );
        let r = GatewayError::from(Reject::new(
            RejectKind::RateLimited { retry_after_secs: 7 },
            "rate_limited",
            "x",
        ));
        assert_eq!((r.status(), r.retry_after()), (429, Some(7)));
    }

    #[test]
    fn clients_get_no_secret_and_no_address_the_log_gets_the_detail() {
        let auth = GatewayError::ProviderAuthFailed {
            provider: "openai".into(),
            upstream_status: 401,
            detail: "Incorrect API key provided: sk-proj-abcdefgh12345678".into(),
        };
        let v = auth.to_json("r", &[]);
        assert_eq!(
            (v["error"]["http_status"].as_u64(), v["error"]["code"].as_str()),
            (Some(502), Some("provider_auth_failed"))
        );
        assert!(!v.to_string().contains("Incorrect API key"), "{v}");
        assert!(auth.log_detail().contains("Incorrect API key provided: [redacted]"));
        let down = GatewayError::UpstreamUnreachable {
            provider: "vllm".into(),
            detail: "Fail to connect to addr: 10.1.2.3:8000".into(),
        };
        assert!(!down.to_json("r", &[]).to_string().contains("10.1.2.3"));
        assert!(down.log_detail().contains("10.1.2.3:8000"));
        let said = GatewayError::UpstreamStatus {
            provider: "p".into(),
            status: 400,
            upstream_status: 400,
            message: "bad key sk-abcdefghijkl at http://10.0.0.1/v1".into(),
            retry_after: None,
        };
        assert_eq!(said.client_message(), "bad key [redacted] at [address]");
    }
}
