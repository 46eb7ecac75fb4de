//! What coding agents send, over real sockets: Codex's `additional_tools` input items, `namespace` and
//! `custom` (freeform) tools with their `custom_tool_call` items, built-in tools (dropped or refused by
//! route), the WebSocket upgrade it tries first (426 so that it falls back to HTTPS at once), and
//! refused requests counted under their real endpoint. Each provider kind gets the lossy conversion
//! (namespaced functions flattened, custom tools as one-string functions) and the client gets its own
//! forms back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Prov {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Prov {
    fn of(path: &str) -> Prov {
        if path.ends_with("/chat/completions") {
            Prov::OpenAi
        } else if path.ends_with("/messages") {
            Prov::Anthropic
        } else {
            Prov::Gemini
        }
    }
    fn model(self) -> &'static str {
        match self {
            Prov::OpenAi => "oa/m",
            Prov::Anthropic => "an/m",
            Prov::Gemini => "ge/m",
        }
    }
}

/// The function names a provider request offers.
fn offered(p: Prov, body: &Value) -> Vec<String> {
    let names = match p {
        Prov::OpenAi => body["tools"]
            .as_array()
            .map(|t| t.iter().map(|t| t["function"]["name"].clone()).collect()),
        Prov::Anthropic => body["tools"]
            .as_array()
            .map(|t| t.iter().map(|t| t["name"].clone()).collect()),
        Prov::Gemini => body["tools"][0]["functionDeclarations"]
            .as_array()
            .map(|t| t.iter().map(|t| t["name"].clone()).collect()),
    };
    names
        .unwrap_or_else(Vec::<Value>::new)
        .into_iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn last_is_tool_result(p: Prov, body: &Value) -> bool {
    match p {
        Prov::OpenAi => body["messages"].as_array().unwrap().last().unwrap()["role"] == "tool",
        Prov::Anthropic => body["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_array()
            .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result")),
        Prov::Gemini => body["contents"].as_array().unwrap().last().unwrap()["parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.get("functionResponse").is_some()),
    }
}

/// The provider calls both the namespaced function and the custom tool (by the names it was
/// offered), or answers in text once it has their results.
fn reply(path: &str, body: &Value) -> Reply {
    if path.ends_with("/messages/count_tokens") {
        return Reply::Json(200, json!({"input_tokens": 42}));
    }
    if path.ends_with("/responses") {
        return responses_reply(body);
    }
    let p = Prov::of(path);
    let stream = body["stream"] == true;
    let calls = !last_is_tool_result(p, body) && offered(p, body).iter().any(|n| n == "apply_patch");
    let spawn_args = json!({"message": "hi"});
    let patch_args = json!({"input": PATCH});
    match (p, calls, stream) {
        (Prov::OpenAi, false, _) => Reply::Json(200, completion("up", "done")),
        (Prov::OpenAi, true, false) => Reply::Json(
            200,
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
                   "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                       "tool_calls": [
                           {"id": "call_ns", "type": "function", "function": {"name": "collab__spawn_agent", "arguments": spawn_args.to_string()}},
                           {"id": "call_cu", "type": "function", "function": {"name": "apply_patch", "arguments": patch_args.to_string()}}]}}],
                   "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
        ),
        (Prov::OpenAi, true, true) => {
            let c = |delta: Value, fin: Value| {
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}).to_string()
            };
            let args = patch_args.to_string();
            let (a, b) = args.split_at(12);
            Reply::Sse(
                vec![
                    c(json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_cu", "type": "function", "function": {"name": "apply_patch", "arguments": ""}}]}), Value::Null),
                    c(json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}), Value::Null),
                    c(json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]}), Value::Null),
                    c(json!({}), json!("tool_calls")),
                    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}).to_string(),
                    "[DONE]".into(),
                ],
                Duration::from_millis(2),
            )
        }
        (Prov::Anthropic, _, _) => {
            let content = if calls {
                json!([{"type": "tool_use", "id": "toolu_ns", "name": "collab__spawn_agent", "input": spawn_args},
                       {"type": "tool_use", "id": "toolu_cu", "name": "apply_patch", "input": patch_args}])
            } else {
                json!([{"type": "text", "text": "done"}])
            };
            Reply::Json(
                200,
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": content,
                       "stop_reason": if calls { "tool_use" } else { "end_turn" }, "stop_sequence": null,
                       "usage": {"input_tokens": 10, "output_tokens": 5}}),
            )
        }
        (Prov::Gemini, _, _) => {
            let parts = if calls {
                json!([{"functionCall": {"name": "collab__spawn_agent", "args": spawn_args}},
                       {"functionCall": {"name": "apply_patch", "args": patch_args}}])
            } else {
                json!([{"text": "done"}])
            };
            Reply::Json(
                200,
                json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                       "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
                       "modelVersion": "gemini-up", "responseId": "r1"}),
            )
        }
    }
}

