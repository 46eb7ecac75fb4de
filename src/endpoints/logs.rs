//! `GET /v1/org/logs?format=json|csv` — the caller's workspace's request log, newest first — and the
//! admin listener's `GET /admin/logs` (the same export across every workspace). Filters: `limit`
//! (1–10,000, default 1,000), `since` and `until` (RFC 3339 or Unix seconds), `model` (answered or asked
//! for), `status` (`429` or a class `4xx`), `key` (a key's name), and `cursor` (the previous page's
//! `next_cursor`; in CSV it comes in the `x-next-cursor` header). The export first waits for the
//! store's queue to be written, so every request finished before it is in it.

use switchyard_sdk::StoreError;

use super::fields::{percent_decode, query_param};
use super::{BoxFuture, Call, Reply};
use crate::error::GatewayError;
use crate::store::export::{self, LogQuery, StatusFilter, MAX_LIMIT};

/// Rows per page when the caller names no `limit`.
pub const DEFAULT_LIMIT: usize = 1000;

pub fn export<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(run(call, false))
}

pub fn export_all<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(run(call, true))
}

pub fn store_off() -> GatewayError {
    GatewayError::StoreUnavailable("the store is off (store.enabled: false in the config)".into())
}

pub fn store_failed(e: StoreError) -> GatewayError {
    GatewayError::StoreUnavailable(format!("the store could not answer: {e}"))
}

/// RFC 3339 (`2026-01-02T03:04:05Z`) or Unix seconds, as Unix milliseconds.
pub fn parse_time(param: &str, v: &str) -> Result<i64, GatewayError> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            GatewayError::invalid(
                param,
                format!("{param} must be RFC 3339 (2026-01-02T03:04:05Z) or Unix seconds"),
            )
        })
}

/// The export's query from the query string; `workspace` limits it to one workspace.
pub fn parse_query(q: Option<&str>, workspace: Option<String>) -> Result<LogQuery, GatewayError> {
    let decoded: Vec<(&str, Option<String>)> = ["limit", "status", "cursor", "since", "until", "model", "key"]
        .iter()
        .map(|k| (*k, query_param(q, k).filter(|v| !v.is_empty()).map(percent_decode)))
        .collect();
    let get = |k: &str| decoded.iter().find(|(n, _)| *n == k).and_then(|(_, v)| v.as_deref());
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                GatewayError::invalid("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let status =
        match get("status") {
            None => None,
            Some(v) => Some(StatusFilter::parse(v).ok_or_else(|| {
                GatewayError::invalid("status", "status must be an HTTP status (429) or a class (4xx)")
            })?),
        };
    let cursor = match get("cursor") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| GatewayError::invalid("cursor", "cursor must be a next_cursor from a previous page"))?,
        ),
    };
    Ok(LogQuery {
        workspace,
        limit,
        since_ms: get("since").map(|v| parse_time("since", v)).transpose()?,
        until_ms: get("until").map(|v| parse_time("until", v)).transpose()?,
        model: get("model").map(str::to_string),
        status,
        key: get("key").map(str::to_string),
        cursor,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

async fn run(call: &Call<'_>, all: bool) -> Result<Reply, GatewayError> {
    let format = match query_param(call.query, "format").unwrap_or("json") {
        "json" => Format::Json,
        "csv" => Format::Csv,
        _ => return Err(GatewayError::invalid("format", "format must be json or csv")),
    };
    let workspace = if all {
        None
    } else {
        Some(call.identity.map_or(String::new(), |i| i.workspace.to_string()))
    };
    let q = parse_query(call.query, workspace)?;
    let store = call.store.ok_or_else(store_off)?;
    store.flushed().await;
    let (rows, next) = store
        .call(move |conn| export::query(conn, &q).map_err(|e| StoreError(e.to_string())))
        .await
        .map_err(store_failed)?;
    match format {
        Format::Json => Ok(Reply::Body {
            status: 200,
            content_type: "application/json",
            body: export::to_json(&rows, next, false).map_err(GatewayError::Internal)?,
            headers: Vec::new(),
        }),
        Format::Csv => {
            let body = export::to_csv(&rows).map_err(GatewayError::Internal)?;
            let mut headers = vec![(
                "content-disposition",
                "attachment; filename=\"switchyard-logs.csv\"".to_string(),
            )];
            if let Some(c) = next {
                headers.push(("x-next-cursor", c.to_string()));
            }
            Ok(Reply::Body {
                status: 200,
                content_type: "text/csv; charset=utf-8",
                body,
                headers,
            })
        }
    }
}
