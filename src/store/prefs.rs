//! Workspace preferences as stored through `/v1/preferences`: validated JSON values per (workspace,
//! key), durable in the `preferences` table and mirrored in memory (typed) because the router lays them
//! over the YAML defaults on every request. A write is durable before the mirror changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use rusqlite::{params, Connection};
use serde_json::Value;
use switchyard_sdk::StoreError;

use super::now_ms;
use crate::config::routing::{ContentMode, Mode, Preferences};

/// The keys a workspace may set.
pub const KEYS: &[&str] = &[
    "default_optimization",
    "default_task",
    "excluded_providers",
    "excluded_models",
    "preferred_providers",
    "content_mode_default",
];

/// One workspace's stored values, as given (validated) and typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub values: BTreeMap<String, Value>,
    default_optimization: Option<Mode>,
    default_task: Option<String>,
    excluded_providers: Option<Vec<String>>,
    excluded_models: Option<Vec<String>>,
    preferred_providers: Option<Vec<String>>,
    content_mode: Option<ContentMode>,
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|x| x.as_str().map(str::to_string)).collect()
}

impl Overlay {
    pub fn from_values(values: BTreeMap<String, Value>) -> Self {
        let get = |k: &str| values.get(k);
        Overlay {
            default_optimization: get("default_optimization")
                .and_then(Value::as_str)
                .and_then(Mode::parse),
            default_task: get("default_task").and_then(Value::as_str).map(str::to_string),
            excluded_providers: get("excluded_providers").and_then(strings),
            excluded_models: get("excluded_models").and_then(strings),
            preferred_providers: get("preferred_providers").and_then(strings),
            content_mode: get("content_mode_default")
                .and_then(Value::as_str)
                .and_then(ContentMode::parse),
            values,
        }
    }

    /// The stored content mode, if the workspace set one.
    pub fn content_mode(&self) -> Option<ContentMode> {
        self.content_mode
    }

    /// These values laid over the YAML defaults (`base`): a stored key replaces the YAML's.
    pub fn apply(&self, base: Option<&Preferences>) -> Preferences {
        let mut p = base.cloned().unwrap_or_default();
        if let Some(m) = self.default_optimization {
            p.default_optimization = Some(m);
        }
        if let Some(t) = &self.default_task {
            p.default_task = Some(t.clone());
        }
        if let Some(v) = &self.excluded_providers {
            p.excluded_providers = v.clone();
        }
        if let Some(v) = &self.excluded_models {
            p.excluded_models = v.clone();
        }
        if let Some(v) = &self.preferred_providers {
            p.preferred_providers = v.clone();
        }
        if let Some(c) = self.content_mode {
            p.content_mode = c;
        }
        p
    }
}

/// The in-memory mirror: workspace → its stored values.
#[derive(Debug, Default)]
pub struct Stored {
    map: RwLock<HashMap<String, Arc<Overlay>>>,
}

impl Stored {
    pub fn new(loaded: HashMap<String, BTreeMap<String, Value>>) -> Self {
        let map = loaded
            .into_iter()
            .map(|(ws, v)| (ws, Arc::new(Overlay::from_values(v))))
            .collect();
        Stored { map: RwLock::new(map) }
    }

    /// What `workspace` stored, if anything (a map lookup under a read lock: the request path).
    pub fn get(&self, workspace: &str) -> Option<Arc<Overlay>> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        m.get(workspace).cloned()
    }

    fn update(&self, workspace: &str, f: impl FnOnce(&mut BTreeMap<String, Value>)) {
        let mut m = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut values = m.get(workspace).map(|o| o.values.clone()).unwrap_or_default();
        f(&mut values);
        if values.is_empty() {
            m.remove(workspace);
        } else {
            m.insert(workspace.to_string(), Arc::new(Overlay::from_values(values)));
        }
    }
}

pub(crate) fn load(conn: &Connection) -> rusqlite::Result<HashMap<String, BTreeMap<String, Value>>> {
    let mut st = conn.prepare("SELECT workspace, key, value FROM preferences")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out: HashMap<String, BTreeMap<String, Value>> = HashMap::new();
    for row in rows {
        let (ws, key, value) = row?;
        if let Ok(v) = serde_json::from_str(&value) {
            out.entry(ws).or_default().insert(key, v);
        }
    }
    Ok(out)
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

impl super::Store {
    /// Store one preference (durable, then mirrored).
    pub async fn set_preference(&self, workspace: &str, key: &str, value: Value) -> Result<(), StoreError> {
        let (ws, k, text) = (workspace.to_string(), key.to_string(), value.to_string());
        let stored = self.prefs.clone();
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO preferences (workspace, key, value, updated_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(workspace, key) DO UPDATE SET value = ?3, updated_ms = ?4",
            )
            .and_then(|mut st| st.execute(params![ws, k, text, now_ms()]))
            .map_err(err)?;
            stored.update(&ws, |m| {
                m.insert(k, value);
            });
            Ok(())
        })
        .await
    }

    /// Remove one preference; whether it was there.
    pub async fn delete_preference(&self, workspace: &str, key: &str) -> Result<bool, StoreError> {
        let (ws, k) = (workspace.to_string(), key.to_string());
        let stored = self.prefs.clone();
        self.call(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM preferences WHERE workspace = ?1 AND key = ?2")
                .and_then(|mut st| st.execute(params![ws, k]))
                .map_err(err)?;
            stored.update(&ws, |m| {
                m.remove(&k);
            });
            Ok(n > 0)
        })
        .await
    }

    /// A workspace's stored preferences, read from the database.
    pub async fn preferences(&self, workspace: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        let ws = workspace.to_string();
        self.call(move |conn| {
            let mut st = conn
                .prepare_cached("SELECT key, value FROM preferences WHERE workspace = ?1")
                .map_err(err)?;
            let rows = st
                .query_map([&ws], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(err)?;
            let mut out = BTreeMap::new();
            for row in rows {
                let (k, v) = row.map_err(err)?;
                if let Ok(v) = serde_json::from_str(&v) {
                    out.insert(k, v);
                }
            }
            Ok(out)
        })
        .await
    }
}
