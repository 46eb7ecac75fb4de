//! Route resolution: from the request's `model` to the ordered list of candidates that `upstream_peer`
//! tries in turn. A named model is pinned (then the caller's `fallback` chain and a policy's chain);
//! `auto`, `router` and `auto:<mode>` are routed by `auto` (classify, filter, score, choose).

pub mod auto;
pub mod classify;
pub mod health;
pub mod score;
pub mod sessions;

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ResponseFormat};
use switchyard_sdk::{Exchange, Identity, Money};

use crate::api::Schema;
use crate::config::{AliasTarget, Model, ProviderKind, Snapshot};
use crate::error::GatewayError;
use crate::translate;
use health::Health;
use sessions::Sessions;

/// Output tokens assumed for a cost estimate when the request sets no `max_tokens`.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 256;

/// Routing state learned from traffic, and the preferences workspaces stored; it outlives config
/// reloads.
#[derive(Default)]
pub struct RouterState {
    pub health: Arc<Health>,
    pub sessions: Sessions,
    /// Preferences stored through `/v1/preferences` (mirrored from the store).
    pub stored_prefs: Arc<crate::store::prefs::Stored>,
}

impl RouterState {
    /// Whether the request log keeps this workspace's prompts and answers (cheap: no copy of the
    /// preferences; the request path asks it for every request).
    pub fn content_mode(&self, snap: &Snapshot, id: Option<&Identity>) -> crate::config::routing::ContentMode {
        let Some(ws) = id.map(|i| &*i.workspace) else {
            return crate::config::routing::ContentMode::Metadata;
        };
        if let Some(c) = self.stored_prefs.get(ws).and_then(|o| o.content_mode()) {
            return c;
        }
        snap.routing
            .workspaces
            .get(ws)
            .map(|p| p.content_mode)
            .unwrap_or_default()
    }

    /// A workspace's preferences: the YAML's (`workspaces.<name>`), with what it stored laid over them.
    pub fn preferences<'a>(
        &self,
        snap: &'a Snapshot,
        id: Option<&Identity>,
    ) -> Option<std::borrow::Cow<'a, crate::config::routing::Preferences>> {
        let ws = &*id?.workspace;
        let yaml = snap.routing.workspaces.get(ws);
        match self.stored_prefs.get(ws) {
            Some(o) => Some(std::borrow::Cow::Owned(o.apply(yaml))),
            None => yaml.map(std::borrow::Cow::Borrowed),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Route {
    /// Tried in order; the first is the choice, the rest the fallback chain.
    pub candidates: Vec<Arc<Model>>,
    /// `pinned`, or the mode `auto` used.
    pub mode: &'static str,
    pub reason: String,
    /// Pre-flight cost estimate for the first candidate.
    pub estimated_cost: Money,
    /// The classifier's view of the prompt (`auto` only).
    pub classification: Option<RouteClass>,
    /// The best-scored models with their terms (`auto` only).
    pub scored: Vec<score::ScoredShown>,
    /// Models left out, and why.
    pub filtered: Vec<(String, String)>,
    pub policy: Option<String>,
    /// The A/B arm drawn, when a split applied.
    pub split_arm: Option<String>,
    /// The session kept this model.
    pub sticky: bool,
}

/// A route's classification: the classifier's (kept as the struct, serialized once where the `router`
/// object is written), or one an endpoint states (the Images API: `image_generation`, by definition).
#[derive(Debug, Clone, PartialEq)]
pub enum RouteClass {
    Classified(classify::Classification),
    Stated(Value),
}

impl RouteClass {
    pub fn task(&self) -> Option<&'static str> {
        match self {
            RouteClass::Classified(c) => Some(c.task.as_str()),
            RouteClass::Stated(v) => v
                .get("task")
                .and_then(Value::as_str)
                .and_then(classify::Task::parse)
                .map(classify::Task::as_str),
        }
    }

    pub fn tier(&self) -> Option<&'static str> {
        match self {
            RouteClass::Classified(c) => Some(c.complexity_tier.as_str()),
            RouteClass::Stated(v) => v
                .get("complexity_tier")
                .and_then(Value::as_str)
                .and_then(classify::Tier::parse)
                .map(classify::Tier::as_str),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            RouteClass::Classified(c) => c.to_json(),
            RouteClass::Stated(v) => v.clone(),
        }
    }
}