/// A Responses-API provider's answer: a web search it ran, then text.
fn responses_reply(body: &Value) -> Reply {
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": "resp_up1", "object": "response", "created_at": 1, "status": status, "model": "gpt-up",
               "output": output, "usage": usage, "tools": body["tools"], "store": false})
    };
    let output = json!([
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "found", "annotations": []}]}]);
    let usage = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 3,
                       "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 13});
    if body["stream"] != true {
        return Reply::Json(200, response("completed", output, usage));
    }
    let ev = |v: Value| v.to_string();
    Reply::Sse(
        vec![
            ev(
                json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", json!([]), Value::Null)}),
            ),
            ev(
                json!({"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": output[0]}),
            ),
            ev(
                json!({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "found"}),
            ),
            ev(
                json!({"type": "response.completed", "sequence_number": 3, "response": response("completed", output, usage)}),
            ),
        ],
        Duration::from_millis(2),
    )
}

async fn gateway(routing: &str) -> (Upstream, Gateway) {
    gateway_with(routing, "").await
}

async fn gateway_with(routing: &str, aliases: &str) -> (Upstream, Gateway) {
    let up = Upstream::start(|_, s| reply(&s.path, &s.json())).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  rs:\n    kind: openai_compatible\n    responses_api: true\n    base_url: {base}/v1\n    api_key: k-rs\n  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oa\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k-ge\n"
    );
    let entry = |id: &str| {
        format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, parallel_tool_calls, streaming]\n")
    };
    let cfg = config("", &providers) + routing;
    let gw = Gateway::start(
        &cfg,
        &(entry("oa/m") + &entry("an/m") + &entry("ge/m") + &entry("rs/m") + aliases),
    );
    (up, gw)
}

/// Codex's tools: a namespace of functions, a freeform tool with a grammar, and a plain function
/// declared in an `additional_tools` input item.
fn codex_body(model: &str, input: Value) -> Value {
    json!({
        "model": model,
        "instructions": "You are a coding agent.",
        "input": input,
        "tools": [
            {"type": "namespace", "name": "collab", "description": "Agents", "tools": [
                {"type": "function", "name": "spawn_agent", "description": "Spawn", "strict": false,
                 "parameters": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}]},
            {"type": "custom", "name": "apply_patch", "description": "Edit files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch"}}
        ],
        "store": false,
        "stream": false,
    })
}

fn first_input() -> Value {
    json!([
        {"type": "additional_tools", "role": "developer", "tools": [
            {"type": "function", "name": "shell", "description": "Run a command",
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "add a.txt"}]}
    ])
}

async fn post(gw: &Gateway, path: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = client().post(format!("{}{path}", gw.url)).bearer_auth(KEY).json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

/// POST a streamed Responses body: the answer's text and each event's JSON (the status must be 200).
async fn responses_events(gw: &Gateway, body: &Value) -> (String, Vec<Value>) {
    let r = post(gw, "/v1/responses", body, &[]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let events = sse_data(&text)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (text, events)
}

mod clients;
mod codex;
