//! Per-key limits: requests per minute → 429 with Retry-After, spend cap → 402; the counters
//! survive a config reload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const LIMITED: &str = "sy_live_limitedkey000000000000000000000x";

async fn post(gw: &Gateway) -> reqwest::Response {
    client()
        .post(gw.chat_url())
        .bearer_auth(LIMITED)
        .json(&json!({"model": "up/a", "messages": user_msg("x"), "max_tokens": 5}))
        .send()
        .await
        .unwrap()
}

fn gateway(up: &Upstream, limits: &str) -> Gateway {
    let mut cfg = config("", &provider("up", &up.base(), ""));
    cfg.push_str(&format!(
        "  - name: limited\n    hash: {}\n    workspace: ws\n    limits: {{{limits}}}\n",
        hash(LIMITED)
    ));
    Gateway::start(&cfg, &model("up/a", "a", &[]))
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_per_minute_gives_429_with_retry_after_and_survives_reload() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("a", "ok"))).await;
    let gw = gateway(&up, "requests_per_minute: 2");
    assert_eq!(post(&gw).await.status(), 200);
    assert_eq!(post(&gw).await.status(), 200);
    let r = post(&gw).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    gw.signal("HUP");
    gw.wait_log(10, |l| l.contains("configuration reloaded"));
    assert_eq!(post(&gw).await.status(), 429, "a reload does not reset the limits");
    // Other keys are not affected.
    assert_eq!(
        chat(&gw, json!({"model": "up/a", "messages": user_msg("x")}))
            .await
            .status(),
        200
    );
    assert_eq!(up.count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spend_cap_gives_402_once_reached() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("a", "ok"))).await;
    // Each request reserves its maximum (a few prompt tokens and 5 answer tokens: about $0.00001), which
    // fits; but the answer costs $0.0019 (see `completion`, which ignores `max_tokens`), so after the
    // first the cap has nothing left.
    let gw = gateway(&up, "cost_cap_dollars: 0.001");
    assert_eq!(post(&gw).await.status(), 200);
    // The spend is counted when the request is logged, just after its response is written.
    gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    let r = post(&gw).await;
    assert_eq!(r.status(), 402);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "cost_cap_reached");
    assert_eq!(v["error"]["cap"]["period"], "total");
    assert_eq!(v["error"]["cap"]["remaining_dollars"], 0.0);
    assert_eq!(up.count(), 1);
}
