//! `GET /v1/models`: the catalog in OpenAI's list shape, with Switchyard's catalog fields, limited to
//! the models the calling key may use. Filters: `provider`, `capabilities` (comma-separated, all
//! required), `task_type` (models with a quality score for it), `category` (a tag, capability or
//! price tier), `routable_only` (providers with a key configured).

use serde_json::{json, Value};
use switchyard_sdk::Identity;

use super::fields::{percent_decode, query_param, visible_models};
use super::Call;
use crate::config::Model;
use crate::error::GatewayError;

pub fn model_json(m: &Model) -> Value {
    json!({
        "id": m.id,
        "object": "model",
        "created": 0,
        "owned_by": &*m.provider.name,
        "provider": &*m.provider.name,
        "provider_kind": m.provider.kind.as_str(),
        "upstream_model": m.upstream_model,
        "aliases": m.aliases,
        "description": m.description,
        "context_window": m.context_window,
        "max_output": m.max_output,
        "pricing": {
            "unit": "usd_per_million_tokens",
            "input": m.pricing.input.per_million_as_f64(),
            "cached_input": m.pricing.cached_input.per_million_as_f64(),
            "output": m.pricing.output.per_million_as_f64(),
        },
        "capabilities": m.capabilities,
        "quality": m.quality,
        "price_tier": m.price_tier,
        "tags": m.tags,
        "available": m.provider.available(),
    })
}

/// `model_json` plus what traffic has shown: `performance` (the health tracker's report: successes,
/// failures, average time to first token, tokens per second, circuit state) and the expected time to
/// first token the router scores with.
pub fn model_json_live(m: &Model, router: &crate::router::RouterState, id: Option<&Identity>) -> Value {
    let mut v = model_json(m);
    v["latency_prior_ms"] = json!(m.latency_prior_ms);
    let caller = id.map(|i| router.health.caller(&i.key_id));
    v["performance"] = router
        .health
        .report(&m.id, &m.provider.name, m.latency_prior_ms, caller);
    v["performance"]["expected_latency_ms"] =
        json!(crate::router::score::expected_latency_ms(m, &router.health).round());
    v
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                k.to_string(),
                v.replace("%2C", ",")
                    .replace("%2c", ",")
                    .replace("%2F", "/")
                    .replace("%2f", "/"),
            )
        })
        .collect()
}

pub fn visible(m: &Model, id: Option<&Identity>) -> bool {
    crate::router::visible(m, id)
}

/// `GET /v1/models/{id or alias}` with live performance (see `model_json_live`).
pub fn info(call: &Call) -> Result<Value, GatewayError> {
    let name = call.path.trim_start_matches("/v1/models/");
    match call.snap.catalog.get(name) {
        Some(m) if visible(m, call.identity) => Ok(model_json_live(m, call.router, call.identity)),
        _ => Err(GatewayError::UnknownModel {
            model: name.to_string(),
            param: "model",
            closest: String::new(),
        }),
    }
}

/// `GET /v1/models`: the OpenAI list shape plus catalog fields, with the filters of API.md.
pub fn list(call: &Call) -> Result<Value, GatewayError> {
    let q = query_pairs(call.query);
    let get = |k: &str| q.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.as_str());
    let data: Vec<Value> = call
        .snap
        .catalog
        .models
        .iter()
        .filter(|m| visible(m, call.identity))
        .filter(|m| get("provider").is_none_or(|p| &*m.provider.name == p))
        .filter(|m| get("capabilities").is_none_or(|cs| cs.split(',').filter(|c| !c.is_empty()).all(|c| m.has(c))))
        .filter(|m| get("task_type").is_none_or(|t| m.quality.contains_key(t)))
        .filter(|m| get("category").is_none_or(|c| m.tags.iter().any(|t| t == c) || m.has(c) || m.price_tier == c))
        .filter(|m| !matches!(get("routable_only"), Some("true" | "1")) || m.provider.available())
        .map(|m| model_json(m))
        .collect();
    Ok(json!({"object": "list", "data": data}))
}

/// `GET /v1/model-health?models=a,b`: live health of the named models (ids or aliases), or of every
/// model the key may use.
pub fn health(call: &Call) -> Result<Value, GatewayError> {
    let wanted: Option<Vec<String>> = query_param(call.query, "models").map(|v| {
        percent_decode(v)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    let models = visible_models(call).filter(|m| match &wanted {
        Some(w) => w.iter().any(|n| *n == m.id || m.aliases.contains(n)),
        None => true,
    });
    let caller = call.identity.map(|i| call.router.health.caller(&i.key_id));
    let data: Vec<Value> = models
        .map(|m| {
            call.router
                .health
                .report(&m.id, &m.provider.name, m.latency_prior_ms, caller)
        })
        .collect();
    Ok(json!({"object": "list", "data": data}))
}
