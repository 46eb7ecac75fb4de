//! Feedback on the classifier, kept durably, and the statistics that `GET /v1/preferences/suggestions`
//! derives its suggestions from: how each provider fared for a workspace (every attempt of the request
//! log's fallback chains), which models served which task, which models callers pinned instead of
//! `auto`, and which task corrections the workspace's feedback keeps making.

use rusqlite::{params, Connection, Transaction};
use switchyard_sdk::StoreError;

/// One `POST /v1/auto/feedback`.
#[derive(Debug, Clone)]
pub struct FeedbackRow {
    pub id: String,
    pub ts_ms: i64,
    pub workspace: String,
    pub key_name: String,
    pub prompt: String,
    pub classified_task: &'static str,
    pub correct: bool,
    pub confidence: f64,
    pub suggested_task: Option<&'static str>,
}

pub(crate) fn insert(tx: &Transaction, f: &FeedbackRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO feedback (id, ts_ms, workspace, key_name, prompt, classified_task, correct, confidence, \
         suggested_task) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        f.id,
        f.ts_ms,
        f.workspace,
        f.key_name,
        f.prompt,
        f.classified_task,
        f.correct,
        f.confidence,
        f.suggested_task
    ])?;
    Ok(())
}

/// A provider's attempts for a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderStats {
    pub provider: String,
    pub attempts: i64,
    pub failures: i64,
}

/// Requests of one task served by one model (auto-routed, successful).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskModel {
    pub task: String,
    pub model: String,
    pub requests: i64,
}

/// A model callers named themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    pub model: String,
    pub requests: i64,
}

/// A correction the feedback keeps making.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub from: String,
    pub to: String,
    pub count: i64,
}

/// What the suggestions are derived from, over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub requests: i64,
    pub auto_requests: i64,
    pub providers: Vec<ProviderStats>,
    pub task_models: Vec<TaskModel>,
    pub pinned: Vec<Pinned>,
    pub corrections: Vec<Correction>,
    pub feedback: i64,
}

fn gather(conn: &Connection, ws: &str, since_ms: i64) -> rusqlite::Result<Evidence> {
    let mut e = Evidence::default();
    (e.requests, e.auto_requests) = conn.query_row(
        "SELECT count(*), coalesce(sum(CASE WHEN mode IS NOT NULL AND mode != 'pinned' THEN 1 ELSE 0 END), 0) \
         FROM request_log WHERE workspace = ?1 AND ts_ms >= ?2 AND requested_model IS NOT NULL",
        params![ws, since_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut st = conn.prepare(
        "SELECT json_extract(a.value, '$.provider') AS p, count(*), \
         sum(CASE WHEN json_extract(a.value, '$.error') IS NULL AND json_extract(a.value, '$.status') < 400 \
         THEN 0 ELSE 1 END) \
         FROM request_log r, json_each(r.attempts) a \
         WHERE r.workspace = ?1 AND r.ts_ms >= ?2 AND r.attempts IS NOT NULL GROUP BY p ORDER BY p",
    )?;
    e.providers = st
        .query_map(params![ws, since_ms], |r| {
            Ok(ProviderStats {
                provider: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                attempts: r.get(1)?,
                failures: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare(
        "SELECT task, model, count(*) FROM request_log WHERE workspace = ?1 AND ts_ms >= ?2 AND task IS NOT NULL \
         AND model IS NOT NULL AND status < 400 AND mode IS NOT NULL AND mode != 'pinned' \
         GROUP BY task, model ORDER BY count(*) DESC, task, model",
    )?;
    e.task_models = st
        .query_map(params![ws, since_ms], |r| {
            Ok(TaskModel {
                task: r.get(0)?,
                model: r.get(1)?,
                requests: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare(
        "SELECT model, count(*) FROM request_log WHERE workspace = ?1 AND ts_ms >= ?2 AND mode = 'pinned' \
         AND model IS NOT NULL GROUP BY model ORDER BY count(*) DESC, model",
    )?;
    e.pinned = st
        .query_map(params![ws, since_ms], |r| {
            Ok(Pinned {
                model: r.get(0)?,
                requests: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    e.feedback = conn.query_row(
        "SELECT count(*) FROM feedback WHERE workspace = ?1 AND ts_ms >= ?2",
        params![ws, since_ms],
        |r| r.get(0),
    )?;
    let mut st = conn.prepare(
        "SELECT classified_task, suggested_task, count(*) FROM feedback WHERE workspace = ?1 AND ts_ms >= ?2 \
         AND correct = 0 AND suggested_task IS NOT NULL GROUP BY classified_task, suggested_task \
         ORDER BY count(*) DESC, classified_task, suggested_task",
    )?;
    e.corrections = st
        .query_map(params![ws, since_ms], |r| {
            Ok(Correction {
                from: r.get(0)?,
                to: r.get(1)?,
                count: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(e)
}

impl super::Store {
    /// The evidence for `workspace`'s suggestions since `since_ms`.
    pub async fn evidence(&self, workspace: &str, since_ms: i64) -> Result<Evidence, StoreError> {
        let ws = workspace.to_string();
        self.call(move |conn| gather(conn, &ws, since_ms).map_err(|e| StoreError(e.to_string())))
            .await
    }
}
