//! Keys made at runtime (the admin API, `switchyard keys create`): rows of the `api_keys` table, only
//! the SHA-256 of each secret, and the in-memory map the request path reads ([`RuntimeKeys`]: an
//! `ArcSwap` of a [`KeyStore`], never a database read per request). Every change is written first and
//! the map rebuilt from the table after it, on the writer's thread, so a revocation is in force before
//! the admin call answers. The writer also rebuilds the map at each maintenance pass and on reload, so
//! what the offline CLI wrote to the file is picked up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rusqlite::{params, Connection, OptionalExtension, Row};
use switchyard_sdk::Scopes;

use crate::config::raw::RawLimits;
use crate::config::{KeyEntry, KeySource, KeyStore};

/// One row of `api_keys`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// `key_…`: the identity counters and spend belong to.
    pub id: String,
    pub name: String,
    pub workspace: String,
    /// The secret's first characters (`sy_live_AbCd`), to tell keys apart in a list.
    pub prefix: String,
    pub digest: [u8; 32],
    /// The rotated-out secret and the end of its grace window (Unix ms).
    pub previous: Option<([u8; 32], i64)>,
    pub test: bool,
    pub scopes: Scopes,
    pub limits: RawLimits,
    pub created_ms: i64,
    pub rotated_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
}

impl KeyRecord {
    pub fn revoked(&self) -> bool {
        self.revoked_ms.is_some()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ScopesDoc {
    endpoints: Vec<String>,
    models: Vec<String>,
}

fn digest_of(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, "digest".into(), rusqlite::types::Type::Blob))
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

const COLUMNS: &str = "id, name, workspace, prefix, digest, previous_digest, previous_not_after_ms, test, scopes, \
                       limits, created_ms, rotated_ms, revoked_ms, last_used_ms";

fn from_row(r: &Row) -> rusqlite::Result<KeyRecord> {
    let previous = match (r.get::<_, Option<Vec<u8>>>(5)?, r.get::<_, Option<i64>>(6)?) {
        (Some(d), Some(t)) => Some((digest_of(d)?, t)),
        _ => None,
    };
    let scopes: ScopesDoc = serde_json::from_str(&r.get::<_, String>(8)?).map_err(json_err)?;
    let limits: RawLimits = serde_json::from_str(&r.get::<_, String>(9)?).map_err(json_err)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        workspace: r.get(2)?,
        prefix: r.get(3)?,
        digest: digest_of(r.get(4)?)?,
        previous,
        test: r.get(7)?,
        scopes: Scopes {
            endpoints: scopes.endpoints,
            models: scopes.models,
        },
        limits,
        created_ms: r.get(10)?,
        rotated_ms: r.get(11)?,
        revoked_ms: r.get(12)?,
        last_used_ms: r.get(13)?,
    })
}

/// Every runtime key, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<KeyRecord>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_ms, id"))?;
    let rows = st.query_map([], from_row)?;
    rows.collect()
}

/// The key whose id or name is `which`.
pub fn get(conn: &Connection, which: &str) -> rusqlite::Result<Option<KeyRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"),
        [which],
        from_row,
    )
    .optional()
}

fn scopes_json(s: &Scopes) -> String {
    serde_json::to_string(&ScopesDoc {
        endpoints: s.endpoints.clone(),
        models: s.models.clone(),
    })
    .unwrap_or_else(|_| "{}".into())
}

fn limits_json(l: &RawLimits) -> String {
    serde_json::to_string(l).unwrap_or_else(|_| "{}".into())
}

/// Insert a new key.
pub fn insert(conn: &Connection, k: &KeyRecord) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            k.id,
            k.name,
            k.workspace,
            k.prefix,
            k.digest.as_slice(),
            k.previous.map(|p| p.0.to_vec()),
            k.previous.map(|p| p.1),
            k.test,
            scopes_json(&k.scopes),
            limits_json(&k.limits),
            k.created_ms,
            k.rotated_ms,
            k.revoked_ms,
            k.last_used_ms,
        ],
    )
    .map(|_| ())
}

