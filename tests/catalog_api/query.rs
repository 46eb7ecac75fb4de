//! Queries, tags, tiers, taxonomy and families; per-model JSON Schemas and validation against them.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn query_filters_and_paginates() {
    let gw = gateway();
    let q = |body: Value| post(&gw, KEY, "/v1/models/query", body);
    let (s, v) = q(json!({"limit": 2})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_u64(), v["limit"].as_u64(), v["offset"].as_u64()),
        (Some(6), Some(2), Some(0))
    );
    assert_eq!(models_of(&v, "data", "id"), vec!["oa/gpt-4o-mini", "oa/gpt-4o"]);
    assert_eq!(v["has_more"], true);
    assert_eq!(v["next_offset"], 2);
    let (_, v) = q(json!({"limit": 2, "offset": 4})).await;
    assert_eq!(models_of(&v, "data", "id"), vec!["gm/gemini-2.5-flash", "sim/s"]);
    assert_eq!(v["has_more"], false);
    let (_, v) = q(json!({"offset": 6})).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 0);
    assert_eq!(v["total"], 6);
    assert_eq!(v["limit"], 50);

    let (_, v) = q(json!({"price_tier": "budget"})).await;
    assert_eq!(models_of(&v, "data", "id"), vec!["oa/gpt-4o-mini", "sim/s"]);
    let (_, v) = q(json!({"tags": ["coding"]})).await;
    assert_eq!(
        models_of(&v, "data", "id"),
        vec!["an/claude-sonnet-4-5", "an/claude-sonnet-4"]
    );
    let (_, v) = q(json!({"capabilities": "vision,reasoning"})).await;
    assert_eq!(models_of(&v, "data", "id"), vec!["an/claude-sonnet-4-5"]);
    let (_, v) = q(json!({"text": "MILLION-token context"})).await;
    assert_eq!(models_of(&v, "data", "id"), vec!["gm/gemini-2.5-flash"]);
    let (_, v) = q(json!({"provider": "an", "price_tier": ["premium", "frontier"], "limit": 1})).await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["data"][0]["pricing"]["output"], 15.0);

    assert_error(&q(json!({"limit": 501})).await, 400, "limit");
    assert_error(&q(json!({"offset": -1})).await, 400, "offset");
    assert_error(&q(json!({"price_tier": "cheap"})).await, 400, "price_tier");
    assert_error(&q(json!({"tags": 5})).await, 400, "tags");
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_tiers_taxonomy_and_families() {
    let gw = gateway();
    let (s, tags) = get(&gw, KEY, "/v1/models/tags").await;
    assert_eq!(s, 200, "{tags}");
    assert_eq!(tags["data"][0]["tag"], "coding");
    assert_eq!(tags["data"][0]["count"], 2);
    assert_eq!(
        tags["data"][0]["models"],
        json!(["an/claude-sonnet-4-5", "an/claude-sonnet-4"])
    );
    assert_eq!(tags["data"].as_array().unwrap().len(), 7);

    let (_, tiers) = get(&gw, KEY, "/v1/models/price-tiers").await;
    let names: Vec<&str> = tiers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tier"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["free", "budget", "standard", "premium", "frontier"]);
    let premium = &tiers["data"][3];
    assert_eq!(premium["count"], 3);
    assert_eq!(premium["output_price_range"], json!({"min": 10.0, "max": 15.0}));
    assert_eq!(premium["input_price_range"], json!({"min": 2.5, "max": 3.0}));
    assert_eq!(tiers["data"][2]["models"][0]["id"], "gm/gemini-2.5-flash");
    assert_eq!(tiers["data"][0]["count"], 0);

    let (_, tax) = get(&gw, KEY, "/v1/catalog/taxonomy").await;
    let tasks = tax["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 15);
    let code = tasks.iter().find(|t| t["id"] == "code").unwrap();
    assert_eq!(code["modality"], "text");
    assert!(!code["description"].as_str().unwrap().is_empty());
    assert_eq!(code["best_model"]["model"], "an/claude-sonnet-4-5");
    let image = tasks.iter().find(|t| t["id"] == "image_generation").unwrap();
    assert_eq!(
        (image["modality"].as_str(), image["models"].as_u64()),
        (Some("image"), Some(0))
    );
    assert!(tax["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "reasoning" && c["models"] == 1));
    assert_eq!(tax["price_tiers"].as_array().unwrap().len(), 5);
    assert_eq!(tax["modes"].as_array().unwrap().len(), 4);

    let (_, fam) = get(&gw, KEY, "/v1/catalog/families").await;
    let ids: Vec<&str> = fam["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["claude-sonnet", "gemini-2.5", "gpt-4o", "s"]);
    assert!(fam["rule"].as_str().unwrap().contains("version"));
    let gpt = &fam["data"][2];
    assert_eq!(gpt["models"], json!(["oa/gpt-4o-mini", "oa/gpt-4o"]));
    assert_eq!(gpt["best_by_task"]["code"]["model"], "oa/gpt-4o");

    let (s, one) = get(&gw, KEY, "/v1/catalog/families/claude-sonnet").await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["count"], 2);
    assert_eq!(
        models_of(&one, "data", "id"),
        vec!["an/claude-sonnet-4-5", "an/claude-sonnet-4"]
    );
    assert_eq!(one["data"][0]["object"], "model");
    let r = get(&gw, KEY, "/v1/catalog/families/llama-3").await;
    assert_error(&r, 404, "family");
    assert_eq!(r.1["error"]["code"], "family_not_found");
}

fn good_input(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is in this image?"},
        ],
        "max_tokens": 100,
        "temperature": 0.2,
        "stream": false,
        "budget_dollars": 0.5,
        "fallback": ["mini"],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn schemas_reflect_each_models_capabilities() {
    let gw = gateway();
    let (s, gemini) = get(&gw, KEY, "/v1/models/gm/gemini-2.5-flash/input-schema").await;
    assert_eq!(s, 200, "{gemini}");
    assert_eq!(gemini["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let props = &gemini["properties"];
    assert!(props.get("tools").is_none(), "no tools capability");
    assert_eq!(props["max_tokens"]["maximum"], 65536);
    assert!(props["budget_dollars"].is_object() && props["fallback"].is_object());
    assert_eq!(gemini["additionalProperties"], false);
    assert!(gemini.to_string().contains("image_url"), "vision allows image parts");

    let (_, sonnet4) = get(&gw, KEY, "/v1/models/an/claude-sonnet-4/input-schema").await;
    assert!(sonnet4["properties"]["tools"].is_object());
    assert!(!sonnet4.to_string().contains("image_url"), "no vision, no image parts");
    assert_eq!(sonnet4["properties"]["max_tokens"]["maximum"], 64000);
    // An alias names the model too.
    let (s, mini) = get(&gw, KEY, "/v1/models/mini/input-schema").await;
    assert_eq!(s, 200);
    assert_eq!(mini["properties"]["model"]["enum"], json!(["oa/gpt-4o-mini", "mini"]));

    let (_, out) = get(&gw, KEY, "/v1/models/oa/gpt-4o/output-schema").await;
    assert_eq!(out["properties"]["object"]["const"], "chat.completion");
    assert!(out["properties"]["usage"]["required"]
        .as_array()
        .unwrap()
        .contains(&json!("cost")));
    assert!(out["required"].as_array().unwrap().contains(&json!("router")));

    for (key, path) in [
        (KEY, "/v1/models/oa/nope/input-schema"),
        (KEY, "/v1/models/oa/nope/output-schema"),
        (ONE_KEY, "/v1/models/oa/gpt-4o/input-schema"),
    ] {
        let r = get(&gw, key, path).await;
        assert_error(&r, 404, "model");
        assert_eq!(r.1["error"]["code"], "model_not_found");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_accepts_good_bodies_and_points_at_bad_ones() {
    let gw = gateway();
    let validate =
        |model: &str, which: &str, body: Value| post(&gw, KEY, &format!("/v1/models/{model}/validate-{which}"), body);
    let (s, v) = validate("oa/gpt-4o-mini", "input", good_input("oa/gpt-4o-mini")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["errors"], json!([]));
    assert_eq!(v["model"], "oa/gpt-4o-mini");

    let mut bad = good_input("oa/gpt-4o-mini");
    bad["max_tokens"] = json!(20000);
    bad["messages"][1]["content"] = json!([
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]);
    let (_, v) = validate("oa/gpt-4o-mini", "input", bad.clone()).await;
    assert_eq!(v["valid"], false);
    let paths: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"max_tokens"), "{v}");
    assert!(paths.contains(&"messages[1].content[1].type"), "no vision: {v}");
    assert!(v["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    // The same image part is fine for a vision model.
    bad["model"] = json!("oa/gpt-4o");
    bad["max_tokens"] = json!(100);
    let (_, v) = validate("oa/gpt-4o", "input", bad).await;
    assert_eq!(v["valid"], true, "{v}");
    // Tools only where the catalog lists them; unknown fields are reported at the root.
    let mut tools = good_input("gm/gemini-2.5-flash");
    tools["tools"] = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    let (_, v) = validate("gm/gemini-2.5-flash", "input", tools).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["path"], "", "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("tools"), "{v}");
    let (_, v) = validate(
        "oa/gpt-4o",
        "input",
        json!({"model": "oa/gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}),
    )
    .await;
    assert_eq!(v["errors"][0]["path"], "messages[0].role", "{v}");
    let (_, v) = validate("oa/gpt-4o", "input", json!({"messages": []})).await;
    assert_eq!(v["valid"], false);

    // A real answer from the simulator validates against its output schema.
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(TEST_KEY)
        .json(&json!({"model": "sim/s", "messages": user_msg("hello")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let (_, v) = post(&gw, TEST_KEY, "/v1/models/sim/s/validate-output", answer.clone()).await;
    assert_eq!(v["valid"], true, "{v}");
    let mut broken = answer;
    broken["usage"].as_object_mut().unwrap().remove("cost");
    broken["object"] = json!("chat.completion.chunk");
    let (_, v) = post(&gw, TEST_KEY, "/v1/models/sim/s/validate-output", broken).await;
    assert_eq!(v["valid"], false);
    let paths: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"usage") && paths.contains(&"object"), "{v}");

    let r = post_raw(&gw, KEY, "/v1/models/oa/gpt-4o/validate-input", "{nope").await;
    assert_eq!((r.0, r.1["error"]["code"].as_str()), (400, Some("invalid_json")));
    assert_error(&validate("oa/unknown", "input", json!({})).await, 404, "model");
}
