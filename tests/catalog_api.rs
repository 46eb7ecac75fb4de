//! The catalog endpoints answered without inference, over real sockets: suggestions, price
//! comparison, recommendations, paginated queries, tags, price tiers, taxonomy, families, per-model
//! JSON Schemas with validation, and classification feedback; what a key's scopes let it see; and
//! bad input in the public error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

/// A catalog key scoped to one model.
const ONE_KEY: &str = "sy_live_catalogapionemodel000000000000001";
/// A test key: simulated models only.
const TEST_KEY: &str = "sy_test_catalogapitestkey00000000000000x";

const CODE_PROMPT: &str = "Write a Python function that parses a CSV file into a list of dicts, \
    handle quoted fields, and add pytest unit tests for the parser.";

/// Prices (USD per million tokens: input, output) of the catalog below.
const PRICES: &[(&str, f64, f64)] = &[
    ("oa/gpt-4o-mini", 0.15, 0.60),
    ("oa/gpt-4o", 2.5, 10.0),
    ("an/claude-sonnet-4-5", 3.0, 15.0),
    ("an/claude-sonnet-4", 3.0, 15.0),
    ("gm/gemini-2.5-flash", 0.3, 2.5),
];

fn price(id: &str) -> (f64, f64) {
    PRICES.iter().find(|p| p.0 == id).map(|p| (p.1, p.2)).unwrap()
}

fn catalog() -> String {
    let m = |id: &str, pricing: &str, caps: &str, quality: &str, tags: &str, extra: &str, desc: &str| {
        format!(
            "  - id: {id}\n    description: \"{desc}\"\n    pricing: {pricing}\n    capabilities: [{caps}]\n    quality: {{{quality}}}\n    tags: [{tags}]\n{extra}"
        )
    };
    let std_ctx = "    context_window: 128000\n    max_output: 16384\n";
    [
        m(
            "oa/gpt-4o-mini",
            "{input: 0.15, output: 0.60}",
            "chat, tools, json_mode, streaming",
            "chat: 0.70, code: 0.60, summarization: 0.75",
            "small, fast",
            &format!("    aliases: [mini]\n{std_ctx}"),
            "Small, fast and affordable model for everyday chat, extraction and classification at high volume.",
        ),
        m(
            "oa/gpt-4o",
            "{input: 2.5, output: 10.0}",
            "chat, tools, vision, json_mode, json_schema, streaming",
            "chat: 0.88, code: 0.85",
            "multimodal",
            std_ctx,
            "Flagship multimodal model that understands images and text.",
        ),
        m(
            "an/claude-sonnet-4-5",
            "{input: 3.0, output: 15.0}",
            "chat, tools, vision, json_schema, streaming, reasoning",
            "chat: 0.90, code: 0.97, reasoning: 0.95",
            "coding, agents",
            "    context_window: 200000\n    max_output: 64000\n",
            "Strongest model for complex software engineering, refactoring and debugging code, with long agentic reasoning.",
        ),
        m(
            "an/claude-sonnet-4",
            "{input: 3.0, output: 15.0}",
            "chat, tools, streaming",
            "chat: 0.88, code: 0.90",
            "coding",
            "    context_window: 200000\n    max_output: 64000\n",
            "Previous-generation Sonnet for writing and general chat.",
        ),
        m(
            "gm/gemini-2.5-flash",
            "{input: 0.3, output: 2.5}",
            "chat, vision, json_mode, json_schema, streaming",
            "chat: 0.80, summarization: 0.93",
            "long-context",
            "    context_window: 1000000\n    max_output: 65536\n",
            "Fast model with a one-million-token context window for summarizing long documents, transcripts and books.",
        ),
        m(
            "sim/s",
            "{input: 0.1, output: 0.2}",
            "chat, streaming",
            "chat: 0.5",
            "simulated",
            "    context_window: 100000\n    max_output: 1000\n",
            "The built-in simulator.",
        ),
    ]
    .concat()
}

fn gateway() -> Gateway {
    let dead = "http://127.0.0.1:9/v1";
    let providers =
        provider("oa", dead, "") + &provider("an", dead, "") + &provider("gm", dead, "") + "  sim:\n    kind: mock\n";
    let mut cfg = config("", &providers);
    cfg.push_str(&format!(
        "  - name: one\n    hash: {}\n    workspace: ws-one\n    scopes:\n      endpoints: [catalog]\n      models: [an/claude-sonnet-4-5]\n  - name: testkey\n    hash: {}\n    workspace: ws-test\n",
        hash(ONE_KEY),
        hash(TEST_KEY)
    ));
    Gateway::start(&cfg, &catalog())
}

/// Send `req`: the status and the JSON body. (The request is built before the future, so the
/// future borrows nothing.)
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn post(gw: &Gateway, key: &str, path: &str, body: Value) -> impl std::future::Future<Output = (u16, Value)> {
    send(client().post(format!("{}{path}", gw.url)).bearer_auth(key).json(&body))
}

fn post_raw(
    gw: &Gateway,
    key: &str,
    path: &str,
    body: &'static str,
) -> impl std::future::Future<Output = (u16, Value)> {
    send(
        client()
            .post(format!("{}{path}", gw.url))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body),
    )
}

fn get(gw: &Gateway, key: &str, path: &str) -> impl std::future::Future<Output = (u16, Value)> {
    send(client().get(format!("{}{path}", gw.url)).bearer_auth(key))
}

/// A 400 (or other error) in the public shape naming `param`.
fn assert_error(r: &(u16, Value), status: u16, param: &str) {
    assert_eq!(r.0, status, "{}", r.1);
    let e = &r.1["error"];
    assert_eq!(e["http_status"], status, "{e}");
    assert_eq!(e["param"], param, "{e}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    assert!(e["request_id"].as_str().is_some(), "{e}");
}

fn models_of(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .map(|s| s[field].as_str().unwrap().to_string())
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12 + 1e-9 * b.abs()
}

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
