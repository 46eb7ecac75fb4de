//! Reading the request log back: filters, cursor pagination (newest first; the cursor is the position
//! after the last row returned), and the two export formats shared by `GET /v1/org/logs`, the admin
//! listener's export and `switchyard logs`: JSON objects, and CSV per RFC 4180 (the `csv` crate quotes)
//! with every cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
//! neutralised by a leading `'`.

use rusqlite::{params_from_iter, Connection, Row};
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_sdk::Money;

/// Rows per export at most.
pub const MAX_LIMIT: usize = 10_000;

/// Which rows to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Only this workspace's rows (`None`: every workspace, for the operator).
    pub workspace: Option<String>,
    pub limit: usize,
    /// Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until_ms: Option<i64>,
    /// The model that answered (catalog id) or the model asked for.
    pub model: Option<String>,
    /// An exact status (`429`) or a class (`4xx`).
    pub status: Option<StatusFilter>,
    /// A key's name.
    pub key: Option<String>,
    /// Rows before this position (from a previous page's `next_cursor`).
    pub cursor: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    /// `4xx`: 400..=499.
    Class(u16),
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if let Some(d) = s.strip_suffix("xx") {
            let d: u16 = d.parse().ok()?;
            return (1..=5).contains(&d).then_some(StatusFilter::Class(d));
        }
        let n: u16 = s.parse().ok()?;
        (100..=599).contains(&n).then_some(StatusFilter::Exact(n))
    }
}

/// One row as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub seq: i64,
    pub id: String,
    pub ts_ms: i64,
    pub key_name: Option<String>,
    pub workspace: String,
    pub endpoint: String,
    pub client_schema: Option<String>,
    pub requested_model: Option<String>,
    pub mode: Option<String>,
    pub task: Option<String>,
    pub tier: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub reason: Option<String>,
    pub policy: Option<String>,
    pub ab_arm: Option<String>,
    /// The fallback chain as JSON text.
    pub attempts: Option<String>,
    pub fallback: bool,
    pub status: i64,
    pub error_code: Option<String>,
    pub latency_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub tokens_in: i64,
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub tokens_reasoning: i64,
    pub cost_pico: Option<i64>,
    pub cost_basis: Option<String>,
    pub cache: Option<String>,
    pub answered_by: Option<String>,
    pub firewall: Option<String>,
    pub rules: Option<String>,
    pub stream: bool,
    pub stream_cut: bool,
    pub prompt: Option<String>,
    pub answer: Option<String>,
}

const COLUMNS: &str = "seq, id, ts_ms, key_name, workspace, endpoint, client_schema, requested_model, mode, task, \
    tier, model, provider, reason, policy, ab_arm, attempts, fallback, status, error_code, latency_ms, ttft_ms, \
    tokens_in, tokens_cached, tokens_out, tokens_reasoning, cost_pico, cost_basis, cache, answered_by, firewall, \
    rules, stream, stream_cut, prompt, answer";

fn record(r: &Row) -> rusqlite::Result<LogRecord> {
    Ok(LogRecord {
        seq: r.get(0)?,
        id: r.get(1)?,
        ts_ms: r.get(2)?,
        key_name: r.get(3)?,
        workspace: r.get(4)?,
        endpoint: r.get(5)?,
        client_schema: r.get(6)?,
        requested_model: r.get(7)?,
        mode: r.get(8)?,
        task: r.get(9)?,
        tier: r.get(10)?,
        model: r.get(11)?,
        provider: r.get(12)?,
        reason: r.get(13)?,
        policy: r.get(14)?,
        ab_arm: r.get(15)?,
        attempts: r.get(16)?,
        fallback: r.get(17)?,
        status: r.get(18)?,
        error_code: r.get(19)?,
        latency_ms: r.get(20)?,
        ttft_ms: r.get(21)?,
        tokens_in: r.get(22)?,
        tokens_cached: r.get(23)?,
        tokens_out: r.get(24)?,
        tokens_reasoning: r.get(25)?,
        cost_pico: r.get(26)?,
        cost_basis: r.get(27)?,
        cache: r.get(28)?,
        answered_by: r.get(29)?,
        firewall: r.get(30)?,
        rules: r.get(31)?,
        stream: r.get(32)?,
        stream_cut: r.get(33)?,
        prompt: r.get(34)?,
        answer: r.get(35)?,
    })
}

