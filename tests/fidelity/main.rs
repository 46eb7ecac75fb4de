//! Translation fidelity over real sockets (issue 21): nothing lost silently, nothing refused that the
//! provider accepts. Each test reads what the local provider received or what the client got.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// A gateway with one provider of each kind (`oa`: OpenAI-compatible, `an`: Anthropic, `ge`: Gemini)
/// on `up`; `models` are extra catalog entries (the three `*/m` are always there).
fn gateway(up: &Upstream, provider_extra: &str, models: &str) -> Gateway {
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oa\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n{provider_extra}  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k-ge\n"
    );
    let entry = |id: &str| {
        format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, vision, streaming, reasoning, json_schema]\n")
    };
    Gateway::start(
        &config("", &providers),
        &(entry("oa/m") + &entry("an/m") + &entry("ge/m") + models),
    )
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

async fn upstream(h: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
    let h: Handler = Arc::new(h);
    Upstream::start(move |_, s| h(s)).await
}

fn anthropic_text(text: &str, stop: &str) -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
           "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": null,
           "usage": {"input_tokens": 10, "output_tokens": 5}})
}

fn gemini_text(text: &str, finish: &str) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish, "index": 0}],
           "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
           "modelVersion": "gemini-up", "responseId": "r1"})
}

/// Reply like the provider the path names, with text.
fn by_path(s: &Seen) -> Reply {
    if s.path.ends_with("/messages") {
        Reply::Json(200, anthropic_text("ok", "end_turn"))
    } else if s.path.contains(":generateContent") {
        Reply::Json(200, gemini_text("ok", "STOP"))
    } else {
        Reply::Json(200, completion("up", "ok"))
    }
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> (u16, String) {
    let mut req = client().post(format!("{}{path}", gw.url)).json(body);
    req = if path == "/v1/messages" {
        req.header("x-api-key", KEY).header("anthropic-version", "2023-06-01")
    } else {
        req.bearer_auth(KEY)
    };
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn post_json(gw: &Gateway, path: &str, body: &Value) -> Value {
    let (status, text) = post(gw, path, body).await;
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// SSE events of a body as (event name, data).
fn events(body: &str) -> Vec<(Option<String>, Value)> {
    body.split("\n\n")
        .filter_map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_string);
            let data = e.lines().find_map(|l| l.strip_prefix("data: "))?;
            serde_json::from_str(data).ok().map(|v| (name, v))
        })
        .collect()
}

fn lossy(router: &Value) -> Vec<String> {
    router["lossy"]
        .as_array()
        .unwrap_or_else(|| panic!("no router.lossy in {router}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

fn names(router: &Value, what: &str) -> bool {
    lossy(router).iter().any(|l| l.contains(what))
}

// 1. Stop sequences are checked against the provider that gets them, not OpenAI's limit of 4.

mod losses;
mod wrong;