impl serde::Serialize for RouteClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RouteClass::Classified(c) => c.serialize(s),
            RouteClass::Stated(v) => v.serialize(s),
        }
    }
}

/// What a routing decision needs besides the snapshot.
pub struct RouteInput<'a> {
    pub snap: &'a Snapshot,
    pub ex: &'a Exchange,
    pub schema: Schema,
    /// The `x-jt-route` header, which wins over body fields.
    pub header_mode: Option<&'a str>,
    /// `x-jt-no-fallback: true`: try the first candidate only.
    pub no_fallback: bool,
    pub state: &'a RouterState,
}

/// Estimated cost of `req` on `m`: estimated input tokens at the input price plus the output budget
/// (`max_tokens`, else a default, capped by the model's maximum) at the output price.
pub fn estimate_cost(m: &Model, req: &ChatRequest) -> Money {
    estimate_cost_for(m, req.estimated_input_tokens(), req.max_tokens)
}

pub fn estimate_cost_for(m: &Model, input_tokens: u64, max_tokens: Option<u32>) -> Money {
    let output = max_tokens.map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from).min(m.max_output);
    m.pricing
        .input
        .cost(input_tokens)
        .saturating_add(m.pricing.output.cost(output))
}

/// The most a request can cost on `m`: the prompt's estimate plus `max_tokens` (else the model's
/// output cap), at its prices. What cost caps reserve.
pub fn max_cost(m: &Model, req: &ChatRequest) -> Money {
    let output = req.max_tokens.map_or(m.max_output, u64::from).min(m.max_output.max(1));
    m.pricing
        .input
        .cost(req.estimated_input_tokens())
        .saturating_add(m.pricing.output.cost(output))
}

/// The model `name` (id or alias) if this caller may use it.
fn usable(
    snap: &Snapshot,
    id: Option<&Identity>,
    name: &str,
    param: &'static str,
    byok: &[Arc<str>],
) -> Result<Arc<Model>, GatewayError> {
    let m = snap.catalog.get(name).ok_or_else(|| GatewayError::UnknownModel {
        model: name.to_string(),
        param,
        closest: String::new(),
    })?;
    permitted_with(m, id, name, byok)?;
    Ok(m.clone())
}

/// Whether the caller may see `m` at all: its scopes allow the model (by id or an alias) and a test
/// key sees simulated models only. What a caller may not see is never named to it, not even as a
/// model left out of a routing decision.
pub fn visible(m: &Model, id: Option<&Identity>) -> bool {
    id.is_none_or(|id| {
        (id.scopes.allows_model(&m.id) || m.aliases.iter().any(|a| id.scopes.allows_model(a)))
            && (!id.test_key || m.provider.kind == ProviderKind::Mock)
    })
}

/// Whether the caller may use `m` (named `name`) and its provider can serve at all.
pub fn permitted(m: &Arc<Model>, id: Option<&Identity>, name: &str) -> Result<(), GatewayError> {
    permitted_with(m, id, name, &[])
}

/// Like [`permitted`], for a request that brought its own key for the providers in `byok`: such a
/// provider is usable even without a configured key.
pub fn permitted_with(
    m: &Arc<Model>,
    id: Option<&Identity>,
    name: &str,
    byok: &[Arc<str>],
) -> Result<(), GatewayError> {
    if let Some(id) = id {
        if !(id.scopes.allows_model(&m.id) || id.scopes.allows_model(name)) {
            return Err(GatewayError::ModelNotAllowed {
                model: name.to_string(),
            });
        }
        if id.test_key && m.provider.kind != ProviderKind::Mock {
            return Err(GatewayError::ModelNotAllowed {
                model: format!("{name} (test keys reach simulated models only)"),
            });
        }
    }
    if !m.provider.available() && !byok.contains(&m.provider.name) {
        return Err(GatewayError::ProviderUnavailable {
            provider: m.provider.name.to_string(),
            message: format!(
                "provider {} has no API key configured, so {} cannot be served",
                m.provider.name, m.id
            ),
        });
    }
    Ok(())
}

