//! The [`Exchange`]: what the phases of one request see and share: who is calling, what they asked
//! for (as the canonical request), and the trace of what the phases did.

use std::any::Any;
use std::sync::Arc;

use crate::classify::{Classification, Classify};
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
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1/rules/preview`: the firewall, rules and routing decision without an upstream call.
    RulesPreview,
    Health,
    /// `GET /v1/org/logs`: the workspace's request log (the admin listener's export is all workspaces).
    Logs,
    /// `GET /v1/wallet`: the workspace's prepaid balance and ledger.
    Wallet,
    /// `GET /v1/preferences`, `PUT`/`DELETE /v1/preferences/{key}`, `GET /v1/preferences/suggestions`.
    Preferences,
    /// `POST /v1/webhooks/polar`: signed, not authenticated by a key.
    Webhook,
    /// A path no endpoint serves (counted and logged as `unknown`).
    Unknown,
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
            | Endpoint::Images
            | Endpoint::CountTokens => "inference",
            Endpoint::Models
            | Endpoint::ModelInfo
            | Endpoint::Catalog
            | Endpoint::Feedback
            | Endpoint::RulesPreview => "catalog",
            Endpoint::Logs => "logs",
            Endpoint::Wallet => "wallet",
            Endpoint::Preferences => "preferences",
            Endpoint::Webhook => "webhook",
            Endpoint::Health | Endpoint::Unknown => "health",
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
            Endpoint::CountTokens => "count_tokens",
            Endpoint::RulesPreview => "rules_preview",
            Endpoint::Health => "health",
            Endpoint::Logs => "logs",
            Endpoint::Wallet => "wallet",
            Endpoint::Preferences => "preferences",
            Endpoint::Webhook => "webhook",
            Endpoint::Unknown => "unknown",
        }
    }

    /// Endpoints a request may call without a key (liveness; a webhook, which is signed instead).
    pub fn is_open(self) -> bool {
        matches!(self, Endpoint::Health | Endpoint::Webhook)
    }

    /// Endpoints that reach a model.
    pub fn is_inference(self) -> bool {
        self.scope() == "inference"
    }

    /// Endpoints whose answer is a model's answer in a client schema (chat, Responses, Messages).
    pub fn is_chat(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions | Endpoint::Responses | Endpoint::Messages
        )
    }
}

/// Which endpoints and models a key may use. Model patterns are catalog ids or aliases, with `*` as a
/// wildcard at the end (`sim/*`) or alone (`*`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scopes {
    pub endpoints: Vec<String>,
    pub models: Vec<String>,
}

/// The scope word for request fields billed outside token pricing (`ir::BilledExtra`). Not part
/// of `*`: a key has it only when its scopes name it.
pub const COSTLY_FEATURES: &str = "costly_features";

impl Scopes {
    pub fn allows_endpoint(&self, e: Endpoint) -> bool {
        self.endpoints.iter().any(|s| s == "*" || s == e.scope())
    }

    /// Whether the scopes name `word` itself (`*` does not grant it): for scopes that are off unless
    /// given, such as [`COSTLY_FEATURES`].
    pub fn grants(&self, word: &str) -> bool {
        self.endpoints.iter().any(|s| s == word)
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
    /// Requests per minute to every endpoint but the catalog's.
    pub requests_per_minute: Option<u32>,
    /// Requests per minute to the catalog endpoints (`None`: the ratelimit plugin's default).
    pub catalog_requests_per_minute: Option<u32>,
    /// Prompt and answer tokens per minute (the prompt's estimate is held at admission).
    pub tokens_per_minute: Option<u32>,
    /// Requests in flight at once.
    pub concurrent_requests: Option<u32>,
    /// Spend caps (all time, per UTC day, per UTC month), reserved before the upstream call.
    pub cost_cap: Option<Money>,
    pub daily_cost_cap: Option<Money>,
    pub monthly_cost_cap: Option<Money>,
}

/// The authenticated caller. Never holds the key itself.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The key's stable identity: counters and spend belong to it, not to its secret or name.
    pub key_id: Arc<str>,
    pub key_name: Arc<str>,
    pub workspace: Arc<str>,
    pub test_key: bool,
    pub scopes: Arc<Scopes>,
    pub limits: Arc<KeyLimits>,
}

/// One rule's (or policy's) part in the trace of why things happened: which phase, which rule, the
/// conditions it evaluated with their results, whether it fired, and what it did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceEntry {
    pub phase: &'static str,
    pub rule: String,
    /// Each condition evaluated, with its result, in order.
    pub conditions: Vec<(String, bool)>,
    pub fired: bool,
    /// What the rule did (empty when it did not fire).
    pub actions: Vec<String>,
    pub detail: String,
}

/// One firewall action applied to this request or its answer. Never holds the matched text itself.
#[derive(Debug, Clone, PartialEq)]
pub struct FirewallEntry {
    /// Shared with the compiled rule and the other entries of a request (a prompt that matches
    /// dozens of rules reports dozens of entries: copying these was most of the reporting's cost).
    pub policy: std::sync::Arc<str>,
    pub rule: std::sync::Arc<str>,
    /// `block`, `mask` or `warn`.
    pub action: &'static str,
    /// `prompt`, `response` or `metadata`.
    pub scope: &'static str,
    /// What matched, redacted (e.g. `j***@e***.com`, `sk-p…(51)`), never the secret itself.
    pub sample: String,
    /// Where it matched (`messages[1].content`, `answer`).
    pub location: std::sync::Arc<str>,
}

/// The routing decision, as the phases that run after it see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// The catalog id of the first candidate.
    pub model: String,
    pub provider: Arc<str>,
    /// How many candidates the chain has (the first, then its fallbacks).
    pub candidates: usize,
    /// The pre-flight estimate for the first candidate (the most any candidate of the chain is
    /// estimated at, so a fallback to a dearer model stays covered).
    pub estimated_cost: Money,
    /// The most the request can cost: the prompt's estimate plus `max_tokens` (else the model's
    /// output cap) at the dearest candidate's prices. Cost caps reserve it.
    pub max_cost: Money,
    /// The routing policy that matched, if one did.
    pub policy: Option<String>,
}

/// The state the phases of one request share.
pub struct Exchange {
    pub request_id: String,
    pub endpoint: Endpoint,
    pub identity: Option<Identity>,
    /// The request body's declared length, if the client declared one.
    pub declared_body_len: Option<u64>,
    /// The address the client connected from (the peer of the TCP connection; `None` on a Unix
    /// socket).
    pub client_ip: Option<std::net::IpAddr>,
    /// The client's schema: `chat`, `responses` or `messages` (empty for other endpoints).
    pub client_schema: &'static str,
    request: Option<ChatRequest>,
    request_modified: bool,
    /// The core's classifier; [`Exchange::classification`] runs it at most once.
    pub classifier: Option<Arc<dyn Classify>>,
    classification: Option<Arc<Classification>>,
    /// The catalog id of the model whose answer the response-side hooks are looking at.
    pub answering_model: Option<String>,
    /// The rule trace: `router.rule_trace` on answers, `rule_trace` on errors, and the log.
    pub trace: Vec<TraceEntry>,
    /// Firewall actions: `router.firewall`, the log and the firewall metric.
    pub firewall: Vec<FirewallEntry>,
    /// Headers the client's response carries (rate-limit state, cache status, ...).
    pub response_headers: Vec<(&'static str, String)>,
    /// Tags for the log and the `router` object (an A/B tag, a rule's labels).
    pub tags: Vec<(String, String)>,
    /// The route chosen, once it is (see [`crate::Phase::on_routed`]).
    pub routed: Option<Routed>,
    /// The providers this request brought its own key for (`X-OpenAI-Key` & co.; names only, never
    /// the keys): the router prefers them when candidates are otherwise equal.
    pub byok_providers: Vec<Arc<str>>,
    /// The chosen provider's key is the caller's own: the request is billed as `byok`.
    pub byok: bool,
    /// Per-request state of phases, keyed by phase name (e.g. what the request stage decided that the
    /// answer stage needs).
    phase_data: Vec<(&'static str, Box<dyn Any + Send + Sync>)>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("request_id", &self.request_id)
            .field("endpoint", &self.endpoint)
            .field("identity", &self.identity)
            .field("request", &self.request)
            .field("request_modified", &self.request_modified)
            .field("trace", &self.trace)
            .field("firewall", &self.firewall)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    pub fn new(request_id: String, endpoint: Endpoint) -> Self {
        Exchange {
            request_id,
            endpoint,
            identity: None,
            declared_body_len: None,
            client_ip: None,
            client_schema: "",
            request: None,
            request_modified: false,
            classifier: None,
            classification: None,
            answering_model: None,
            trace: Vec::new(),
            firewall: Vec::new(),
            response_headers: Vec::new(),
            tags: Vec::new(),
            routed: None,
            byok_providers: Vec::new(),
            byok: false,
            phase_data: Vec::new(),
        }
    }

    /// The canonical request, once the body is parsed.
    pub fn request(&self) -> Option<&ChatRequest> {
        self.request.as_ref()
    }

    /// The canonical request, to edit: marks it modified, so the provider gets a request rendered
    /// from it on every path (a same-schema pass-through is re-rendered instead of sent as it came).
    pub fn request_mut(&mut self) -> Option<&mut ChatRequest> {
        if self.request.is_some() {
            self.request_modified = true;
            self.classification = None;
        }
        self.request.as_mut()
    }

    /// The routing controls (the model asked for and the hints): editing them changes the routing
    /// decision, not what the provider receives, so the request is not marked modified.
    pub fn routing_mut(&mut self) -> Option<(&mut String, &mut crate::ir::RoutingHints)> {
        self.request.as_mut().map(|r| (&mut r.model, &mut r.routing))
    }

    /// Set the parsed request (the core does, once the body is read); not a modification.
    pub fn set_request(&mut self, req: ChatRequest) {
        self.request = Some(req);
        self.request_modified = false;
        self.classification = None;
    }

    /// Take the request out (the core, when a flow ends).
    pub fn take_request(&mut self) -> Option<ChatRequest> {
        self.request.take()
    }

    /// Whether a phase edited the request through [`Exchange::request_mut`].
    pub fn request_modified(&self) -> bool {
        self.request_modified
    }

    /// The prompt's classification, computed on first use (at most once per request).
    pub fn classification(&mut self) -> Option<Arc<Classification>> {
        if self.classification.is_none() {
            if let (Some(c), Some(r)) = (&self.classifier, &self.request) {
                self.classification = Some(Arc::new(c.classify(r)));
            }
        }
        self.classification.clone()
    }

    /// The classification if it was already computed (no work).
    pub fn classification_if_known(&self) -> Option<&Arc<Classification>> {
        self.classification.as_ref()
    }

    /// Use `c` as the request's classification (e.g. the caller's own task replaced the classifier's).
    pub fn set_classification(&mut self, c: Classification) {
        self.classification = Some(Arc::new(c));
    }

    /// Keep per-request state for phase `phase` (replacing what it kept before).
    pub fn put_data<T: Any + Send + Sync>(&mut self, phase: &'static str, value: T) {
        self.phase_data.retain(|(p, _)| *p != phase);
        self.phase_data.push((phase, Box::new(value)));
    }

    /// The state phase `phase` kept for this request.
    pub fn data<T: Any + Send + Sync>(&self, phase: &'static str) -> Option<&T> {
        self.phase_data
            .iter()
            .find(|(p, _)| *p == phase)
            .and_then(|(_, v)| v.downcast_ref::<T>())
    }

    pub fn data_mut<T: Any + Send + Sync>(&mut self, phase: &'static str) -> Option<&mut T> {
        self.phase_data
            .iter_mut()
            .find(|(p, _)| *p == phase)
            .and_then(|(_, v)| v.downcast_mut::<T>())
    }
}
