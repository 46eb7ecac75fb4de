//! Per-workspace routing preferences: `GET /v1/preferences` (what applies: the stored values laid over
//! the YAML's `workspaces.<name>`, with where each came from), `PUT /v1/preferences/{key}` with body
//! `{"value": …}`, `DELETE /v1/preferences/{key}` (back to the YAML default), and
//! `GET /v1/preferences/suggestions` (what the request log and the feedback suggest setting). Keys:
//! `default_optimization`, `default_task`, `excluded_providers`, `excluded_models`,
//! `preferred_providers`, `content_mode_default`; an unknown key or a bad value is a 400 naming it. A
//! write is durable before it answers and applies to the next request; if the store cannot be read,
//! `GET` answers the YAML defaults and says so (`storage_error`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::fields::percent_decode;
use super::logs::{store_failed, store_off};
use super::{BoxFuture, Call, Reply};
use crate::config::routing::{ContentMode, Mode, Preferences};
use crate::error::GatewayError;
use crate::store::prefs::{Overlay, KEYS};

pub use super::suggestions::suggestions;

pub fn list<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(show(call))
}

pub fn put<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(set(call))
}

pub fn delete<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(remove(call))
}

pub(crate) fn workspace(call: &Call) -> String {
    call.identity.map_or(String::new(), |i| i.workspace.to_string())
}

/// Preferences as JSON, key by key.
pub fn to_json(p: &Preferences) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "default_optimization".into(),
        json!(p.default_optimization.map(Mode::as_str)),
    );
    m.insert("default_task".into(), json!(p.default_task));
    m.insert("excluded_providers".into(), json!(p.excluded_providers));
    m.insert("excluded_models".into(), json!(p.excluded_models));
    m.insert("preferred_providers".into(), json!(p.preferred_providers));
    m.insert("content_mode_default".into(), json!(p.content_mode.as_str()));
    m
}

fn answer(call: &Call, stored: &BTreeMap<String, Value>, storage_error: Option<String>) -> Value {
    let ws = workspace(call);
    let yaml = call.snap.routing.workspaces.get(&ws);
    let effective = Overlay::from_values(stored.clone()).apply(yaml);
    let source: Map<String, Value> = KEYS
        .iter()
        .map(|k| {
            let from = if stored.contains_key(*k) {
                "stored"
            } else if yaml.is_some() {
                "config"
            } else {
                "default"
            };
            (k.to_string(), json!(from))
        })
        .collect();
    let mut v = json!({
        "object": "preferences",
        "workspace": ws,
        "preferences": to_json(&effective),
        "source": source,
        "stored": stored,
        "defaults": to_json(&yaml.cloned().unwrap_or_default()),
    });
    if let Some(e) = storage_error {
        v["storage_error"] = json!(format!(
            "{e}; these are the configuration's defaults, not the stored preferences"
        ));
    }
    v
}

async fn show(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let stored = match call.store {
        None => Err("the store is off (store.enabled: false)".to_string()),
        Some(s) => s.preferences(&workspace(call)).await.map_err(|e| e.to_string()),
    };
    Ok(Reply::Json(
        200,
        match stored {
            Ok(m) => answer(call, &m, None),
            Err(e) => answer(call, &BTreeMap::new(), Some(e)),
        },
    ))
}

/// The key named by the path (`/v1/preferences/{key}`), known or a 400.
fn key_of(call: &Call) -> Result<&'static str, GatewayError> {
    let raw = percent_decode(call.path.trim_start_matches("/v1/preferences/"));
    KEYS.iter()
        .copied()
        .find(|k| *k == raw)
        .ok_or_else(|| GatewayError::invalid("key", format!("unknown preference {raw:?}; known: {}", KEYS.join(", "))))
}

fn bad(key: &str, why: impl std::fmt::Display) -> GatewayError {
    GatewayError::invalid("value", format!("{key}: {why}"))
}

fn names(key: &str, v: &Value) -> Result<Vec<String>, GatewayError> {
    let arr = v.as_array().ok_or_else(|| bad(key, "must be a list of names"))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(key, "must be a list of names"))
        })
        .collect()
}

/// `value` checked for `key` against this configuration, normalised (a mode's canonical word, model
/// aliases resolved to catalog ids).
pub fn validate(call: &Call, key: &str, v: &Value) -> Result<Value, GatewayError> {
    match key {
        "default_optimization" => {
            let s = v.as_str().ok_or_else(|| bad(key, "must be a string"))?;
            let m = Mode::parse(s).ok_or_else(|| {
                bad(
                    key,
                    format!("unknown mode {s:?}; use quality, cost, latency or balanced"),
                )
            })?;
            Ok(json!(m.as_str()))
        }
        "default_task" => {
            let s = v.as_str().ok_or_else(|| bad(key, "must be a string"))?;
            if !crate::config::TASKS.contains(&s) {
                return Err(bad(
                    key,
                    format!("unknown task {s:?}; known: {}", crate::config::TASKS.join(", ")),
                ));
            }
            Ok(json!(s))
        }
        "content_mode_default" => {
            let s = v.as_str().ok_or_else(|| bad(key, "must be a string"))?;
            let c = ContentMode::parse(s)
                .ok_or_else(|| bad(key, format!("unknown content mode {s:?}; use metadata or full")))?;
            Ok(json!(c.as_str()))
        }
        "excluded_providers" | "preferred_providers" => {
            let list = names(key, v)?;
            if let Some(p) = list.iter().find(|p| !call.snap.providers.contains_key(*p)) {
                return Err(bad(key, format!("unknown provider {p:?}")));
            }
            Ok(json!(list))
        }
        "excluded_models" => {
            let list = names(key, v)?;
            let mut ids = Vec::with_capacity(list.len());
            for m in &list {
                match call.snap.catalog.get(m) {
                    Some(model) => ids.push(model.id.clone()),
                    None => return Err(bad(key, format!("unknown model {m:?}"))),
                }
            }
            Ok(json!(ids))
        }
        _ => Err(GatewayError::invalid("key", format!("unknown preference {key:?}"))),
    }
}

async fn set(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let key = key_of(call)?;
    let body: Value = super::fields::parse_json(call.body)?;
    let value = body
        .as_object()
        .and_then(|o| o.get("value"))
        .ok_or_else(|| GatewayError::invalid("value", "send {\"value\": …}"))?;
    let value = validate(call, key, value)?;
    let store = call.store.ok_or_else(store_off)?;
    let ws = workspace(call);
    store.set_preference(&ws, key, value).await.map_err(store_failed)?;
    let stored = store.preferences(&ws).await.map_err(store_failed)?;
    Ok(Reply::Json(200, answer(call, &stored, None)))
}

async fn remove(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let key = key_of(call)?;
    let store = call.store.ok_or_else(store_off)?;
    let ws = workspace(call);
    let existed = store.delete_preference(&ws, key).await.map_err(store_failed)?;
    let stored = store.preferences(&ws).await.map_err(store_failed)?;
    let mut v = answer(call, &stored, None);
    v["deleted"] = json!(existed);
    v["key"] = json!(key);
    Ok(Reply::Json(200, v))
}
