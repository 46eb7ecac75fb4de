//! The catalog endpoints answered without inference, over real sockets: suggestions, price
//! comparison, recommendations, paginated queries, tags, price tiers, taxonomy, families, per-model
//! JSON Schemas with validation, and classification feedback; what a key's scopes let it see; and
//! bad input in the public error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
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

mod access;
mod query;
mod suggest;
