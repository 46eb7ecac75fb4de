//! `switchyard keys list|create|rotate|revoke`: the key admin API's operations, offline on the database
//! file. A running gateway takes the change at its next reload (SIGHUP, `POST /admin/reload`) or at
//! the store's next maintenance pass (once a minute), whichever comes first.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::manage::{self, CreateInput, ScopesInput};
use crate::config::raw::RawLimits;
use crate::store::{self, Location};

/// What the command does.
pub enum Action {
    List,
    Create {
        name: String,
        workspace: String,
        endpoints: Vec<String>,
        models: Vec<String>,
        limits: RawLimits,
        test: bool,
    },
    Rotate {
        key: String,
        grace_seconds: u64,
    },
    Revoke {
        key: String,
    },
}

/// The database (`--db`, else the config's `store.path`) and the YAML keys' names (taken).
fn database(db: Option<&PathBuf>, config: &Path) -> Result<(PathBuf, HashSet<String>), String> {
    let snap = crate::config::load(config, &crate::registry::Registry::offline());
    let taken = snap
        .as_ref()
        .map(|s| s.keys.entries().map(|e| e.name.to_string()).collect())
        .unwrap_or_default();
    if let Some(p) = db {
        return Ok((p.clone(), taken));
    }
    match snap.map_err(|p| p.to_string())?.store.map(|s| s.location) {
        Some(Location::File(p)) => Ok((p, taken)),
        Some(Location::Memory) => {
            Err("the config keeps the store in memory (store.path: \":memory:\"); pass --db".into())
        }
        None => Err("the store is off in the config (store.enabled: false); pass --db".into()),
    }
}

/// Run `action`; the JSON printed on success (a created or rotated key's secret is in `key`).
pub fn run(db: Option<&PathBuf>, config: &Path, action: Action) -> Result<Value, String> {
    let (path, taken) = database(db, config)?;
    let conn = store::open_migrated(&Location::File(path))?;
    let now = store::now_ms();
    let fail = |r: manage::Refused| format!("{} ({})", r.message, r.code);
    match action {
        Action::List => {
            let keys = store::keys::list(&conn).map_err(|e| e.to_string())?;
            let counters = store::counters::StoreCounters::load(&conn).map_err(|e| e.to_string())?;
            let data: Vec<Value> = keys
                .iter()
                .map(|k| {
                    let mut v = manage::view(k, 0);
                    v["spend"] =
                        store::counters::spend_json(&counters, &switchyard_sdk::state::counters::key_scope(&k.id), now);
                    v
                })
                .collect();
            Ok(json!({"object": "list", "data": data}))
        }
        Action::Create {
            name,
            workspace,
            endpoints,
            models,
            limits,
            test,
        } => {
            let input = CreateInput {
                name,
                workspace,
                scopes: Some(ScopesInput { endpoints, models }),
                limits: Some(limits),
                test,
            };
            let (k, secret) = manage::create(&conn, input, &taken, now).map_err(fail)?;
            let mut v = manage::view(&k, 0);
            v["key"] = json!(secret);
            Ok(v)
        }
        Action::Rotate { key, grace_seconds } => {
            let (k, secret) = manage::rotate(&conn, &key, grace_seconds, now).map_err(fail)?;
            let mut v = manage::view(&k, 0);
            v["key"] = json!(secret);
            Ok(v)
        }
        Action::Revoke { key } => manage::revoke(&conn, &key, now)
            .map(|k| manage::view(&k, 0))
            .map_err(fail),
    }
}
