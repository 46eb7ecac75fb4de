//! Endpoints answered from the catalog and the router's state, without inference (API.md "Routing
//! without inference, catalog and state"). `handle` dispatches on the path; each answer is JSON.

use serde_json::{json, Value};
use switchyard_sdk::Identity;

use crate::config::Snapshot;
use crate::error::GatewayError;
use crate::router::RouterState;

/// One call: what the endpoint may read.
pub struct Call<'a> {
    /// The path without a trailing slash.
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The request body (empty for GET).
    pub body: &'a [u8],
    pub snap: &'a Snapshot,
    pub identity: Option<&'a Identity>,
    pub router: &'a RouterState,
    pub request_id: &'a str,
}

pub fn handle(call: &Call) -> Result<Value, GatewayError> {
    match call.path {
        "/v1/model-health" => Ok(model_health(call)),
        _ => Err(GatewayError::UnknownEndpoint {
            method: "?".into(),
            path: call.path.to_string(),
        }),
    }
}

fn query_param<'a>(q: Option<&'a str>, name: &str) -> Option<&'a str> {
    q?.split('&')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// `GET /v1/model-health?models=a,b`: live health of the named models (ids or aliases), or of every
/// model the key may use.
fn model_health(call: &Call) -> Value {
    let wanted: Option<Vec<String>> = query_param(call.query, "models").map(|v| {
        v.replace("%2C", ",")
            .replace("%2F", "/")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    let models = call
        .snap
        .catalog
        .models
        .iter()
        .filter(|m| super::catalog::visible(m, call.identity))
        .filter(|m| match &wanted {
            Some(w) => w.iter().any(|n| *n == m.id || m.aliases.contains(n)),
            None => true,
        });
    let data: Vec<Value> = models
        .map(|m| call.router.health.report(&m.id, &m.provider.name, m.latency_prior_ms))
        .collect();
    json!({"object": "list", "data": data})
}