/// Why `m` cannot serve `req` for a client speaking `schema`, if it cannot: a capability the catalog
/// does not list, or something its provider's API cannot carry.
pub fn ineligibility(m: &Model, req: &ChatRequest, schema: Schema) -> Option<String> {
    // Anthropic's own tools are not among `tools` (only Anthropic runs them), but need a tool model.
    let typed_tools = req.unknown_fields.iter().any(|f| f.starts_with("tools["));
    let needs: [(bool, &str); 4] = [
        (!req.tools.is_empty() || typed_tools, "tools"),
        (req.has_images(), "vision"),
        (
            matches!(req.response_format, Some(ResponseFormat::JsonSchema { .. })),
            "json_schema",
        ),
        (
            matches!(req.response_format, Some(ResponseFormat::JsonObject)) && !m.has("json_schema"),
            "json_mode",
        ),
    ];
    if let Some((_, cap)) = needs.iter().find(|(needed, cap)| *needed && !m.has(cap)) {
        return Some(format!("the catalog does not list the {cap} capability for {}", m.id));
    }
    if let Some((e, cap)) = req
        .billed_extras
        .iter()
        .find_map(|e| e.needs.filter(|cap| !m.has(cap)).map(|cap| (e, cap)))
    {
        return Some(format!(
            "{} needs the {cap} capability, which the catalog does not list for {}",
            e.param, m.id
        ));
    }
    translate::check(schema, req, m).err()
}

/// Whether the request's `model` asks for automatic routing, and in which mode if it names one.
pub fn auto_mode(model: &str) -> Option<Option<&str>> {
    match model {
        "auto" | "router" => Some(None),
        m => m.strip_prefix("auto:").map(Some),
    }
}

pub fn resolve(input: &RouteInput) -> Result<Route, GatewayError> {
    let req = input
        .ex
        .request()
        .ok_or_else(|| GatewayError::Internal("route before parse".into()))?;
    if let Some(mode) = auto_mode(&req.model) {
        return auto::resolve(input, req, mode);
    }
    let catalog = &input.snap.catalog;
    if catalog.get(&req.model).is_none() {
        if let Some(rule) = catalog.alias_rule(&req.model) {
            let via = format!("{} matched alias {:?}", req.model, rule.pattern);
            let mut route = match &rule.target {
                AliasTarget::Auto(word) => auto::resolve(input, req, auto_mode(word).flatten())?,
                AliasTarget::Models(chain) => pinned(input, req, &chain[0], &chain[1..])?,
            };
            route.reason = format!("{via}; {}", route.reason);
            return Ok(route);
        }
        let closest = catalog.closest(&req.model, 3);
        if !closest.is_empty() {
            return Err(GatewayError::UnknownModel {
                model: req.model.clone(),
                param: "model",
                closest: closest.join(", "),
            });
        }
    }
    pinned(input, req, &req.model, &[])
}

