//! The key admin API on the admin listener (every call needs the admin token; the service checks it
//! before this runs):
//!
//! - `GET /admin/keys`: every key, YAML ones (`source: config`, read-only) and runtime ones
//!   (`source: store`), never a secret or its hash;
//! - `POST /admin/keys` `{name, workspace, scopes?, limits?, test?}`: 201 with the key's plaintext in
//!   `key`, shown this once;
//! - `GET /admin/keys/{id|name}`; `PATCH /admin/keys/{id|name}` `{name?, scopes?, limits?}`;
//! - `POST /admin/keys/{id|name}/rotate` `{grace_seconds?}`: a new secret (in `key`); the old one works
//!   for the grace window (default 0: it stops now);
//! - `POST /admin/keys/{id|name}/revoke` (or `DELETE /admin/keys/{id|name}`): in force on the next
//!   request.
//!
//! Each change runs on the store's writer thread, which writes it and rebuilds the request path's
//! map before the call answers.

use std::collections::HashSet;
use std::sync::Arc;

use http::Method;
use pingora::protocols::http::ServerSession;
use serde_json::{json, Value};

use crate::config::Snapshot;
use crate::keys::manage::{self, Refused};
use crate::store::counters::spend_json;
use crate::store::{self, Store};
use switchyard_sdk::state::counters::key_scope;

/// Largest body a key call may send.
const MAX_BODY: usize = 64 * 1024;

pub const PREFIX: &str = "/admin/keys";

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    let kind = match status {
        400 | 413 => "invalid_request_error",
        409 => "conflict_error",
        404 => "not_found_error",
        503 => "api_error",
        _ => "internal_error",
    };
    (
        status,
        json!({"error": {
            "type": kind, "code": code, "message": message, "param": null, "http_status": status,
            "provider": null, "request_id": crate::proxy::new_request_id(), "rule_trace": [],
        }}),
    )
}

fn from_refused(r: Refused) -> (u16, Value) {
    error(r.status, r.code, &r.message)
}

async fn read_body(session: &mut ServerSession) -> Result<Vec<u8>, (u16, Value)> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(error(413, "body_too_large", "a key call's body is at most 64 KiB"));
                }
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(error(400, "body_unreadable", &format!("cannot read the body: {e}"))),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8], empty_ok: bool) -> Result<T, (u16, Value)> {
    if body.iter().all(u8::is_ascii_whitespace) && empty_ok {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| error(400, "invalid_json", &format!("the body: {e}")))
}

/// A key operation, run on the store's writer thread: the status and body to answer with.
type Op = Box<dyn FnOnce(&rusqlite::Connection) -> Result<(u16, Value), Refused> + Send>;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateInput {
    #[serde(default)]
    grace_seconds: u64,
}

