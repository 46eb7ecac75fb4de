//! Endpoints the gateway answers whole after calling the upstream itself: `/v1/auto/route`,
//! `/v1/models/route` and `/v1/images/generations`, against local upstreams that count their calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

/// A 1×1 PNG, as an image upstream returns it.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn chat_entry(id: &str, price_in: f64, price_out: f64, q: f64, caps: &str) -> String {
    format!(
        "  - id: {id}\n    description: {id} model\n    pricing: {{input: {price_in}, output: {price_out}}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [{caps}]\n    quality: {{chat: {q}, code: {q}, math: {q}, reasoning: {q}, knowledge_qa: {q}, creative_writing: {q}}}\n    latency_ms: 200\n"
    )
}

fn image_entry(id: &str, per_image: f64, q: f64) -> String {
    format!(
        "  - id: {id}\n    pricing: {{input: 0, output: 0, image: {per_image}}}\n    context_window: 4000\n    max_output: 1\n    capabilities: [image_generation]\n    quality: {{image_generation: {q}}}\n    latency_ms: 500\n"
    )
}

/// Chat answers name the upstream; image answers carry `n` base64 PNGs.
fn reply(name: &'static str) -> impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static {
    move |_, seen: &Seen| {
        let body = seen.json();
        if seen.path.ends_with("/images/generations") {
            let n = body["n"].as_u64().unwrap_or(1);
            let data: Vec<Value> = (0..n).map(|_| json!({"b64_json": PNG_B64})).collect();
            return Reply::Json(200, json!({"created": 1_700_000_000, "data": data}));
        }
        Reply::Json(
            200,
            completion(body["model"].as_str().unwrap_or(name), &format!("answer from {name}")),
        )
    }
}

struct Setup {
    gw: Gateway,
    cheap: Upstream,
    strong: Upstream,
    images: Upstream,
}

async fn setup() -> Setup {
    let cheap = Upstream::start(reply("cheap")).await;
    let strong = Upstream::start(reply("strong")).await;
    let images = Upstream::start(reply("images")).await;
    let providers = provider("cheap", &cheap.base(), "")
        + &provider("strong", &strong.base(), "")
        + &provider("images", &images.base(), "");
    let models = chat_entry("cheap/m", 0.1, 0.4, 0.6, "chat, streaming")
        + &chat_entry("strong/m", 5.0, 15.0, 0.95, "chat, streaming, tools")
        + &image_entry("images/art", 0.04, 0.9)
        + &image_entry("images/sketch", 0.01, 0.5);
    let gw = Gateway::start(&config("", &providers), &models);
    Setup {
        gw,
        cheap,
        strong,
        images,
    }
}

