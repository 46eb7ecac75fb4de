//! The SDK's [`KeyValue`] on SQLite: entries per namespace with an optional expiry. Puts are queued to
//! the writer (droppable under overload: a cache entry or a stored answer can be recomputed); deletes
//! are never dropped; reads run on the writer's thread and see every write queued before them.
//! Expired entries are invisible at once and removed by the writer's maintenance.

use std::time::Duration;

use rusqlite::{params, OptionalExtension, Transaction};
use switchyard_sdk::{KeyValue, KvEntry, StoreError, StoreFuture};

use super::writer::Op;
use super::{now_ms, Sender};

pub struct SqliteKv {
    sender: Sender,
}

impl SqliteKv {
    pub(crate) fn new(sender: Sender) -> Self {
        SqliteKv { sender }
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

pub(crate) fn put(
    tx: &Transaction,
    ns: &str,
    key: &str,
    value: &[u8],
    expires_ms: Option<i64>,
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO kv (ns, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ns, key, value, expires_ms])?;
    Ok(())
}

pub(crate) fn delete(tx: &Transaction, ns: &str, key: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM kv WHERE ns = ?1 AND key = ?2")?
        .execute(params![ns, key])?;
    Ok(())
}

impl KeyValue for SqliteKv {
    fn put(&self, namespace: &str, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> bool {
        let expires_ms = ttl.map(|t| now_ms().saturating_add(i64::try_from(t.as_millis()).unwrap_or(i64::MAX / 2)));
        let op = Op::KvPut {
            ns: namespace.to_string(),
            key: key.to_string(),
            value,
            expires_ms,
        };
        self.sender.send_droppable(op, "kv")
    }

    fn delete(&self, namespace: &str, key: &str) {
        self.sender.send(Op::KvDelete {
            ns: namespace.to_string(),
            key: key.to_string(),
        });
    }

    fn get(&self, namespace: &str, key: &str) -> StoreFuture<Option<Vec<u8>>> {
        let (ns, key) = (namespace.to_string(), key.to_string());
        self.sender.call(move |conn| {
            conn.prepare_cached(
                "SELECT value FROM kv WHERE ns = ?1 AND key = ?2 AND (expires_ms IS NULL OR expires_ms > ?3)",
            )
            .and_then(|mut st| st.query_row(params![ns, key, now_ms()], |r| r.get(0)).optional())
            .map_err(err)
        })
    }

    fn load(&self, namespace: &str) -> Result<Vec<KvEntry>, StoreError> {
        let ns = namespace.to_string();
        self.sender.call_blocking(
            move |conn| {
                let mut st = conn
                    .prepare("SELECT key, value, expires_ms FROM kv WHERE ns = ?1 AND (expires_ms IS NULL OR expires_ms > ?2)")
                    .map_err(err)?;
                let rows = st
                    .query_map(params![ns, now_ms()], |r| {
                        Ok(KvEntry {
                            key: r.get(0)?,
                            value: r.get(1)?,
                            expires_unix_ms: r.get::<_, Option<i64>>(2)?.and_then(|e| u64::try_from(e).ok()),
                        })
                    })
                    .map_err(err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
            },
            Duration::from_secs(30),
        )
    }
}
