//! Cost caps over real sockets: 50 concurrent requests against a daily key cap that fits 10 — each
//! reserves its maximum before going upstream, exactly 10 are admitted, the others get 402
//! `cost_cap_reached` naming the cap, and the spend (settled to the actual cost) never passes the cap;
//! the day's spend survives a restart; a workspace cap from the config.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::state::*;
use common::*;
use serde_json::{json, Value};

const CAP: f64 = 0.0205;

/// An upstream that answers after `delay` with a small usage (5 prompt, 50 answer tokens: $0.000105
/// on `up/a`).
async fn small_answers(delay: Duration) -> Upstream {
    Upstream::start(move |_, seen| {
        let model = seen.json()["model"].as_str().unwrap_or("m").to_string();
        let mut c = completion(&model, "ok");
        c["usage"] = json!({"prompt_tokens": 5, "completion_tokens": 50, "total_tokens": 55});
        Reply::Delay(delay, Box::new(Reply::Json(200, c)))
    })
    .await
}

async fn admin_get(gw: &Gateway, path: &str) -> Value {
    client()
        .get(format!("{}{path}", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn spend_today(gw: &Gateway, key: &str, want: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let v = admin_get(gw, &format!("/admin/keys/{key}")).await;
        let s = v["spend"]["today_dollars"].as_f64().unwrap();
        if want(s) || std::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_against_a_cap_that_fits_ten() {
    let up = small_answers(Duration::from_millis(800)).await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let r = client()
        .post(format!("{}/admin/keys", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "capped", "workspace": "ws9", "limits": {"daily_cost_cap_dollars": CAP}}))
        .send()
        .await
        .unwrap();
    let key = r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string();
    // Each request may cost up to its prompt plus 1000 answer tokens at $2/M: just over $0.002, so 10
    // reservations fit in $0.0205 and an 11th does not.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (url, key) = (gw.chat_url(), key.clone());
        tasks.push(tokio::spawn(async move {
            let r = client()
                .post(url)
                .bearer_auth(key)
                .json(&json!({"model": "up/a", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, v) = t.await.unwrap();
        match status {
            200 => ok += 1,
            402 => {
                assert_eq!(v["error"]["code"], "cost_cap_reached", "{v}");
                assert_eq!(v["error"]["cap"]["period"], "daily");
                assert_eq!(v["error"]["cap"]["limit_dollars"], CAP);
                let msg = v["error"]["message"].as_str().unwrap();
                assert!(
                    msg.contains("daily cost cap of $0.0205") && msg.contains("remaining"),
                    "{msg}"
                );
            }
            s => panic!("status {s}: {v}"),
        }
    }
    assert_eq!(ok, 10, "exactly the reservations that fit");
    assert_eq!(up.count(), 10);
    let spent = spend_today(&gw, "capped", |s| s >= 0.00105 - 1e-9).await;
    assert!(spent <= CAP);
    assert!((spent - 0.00105).abs() < 1e-9, "settled to the actual cost: {spent}");

    // The day's spend survives a restart (checkpointed at exit).
    let dir = restart(gw);
    let gw = Gateway::start_in(dir, &[]);
    let after = spend_today(&gw, "capped", |_| true).await;
    assert!((after - spent).abs() < 1e-12, "{after} vs {spent}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_cap_from_the_config() {
    let up = small_answers(Duration::ZERO).await;
    // ws1 (the harness's KEY) may spend $0.003 a month: a request that may cost ~$0.002 fits, one
    // that may cost ~$0.004 does not, whatever it would really have cost.
    let extra = "plugins:\n  caps:\n    workspaces:\n      ws1: {monthly_dollars: 0.003}\n";
    let gw = Gateway::start(&cfg(&up, extra), &models());
    let ask = |max: u32| {
        client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .json(&json!({"model": "up/a", "messages": user_msg("hi"), "max_tokens": max}))
            .send()
    };
    assert_eq!(ask(1000).await.unwrap().status(), 200);
    let r = ask(2000).await.unwrap();
    assert_eq!(r.status(), 402, "$0.004 may not fit in what is left of $0.003");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["cap"]["scope"], "workspace:ws1");
    assert_eq!(v["error"]["cap"]["period"], "monthly");
    assert!(v["error"]["message"].as_str().unwrap().contains("workspace \"ws1\""));
    // Another workspace is not bound by it.
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(THIRD_KEY)
        .json(&json!({"model": "up/a", "messages": user_msg("hi"), "max_tokens": 2000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
