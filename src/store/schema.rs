//! The database schema as numbered migrations, applied in order at open, each in its own transaction;
//! `PRAGMA user_version` records how far a database has come. A migration is never edited once
//! released: a change is a new one appended to [`MIGRATIONS`].

use rusqlite::Connection;

/// Migration `i` takes a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the request log, key-value with expiry, the ledger, webhook deliveries, preferences, feedback.
    r#"
    CREATE TABLE request_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        key_name TEXT,
        workspace TEXT NOT NULL DEFAULT '',
        endpoint TEXT NOT NULL,
        client_schema TEXT,
        requested_model TEXT,
        mode TEXT,
        task TEXT,
        tier TEXT,
        model TEXT,
        provider TEXT,
        reason TEXT,
        policy TEXT,
        ab_arm TEXT,
        attempts TEXT,
        fallback INTEGER NOT NULL DEFAULT 0,
        status INTEGER NOT NULL,
        error_code TEXT,
        latency_ms REAL,
        ttft_ms REAL,
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_cached INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        tokens_reasoning INTEGER NOT NULL DEFAULT 0,
        cost_pico INTEGER,
        cost_basis TEXT,
        cache TEXT,
        answered_by TEXT,
        firewall TEXT,
        rules TEXT,
        stream INTEGER NOT NULL DEFAULT 0,
        stream_cut INTEGER NOT NULL DEFAULT 0,
        prompt TEXT,
        answer TEXT
    );
    CREATE INDEX request_log_workspace ON request_log(workspace, seq);
    CREATE INDEX request_log_time ON request_log(ts_ms);

    CREATE TABLE kv (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        expires_ms INTEGER,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;
    CREATE INDEX kv_expiry ON kv(expires_ms) WHERE expires_ms IS NOT NULL;

    CREATE TABLE ledger_accounts (
        account TEXT PRIMARY KEY,
        balance INTEGER NOT NULL
    );
    CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        amount INTEGER NOT NULL,
        kind TEXT NOT NULL,
        reference TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        balance_after INTEGER NOT NULL
    );
    CREATE INDEX ledger_entries_account ON ledger_entries(account, seq);
    CREATE UNIQUE INDEX ledger_credit_reference ON ledger_entries(reference) WHERE kind = 'credit';

    CREATE TABLE webhook_events (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL
    );

    CREATE TABLE preferences (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (workspace, key)
    );

    CREATE TABLE feedback (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        workspace TEXT NOT NULL,
        key_name TEXT NOT NULL,
        prompt TEXT NOT NULL,
        classified_task TEXT NOT NULL,
        correct INTEGER NOT NULL,
        confidence REAL NOT NULL,
        suggested_task TEXT
    );
    CREATE INDEX feedback_workspace ON feedback(workspace, seq);
    "#,
    // 2: keys made at runtime (hashed; a rotated-out secret with the end of its grace window), and the
    // spend counters' checkpoints (per scope and period, e.g. `key:key_…` / `day:2026-12-06`).
    r#"
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        workspace TEXT NOT NULL,
        prefix TEXT NOT NULL,
        digest BLOB NOT NULL UNIQUE,
        previous_digest BLOB,
        previous_not_after_ms INTEGER,
        test INTEGER NOT NULL DEFAULT 0,
        scopes TEXT NOT NULL,
        limits TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        rotated_ms INTEGER,
        revoked_ms INTEGER,
        last_used_ms INTEGER
    );

    CREATE TABLE spend_counters (
        scope TEXT NOT NULL,
        period TEXT NOT NULL,
        spent_pico INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (scope, period)
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

fn version(conn: &Connection) -> Result<i64, String> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| format!("cannot read the schema version: {e}"))
}

/// Refuse a database written by a newer Switchyard (its schema may mean things this one does not know).
pub fn check_version(conn: &Connection) -> Result<i64, String> {
    let v = version(conn)?;
    if v > VERSION {
        return Err(format!(
            "the store's schema is version {v}, newer than this build's {VERSION}; use a newer switchyard"
        ));
    }
    Ok(v)
}

/// Bring the database to [`VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let from = check_version(conn)?;
    if from == 0 {
        // Only takes effect before the first table exists: lets retention give pages back to the
        // file system (`PRAGMA incremental_vacuum`).
        let _ = conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL");
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0)) {
        let to = i as i64 + 1;
        let tx = conn
            .transaction()
            .map_err(|e| format!("migration {to}: cannot begin: {e}"))?;
        tx.execute_batch(sql).map_err(|e| format!("migration {to}: {e}"))?;
        tx.pragma_update(None, "user_version", to)
            .map_err(|e| format!("migration {to}: cannot record the version: {e}"))?;
        tx.commit().map_err(|e| format!("migration {to}: cannot commit: {e}"))?;
        tracing::info!(version = to, "store: schema migrated");
    }
    Ok(())
}
