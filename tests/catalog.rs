//! `GET /v1/models`: OpenAI's list shape with catalog fields, filters, and only what the key may use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

const TEST_KEY: &str = "sy_test_catalogtestkey00000000000000000x";

fn gateway() -> Gateway {
    let providers = provider("up", "http://127.0.0.1:9/v1", "") + "  sim:\n    kind: mock\n";
    let mut cfg = config("", &providers);
    cfg.push_str(&format!(
        "  - name: tester2\n    hash: {}\n    workspace: ws3\n",
        hash(TEST_KEY)
    ));
    let sim = "  - id: sim/s\n    pricing: {input: 0.1, output: 0.2}\n    context_window: 1000\n    max_output: 100\n    capabilities: [chat, streaming]\n    quality: {code: 0.5}\n    tags: [simulated]\n";
    Gateway::start(&cfg, &(model("up/a", "a", &["alpha"]) + &model("up/b", "b", &[]) + sim))
}

async fn list(gw: &Gateway, key: &str, query: &str) -> Vec<Value> {
    let r = client()
        .get(format!("{}/v1/models{query}", gw.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    v["data"].as_array().unwrap().clone()
}

fn ids(v: &[Value]) -> Vec<&str> {
    v.iter().map(|m| m["id"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_models_in_openai_shape_with_catalog_fields() {
    let gw = gateway();
    let all = list(&gw, KEY, "").await;
    assert_eq!(ids(&all), vec!["up/a", "up/b", "sim/s"]);
    let a = &all[0];
    assert_eq!(a["object"], "model");
    assert_eq!(a["owned_by"], "up");
    assert_eq!(a["aliases"][0], "alpha");
    assert_eq!(a["upstream_model"], "a");
    assert_eq!(a["pricing"]["input"], 1.0);
    assert_eq!(a["pricing"]["cached_input"], 0.5);
    assert_eq!(a["pricing"]["output"], 2.0);
    assert_eq!(a["context_window"], 100000);
    assert_eq!(a["price_tier"], "standard");
    assert_eq!(a["available"], true);
    assert!(a["capabilities"].as_array().unwrap().iter().any(|c| c == "tools"));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_model_by_id_or_alias() {
    let gw = gateway();
    for name in ["up/a", "alpha"] {
        let r = client()
            .get(format!("{}/v1/models/{name}", gw.url))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["id"], "up/a");
        assert_eq!(v["object"], "model");
    }
    for (key, name) in [(KEY, "up/zzz"), (TEST_KEY, "up/a")] {
        let r = client()
            .get(format!("{}/v1/models/{name}", gw.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{name}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "model_not_found");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_key_scopes_apply() {
    let gw = gateway();
    assert_eq!(ids(&list(&gw, KEY, "?provider=sim").await), vec!["sim/s"]);
    assert_eq!(
        ids(&list(&gw, KEY, "?capabilities=tools,streaming").await),
        vec!["up/a", "up/b"]
    );
    assert_eq!(ids(&list(&gw, KEY, "?task_type=code").await), vec!["sim/s"]);
    assert_eq!(ids(&list(&gw, KEY, "?category=simulated").await), vec!["sim/s"]);
    // A test key sees simulated models only.
    assert_eq!(ids(&list(&gw, TEST_KEY, "").await), vec!["sim/s"]);
    let r = chat_as(&gw, TEST_KEY, "up/a").await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "model_not_allowed");
    let r = client().get(format!("{}/v1/models", gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn chat_as(gw: &Gateway, key: &str, model: &str) -> reqwest::Response {
    client()
        .post(gw.chat_url())
        .bearer_auth(key)
        .json(&serde_json::json!({"model": model, "messages": user_msg("x")}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_answers_simulated_models() {
    let gw = gateway();
    let r = chat_as(&gw, TEST_KEY, "sim/s").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "sim/s");
    assert!(!v["choices"][0]["message"]["content"].as_str().unwrap().is_empty());
    assert_eq!(v["usage"]["completion_tokens"], 16);
}
