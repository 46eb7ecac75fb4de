//! Managing runtime keys: create (the plaintext is returned once), rotate (a new secret; the old one
//! works for a grace window), revoke, update scopes and limits, and the JSON view a list shows (never
//! a secret or its hash). The admin API and the offline CLI both call these on a database connection
//! (the admin API on the store's writer thread).

use std::collections::HashSet;

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_sdk::{KeyLimits, Money, Scopes};

use crate::config::raw::RawLimits;
use crate::config::ENDPOINT_SCOPES;
use crate::phases::auth::digest;
use crate::store::keys::{self as table, KeyRecord};

/// Why a key operation was refused: status, code, message (the public error shape's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn refused(status: u16, code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        code,
        message: message.into(),
    }
}

fn invalid(message: impl Into<String>) -> Refused {
    refused(400, "invalid_request", message)
}

fn db(e: rusqlite::Error) -> Refused {
    refused(500, "store_error", format!("the key store failed: {e}"))
}

/// Scopes as a request gives them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopesInput {
    #[serde(default = "star")]
    pub endpoints: Vec<String>,
    #[serde(default = "star")]
    pub models: Vec<String>,
}

fn star() -> Vec<String> {
    vec!["*".into()]
}

/// `POST /admin/keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    pub name: String,
    pub workspace: String,
    #[serde(default)]
    pub scopes: Option<ScopesInput>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// A `sy_test_` key (simulated models only).
    #[serde(default)]
    pub test: bool,
}

/// `PATCH /admin/keys/{id}`: what is given replaces what the key had.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Option<ScopesInput>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
}

/// The typed limits of a key's limits as configured; the error names the field (under `limits.`).
pub fn key_limits(l: &RawLimits) -> Result<KeyLimits, (&'static str, &'static str)> {
    let dollars = |field: &'static str, d: Option<f64>| {
        d.map(|d| Money::from_dollars(d).ok_or((field, "must be a non-negative amount of dollars")))
            .transpose()
    };
    Ok(KeyLimits {
        requests_per_minute: l.requests_per_minute,
        catalog_requests_per_minute: l.catalog_requests_per_minute,
        tokens_per_minute: l.tokens_per_minute,
        concurrent_requests: l.concurrent_requests,
        cost_cap: dollars("cost_cap_dollars", l.cost_cap_dollars)?,
        daily_cost_cap: dollars("daily_cost_cap_dollars", l.daily_cost_cap_dollars)?,
        monthly_cost_cap: dollars("monthly_cost_cap_dollars", l.monthly_cost_cap_dollars)?,
    })
}

fn check_scopes(s: ScopesInput) -> Result<Scopes, Refused> {
    for e in &s.endpoints {
        if !ENDPOINT_SCOPES.contains(&e.as_str()) {
            return Err(invalid(format!(
                "scopes.endpoints: unknown scope {e:?}; known: {}",
                ENDPOINT_SCOPES.join(", ")
            )));
        }
    }
    for m in &s.models {
        if m.is_empty() || m[..m.len() - 1].contains('*') {
            return Err(invalid(format!("scopes.models: {m:?}: `*` may only end a pattern")));
        }
    }
    Ok(Scopes {
        endpoints: s.endpoints,
        models: s.models,
    })
}

fn check_name(field: &str, v: &str) -> Result<(), Refused> {
    let ok = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{field}: 1 to 64 letters, digits, `-`, `_` or `.`")))
    }
}

fn check_limits(l: &RawLimits) -> Result<(), Refused> {
    key_limits(l)
        .map(|_| ())
        .map_err(|(field, message)| invalid(format!("limits.{field}: {message}")))
}

/// A new key id: `key_` and 16 base62 characters.
fn new_id() -> Result<String, Refused> {
    let secret = super::generate(false).map_err(|e| refused(500, "no_randomness", e))?;
    Ok(format!(
        "key_{}",
        &secret[super::super::phases::auth::LIVE_PREFIX.len()..][..16]
    ))
}

fn prefix_of(secret: &str) -> String {
    secret.chars().take(12).collect()
}

/// Create a key; returns the record and its secret (shown once). `taken` holds names that exist
/// elsewhere (the YAML keys).
pub fn create(
    conn: &Connection,
    input: CreateInput,
    taken: &HashSet<String>,
    now_ms: i64,
) -> Result<(KeyRecord, String), Refused> {
    check_name("name", &input.name)?;
    check_name("workspace", &input.workspace)?;
    if taken.contains(&input.name) || table::get(conn, &input.name).map_err(db)?.is_some() {
        return Err(refused(
            409,
            "key_name_taken",
            format!("a key named {:?} exists", input.name),
        ));
    }
    let scopes = check_scopes(input.scopes.unwrap_or(ScopesInput {
        endpoints: star(),
        models: star(),
    }))?;
    let limits = input.limits.unwrap_or_default();
    check_limits(&limits)?;
    let secret = super::generate(input.test).map_err(|e| refused(500, "no_randomness", e))?;
    let record = KeyRecord {
        id: new_id()?,
        name: input.name,
        workspace: input.workspace,
        prefix: prefix_of(&secret),
        digest: digest(&secret),
        previous: None,
        test: input.test,
        scopes,
        limits,
        created_ms: now_ms,
        rotated_ms: None,
        revoked_ms: None,
        last_used_ms: None,
    };
    table::insert(conn, &record).map_err(db)?;
    Ok((record, secret))
}