/// The model `name` (the request's, or an alias rule's first), then the rule's chain, the caller's
/// `fallback` chain, then a matching policy's chain.
fn pinned(input: &RouteInput, req: &ChatRequest, name: &str, alias_chain: &[String]) -> Result<Route, GatewayError> {
    let (snap, ex) = (input.snap, input.ex);
    let first = usable(snap, ex.identity.as_ref(), name, "model", &ex.byok_providers)?;
    if let Some(reason) = auto::hinted_out(&first, &req.routing) {
        return Err(GatewayError::NoEligibleModel {
            reasons: vec![(first.id.clone(), reason)],
            param: "model",
        });
    }
    if let Some(reason) = ineligibility(&first, req, input.schema) {
        return Err(GatewayError::Unsupported {
            model: first.id.clone(),
            reason,
        });
    }
    let id = ex.identity.as_ref();
    let policy = snap.routing.policy_for(
        id.map(|i| &*i.key_name),
        id.map(|i| &*i.workspace),
        &req.model,
        &req.metadata,
    );
    let mut reason = format!("model {} pinned by the request", first.id);
    let mut filtered = Vec::new();
    let mut candidates = vec![first];
    let chain = alias_chain
        .iter()
        .map(|c| (c.as_str(), "alias chain"))
        .chain(req.routing.fallback.iter().map(|f| (f.as_str(), "fallback")))
        .chain(
            policy
                .into_iter()
                .flat_map(|p| p.chain.iter().map(|c| (c.as_str(), "policy chain"))),
        );
    for (name, origin) in chain {
        let m = match origin {
            "fallback" => usable(snap, id, name, "fallback", &ex.byok_providers)?,
            _ => match snap.catalog.get(name) {
                Some(m) if permitted_with(m, id, name, &ex.byok_providers).is_ok() => m.clone(),
                _ => continue,
            },
        };
        if candidates.iter().any(|c| c.id == m.id) {
            continue;
        }
        match auto::hinted_out(&m, &req.routing).or_else(|| ineligibility(&m, req, input.schema)) {
            Some(why) => {
                reason.push_str(&format!("; {origin} {} skipped: {why}", m.id));
                filtered.push((m.id.clone(), why));
            }
            None => candidates.push(m),
        }
    }
    // Models whose circuit is open are skipped while another candidate remains.
    let health = &input.state.health;
    let caller = id.map(|i| health.caller(&i.key_id));
    let mut unavailable = Vec::new();
    candidates.retain(|m| match health.available(&m.id, &m.provider.name, caller) {
        Ok(()) => true,
        Err(u) => {
            unavailable.push((m.id.clone(), u));
            false
        }
    });
    if candidates.is_empty() {
        let retry_in = unavailable.iter().map(|(_, u)| u.retry_in()).min().unwrap_or_default();
        let why: Vec<String> = unavailable
            .iter()
            .map(|(m, u)| format!("{m}: {}", u.describe()))
            .collect();
        let rate_limited = unavailable
            .iter()
            .all(|(_, u)| matches!(u, health::Unavailable::CoolingDown { .. }));
        return Err(GatewayError::ModelsUnavailable {
            message: why.join("; "),
            retry_after: retry_in.as_secs().max(1),
            rate_limited,
        });
    }
    for (m, u) in unavailable {
        reason.push_str(&format!("; {m} skipped: {}", u.describe()));
        filtered.push((m, u.describe()));
    }
    if input.no_fallback {
        candidates.truncate(1);
    }
    candidates.truncate(snap.server.max_attempts);
    let estimated_cost = estimate_cost(&candidates[0], req);
    Ok(Route {
        reason,
        candidates,
        mode: "pinned",
        estimated_cost,
        filtered,
        policy: policy.map(|p| p.name.clone()),
        ..Default::default()
    })
}

/// The decision `auto` makes for `prompt` with this snapshot and no traffic history, as JSON: what
/// `switchyard route --explain` prints.
pub fn explain(
    snap: &Snapshot,
    prompt: &str,
    mode: Option<&str>,
    max_tokens: Option<u32>,
    budget: Option<Money>,
    test_key: bool,
) -> Result<Value, GatewayError> {
    let mut req = ChatRequest {
        model: mode.map_or_else(|| "auto".to_string(), |m| format!("auto:{m}")),
        messages: vec![switchyard_sdk::ir::Message::text(
            switchyard_sdk::ir::Role::User,
            prompt,
        )],
        max_tokens,
        ..Default::default()
    };
    req.routing.budget = budget;
    let mut ex = Exchange::new("explain".into(), switchyard_sdk::Endpoint::ChatCompletions);
    ex.classifier = Some(snap.classifier.clone());
    ex.set_request(req);
    ex.classification();
    if test_key {
        ex.identity = Some(switchyard_sdk::Identity {
            key_id: "explain".into(),
            key_name: "explain".into(),
            workspace: "explain".into(),
            test_key: true,
            // A test key that may use every model: what it can reach is the simulated ones.
            scopes: std::sync::Arc::new(switchyard_sdk::Scopes {
                endpoints: vec!["*".into()],
                models: vec!["*".into()],
            }),
            limits: Default::default(),
        });
    }
    let state = RouterState::default();
    let input = RouteInput {
        snap,
        ex: &ex,
        schema: Schema::OpenAiChat,
        header_mode: None,
        no_fallback: false,
        state: &state,
    };
    let route = resolve(&input)?;
    Ok(serde_json::json!({
        "classification": route.classification,
        "mode": route.mode,
        "model": route.candidates.first().map(|m| m.id.as_str()),
        "chain": route.candidates.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        "reason": route.reason,
        "estimated_cost_dollars": route.estimated_cost.as_dollars_f64(),
        "candidates": route.scored,
        "filtered": route.filtered.iter().map(|(m, w)| serde_json::json!({"model": m, "reason": w})).collect::<Vec<_>>(),
    }))
}