/// A page of rows, newest first, and the cursor of the next page when there may be one.
pub fn query(conn: &Connection, q: &LogQuery) -> rusqlite::Result<(Vec<LogRecord>, Option<i64>)> {
    let mut sql = format!("SELECT {COLUMNS} FROM request_log WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(w) = &q.workspace {
        arg(&mut sql, " AND workspace = ?", w.clone().into());
    }
    if let Some(c) = q.cursor {
        arg(&mut sql, " AND seq < ?", c.into());
    }
    if let Some(s) = q.since_ms {
        arg(&mut sql, " AND ts_ms >= ?", s.into());
    }
    if let Some(u) = q.until_ms {
        arg(&mut sql, " AND ts_ms < ?", u.into());
    }
    if let Some(m) = &q.model {
        args.push(m.clone().into());
        let n = args.len();
        sql.push_str(&format!(" AND (model = ?{n} OR requested_model = ?{n})"));
    }
    match q.status {
        Some(StatusFilter::Exact(s)) => {
            args.push(i64::from(s).into());
            sql.push_str(&format!(" AND status = ?{}", args.len()));
        }
        Some(StatusFilter::Class(c)) => {
            args.push(i64::from(c * 100).into());
            sql.push_str(&format!(" AND status >= ?{n} AND status < ?{n} + 100", n = args.len()));
        }
        None => {}
    }
    if let Some(k) = &q.key {
        args.push(k.clone().into());
        sql.push_str(&format!(" AND key_name = ?{}", args.len()));
    }
    let limit = q.limit.clamp(1, MAX_LIMIT);
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
    let mut st = conn.prepare(&sql)?;
    let rows: Vec<LogRecord> = st
        .query_map(params_from_iter(args), record)?
        .collect::<rusqlite::Result<_>>()?;
    let next = (rows.len() == limit).then(|| rows.last().map(|r| r.seq)).flatten();
    Ok((rows, next))
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn dollars(pico: Option<i64>) -> Option<String> {
    pico.map(|p| Money(u64::try_from(p).unwrap_or(0)).to_string())
}

/// One row as the JSON export writes it (serialized straight from the record: no tree is built; the
/// fallback chain is the JSON text the writer stored).
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    time: String,
    key: Option<&'a str>,
    workspace: &'a str,
    endpoint: &'a str,
    client_schema: Option<&'a str>,
    requested_model: Option<&'a str>,
    mode: Option<&'a str>,
    task: Option<&'a str>,
    tier: Option<&'a str>,
    model: Option<&'a str>,
    provider: Option<&'a str>,
    routing_reason: Option<&'a str>,
    policy: Option<&'a str>,
    ab_arm: Option<&'a str>,
    fallback_chain: &'a RawValue,
    fallback: bool,
    status: i64,
    error_code: Option<&'a str>,
    latency_ms: Option<f64>,
    ttft_ms: Option<f64>,
    tokens_in: i64,
    tokens_cached: i64,
    tokens_out: i64,
    tokens_reasoning: i64,
    cost_usd: Option<String>,
    cost_basis: Option<&'a str>,
    cache: Option<&'a str>,
    answered_by: Option<&'a str>,
    firewall: Option<&'a str>,
    rules: Option<&'a str>,
    stream: bool,
    stream_cut: bool,
    prompt: Option<&'a str>,
    answer: Option<&'a str>,
}

/// A page of the JSON export.
#[derive(serde::Serialize)]
struct Page<'a> {
    object: &'static str,
    data: Vec<JsonRow<'a>>,
    has_more: bool,
    next_cursor: Option<String>,
}

fn empty_chain() -> &'static RawValue {
    static EMPTY: std::sync::LazyLock<Box<RawValue>> = std::sync::LazyLock::new(|| {
        RawValue::from_string("[]".to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
    });
    &EMPTY
}

