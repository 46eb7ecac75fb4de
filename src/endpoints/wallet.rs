//! `GET /v1/wallet?limit=N` — the caller's workspace's prepaid balance (from memory: what the wallet
//! phase checks requests against) and its newest ledger entries (1–200, default 20) from the store.
//! Amounts are exact decimal dollars as strings, with a float twin for display.

use serde_json::{json, Value};
use switchyard_sdk::state::{signed_dollars, signed_dollars_f64};
use switchyard_sdk::{Ledger, LedgerEntry};

use super::fields::query_param;
use super::logs::{store_failed, store_off};
use super::{BoxFuture, Call, Reply};
use crate::error::GatewayError;
use crate::store::export::rfc3339;

pub fn show<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(run(call))
}

pub fn entry_json(e: &LedgerEntry) -> Value {
    json!({
        "time": rfc3339(i64::try_from(e.at_unix_ms).unwrap_or(0)),
        "kind": e.kind,
        "amount_usd": signed_dollars(e.amount),
        "reference": e.reference,
        "note": e.note,
        "balance_after_usd": signed_dollars(e.balance_after),
    })
}

async fn run(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let limit = match query_param(call.query, "limit") {
        None => 20,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| GatewayError::invalid("limit", "limit must be a whole number from 1 to 200"))?,
    };
    let store = call.store.ok_or_else(store_off)?;
    let ws = call.identity.map_or(String::new(), |i| i.workspace.to_string());
    let ledger = store.ledger.clone();
    let balance = ledger.balance(&ws);
    let entries = ledger.entries(&ws, limit).await.map_err(store_failed)?;
    Ok(Reply::Json(
        200,
        json!({
            "object": "wallet",
            "workspace": ws,
            "currency": "usd",
            "balance_usd": signed_dollars(balance),
            "balance_dollars": signed_dollars_f64(balance),
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        }),
    ))
}
