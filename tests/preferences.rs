//! Preferences over real sockets: the round trip, validation, their effect on routing, isolation, and
//! the suggestions derived from the request log and feedback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::state::*;
use common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn preferences_round_trip_and_steer_routing() {
    let up = upstream().await;
    let gw = Gateway::start(
        &cfg(&up, "workspaces:\n  ws1:\n    excluded_providers: [bad]\n"),
        &models(),
    );
    let route = || async {
        let r = chat(
            &gw,
            json!({"model": "auto:quality", "messages": user_msg("hello there, how are you today?")}),
        )
        .await;
        assert_eq!(r.status(), 200);
        r.headers()["x-routed-model"].to_str().unwrap().to_string()
    };
    assert_eq!(
        route().await,
        "up/a",
        "the best eligible model (bad/x is excluded by the YAML)"
    );
    let prefs = || async {
        get(&format!("{}/v1/preferences", gw.url), Some(KEY))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let p = prefs().await;
    assert_eq!(p["preferences"]["excluded_providers"], json!(["bad"]));
    assert_eq!(p["source"]["excluded_providers"], "config");
    let put = |key: &'static str, value: Value| {
        client()
            .put(format!("{}/v1/preferences/{key}", gw.url))
            .bearer_auth(KEY)
            .json(&json!({ "value": value }))
            .send()
    };
    // Bad keys and values are 400s naming them.
    let r = put("colour", json!("blue")).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "key");
    let r = put("excluded_models", json!(["up/nope"])).await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["param"], "value");
    assert!(v["error"]["message"].as_str().unwrap().contains("up/nope"));
    let r = put("default_optimization", json!("fastest")).await.unwrap();
    assert_eq!(r.status(), 400);
    // Exclude up/a: auto routes to up/b.
    let r = put("excluded_models", json!(["up/a"])).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(route().await, "up/b");
    let p = prefs().await;
    assert_eq!(p["preferences"]["excluded_models"], json!(["up/a"]));
    assert_eq!(p["source"]["excluded_models"], "stored");
    // Delete: back to the YAML default.
    let d = client()
        .delete(format!("{}/v1/preferences/excluded_models", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 200);
    assert_eq!(d.json::<Value>().await.unwrap()["deleted"], true);
    assert_eq!(route().await, "up/a");
    // Another workspace is untouched by ws1's preferences.
    let theirs: Value = get(&format!("{}/v1/preferences", gw.url), Some(THIRD_KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["workspace"], "ws3");
    assert_eq!(theirs["preferences"]["excluded_models"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn suggestions_come_from_the_log_and_the_feedback() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    // bad/x keeps failing for ws1 (each request falls back to up/b).
    for i in 0..5 {
        let r = chat(
            &gw,
            json!({"model": "bad/x", "fallback": ["up/b"], "messages": user_msg(&format!("q{i}"))}),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    for _ in 0..3 {
        let r = client()
            .post(format!("{}/v1/auto/feedback", gw.url))
            .bearer_auth(KEY)
            .json(
                &json!({"prompt": "sort this list in python", "classified_task": "chat", "correct": false,
                           "confidence": 0.4, "suggested_task": "code"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.json::<Value>().await.unwrap()["storage"]
            .as_str()
            .unwrap()
            .starts_with("stored durably"));
    }
    let s: Value = get(&format!("{}/v1/preferences/suggestions", gw.url), Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    let list = s["suggestions"].as_array().unwrap();
    let failing = list
        .iter()
        .find(|x| x["kind"] == "failing_provider")
        .unwrap_or_else(|| panic!("{s:#}"));
    assert_eq!(failing["key"], "excluded_providers");
    assert_eq!(failing["value"], json!(["bad"]));
    assert_eq!(failing["evidence"]["failures"], 5);
    let callers = list
        .iter()
        .find(|x| x["kind"] == "overridden_model")
        .unwrap_or_else(|| panic!("{s:#}"));
    assert_eq!(callers["key"], "preferred_providers");
    let task = list
        .iter()
        .find(|x| x["kind"] == "task_correction")
        .unwrap_or_else(|| panic!("{s:#}"));
    assert_eq!(
        (task["key"].as_str(), task["value"].as_str()),
        (Some("default_task"), Some("code"))
    );
    // Applying a suggestion is one PUT of its key and value.
    let r = client()
        .put(format!(
            "{}/v1/preferences/{}",
            gw.url,
            failing["key"].as_str().unwrap()
        ))
        .bearer_auth(KEY)
        .json(&json!({"value": failing["value"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: Value = get(&format!("{}/v1/preferences/suggestions", gw.url), Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    assert!(s["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["kind"] != "failing_provider"));
    // Another workspace has nothing to go on.
    let s: Value = get(&format!("{}/v1/preferences/suggestions", gw.url), Some(THIRD_KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["suggestions"], json!([]));
}
