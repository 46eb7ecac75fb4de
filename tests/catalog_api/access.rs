//! What a scoped key sees, and classification feedback per workspace.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_key_sees_only_its_model() {
    let gw = gateway();
    let (s, v) = post(&gw, ONE_KEY, "/v1/models/query", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 1);
    assert_eq!(models_of(&v, "data", "id"), vec!["an/claude-sonnet-4-5"]);
    let (_, v) = post(
        &gw,
        ONE_KEY,
        "/v1/auto/suggest",
        json!({"prompt": CODE_PROMPT, "mode": "cost"}),
    )
    .await;
    assert_eq!(
        models_of(&v, "suggestions", "model"),
        vec!["an/claude-sonnet-4-5"],
        "{v}"
    );
    assert_eq!(v["filtered"], json!([]), "models the key cannot see are not named");
    let (_, v) = post(&gw, ONE_KEY, "/v1/models/price-comparison", json!({"task": "code"})).await;
    assert_eq!(models_of(&v, "models", "model"), vec!["an/claude-sonnet-4-5"]);
    assert_eq!(v["savings_vs_highest"]["percent"], 0.0);
    let (_, v) = post(
        &gw,
        ONE_KEY,
        "/v1/models/recommend",
        json!({"prompt": "summarize a transcript"}),
    )
    .await;
    assert_eq!(models_of(&v, "data", "model"), vec!["an/claude-sonnet-4-5"]);
    let (_, v) = get(&gw, ONE_KEY, "/v1/models/tags").await;
    let tags: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["agents", "coding"]);
    let (_, v) = get(&gw, ONE_KEY, "/v1/catalog/families").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"][0]["models"], json!(["an/claude-sonnet-4-5"]));
    let (_, v) = get(&gw, ONE_KEY, "/v1/model-health").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_error(&get(&gw, ONE_KEY, "/v1/catalog/families/gpt-4o").await, 404, "family");

    // A test key sees, and is routed to, simulated models only.
    let (_, v) = post(&gw, TEST_KEY, "/v1/auto/suggest", json!({"prompt": "hello there"})).await;
    assert_eq!(models_of(&v, "suggestions", "model"), vec!["sim/s"], "{v}");
    // A key without the catalog scope is refused.
    let (s, v) = post(&gw, OTHER_KEY, "/v1/models/query", json!({})).await;
    assert_eq!(s, 403, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn feedback_is_validated_kept_and_summarized_per_workspace() {
    let gw = gateway();
    let fb = |key: &str, body: Value| post(&gw, key, "/v1/auto/feedback", body);
    let (s, v) = fb(
        KEY,
        json!({"prompt": CODE_PROMPT, "classified_task": "code", "correct": true, "confidence": 0.91}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], true);
    assert!(v["id"].as_str().unwrap().starts_with("fb_"));
    assert_eq!(v["workspace"], "ws1");
    assert_eq!(v["classifier_now"]["task"], "code");
    assert_eq!(v["classifier_now"]["agrees_with_classified_task"], true);
    assert_eq!(v["summary"]["received"], 1);
    let first_id = v["id"].clone();

    let (_, v) = fb(
        KEY,
        json!({"prompt": "Translate 'good morning' into French", "classified_task": "chat", "correct": false,
               "confidence": 0.4, "suggested_task": "translation"}),
    )
    .await;
    assert_ne!(v["id"], first_id);
    let sum = &v["summary"];
    assert_eq!(
        (
            sum["received"].as_u64(),
            sum["correct"].as_u64(),
            sum["incorrect"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(sum["accuracy"], 0.5);
    assert_eq!(
        sum["top_corrections"][0],
        json!({"from": "chat", "to": "translation", "count": 1})
    );
    assert_eq!(sum["by_task"]["code"], json!({"received": 1, "correct": 1}));

    // Another workspace has its own summary.
    let (_, v) = fb(
        ONE_KEY,
        json!({"prompt": "x", "classified_task": "chat", "correct": true, "confidence": 1}),
    )
    .await;
    assert_eq!(
        (v["workspace"].as_str(), v["summary"]["received"].as_u64()),
        (Some("ws-one"), Some(1))
    );

    let base = json!({"prompt": "p", "classified_task": "code", "correct": true, "confidence": 0.5});
    let with = |k: &str, val: Value| {
        let mut b = base.clone();
        b[k] = val;
        b
    };
    assert_error(&fb(KEY, with("confidence", json!(1.5))).await, 400, "confidence");
    assert_error(
        &fb(KEY, with("classified_task", json!("coding"))).await,
        400,
        "classified_task",
    );
    assert_error(&fb(KEY, with("correct", json!("yes"))).await, 400, "correct");
    assert_error(&fb(KEY, with("prompt", json!(""))).await, 400, "prompt");
    assert_error(
        &fb(KEY, with("suggested_task", json!("math"))).await,
        400,
        "suggested_task",
    );
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("classified_task");
    let r = fb(KEY, missing).await;
    assert_error(&r, 400, "classified_task");
    assert_eq!(r.1["error"]["code"], "missing_field");
}
