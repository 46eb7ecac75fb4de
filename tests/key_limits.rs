//! Limits per key and per workspace over real sockets: exact admission under concurrency (4×N requests
//! from 32 connections at once, exactly N admitted), the catalog endpoints limited with their own
//! count, concurrency, a workspace's limit over its keys, and OpenAI's rate-limit headers on refused
//! and answered requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::state::*;
use common::*;
use serde_json::{json, Value};

async fn create_key(gw: &Gateway, name: &str, workspace: &str, limits: Value) -> String {
    let r = client()
        .post(format!("{}/admin/keys", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": name, "workspace": workspace, "limits": limits}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["key"].as_str().unwrap().to_string()
}

fn chat_req(c: &reqwest::Client, gw: &Gateway, key: &str) -> reqwest::RequestBuilder {
    c.post(gw.chat_url())
        .bearer_auth(key)
        .json(&json!({"model": "up/a", "messages": user_msg("hi")}))
}

fn h<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_n_of_4n_concurrent_requests_are_admitted() {
    const N: usize = 16;
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let key = create_key(&gw, "burst", "ws9", json!({"requests_per_minute": N})).await;
    // 32 connections (one client each, one connection per client), 4×N requests in all, released at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (url, key, barrier) = (gw.chat_url(), key.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            barrier.wait().await;
            let mut statuses = Vec::new();
            for _ in 0..(4 * N / 32) {
                let r = c
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"model": "up/a", "messages": [{"role": "user", "content": "hi"}]}))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 429 {
                    assert!(r.headers().contains_key("retry-after"));
                }
                statuses.push(r.status().as_u16());
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), 4 * N);
    assert_eq!(all.iter().filter(|s| **s == 200).count(), N, "{all:?}");
    assert_eq!(all.iter().filter(|s| **s == 429).count(), 3 * N);
    assert_eq!(up.count(), N, "only the admitted reached the upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_endpoints_are_limited_and_headers_go_on_every_answer() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let key = create_key(
        &gw,
        "cat",
        "ws9",
        json!({"requests_per_minute": 5, "catalog_requests_per_minute": 2, "tokens_per_minute": 100000}),
    )
    .await;
    let c = client();
    for left in ["1", "0"] {
        let r = get(&format!("{}/v1/models", gw.url), Some(&key)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(h(&r, "x-ratelimit-limit-requests"), Some("2"));
        assert_eq!(h(&r, "x-ratelimit-remaining-requests"), Some(left));
    }
    let r = get(&format!("{}/v1/models", gw.url), Some(&key)).await;
    assert_eq!(r.status(), 429);
    let secs: u64 = h(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_eq!(h(&r, "x-ratelimit-remaining-requests"), Some("0"));
    assert!(h(&r, "x-ratelimit-reset-requests").unwrap().ends_with('s'));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    let r = get(&format!("{}/v1/models/tags", gw.url), Some(&key)).await;
    assert_eq!(r.status(), 429, "every catalog endpoint shares the count");

    // Inference has its own count, and its answers carry both header sets.
    let r = chat_req(&c, &gw, &key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h(&r, "x-ratelimit-limit-requests"), Some("5"));
    assert_eq!(h(&r, "x-ratelimit-remaining-requests"), Some("4"));
    assert_eq!(h(&r, "x-ratelimit-limit-tokens"), Some("100000"));
    let remaining: u64 = h(&r, "x-ratelimit-remaining-tokens").unwrap().parse().unwrap();
    assert!(remaining < 100000 && remaining > 99000, "{remaining}");

    // A key without limits still meets the catalog's default (600), and sees it.
    let r = get(&format!("{}/v1/models", gw.url), Some(THIRD_KEY)).await;
    assert_eq!(h(&r, "x-ratelimit-limit-requests"), Some("600"));
    let m = metrics_with(&gw, "switchyard_limits_refused_total{code=\"rate_limited\"} 2").await;
    assert!(
        m.contains("switchyard_limits_refused_total{code=\"rate_limited\"} 2"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrency_and_workspace_limits() {
    // The upstream takes 600 ms to answer, so requests overlap.
    let up = Upstream::start(|_, _| {
        Reply::Delay(
            Duration::from_millis(600),
            Box::new(Reply::Json(200, completion("m", "ok"))),
        )
    })
    .await;
    let extra = "plugins:\n  ratelimit:\n    workspaces:\n      ws8: {requests_per_minute: 3}\n";
    let gw = Gateway::start(&cfg(&up, extra), &models());
    let key = create_key(&gw, "two-at-once", "ws9", json!({"concurrent_requests": 2})).await;
    let c = client();
    let (a, b, d) = tokio::join!(chat_req(&c, &gw, &key).send(), chat_req(&c, &gw, &key).send(), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        chat_req(&c, &gw, &key).send().await
    });
    let mut s = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    s.sort();
    assert_eq!(s, [200, 200]);
    let d = d.unwrap();
    assert_eq!(d.status(), 429);
    let v: Value = d.json().await.unwrap();
    assert_eq!(v["error"]["code"], "concurrency_limited");
    assert_eq!(
        chat_req(&c, &gw, &key).send().await.unwrap().status(),
        200,
        "released when over"
    );

    // Two keys of ws8 share its 3 requests a minute.
    let k1 = create_key(&gw, "ws8-a", "ws8", json!({})).await;
    let k2 = create_key(&gw, "ws8-b", "ws8", json!({})).await;
    for k in [&k1, &k2, &k1] {
        assert_eq!(chat_req(&c, &gw, k).send().await.unwrap().status(), 200);
    }
    let r = chat_req(&c, &gw, &k2).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("workspace"), "{v}");
}
