//! `GET /v1/models`: the catalog in OpenAI's list shape, with Switchyard's catalog fields, limited to
//! the models the calling key may use. Filters: `provider`, `capabilities` (comma-separated, all
//! required), `task_type` (models with a quality score for it), `category` (a tag, capability or
//! price tier), `routable_only` (providers with a key configured).

use serde_json::{json, Value};
use switchyard_sdk::Identity;

use crate::config::{Model, ProviderKind, Snapshot};

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
pub fn model_json_live(m: &Model, router: &crate::router::RouterState) -> Value {
    let mut v = model_json(m);
    v["latency_prior_ms"] = json!(m.latency_prior_ms);
    v["performance"] = router.health.report(&m.id, &m.provider.name, m.latency_prior_ms);
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
    id.is_none_or(|id| {
        (id.scopes.allows_model(&m.id) || m.aliases.iter().any(|a| id.scopes.allows_model(a)))
            && (!id.test_key || m.provider.kind == ProviderKind::Mock)
    })
}

/// `GET /v1/models/{id or alias}` with live performance (see `model_json_live`).
pub fn model_info_live(
    snap: &Snapshot,
    id: Option<&Identity>,
    name: &str,
    router: &crate::router::RouterState,
) -> Result<Value, crate::error::GatewayError> {
    match snap.catalog.get(name) {
        Some(m) if visible(m, id) => Ok(model_json_live(m, router)),
        _ => Err(crate::error::GatewayError::UnknownModel {
            model: name.to_string(),
            param: "model",
        }),
    }
}

pub fn models_list(snap: &Snapshot, id: Option<&Identity>, query: Option<&str>) -> Value {
    let q = query_pairs(query);
    let get = |k: &str| q.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.as_str());
    let data: Vec<Value> = snap
        .catalog
        .models
        .iter()
        .filter(|m| visible(m, id))
        .filter(|m| get("provider").is_none_or(|p| &*m.provider.name == p))
        .filter(|m| get("capabilities").is_none_or(|cs| cs.split(',').filter(|c| !c.is_empty()).all(|c| m.has(c))))
        .filter(|m| get("task_type").is_none_or(|t| m.quality.contains_key(t)))
        .filter(|m| get("category").is_none_or(|c| m.tags.iter().any(|t| t == c) || m.has(c) || m.price_tier == c))
        .filter(|m| !matches!(get("routable_only"), Some("true" | "1")) || m.provider.available())
        .map(|m| model_json(m))
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::Quirks;
    use crate::config::test_model;
    use crate::router::health::Outcome;
    use crate::router::RouterState;

    #[test]
    fn live_model_json_carries_performance() {
        let m = test_model(ProviderKind::OpenAi, Quirks::default());
        let router = RouterState::default();
        let cold = model_json_live(&m, &router);
        assert_eq!(cold["id"], "p/m");
        assert_eq!(cold["performance"]["successes"], 0);
        assert_eq!(
            cold["performance"]["expected_latency_ms"], 100.0,
            "the catalog prior when cold"
        );
        router.health.record(
            "p/m",
            "p",
            Outcome::Failure { retry_after: None },
            5,
            std::time::Duration::from_secs(1),
        );
        let warm = model_json_live(&m, &router);
        assert_eq!(warm["performance"]["failures"], 1);
        assert_eq!(warm["performance"]["circuit"], "closed");
        assert_eq!(warm["pricing"], cold["pricing"]);
    }
}