fn existing(conn: &Connection, which: &str) -> Result<KeyRecord, Refused> {
    table::get(conn, which)
        .map_err(db)?
        .ok_or_else(|| refused(404, "key_not_found", format!("no runtime key {which:?}")))
}

/// The longest grace window a rotation may give the old secret.
pub const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;

/// Give key `which` a new secret; the old one keeps working for `grace_seconds` (0: stops now).
pub fn rotate(conn: &Connection, which: &str, grace_seconds: u64, now_ms: i64) -> Result<(KeyRecord, String), Refused> {
    let mut k = existing(conn, which)?;
    if k.revoked() {
        return Err(refused(409, "key_revoked", format!("key {:?} is revoked", k.name)));
    }
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(invalid(format!("grace_seconds: at most {MAX_GRACE_SECONDS}")));
    }
    let secret = super::generate(k.test).map_err(|e| refused(500, "no_randomness", e))?;
    let grace_ms = i64::try_from(grace_seconds).unwrap_or(0).saturating_mul(1000);
    k.previous = (grace_ms > 0).then(|| (k.digest, now_ms.saturating_add(grace_ms)));
    k.digest = digest(&secret);
    k.prefix = prefix_of(&secret);
    k.rotated_ms = Some(now_ms);
    table::update(conn, &k).map_err(db)?;
    Ok((k, secret))
}

/// Revoke key `which`: every secret of it stops working.
pub fn revoke(conn: &Connection, which: &str, now_ms: i64) -> Result<KeyRecord, Refused> {
    let mut k = existing(conn, which)?;
    if k.revoked_ms.is_none() {
        k.revoked_ms = Some(now_ms);
        table::update(conn, &k).map_err(db)?;
    }
    Ok(k)
}

/// Change a key's name, scopes or limits.
pub fn update(
    conn: &Connection,
    which: &str,
    input: UpdateInput,
    taken: &HashSet<String>,
) -> Result<KeyRecord, Refused> {
    let mut k = existing(conn, which)?;
    if let Some(name) = input.name.filter(|n| *n != k.name) {
        check_name("name", &name)?;
        if taken.contains(&name) || table::get(conn, &name).map_err(db)?.is_some() {
            return Err(refused(409, "key_name_taken", format!("a key named {name:?} exists")));
        }
        k.name = name;
    }
    if let Some(s) = input.scopes {
        k.scopes = check_scopes(s)?;
    }
    if let Some(l) = input.limits {
        check_limits(&l)?;
        k.limits = l;
    }
    table::update(conn, &k).map_err(db)?;
    Ok(k)
}

fn limits_view(l: &RawLimits) -> Value {
    serde_json::to_value(l).unwrap_or(Value::Null)
}

/// A runtime key as a list shows it (no secret, no hash). `last_used_ms`: the request path's latest.
pub fn view(k: &KeyRecord, last_used_ms: i64) -> Value {
    let last = k.last_used_ms.unwrap_or(0).max(last_used_ms);
    json!({
        "id": k.id,
        "object": "api_key",
        "name": k.name,
        "workspace": k.workspace,
        "prefix": k.prefix,
        "source": "store",
        "read_only": false,
        "test": k.test,
        "scopes": {"endpoints": k.scopes.endpoints, "models": k.scopes.models},
        "limits": limits_view(&k.limits),
        "created_at": ms_to_secs(Some(k.created_ms)),
        "rotated_at": ms_to_secs(k.rotated_ms),
        "previous_secret_valid_until": ms_to_secs(k.previous.map(|p| p.1)),
        "revoked": k.revoked(),
        "revoked_at": ms_to_secs(k.revoked_ms),
        "last_used_at": ms_to_secs((last > 0).then_some(last)),
    })
}

/// A YAML key as a list shows it: read-only through the API.
pub fn config_view(e: &crate::config::KeyEntry) -> Value {
    let last = e.last_used_ms.load(std::sync::atomic::Ordering::Relaxed);
    json!({
        "id": e.id,
        "object": "api_key",
        "name": e.name,
        "workspace": e.workspace,
        "prefix": null,
        "source": "config",
        "read_only": true,
        "test": null,
        "scopes": {"endpoints": e.scopes.endpoints, "models": e.scopes.models},
        "limits": {
            "requests_per_minute": e.limits.requests_per_minute,
            "catalog_requests_per_minute": e.limits.catalog_requests_per_minute,
            "tokens_per_minute": e.limits.tokens_per_minute,
            "concurrent_requests": e.limits.concurrent_requests,
            "cost_cap_dollars": e.limits.cost_cap.map(|m| m.as_dollars_f64()),
            "daily_cost_cap_dollars": e.limits.daily_cost_cap.map(|m| m.as_dollars_f64()),
            "monthly_cost_cap_dollars": e.limits.monthly_cost_cap.map(|m| m.as_dollars_f64()),
        },
        "created_at": null,
        "rotated_at": null,
        "previous_secret_valid_until": null,
        "revoked": e.revoked,
        "revoked_at": null,
        "last_used_at": ms_to_secs((last > 0).then_some(last)),
    })
}

fn ms_to_secs(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(t / 1000))
}

#[cfg(test)]
#[path = "manage_tests.rs"]
mod tests;
