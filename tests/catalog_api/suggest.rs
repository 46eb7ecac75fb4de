//! Suggestions, price comparisons and recommendations: ranked from the catalog, no upstream called.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn suggest_ranks_by_mode_without_calling_upstreams() {
    let gw = gateway();
    let (s, cost) = post(
        &gw,
        KEY,
        "/v1/auto/suggest",
        json!({"prompt": CODE_PROMPT, "mode": "cost"}),
    )
    .await;
    assert_eq!(s, 200, "{cost}");
    assert_eq!(cost["mode"], "cost");
    assert_eq!(cost["classification"]["task"], "code", "{cost}");
    let ranked = models_of(&cost, "suggestions", "model");
    assert_eq!(ranked[0], "oa/gpt-4o-mini", "{cost}");
    // Five live models are eligible; the simulator answers test keys only, so it is filtered, with why.
    assert_eq!(ranked.len(), 5);
    assert!(!ranked.contains(&"sim/s".to_string()));
    assert!(cost["filtered"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["model"] == "sim/s" && f["reason"].as_str().unwrap().contains("test keys")));
    let first = &cost["suggestions"][0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["provider"], "oa");
    assert!(first["reason"].as_str().unwrap().contains("over"), "{first}");
    for t in ["quality", "cost", "latency", "context"] {
        assert!(first["terms"][t].is_number(), "{first}");
    }
    // The estimated cost is the input estimate at the input price plus the default 256 output tokens.
    let tokens = cost["input_tokens"].as_f64().unwrap();
    let (pi, po) = price("oa/gpt-4o-mini");
    assert!(close(
        first["estimated_cost_dollars"].as_f64().unwrap(),
        (tokens * pi + 256.0 * po) / 1e6
    ));
    let scores: Vec<f64> = cost["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let (_, quality) = post(
        &gw,
        KEY,
        "/v1/auto/suggest",
        json!({"prompt": CODE_PROMPT, "optimization": "output-optimized", "limit": 2}),
    )
    .await;
    assert_eq!(quality["mode"], "quality");
    assert_eq!(
        models_of(&quality, "suggestions", "model"),
        vec!["an/claude-sonnet-4-5", "an/claude-sonnet-4"]
    );

    // Messages work like a prompt; a budget leaves only what fits under it.
    let (s, budget) = post(
        &gw,
        KEY,
        "/v1/auto/suggest",
        json!({"messages": [{"role": "user", "content": CODE_PROMPT}], "mode": "quality", "budget_dollars": 0.0003}),
    )
    .await;
    assert_eq!(s, 200, "{budget}");
    assert_eq!(models_of(&budget, "suggestions", "model"), vec!["oa/gpt-4o-mini"]);
    assert_eq!(budget["budget_dollars"], 0.0003);

    // The caller's task replaces the classifier's in the quality term.
    let (_, summ) = post(
        &gw,
        KEY,
        "/v1/auto/suggest",
        json!({"prompt": CODE_PROMPT, "task": "summarization", "mode": "quality", "limit": 1}),
    )
    .await;
    assert_eq!(summ["task"], "summarization");
    assert_eq!(summ["task_source"], "request");
    assert_eq!(models_of(&summ, "suggestions", "model"), vec!["gm/gemini-2.5-flash"]);
    assert_eq!(summ["suggestions"][0]["quality"], 0.93);
}

#[tokio::test(flavor = "multi_thread")]
async fn suggest_rejects_bad_input() {
    let gw = gateway();
    for limit in [json!(0), json!(21)] {
        let r = post(&gw, KEY, "/v1/auto/suggest", json!({"prompt": "hi", "limit": limit})).await;
        assert_error(&r, 400, "limit");
        assert_eq!(r.1["error"]["code"], "invalid_request");
    }
    let r = post(&gw, KEY, "/v1/auto/suggest", json!({"prompt": "hi", "limit": "five"})).await;
    assert_error(&r, 400, "limit");
    assert_eq!(r.1["error"]["code"], "invalid_type");
    assert_error(
        &post(&gw, KEY, "/v1/auto/suggest", json!({"limit": 3})).await,
        400,
        "prompt",
    );
    assert_error(
        &post(&gw, KEY, "/v1/auto/suggest", json!({"prompt": "hi", "mode": "fastest"})).await,
        400,
        "mode",
    );
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/auto/suggest",
            json!({"prompt": "hi", "optimization": "cheap"}),
        )
        .await,
        400,
        "optimization",
    );
    assert_error(
        &post(&gw, KEY, "/v1/auto/suggest", json!({"prompt": "hi", "task": "poetry"})).await,
        400,
        "task",
    );
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/auto/suggest",
            json!({"prompt": "hi", "budget_dollars": -1}),
        )
        .await,
        400,
        "budget_dollars",
    );
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/auto/suggest",
            json!({"messages": [{"role": "user", "content": 7}]}),
        )
        .await,
        400,
        "messages[0].content",
    );
    // Nothing fits a budget of a millionth of a cent.
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/auto/suggest",
            json!({"prompt": CODE_PROMPT, "budget_dollars": 0.00000001}),
        )
        .await,
        422,
        "budget_dollars",
    );
    let r = post_raw(&gw, KEY, "/v1/auto/suggest", "{\"prompt\": ").await;
    assert_eq!(r.0, 400);
    assert_eq!(r.1["error"]["code"], "invalid_json");
}

