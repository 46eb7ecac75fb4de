//! The wallet and its signed top-up webhook over real sockets: 402 with the balance, signatures
//! (valid, bad, stale, forged), replayed and concurrent duplicate deliveries credited once, the debit of
//! the actual cost, and a restart that keeps rows, balance and preferences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::state::*;
use common::*;
use serde_json::{json, Value};

fn sign(id: &str, ts: i64, body: &str) -> String {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    switchyard::endpoints::webhooks::sign(&key, id, ts, body.as_bytes())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn deliver(gw: &Gateway, id: &str, ts: i64, body: &str, sig: &str) -> reqwest::Response {
    client()
        .post(format!("{}/v1/webhooks/polar", gw.url))
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn wallet(gw: &Gateway) -> Value {
    get(&format!("{}/v1/wallet", gw.url), Some(KEY))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn wallet_refuses_then_a_signed_top_up_credits_once_and_everything_survives_a_restart() {
    let up = upstream().await;
    let extra = format!(
        "plugins:\n  wallet:\n    workspaces: [ws1]\nwebhooks:\n  polar:\n    secret: {SECRET}\nworkspaces:\n  ws1:\n    default_optimization: quality\n"
    );
    let gw = Gateway::start(&cfg(&up, &extra), &models());
    let refused = chat(&gw, json!({"model": "up/a", "messages": user_msg("hi")})).await;
    assert_eq!(refused.status(), 402);
    let v: Value = refused.json().await.unwrap();
    assert_eq!(v["error"]["code"], "insufficient_balance");
    assert!(v["error"]["message"].as_str().unwrap().contains("balance of $0"), "{v}");
    assert_eq!(up.count(), 0);
    // ws2 has no wallet: it is served.
    let free = client()
        .post(gw.chat_url())
        .bearer_auth(OTHER_KEY)
        .json(&json!({"model": "up/b", "messages": user_msg("hi")}))
        .send()
        .await
        .unwrap();
    assert_eq!(free.status(), 200);

    let event = json!({"type": "order.paid", "timestamp": "2026-01-01T00:00:00Z", "data": {
        "id": "ord_1", "checkout_id": "co_1", "status": "paid", "currency": "usd",
        "net_amount": 1000, "tax_amount": 190, "total_amount": 1190, "metadata": {"workspace": "ws1"}}})
    .to_string();
    // Bad signature, stale timestamp, missing headers: 401, nothing credited.
    let bad = deliver(
        &gw,
        "msg_1",
        now(),
        &event,
        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )
    .await;
    assert_eq!(bad.status(), 401);
    let stale_ts = now() - 600;
    let stale = deliver(&gw, "msg_1", stale_ts, &event, &sign("msg_1", stale_ts, &event)).await;
    assert_eq!(stale.status(), 401);
    let forged = deliver(
        &gw,
        "msg_1",
        now(),
        &event.replace("1000", "9000"),
        &sign("msg_1", now(), &event),
    )
    .await;
    assert_eq!(forged.status(), 401);
    assert_eq!(wallet(&gw).await["balance_usd"], "0");

    // Concurrent duplicate deliveries of one event: credited once.
    let ts = now();
    let sig = sign("msg_1", ts, &event);
    let deliveries: Vec<_> = (0..6).map(|_| deliver(&gw, "msg_1", ts, &event, &sig)).collect();
    let mut credited = 0;
    for d in futures_util::future::join_all(deliveries).await {
        assert_eq!(d.status(), 200);
        let v: Value = d.json().await.unwrap();
        credited += usize::from(v["credited"] == true);
    }
    assert_eq!(credited, 1);
    assert_eq!(wallet(&gw).await["balance_usd"], "10");
    // A replay later, and the same purchase announced as a completed checkout: nothing changes.
    let replay = deliver(&gw, "msg_1", now(), &event, &sign("msg_1", now(), &event)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["duplicate"], true);
    let checkout = json!({"type": "checkout.updated", "data": {"id": "co_1", "status": "succeeded",
        "currency": "usd", "amount": 1000, "metadata": {"workspace": "ws1"}}})
    .to_string();
    let c = deliver(&gw, "msg_2", now(), &checkout, &sign("msg_2", now(), &checkout)).await;
    assert_eq!(c.status(), 200);
    assert_eq!(c.json::<Value>().await.unwrap()["credited"], false);
    assert_eq!(wallet(&gw).await["balance_usd"], "10");

    // Now the request is served and debited its actual cost.
    let ok = chat(&gw, json!({"model": "up/a", "messages": user_msg("hi")})).await;
    assert_eq!(ok.status(), 200);
    let w = wallet(&gw).await;
    assert_eq!(w["balance_usd"], "9.9981");
    let entries = w["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0]["kind"].as_str(), entries[0]["amount_usd"].as_str()),
        (Some("debit"), Some("-0.0019"))
    );
    assert_eq!(
        (entries[1]["kind"].as_str(), entries[1]["reference"].as_str()),
        (Some("credit"), Some("polar:checkout:co_1"))
    );

    // A stored preference, then a graceful restart on the same database.
    let put = client()
        .put(format!("{}/v1/preferences/default_task", gw.url))
        .bearer_auth(KEY)
        .json(&json!({"value": "code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let rows_before = logs(&gw, KEY, "model=up/a").await["data"].as_array().unwrap().len();
    assert_eq!(rows_before, 2, "the refused request and the served one");
    let dir = restart(gw);
    let gw = Gateway::start_in(dir, &[]);
    assert_eq!(wallet(&gw).await["balance_usd"], "9.9981");
    let prefs: Value = get(&format!("{}/v1/preferences", gw.url), Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["preferences"]["default_task"], "code");
    assert_eq!(prefs["source"]["default_task"], "stored");
    assert_eq!(prefs["preferences"]["default_optimization"], "quality");
    assert_eq!(
        logs(&gw, KEY, "model=up/a").await["data"].as_array().unwrap().len(),
        rows_before
    );
    // The replayed event is still known after the restart.
    let again = deliver(&gw, "msg_1", now(), &event, &sign("msg_1", now(), &event)).await;
    assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);
    assert_eq!(wallet(&gw).await["balance_usd"], "9.9981");
}