async fn post(gw: &Gateway, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = client()
        .post(format!("{}{path}", gw.url))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, headers, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_route_classifies_calls_and_reports_the_whole_decision() {
    let s = setup().await;
    let (status, h, v) = post(
        &s.gw,
        "/v1/auto/route",
        json!({"prompt": "Prove that the square root of 2 is irrational, step by step.", "optimization": "output-optimized",
               "input": {"max_tokens": 200}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "strong/m", "quality mode picks the strong model: {v}");
    assert_eq!(v["mode"], "quality");
    assert!(
        v["classification"]["task"].is_string() && v["classification"]["complexity_tier"].is_string(),
        "{v}"
    );
    // The model's answer, whole, in OpenAI chat shape.
    assert_eq!(v["result"]["object"], "chat.completion");
    assert_eq!(v["result"]["choices"][0]["message"]["content"], "answer from strong");
    // The upstream saw an ordinary chat request with the prompt as the user turn.
    let seen = s.strong.requests();
    assert_eq!(seen.len(), 1);
    let up = seen[0].json();
    assert_eq!(
        up["messages"].as_array().unwrap().last().unwrap()["content"],
        "Prove that the square root of 2 is irrational, step by step."
    );
    assert_eq!(up["max_tokens"], 200);
    assert_eq!(s.cheap.count(), 0);
    // Money: a comparison across the candidates, and the actual cost in the body and the header.
    let models: Vec<&str> = v["price_comparison"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"cheap/m") && models.contains(&"strong/m"),
        "{}",
        v["price_comparison"]
    );
    assert_eq!(v["cost"]["basis"], "actual");
    let actual = v["cost"]["actual_dollars"].as_f64().unwrap();
    assert!(actual > 0.0);
    assert_eq!(h["x-jt-cost-basis"], "actual");
    let header_cost: f64 = h["x-jt-cost-usd"].to_str().unwrap().parse().unwrap();
    assert!((header_cost - actual).abs() < 1e-9, "{header_cost} vs {actual}");
    assert_eq!(h["x-routed-model"], "strong/m");
    assert!(
        h["content-length"].to_str().unwrap().parse::<usize>().unwrap() > 0,
        "a whole answer has its length"
    );
    assert!(
        v["timing"]["total_ms"].as_f64().unwrap() >= v["timing"]["upstream_ms"].as_f64().unwrap(),
        "{}",
        v["timing"]
    );
    assert!(v["context"].is_object(), "{v}");
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    // Cost mode flips the choice; a pinned model is honoured.
    let (_, _, v) = post(
        &s.gw,
        "/v1/auto/route",
        json!({"prompt": "hi there", "optimization": "price-optimized"}),
    )
    .await;
    assert_eq!(v["model"], "cheap/m", "{v}");
    let (_, _, v) = post(
        &s.gw,
        "/v1/auto/route",
        json!({"prompt": "hi there", "model": "strong/m"}),
    )
    .await;
    assert_eq!(v["model"], "strong/m");
    assert_eq!(v["mode"], "pinned");
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_route_rejects_bad_input_with_the_field_named() {
    let s = setup().await;
    for (body, param) in [
        (json!({}), "prompt"),
        (json!({"prompt": 5}), "prompt"),
        (json!({"prompt": "x", "input": "nope"}), "input"),
        (json!({"prompt": "x", "stream": true}), "stream"),
        (json!({"prompt": "x", "task": "juggling"}), "task"),
        (json!({"prompt": "x", "colour": "blue"}), "colour"),
    ] {
        let (status, _, v) = post(&s.gw, "/v1/auto/route", body.clone()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["param"], param, "{body}: {v}");
        assert!(v["error"]["message"].is_string());
    }
    let r = client()
        .post(format!("{}/v1/auto/route", s.gw.url))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{}/v1/auto/route", s.gw.url))
        .json(&json!({"prompt": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        s.cheap.count() + s.strong.count(),
        0,
        "no upstream call for a rejected request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn models_route_applies_explicit_filters() {
    let s = setup().await;
    // Only strong has `tools`: the filter decides whatever the cost.
    let (status, _, v) = post(
        &s.gw,
        "/v1/models/route",
        json!({"query": "Summarise this paragraph.", "filter": {"capabilities": ["tools"]}, "optimization": "price-optimized"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "strong/m");
    assert_eq!(v["result"]["choices"][0]["message"]["content"], "answer from strong");
    assert_eq!(s.strong.count(), 1);
    // maxCost as a price tier keeps the premium model out.
    let (status, _, v) = post(
        &s.gw,
        "/v1/models/route",
        json!({"query": "Hello", "maxCost": "budget"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "cheap/m");
    // Filters nothing can meet: 422, no upstream call.
    let (status, _, v) = post(
        &s.gw,
        "/v1/models/route",
        json!({"query": "Hello", "maxCost": "budget", "filter": {"capabilities": ["tools"]}}),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "no_eligible_model");
    assert_eq!(s.strong.count() + s.cheap.count(), 2);
    // The route chooses: a pinned model is a clear 400.
    let (status, _, v) = post(&s.gw, "/v1/models/route", json!({"query": "Hello", "model": "cheap/m"})).await;
    assert_eq!((status, v["error"]["param"].as_str()), (400, Some("model")));
}

#[tokio::test(flavor = "multi_thread")]
async fn images_pinned_and_auto_with_per_image_cost() {
    let s = setup().await;
    let (status, h, v) = post(
        &s.gw,
        "/v1/images/generations",
        json!({"model": "images/art", "prompt": "a lighthouse at dusk", "n": 2}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][0]["b64_json"], PNG_B64);
    assert_eq!(v["model"], "images/art");
    assert_eq!(v["usage"]["images"], 2);
    assert!(
        (v["usage"]["cost"].as_f64().unwrap() - 0.08).abs() < 1e-9,
        "{}",
        v["usage"]
    );
    assert_eq!(h["x-jt-cost-basis"], "actual");
    let up = s.images.requests()[0].json();
    assert_eq!(
        (up["model"].as_str(), up["prompt"].as_str(), up["n"].as_u64()),
        (Some("art"), Some("a lighthouse at dusk"), Some(2))
    );
    // URLs asked for, base64 given: a data: URL.
    let (_, _, v) = post(
        &s.gw,
        "/v1/images/generations",
        json!({"model": "images/art", "prompt": "a fox", "response_format": "url"}),
    )
    .await;
    assert!(
        v["data"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,"),
        "{v}"
    );
    // auto: cost mode takes the cheaper image model.
    let (status, _, v) = post(
        &s.gw,
        "/v1/images/generations",
        json!({"model": "auto:cost", "prompt": "a fox"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "images/sketch");
    // A chat model cannot draw; a missing prompt names the field.
    let (status, _, v) = post(
        &s.gw,
        "/v1/images/generations",
        json!({"model": "cheap/m", "prompt": "a fox"}),
    )
    .await;
    assert!(status == 400 || status == 422, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("image"), "{v}");
    let (status, _, v) = post(&s.gw, "/v1/images/generations", json!({"model": "images/art"})).await;
    assert_eq!((status, v["error"]["param"].as_str()), (400, Some("prompt")));
    assert_eq!(s.cheap.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_route_sends_image_tasks_to_the_images_flow() {
    let s = setup().await;
    let (status, _, v) = post(
        &s.gw,
        "/v1/auto/route",
        json!({"prompt": "a watercolour of a harbour", "task": "image_generation"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["model"].as_str().unwrap().starts_with("images/"), "{v}");
    assert_eq!(v["classification"]["task"], "image_generation");
    assert!(
        v["result"]["data"][0]["b64_json"].is_string() || v["result"]["data"][0]["url"].is_string(),
        "{v}"
    );
    assert_eq!(s.images.count(), 1);
    assert_eq!(s.cheap.count() + s.strong.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_upstream_falls_back_before_the_answer() {
    let bad = Upstream::start(|_, _| Reply::Json(503, json!({"error": {"message": "overloaded"}}))).await;
    let good = Upstream::start(reply("good")).await;
    let providers = provider("bad", &bad.base(), "") + &provider("good", &good.base(), "");
    let models = chat_entry("bad/m", 5.0, 15.0, 0.95, "chat") + &chat_entry("good/m", 0.1, 0.4, 0.6, "chat");
    let gw = Gateway::start(&config("", &providers), &models);
    let (status, h, v) = post(
        &gw,
        "/v1/auto/route",
        json!({"prompt": "hello", "optimization": "output-optimized"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "good/m");
    assert_eq!(v["fallback"], true);
    assert_eq!(v["attempts"][0]["model"], "bad/m");
    assert_eq!(v["attempts"][0]["status"], 503);
    assert_eq!(h["x-jt-fallback"], "true");
    assert_eq!((bad.count(), good.count()), (1, 1));
    // Fallback off: the first error, as is.
    let r = client()
        .post(format!("{}/v1/auto/route", gw.url))
        .bearer_auth(KEY)
        .header("x-jt-no-fallback", "true")
        .json(&json!({"prompt": "hello", "model": "bad/m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_error");
    assert_eq!(good.count(), 1);
}
