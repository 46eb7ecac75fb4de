//! The [`Exchange`]: what the phases of one request see and share: who is calling, what they asked
//! for (as the canonical request), and the trace of what the phases did.

use std::sync::Arc;

use crate::ir::ChatRequest;
use crate::money::Money;

/// The endpoints a key's scopes can name. `scope()` groups them into the scope words used in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    ChatCompletions,
    Responses,
    Messages,
    Models,
    /// One catalog model: `GET /v1/models/{provider}/{model}`.
    ModelInfo,
    /// Catalog browsing and routing answers without inference (suggest, price comparison, health, ...).
    Catalog,
    /// `POST /v1/auto/feedback`.
    Feedback,
    /// `POST /v1/auto/route`: classify, choose, call, and answer with the whole decision.
    AutoRoute,
    /// `POST /v1/models/route`: explicit filters, then call.
    ModelsRoute,
    /// `POST /v1/images/generations`.
    Images,
    Health,
}

impl Endpoint {
    /// The scope word a key needs for this endpoint.
    pub fn scope(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions
            | Endpoint::Responses
            | Endpoint::Messages
            | Endpoint::AutoRoute
            | Endpoint::ModelsRoute
            | Endpoint::Images => "inference",
            Endpoint::Models | Endpoint::ModelInfo | Endpoint::Catalog | Endpoint::Feedback => "catalog",
            Endpoint::Health => "health",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::Models => "models",
            Endpoint::ModelInfo => "model_info",
            Endpoint::Catalog => "catalog",
            Endpoint::Feedback => "feedback",
            Endpoint::AutoRoute => "auto_route",
            Endpoint::ModelsRoute => "models_route",
            Endpoint::Images => "images",
            Endpoint::Health => "health",
        }
    }

    /// Endpoints that reach a model.
    pub fn is_inference(self) -> bool {
        self.scope() == "inference"
    }
}

/// Which endpoints and models a key may use. Model patterns are catalog ids or aliases, with `*` as a
/// wildcard at the end (`sim/*`) or alone (`*`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scopes {
    pub endpoints: Vec<String>,
    pub models: Vec<String>,
}

impl Scopes {
    pub fn allows_endpoint(&self, e: Endpoint) -> bool {
        self.endpoints.iter().any(|s| s == "*" || s == e.scope())
    }

    pub fn allows_model(&self, id: &str) -> bool {
        self.models.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => p == id,
        })
    }
}

/// Per-key limits. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyLimits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub cost_cap: Option<Money>,
}

/// The authenticated caller. Never holds the key itself.
#[derive(Debug, Clone)]
pub struct Identity {
    pub key_name: Arc<str>,
    pub workspace: Arc<str>,
    pub test_key: bool,
    pub scopes: Arc<Scopes>,
    pub limits: Arc<KeyLimits>,
}

/// One line of the trace of why things happened: which phase, which rule, what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    pub phase: &'static str,
    pub rule: String,
    pub action: String,
    pub detail: String,
}

/// The state the phases of one request share.
#[derive(Debug)]
pub struct Exchange {
    pub request_id: String,
    pub endpoint: Endpoint,
    pub identity: Option<Identity>,
    /// The request body's declared length, if the client declared one.
    pub declared_body_len: Option<u64>,
    /// The canonical request, once the body is parsed.
    pub request: Option<ChatRequest>,
    /// Set by a phase that rewrote message content, so renderers re-render instead of passing through.
    pub request_modified: bool,
    pub trace: Vec<TraceEntry>,
}

impl Exchange {
    pub fn new(request_id: String, endpoint: Endpoint) -> Self {
        Exchange {
            request_id,
            endpoint,
            identity: None,
            declared_body_len: None,
            request: None,
            request_modified: false,
            trace: Vec::new(),
        }
    }
}