/// Serve a call whose path starts with [`PREFIX`].
pub async fn serve(
    session: &mut ServerSession,
    method: &Method,
    path: &str,
    snap: &Snapshot,
    store: Option<&Arc<Store>>,
) -> (u16, Value) {
    let rest = path[PREFIX.len()..].trim_matches('/');
    let (which, action) = match rest.split_once('/') {
        Some((w, a)) => (w, a),
        None => (rest, ""),
    };
    let yaml = snap
        .keys
        .entries()
        .find(|e| !which.is_empty() && (*e.id == *which || *e.name == *which));
    let mutating = !matches!(*method, Method::GET | Method::HEAD);
    if let (Some(e), true) = (yaml, mutating) {
        return error(
            409,
            "read_only_key",
            &format!(
                "key {:?} is defined in the config file; change it there and reload",
                e.name
            ),
        );
    }
    let spend = |v: &mut Value, id: &str| {
        if let Some(st) = store {
            v["spend"] = spend_json(&*st.counters, &key_scope(id), store::now_ms());
        }
    };
    if let (Some(e), false) = (yaml, mutating) {
        let mut v = manage::config_view(e);
        spend(&mut v, &e.id);
        return (200, v);
    }
    let Some(store) = store else {
        return error(
            503,
            "store_disabled",
            "keys made at runtime need the store (store.enabled is false)",
        );
    };
    let body = if mutating {
        match read_body(session).await {
            Ok(b) => b,
            Err(e) => return e,
        }
    } else {
        Vec::new()
    };
    let taken: HashSet<String> = snap.keys.entries().map(|e| e.name.to_string()).collect();
    let keys = store.keys.clone();
    let which = which.to_string();
    let now = store::now_ms();
    // Each operation runs on the writer's thread: written, then the map rebuilt, then answered.
    let op: Op = match (method.clone(), which.is_empty(), action) {
        (Method::GET | Method::HEAD, true, "") => {
            let counters = store.counters.clone();
            let yaml: Vec<Value> = snap
                .keys
                .entries()
                .map(|e| {
                    let mut v = manage::config_view(e);
                    v["spend"] = spend_json(&*counters, &key_scope(&e.id), now);
                    v
                })
                .collect();
            let keys = keys.clone();
            Box::new(move |conn| {
                let mut data = yaml;
                let stored = crate::store::keys::list(conn).map_err(db)?;
                data.extend(stored.iter().map(|k| {
                    let mut v = manage::view(k, keys.last_used(&k.id));
                    v["spend"] = spend_json(&*counters, &key_scope(&k.id), now);
                    v
                }));
                Ok((200, json!({"object": "list", "data": data})))
            })
        }
        (Method::POST, true, "") => {
            let input: manage::CreateInput = match serde_json::from_slice(&body) {
                Ok(i) => i,
                Err(e) => return error(400, "invalid_json", &format!("the body: {e}")),
            };
            Box::new(move |conn| {
                let (k, secret) = manage::create(conn, input, &taken, now)?;
                let mut v = manage::view(&k, 0);
                v["key"] = json!(secret);
                Ok((201, v))
            })
        }
        (Method::GET | Method::HEAD, false, "") => {
            let counters = store.counters.clone();
            Box::new(move |conn| {
                let k = crate::store::keys::get(conn, &which)
                    .map_err(db)?
                    .ok_or_else(|| not_found(&which))?;
                let mut v = manage::view(&k, keys.last_used(&k.id));
                v["spend"] = spend_json(&*counters, &key_scope(&k.id), now);
                Ok((200, v))
            })
        }
        (Method::PATCH, false, "") => {
            let input: manage::UpdateInput = match parse(&body, false) {
                Ok(i) => i,
                Err(e) => return e,
            };
            Box::new(move |conn| {
                let k = manage::update(conn, &which, input, &taken)?;
                Ok((200, manage::view(&k, keys.last_used(&k.id))))
            })
        }
        (Method::POST, false, "rotate") => {
            let input: RotateInput = match parse(&body, true) {
                Ok(i) => i,
                Err(e) => return e,
            };
            Box::new(move |conn| {
                let (k, secret) = manage::rotate(conn, &which, input.grace_seconds, now)?;
                let mut v = manage::view(&k, keys.last_used(&k.id));
                v["key"] = json!(secret);
                Ok((200, v))
            })
        }
        (Method::POST, false, "revoke") | (Method::DELETE, false, "") => Box::new(move |conn| {
            let k = manage::revoke(conn, &which, now)?;
            Ok((200, manage::view(&k, keys.last_used(&k.id))))
        }),
        _ => {
            return error(
                404,
                "unknown_endpoint",
                &format!("unknown admin endpoint {method} {path}"),
            )
        }
    };
    let refresh = store.keys.clone();
    let result = store
        .call(move |conn| {
            let r = op(conn);
            if r.is_ok() {
                if let Err(e) = refresh.refresh(conn) {
                    tracing::error!(error = %e, "store: cannot rebuild the keys after a change");
                }
            }
            Ok(r)
        })
        .await;
    match result {
        Ok(Ok(v)) => v,
        Ok(Err(r)) => from_refused(r),
        Err(e) => error(503, "store_unavailable", &e.0),
    }
}

fn db(e: rusqlite::Error) -> Refused {
    Refused {
        status: 500,
        code: "store_error",
        message: format!("the key store failed: {e}"),
    }
}

fn not_found(which: &str) -> Refused {
    Refused {
        status: 404,
        code: "key_not_found",
        message: format!("no key {which:?}"),
    }
}