#[tokio::test(flavor = "multi_thread")]
async fn price_comparison_for_a_task_uses_catalog_prices() {
    let gw = gateway();
    let (s, v) = post(
        &gw,
        KEY,
        "/v1/models/price-comparison",
        json!({"task": "summarization", "input_tokens": 10000, "max_tokens": 500}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let cost = |id: &str| {
        let (i, o) = price(id);
        (10000.0 * i + 500.0 * o) / 1e6
    };
    let ids = models_of(&v, "models", "model");
    // Cheapest first; the two Sonnets cost the same, the better one first.
    assert_eq!(
        ids,
        vec![
            "oa/gpt-4o-mini",
            "gm/gemini-2.5-flash",
            "oa/gpt-4o",
            "an/claude-sonnet-4-5",
            "an/claude-sonnet-4"
        ]
    );
    for row in v["models"].as_array().unwrap() {
        let id = row["model"].as_str().unwrap();
        assert!(
            close(row["estimated_cost_dollars"].as_f64().unwrap(), cost(id)),
            "{row}"
        );
        assert_eq!(row["input_tokens"], 10000);
        assert_eq!(row["output_tokens"], 500);
    }
    assert_eq!(v["cheapest"]["model"], "oa/gpt-4o-mini");
    assert!(close(v["cheapest"]["estimated_cost_dollars"].as_f64().unwrap(), 0.0018));
    assert_eq!(v["best_quality"]["model"], "gm/gemini-2.5-flash");
    assert_eq!(v["best_quality"]["quality"], 0.93);
    // Quality per dollar: 0.75 / $0.0018 for the mini beats 0.93 / $0.00425 for Gemini.
    assert_eq!(v["best_value"]["model"], "oa/gpt-4o-mini");
    assert!(close(v["best_value"]["quality_per_dollar"].as_f64().unwrap(), 416.667));
    let saved = &v["savings_vs_highest"];
    assert_eq!(saved["vs_model"], "an/claude-sonnet-4");
    assert!(close(saved["dollars"].as_f64().unwrap(), 0.0375 - 0.0018), "{saved}");
    assert_eq!(saved["percent"], 95.2);
    assert_eq!(v["task_source"], "request");
}

#[tokio::test(flavor = "multi_thread")]
async fn price_comparison_for_a_prompt_and_its_errors() {
    let gw = gateway();
    let (s, v) = post(
        &gw,
        KEY,
        "/v1/models/price-comparison",
        json!({"prompt": CODE_PROMPT, "max_tokens": 1000}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["task"], "code");
    assert_eq!(v["classification"]["task"], "code");
    let n = v["input_tokens"].as_f64().unwrap();
    assert!(n > 10.0, "{v}");
    let expected = |id: &str| {
        let (i, o) = price(id);
        (n * i + 1000.0 * o) / 1e6
    };
    assert!(close(
        v["cheapest"]["estimated_cost_dollars"].as_f64().unwrap(),
        expected("oa/gpt-4o-mini")
    ));
    assert_eq!(v["best_quality"]["model"], "an/claude-sonnet-4-5");
    let (lo, hi) = (expected("oa/gpt-4o-mini"), expected("an/claude-sonnet-4"));
    assert!(close(v["savings_vs_highest"]["dollars"].as_f64().unwrap(), hi - lo));
    let pct = v["savings_vs_highest"]["percent"].as_f64().unwrap();
    assert!((pct - (hi - lo) / hi * 100.0).abs() < 0.006, "{pct}");

    assert_error(
        &post(&gw, KEY, "/v1/models/price-comparison", json!({})).await,
        400,
        "prompt",
    );
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/models/price-comparison",
            json!({"task": "code", "max_tokens": 0}),
        )
        .await,
        400,
        "max_tokens",
    );
    // No model in this catalog produces images.
    assert_error(
        &post(
            &gw,
            KEY,
            "/v1/models/price-comparison",
            json!({"task": "image_generation"}),
        )
        .await,
        422,
        "task",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recommend_ranks_by_description_relevance() {
    let gw = gateway();
    let (s, v) = post(
        &gw,
        KEY,
        "/v1/models/recommend",
        json!({"prompt": "summarize this long meeting transcript", "limit": 3}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ids = models_of(&v, "data", "model");
    assert_eq!(ids[0], "gm/gemini-2.5-flash", "{v}");
    assert_eq!(ids.len(), 3);
    let top = &v["data"][0];
    assert_eq!(top["relevance"], 1.0);
    let matched: Vec<&str> = top["matched_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(matched.contains(&"transcript"), "{matched:?}");

    let (_, v) = post(&gw, KEY, "/v1/models/recommend", json!({"task": "code"})).await;
    assert_eq!(v["task"], "code");
    let ids = models_of(&v, "data", "model");
    assert_eq!(&ids[..2], ["an/claude-sonnet-4-5", "an/claude-sonnet-4"], "{v}");
    assert_eq!(ids.len(), 5, "default limit");

    let (_, v) = post(
        &gw,
        KEY,
        "/v1/models/recommend",
        json!({"prompt": "describe what is in these images", "limit": 1}),
    )
    .await;
    assert_eq!(models_of(&v, "data", "model"), vec!["oa/gpt-4o"], "{v}");

    assert_error(
        &post(&gw, KEY, "/v1/models/recommend", json!({"limit": 2})).await,
        400,
        "prompt",
    );
    assert_error(
        &post(&gw, KEY, "/v1/models/recommend", json!({"task": "code", "limit": 51})).await,
        400,
        "limit",
    );
}
