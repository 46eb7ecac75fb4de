//! A request-log row: what the request path hands the writer (built from the request's context with
//! the values it already holds: `Arc`s, static strings, numbers; the JSON of the fallback chain is
//! written on the writer's thread), and its insert.

use std::sync::Arc;

use rusqlite::{params, Transaction};
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

pub use super::export::{LogQuery, LogRecord};

/// One attempt of the fallback chain.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub model: Arc<crate::config::Model>,
    /// Upstream status, when headers arrived.
    pub status: Option<u16>,
    /// Why the attempt failed, if it did.
    pub error: Option<String>,
    pub latency_ms: f64,
}

/// Everything the request log keeps about one request. No secret and no body unless the workspace's
/// `content_mode_default` is `full`.
#[derive(Debug, Clone, Default)]
pub struct LogRow {
    pub id: String,
    /// Unix milliseconds when the request arrived.
    pub at_ms: i64,
    pub key_name: Option<Arc<str>>,
    pub workspace: Option<Arc<str>>,
    pub endpoint: &'static str,
    /// `chat`, `responses`, `messages`, or empty.
    pub client_schema: &'static str,
    pub requested_model: Option<String>,
    /// `pinned` or the mode `auto` used.
    pub mode: Option<&'static str>,
    pub task: Option<&'static str>,
    pub tier: Option<&'static str>,
    /// The model that answered (or was last tried).
    pub model: Option<Arc<crate::config::Model>>,
    pub reason: Option<String>,
    pub policy: Option<String>,
    pub ab_arm: Option<String>,
    pub attempts: Vec<AttemptRow>,
    pub status: u16,
    pub error_code: Option<&'static str>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub usage: Usage,
    pub cost: Option<Money>,
    /// `actual` (from the usage of the model that answered), `estimate`, or `none`.
    pub cost_basis: &'static str,
    /// `hit` or `miss` when the client asked for caching.
    pub cache: Option<&'static str>,
    pub answered_by: Option<&'static str>,
    pub firewall: Option<String>,
    pub rules: Option<String>,
    pub stream: bool,
    /// The stream broke after it started.
    pub stream_cut: bool,
    pub prompt: Option<String>,
    pub answer: Option<String>,
}

fn attempts_json(a: &[AttemptRow]) -> Option<String> {
    if a.is_empty() {
        return None;
    }
    let v: Vec<serde_json::Value> = a
        .iter()
        .map(|a| {
            serde_json::json!({
                "model": a.model.id,
                "provider": &*a.model.provider.name,
                "status": a.status,
                "error": a.error,
                "latency_ms": (a.latency_ms * 10.0).round() / 10.0,
            })
        })
        .collect();
    serde_json::to_string(&v).ok()
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn insert(tx: &Transaction, r: &LogRow) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO request_log (id, ts_ms, key_name, workspace, endpoint, client_schema, requested_model, mode, \
         task, tier, model, provider, reason, policy, ab_arm, attempts, fallback, status, error_code, latency_ms, \
         ttft_ms, tokens_in, tokens_cached, tokens_out, tokens_reasoning, cost_pico, cost_basis, cache, answered_by, \
         firewall, rules, stream, stream_cut, prompt, answer) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
         ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)",
    )?;
    st.execute(params![
        r.id,
        r.at_ms,
        r.key_name.as_deref(),
        r.workspace.as_deref().unwrap_or(""),
        r.endpoint,
        (!r.client_schema.is_empty()).then_some(r.client_schema),
        r.requested_model,
        r.mode,
        r.task,
        r.tier,
        r.model.as_ref().map(|m| m.id.as_str()),
        r.model.as_ref().map(|m| &*m.provider.name),
        r.reason,
        r.policy,
        r.ab_arm,
        attempts_json(&r.attempts),
        r.attempts.len() > 1,
        r.status,
        r.error_code,
        r.latency_ms,
        r.ttft_ms,
        i64_of(r.usage.input_tokens),
        i64_of(r.usage.cached_input_tokens),
        i64_of(r.usage.output_tokens),
        i64_of(r.usage.reasoning_tokens),
        r.cost.map(|c| i64_of(c.0)),
        r.cost_basis,
        r.cache,
        r.answered_by,
        r.firewall,
        r.rules,
        r.stream,
        r.stream_cut,
        r.prompt,
        r.answer,
    ])?;
    Ok(())
}