impl LogRecord {
    fn json_row(&self) -> JsonRow<'_> {
        JsonRow {
            id: &self.id,
            time: rfc3339(self.ts_ms),
            key: self.key_name.as_deref(),
            workspace: &self.workspace,
            endpoint: &self.endpoint,
            client_schema: self.client_schema.as_deref(),
            requested_model: self.requested_model.as_deref(),
            mode: self.mode.as_deref(),
            task: self.task.as_deref(),
            tier: self.tier.as_deref(),
            model: self.model.as_deref(),
            provider: self.provider.as_deref(),
            routing_reason: self.reason.as_deref(),
            policy: self.policy.as_deref(),
            ab_arm: self.ab_arm.as_deref(),
            fallback_chain: self
                .attempts
                .as_deref()
                .and_then(|a| serde_json::from_str::<&RawValue>(a).ok())
                .unwrap_or_else(|| empty_chain()),
            fallback: self.fallback,
            status: self.status,
            error_code: self.error_code.as_deref(),
            latency_ms: self.latency_ms,
            ttft_ms: self.ttft_ms,
            tokens_in: self.tokens_in,
            tokens_cached: self.tokens_cached,
            tokens_out: self.tokens_out,
            tokens_reasoning: self.tokens_reasoning,
            cost_usd: dollars(self.cost_pico),
            cost_basis: self.cost_basis.as_deref(),
            cache: self.cache.as_deref(),
            answered_by: self.answered_by.as_deref(),
            firewall: self.firewall.as_deref(),
            rules: self.rules.as_deref(),
            stream: self.stream,
            stream_cut: self.stream_cut,
            prompt: self.prompt.as_deref(),
            answer: self.answer.as_deref(),
        }
    }

    /// The row as the JSON export has it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.json_row()).unwrap_or(Value::Null)
    }

    /// The fallback chain as one cell: `model (provider) status latency` per attempt, ` > `-joined.
    fn chain_cell(&self) -> String {
        let Some(Value::Array(a)) = self.attempts.as_deref().and_then(|a| serde_json::from_str(a).ok()) else {
            return String::new();
        };
        a.iter()
            .map(|x| {
                let outcome = x["status"]
                    .as_u64()
                    .map(|s| s.to_string())
                    .or_else(|| x["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "no answer".into());
                let outcome = match (x["status"].as_u64(), x["error"].as_str()) {
                    (Some(s), Some(e)) => format!("{s} {e}"),
                    _ => outcome,
                };
                format!(
                    "{} ({}) {} {}ms",
                    x["model"].as_str().unwrap_or(""),
                    x["provider"].as_str().unwrap_or(""),
                    outcome,
                    x["latency_ms"].as_f64().unwrap_or(0.0)
                )
            })
            .collect::<Vec<_>>()
            .join(" > ")
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: &[&str] = &[
    "id",
    "time",
    "key",
    "workspace",
    "endpoint",
    "client_schema",
    "requested_model",
    "mode",
    "task",
    "tier",
    "model",
    "provider",
    "routing_reason",
    "policy",
    "ab_arm",
    "fallback_chain",
    "fallback",
    "status",
    "error_code",
    "latency_ms",
    "ttft_ms",
    "tokens_in",
    "tokens_cached",
    "tokens_out",
    "tokens_reasoning",
    "cost_usd",
    "cost_basis",
    "cache",
    "answered_by",
    "firewall",
    "rules",
    "stream",
    "stream_cut",
    "prompt",
    "answer",
];

/// A cell a spreadsheet would evaluate (`=SUM(..)`, `+1`, `-1+1`, `@cmd`) made inert with a leading
/// `'`, as OWASP's CSV-injection guidance recommends. Our numbers are never negative, so no number
/// is touched.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}", v)).unwrap_or_default()
}

/// Rows as CSV (header first), CRLF line ends per RFC 4180.
pub fn to_csv(rows: &[LogRecord]) -> Result<Vec<u8>, String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 320 + 512));
    w.write_record(CSV_HEADER).map_err(|e| e.to_string())?;
    for r in rows {
        let cells: [String; 35] = [
            r.id.clone(),
            rfc3339(r.ts_ms),
            opt(&r.key_name).to_string(),
            r.workspace.clone(),
            r.endpoint.clone(),
            opt(&r.client_schema).to_string(),
            opt(&r.requested_model).to_string(),
            opt(&r.mode).to_string(),
            opt(&r.task).to_string(),
            opt(&r.tier).to_string(),
            opt(&r.model).to_string(),
            opt(&r.provider).to_string(),
            opt(&r.reason).to_string(),
            opt(&r.policy).to_string(),
            opt(&r.ab_arm).to_string(),
            r.chain_cell(),
            r.fallback.to_string(),
            r.status.to_string(),
            opt(&r.error_code).to_string(),
            num(r.latency_ms),
            num(r.ttft_ms),
            r.tokens_in.to_string(),
            r.tokens_cached.to_string(),
            r.tokens_out.to_string(),
            r.tokens_reasoning.to_string(),
            dollars(r.cost_pico).unwrap_or_default(),
            opt(&r.cost_basis).to_string(),
            opt(&r.cache).to_string(),
            opt(&r.answered_by).to_string(),
            opt(&r.firewall).to_string(),
            opt(&r.rules).to_string(),
            r.stream.to_string(),
            r.stream_cut.to_string(),
            opt(&r.prompt).to_string(),
            opt(&r.answer).to_string(),
        ];
        w.write_record(cells.iter().map(|c| neutralize(c).into_owned()))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

fn page(rows: &[LogRecord], next: Option<i64>) -> Page<'_> {
    Page {
        object: "list",
        data: rows.iter().map(LogRecord::json_row).collect(),
        has_more: next.is_some(),
        next_cursor: next.map(|c| c.to_string()),
    }
}

/// Rows as the JSON export: `{object, data, has_more, next_cursor}`, serialized.
pub fn to_json(rows: &[LogRecord], next: Option<i64>, pretty: bool) -> Result<Vec<u8>, String> {
    let p = page(rows, next);
    if pretty {
        serde_json::to_vec_pretty(&p)
    } else {
        serde_json::to_vec(&p)
    }
    .map_err(|e| e.to_string())
}