/// Write every mutable field of `k` (its id and creation stay).
pub fn update(conn: &Connection, k: &KeyRecord) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE api_keys SET name = ?2, prefix = ?3, digest = ?4, previous_digest = ?5, previous_not_after_ms = ?6, \
         scopes = ?7, limits = ?8, rotated_ms = ?9, revoked_ms = ?10 WHERE id = ?1",
        params![
            k.id,
            k.name,
            k.prefix,
            k.digest.as_slice(),
            k.previous.map(|p| p.0.to_vec()),
            k.previous.map(|p| p.1),
            scopes_json(&k.scopes),
            limits_json(&k.limits),
            k.rotated_ms,
            k.revoked_ms,
        ],
    )
    .map(|_| ())
}

/// What the request path knows of runtime keys: a map swapped whole on every change, and each key's
/// last use (an atomic the authentication bumps; checkpointed by the writer).
#[derive(Default)]
pub struct RuntimeKeys {
    map: ArcSwap<KeyStore>,
    usage: Mutex<HashMap<String, Arc<AtomicI64>>>,
}

impl std::fmt::Debug for RuntimeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeKeys")
            .field("len", &self.map.load().len)
            .finish()
    }
}

impl RuntimeKeys {
    /// The secret with this digest, unless its grace window ended before `now_ms`. Lock-free.
    pub fn find(&self, digest: &[u8; 32], now_ms: i64) -> Option<Arc<KeyEntry>> {
        self.map.load().find_at(digest, now_ms).cloned()
    }

    /// The last use the request path saw for key `id` (0: none since start).
    pub fn last_used(&self, id: &str) -> i64 {
        let usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        usage.get(id).map_or(0, |a| a.load(Ordering::Relaxed))
    }

    /// Rebuild the map from the table (after a change, at maintenance, on reload).
    pub fn refresh(&self, conn: &Connection) -> rusqlite::Result<()> {
        let records = list(conn)?;
        self.rebuild(&records);
        Ok(())
    }

    fn rebuild(&self, records: &[KeyRecord]) {
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = Vec::with_capacity(records.len());
        for r in records {
            let used = usage
                .entry(r.id.clone())
                .or_insert_with(|| Arc::new(AtomicI64::new(r.last_used_ms.unwrap_or(0))))
                .clone();
            used.fetch_max(r.last_used_ms.unwrap_or(0), Ordering::Relaxed);
            let scopes = Arc::new(r.scopes.clone());
            let limits = Arc::new(crate::keys::manage::key_limits(&r.limits).unwrap_or_default());
            let mut secret = |digest: [u8; 32], not_after_ms: Option<i64>| {
                entries.push(KeyEntry {
                    id: Arc::from(r.id.as_str()),
                    name: Arc::from(r.name.as_str()),
                    digest,
                    not_after_ms,
                    source: KeySource::Store,
                    last_used_ms: used.clone(),
                    workspace: Arc::from(r.workspace.as_str()),
                    scopes: scopes.clone(),
                    limits: limits.clone(),
                    revoked: r.revoked(),
                })
            };
            secret(r.digest, None);
            if let Some((d, t)) = r.previous {
                secret(d, Some(t));
            }
        }
        usage.retain(|id, _| records.iter().any(|r| &r.id == id));
        self.map.store(Arc::new(KeyStore::new(entries)));
    }

    /// Write the last uses seen since the previous checkpoint.
    pub fn checkpoint(&self, conn: &Connection) {
        let seen: Vec<(String, i64)> = {
            let usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
            usage
                .iter()
                .map(|(id, a)| (id.clone(), a.load(Ordering::Relaxed)))
                .filter(|(_, t)| *t > 0)
                .collect()
        };
        for (id, t) in seen {
            let r = conn.execute(
                "UPDATE api_keys SET last_used_ms = ?2 WHERE id = ?1 AND (last_used_ms IS NULL OR last_used_ms < ?2)",
                params![id, t],
            );
            if let Err(e) = r {
                tracing::warn!(error = %e, "store: cannot record a key's last use");
            }
        }
    }
}
