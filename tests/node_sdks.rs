//! The Node SDKs (`openai`, `@anthropic-ai/sdk`): `tests/compat/node/sdk.test.mjs` run by node's
//! test runner against a gateway and a local fake provider of each wire format (chat, Responses,
//! Messages; plain, streamed, tools, structured output, countTokens). The packages come from
//! `tests/clients/node_modules` (`.ci/setup`); a missing node or package fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// An Anthropic stream event as Anthropic sends it, with its `event:` line (the SDKs dispatch on it);
/// the harness writes `data: ` before the text, and a field may follow `data` within an event.
fn named(e: &serde_json::Value) -> String {
    format!("{e}\nevent: {}", e["type"].as_str().unwrap_or_default())
}

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const HELLO: &str = "Hello from the fake provider.";

/// Text, a get_weather call when tools are offered and unanswered, JSON when a schema is asked.
fn reply(path: &str, b: &Value) -> Reply {
    if path.ends_with("/count_tokens") {
        return Reply::Json(200, json!({"input_tokens": 42}));
    }
    let openai = path.ends_with("/chat/completions");
    let last = b["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    let answered = if openai {
        last["role"] == "tool"
    } else {
        last["content"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["type"] == "tool_result"))
    };
    let tools = b["tools"].as_array().is_some_and(|t| !t.is_empty());
    let call = tools && !answered;
    let text = if answered {
        "It is sunny."
    } else if b["response_format"]["type"] == "json_schema" {
        r#"{"city":"Paris","temp":21}"#
    } else {
        HELLO
    };
    let stream = b["stream"] == true;
    let gap = Duration::from_millis(1);
    if openai {
        if stream {
            let c = |d: Value, f: Value| {
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": d, "finish_reason": f}]}).to_string()
            };
            return Reply::Sse(
                vec![
                    c(json!({"role": "assistant", "content": ""}), Value::Null),
                    c(json!({"content": text}), Value::Null),
                    c(json!({}), json!("stop")),
                    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).to_string(),
                    "[DONE]".into(),
                ],
                gap,
            );
        }
        let message = if call {
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]})
        } else {
            json!({"role": "assistant", "content": text})
        };
        return Reply::Json(
            200,
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                   "choices": [{"index": 0, "message": message, "finish_reason": if call { "tool_calls" } else { "stop" }}],
                   "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
        );
    }
    if stream {
        let ev = [
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
            json!({"type": "message_stop"}),
        ];
        return Reply::Sse(ev.iter().map(named).collect(), gap);
    }
    let content = if call {
        json!([{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}])
    } else {
        json!([{"type": "text", "text": text}])
    };
    Reply::Json(
        200,
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": content,
               "stop_reason": if call { "tool_use" } else { "end_turn" }, "stop_sequence": null,
               "usage": {"input_tokens": 10, "output_tokens": 5}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdks_against_the_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/clients/node_modules/openai").exists(),
        "tests/clients/node_modules is missing: run .ci/setup (npm ci in tests/clients)"
    );
    let up = Upstream::start(|_, s| reply(&s.path, &s.json())).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oa\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n"
    );
    let entry = |id: &str| {
        format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, parallel_tool_calls, json_schema, streaming]\n")
    };
    let gw = Gateway::start(&config("", &providers), &(entry("oa/m") + &entry("an/m")));
    let script = root.join("tests/compat/node/sdk.test.mjs");
    let url = gw.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("--test")
            .arg("--test-reporter=spec")
            .arg(script)
            .env("GATEWAY_URL", url)
            .env("GATEWAY_KEY", KEY)
            .output()
            .expect("node is needed (see .ci/setup)")
    })
    .await
    .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "node SDK tests failed:\n{text}");
    // Every test ran: the runner's summary counts them.
    assert!(text.contains("pass 13"), "{text}");
    assert!(text.contains("fail 0"), "{text}");
    let paths: Vec<String> = up.requests().iter().map(|s| s.path.clone()).collect();
    assert!(paths.iter().any(|p| p == "/v1/messages/count_tokens"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "/v1/chat/completions"), "{paths:?}");
}
