//! Route resolution: from the request's `model` (and the caller's `fallback` chain) to the ordered
//! list of candidate models that `upstream_peer` tries in turn.

pub mod classify;

use std::sync::Arc;

use switchyard_sdk::ir::{ChatRequest, ResponseFormat};
use switchyard_sdk::{Exchange, Identity, Money};

use crate::api::Schema;
use crate::config::{Model, ProviderKind, Snapshot};
use crate::error::GatewayError;
use crate::providers;

/// Output tokens assumed for a cost estimate when the request sets no `max_tokens`.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 256;

#[derive(Debug, Clone)]
pub struct Route {
    /// Tried in order; the first is the choice, the rest the fallback chain.
    pub candidates: Vec<Arc<Model>>,
    /// `pinned` for a model named by the request.
    pub mode: &'static str,
    pub reason: String,
    /// Pre-flight cost estimate for the first candidate.
    pub estimated_cost: Money,
}

/// Estimated cost of `req` on `m`: estimated input tokens at the input price plus the output budget
/// (`max_tokens`, else a default, capped by the model's maximum) at the output price.
pub fn estimate_cost(m: &Model, req: &ChatRequest) -> Money {
    let input = req.estimated_input_tokens();
    let output = req
        .max_tokens
        .map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from)
        .min(m.max_output);
    m.pricing
        .input
        .cost(input)
        .saturating_add(m.pricing.output.cost(output))
}

/// The model `name` (id or alias) if this caller may use it.
fn usable(snap: &Snapshot, id: Option<&Identity>, name: &str, param: &'static str) -> Result<Arc<Model>, GatewayError> {
    let m = snap.catalog.get(name).ok_or_else(|| GatewayError::UnknownModel {
        model: name.to_string(),
        param,
    })?;
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
    if !m.provider.available() {
        return Err(GatewayError::ProviderUnavailable {
            provider: m.provider.name.to_string(),
            message: format!(
                "provider {} has no API key configured, so {} cannot be served",
                m.provider.name, m.id
            ),
        });
    }
    Ok(m.clone())
}

/// Why `m` cannot serve `req` for a client speaking `schema`, if it cannot: a capability the catalog
/// does not list, or something its provider's API cannot carry.
pub fn ineligibility(m: &Model, req: &ChatRequest, schema: Schema) -> Option<String> {
    let needs: [(bool, &str); 4] = [
        (!req.tools.is_empty(), "tools"),
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
    providers::check(schema, req, m).err()
}

pub fn resolve(snap: &Snapshot, ex: &Exchange, schema: Schema) -> Result<Route, GatewayError> {
    let req = ex
        .request
        .as_ref()
        .ok_or_else(|| GatewayError::Internal("route before parse".into()))?;
    let name = req.model.as_str();
    if name == "auto" || name == "router" || name.starts_with("auto:") {
        return Err(GatewayError::InvalidRequest {
            code: "routing_unavailable",
            message: "automatic routing is not enabled on this gateway; name a catalog model (GET /v1/models)".into(),
            param: Some("model".into()),
        });
    }
    let first = usable(snap, ex.identity.as_ref(), name, "model")?;
    if let Some(reason) = ineligibility(&first, req, schema) {
        return Err(GatewayError::Unsupported {
            model: first.id.clone(),
            reason,
        });
    }
    let mut reason = format!("model {} pinned by the request", first.id);
    let mut candidates = vec![first];
    for f in &req.routing.fallback {
        let m = usable(snap, ex.identity.as_ref(), f, "fallback")?;
        if candidates.iter().any(|c| c.id == m.id) {
            continue;
        }
        match ineligibility(&m, req, schema) {
            Some(why) => reason.push_str(&format!("; fallback {} skipped: {why}", m.id)),
            None => candidates.push(m),
        }
    }
    let estimated_cost = estimate_cost(&candidates[0], req);
    Ok(Route {
        reason,
        candidates,
        mode: "pinned",
        estimated_cost,
    })
}
