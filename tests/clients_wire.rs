//! What coding agents send, over real sockets: Codex's `additional_tools` input items, `namespace` and
//! `custom` (freeform) tools with their `custom_tool_call` items, built-in tools (dropped or refused by
//! route), the WebSocket upgrade it tries first (426 so that it falls back to HTTPS at once), and
//! refused requests counted under their real endpoint. Each provider kind gets the lossy conversion
//! (namespaced functions flattened, custom tools as one-string functions) and the client gets its own
//! forms back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
        Prov::OpenAi => body["tools"].as_array().map(|t| t.iter().map(|t| t["function"]["name"].clone()).collect()),
        Prov::Anthropic => body["tools"].as_array().map(|t| t.iter().map(|t| t["name"].clone()).collect()),
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
            ev(json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", json!([]), Value::Null)})),
            ev(json!({"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": output[0]})),
            ev(json!({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "found"})),
            ev(json!({"type": "response.completed", "sequence_number": 3, "response": response("completed", output, usage)})),
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

/// Per provider kind: the lossy conversion on the way up, the client's forms on the way back, and the
/// calls and their outputs going up again in the next turn.
#[tokio::test(flavor = "multi_thread")]
async fn codex_tools_round_trip_per_provider_kind() {
    let (up, gw) = gateway("").await;
    for prov in [Prov::OpenAi, Prov::Anthropic, Prov::Gemini] {
        let before = up.count();
        let r = post(
            &gw,
            "/v1/responses",
            &codex_body(prov.model(), first_input()),
            &[("x-openai-internal-codex-responses-lite", "true")],
        )
        .await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{prov:?}: {v}");
        let seen = &up.requests()[before];
        assert_eq!(Prov::of(&seen.path), prov);
        let names = offered(prov, &seen.json());
        for n in ["shell", "collab__spawn_agent", "apply_patch"] {
            assert!(names.contains(&n.to_string()), "{prov:?} offered {names:?}");
        }
        let lossy = v["router"]["lossy"].to_string();
        assert!(lossy.contains("custom tool apply_patch"), "{lossy}");
        assert!(lossy.contains("namespace__name"), "{lossy}");
        let out = v["output"].as_array().unwrap();
        let fc = out.iter().find(|i| i["type"] == "function_call").unwrap();
        assert_eq!((fc["name"].as_str(), fc["namespace"].as_str()), (Some("spawn_agent"), Some("collab")), "{v}");
        assert_eq!(serde_json::from_str::<Value>(fc["arguments"].as_str().unwrap()).unwrap(), json!({"message": "hi"}));
        let ctc = out.iter().find(|i| i["type"] == "custom_tool_call").unwrap();
        assert_eq!((ctc["name"].as_str(), ctc["input"].as_str()), (Some("apply_patch"), Some(PATCH)), "{v}");

        // The next turn carries both calls and their outputs, as Codex sends them.
        let (ns_id, cu_id) = (fc["call_id"].as_str().unwrap(), ctc["call_id"].as_str().unwrap());
        let mut input = first_input();
        let items = input.as_array_mut().unwrap();
        items.push(json!({"type": "function_call", "call_id": ns_id, "name": "spawn_agent", "namespace": "collab", "arguments": "{\"message\":\"hi\"}"}));
        items.push(json!({"type": "custom_tool_call", "call_id": cu_id, "name": "apply_patch", "input": PATCH}));
        items.push(json!({"type": "function_call_output", "call_id": ns_id, "output": "spawned"}));
        items.push(json!({"type": "custom_tool_call_output", "call_id": cu_id, "output": "Done!"}));
        let r = post(&gw, "/v1/responses", &codex_body(prov.model(), input), &[]).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["output"][0]["content"][0]["text"], "done", "{prov:?}: {v}");
        let sent = up.requests().last().unwrap().json();
        let text = sent.to_string();
        match prov {
            Prov::OpenAi => {
                let msgs = sent["messages"].as_array().unwrap();
                let calls = &msgs.iter().find(|m| m["role"] == "assistant").unwrap()["tool_calls"];
                assert_eq!(calls[0]["function"]["name"], "collab__spawn_agent", "{sent}");
                assert_eq!(calls[1]["function"]["name"], "apply_patch");
                let args: Value = serde_json::from_str(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap();
                assert_eq!(args, json!({"input": PATCH}));
                let results: Vec<&Value> = msgs.iter().filter(|m| m["role"] == "tool").collect();
                assert_eq!(results.len(), 2, "{sent}");
                assert_eq!(results[1]["tool_call_id"], cu_id);
            }
            Prov::Anthropic => {
                assert!(text.contains("\"name\":\"collab__spawn_agent\""), "{text}");
                assert!(text.contains("\"tool_use_id\":\"") && text.contains("Done!"), "{text}");
            }
            Prov::Gemini => {
                assert!(text.contains("\"functionResponse\""), "{text}");
                assert!(text.contains("collab__spawn_agent"), "{text}");
            }
        }
    }
}

/// A streamed custom tool call: the function's arguments are held until whole, then the client gets
/// the custom tool call's input events and the item.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_custom_tool_call() {
    let (_up, gw) = gateway("").await;
    let mut body = codex_body("oa/m", first_input());
    body["stream"] = json!(true);
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let events: Vec<Value> = sse_data(&text).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!types.contains(&"response.function_call_arguments.delta"), "{types:?}");
    let done = events
        .iter()
        .find(|e| e["type"] == "response.custom_tool_call_input.done")
        .unwrap_or_else(|| panic!("{types:?}"));
    assert_eq!(done["input"], PATCH);
    let item = events
        .iter()
        .find(|e| e["type"] == "response.output_item.done")
        .unwrap();
    assert_eq!(item["item"]["type"], "custom_tool_call");
    assert_eq!(item["item"]["input"], PATCH);
    let completed = events.last().unwrap();
    assert_eq!(completed["type"], "response.completed");
    assert_eq!(completed["response"]["output"][0]["type"], "custom_tool_call");
}

/// Built-in tools: dropped by default (named in the header and the `router` object), refused with
/// 400 naming the tool when the route says `reject`.
#[tokio::test(flavor = "multi_thread")]
async fn builtin_tools_dropped_by_default_rejected_by_route() {
    let (up, gw) = gateway("").await;
    let mut body = codex_body("oa/m", json!("hello"));
    body["tools"].as_array_mut().unwrap().push(json!({"type": "web_search", "external_web_access": false}));
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("x-jt-dropped-tools").and_then(|v| v.to_str().ok()),
        Some("web_search")
    );
    let v: Value = r.json().await.unwrap();
    assert!(v["router"]["lossy"].to_string().contains("built-in tool web_search dropped"), "{v}");
    let sent = up.requests().last().unwrap().json();
    assert!(!sent.to_string().contains("web_search"), "{sent}");
    assert_eq!(sent["tools"].as_array().unwrap().len(), 2, "{sent}");

    let routing = "routing:\n  policies:\n    - name: strict\n      match: {models: [oa/m]}\n      builtin_tools: reject\n";
    let (up, gw) = gateway(routing).await;
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unsupported_tool", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("web_search"), "{v}");
    assert_eq!(up.count(), 0);
    // Another model the policy does not match still drops.
    body["model"] = json!("an/m");
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
}

/// Codex opens the Responses API over WebSocket first; a 426 makes it fall back to HTTPS at once
/// (codex-rs `client.rs`: `StatusCode::UPGRADE_REQUIRED` → `FallbackToHttp`). Counted and logged as
/// `responses`.
#[tokio::test(flavor = "multi_thread")]
async fn websocket_upgrade_is_answered_426() {
    let (up, gw) = gateway("").await;
    let r = client()
        .get(format!("{}/v1/responses", gw.url))
        .bearer_auth(KEY)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("openai-beta", "responses_websockets=2026-02-04")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 426);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "websocket_not_supported", "{v}");
    assert_eq!(up.count(), 0);
    let m = metrics_with(&gw, "status=\"426\"").await;
    assert!(
        m.lines().any(|l| l.starts_with("switchyard_requests_total{endpoint=\"responses\"") && l.contains("status=\"426\"")),
        "{m}"
    );
    gw.wait_log(5, |l| l.contains("\"access\"") && l.contains("426"));
    let line = gw.access_lines().into_iter().find(|l| l["status"] == 426).unwrap();
    assert_eq!(line["endpoint"], "responses", "{line}");
}

/// Refused requests are in the access log and the metrics under their real endpoint: an unknown
/// path as `unknown`, a wrong method under the path's endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_are_logged_under_their_endpoint() {
    let (_up, gw) = gateway("").await;
    let r = client().post(format!("{}/v1/nope", gw.url)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = client().delete(format!("{}/v1/messages", gw.url)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let m = metrics_with(&gw, "status=\"405\"").await;
    assert!(
        m.lines().any(|l| l.starts_with("switchyard_requests_total{endpoint=\"unknown\"") && l.contains("status=\"404\"")),
        "{m}"
    );
    assert!(
        m.lines().any(|l| l.starts_with("switchyard_requests_total{endpoint=\"messages\"") && l.contains("status=\"405\"")),
        "{m}"
    );
    assert!(!m.contains("endpoint=\"health\""), "{m}");
    gw.wait_log(5, |l| l.contains("\"access\"") && l.contains("405"));
    let lines = gw.access_lines();
    let of = |s: u64| lines.iter().find(|l| l["status"] == s).unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(of(404)["endpoint"], "unknown");
    assert_eq!(of(405)["endpoint"], "messages");
}

/// `messages.countTokens`: an Anthropic provider counts (the client's body, the provider's model
/// name); for another provider the gateway estimates and says so in a header.
#[tokio::test(flavor = "multi_thread")]
async fn count_tokens_passes_to_anthropic_else_estimates() {
    let (up, gw) = gateway("").await;
    let body = json!({"model": "an/m", "system": "Be brief.", "messages": [{"role": "user", "content": "Hello there, how many tokens is this?"}],
                      "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]});
    let r = post(&gw, "/v1/messages/count_tokens", &body, &[("anthropic-version", "2023-06-01")]).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-jt-token-count").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"input_tokens": 42}));
    let seen = up.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/v1/messages/count_tokens");
    assert_eq!(seen.header("x-api-key"), Some("k-an"));
    let sent = seen.json();
    assert_eq!(sent["model"], "m");
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert!(sent.get("max_tokens").is_none(), "{sent}");

    let before = up.count();
    let mut body = body;
    body["model"] = json!("oa/m");
    let r = post(&gw, "/v1/messages/count_tokens", &body, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("x-jt-token-count").and_then(|v| v.to_str().ok()), Some("estimate"));
    let v: Value = r.json().await.unwrap();
    let n = v["input_tokens"].as_u64().unwrap();
    assert!((10..100).contains(&n), "{v}");
    assert_eq!(up.count(), before);

    // A bad body is refused in the Messages error shape, naming the field.
    let r = post(&gw, "/v1/messages/count_tokens", &json!({"model": "an/m"}), &[]).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["param"], "messages", "{v}");
    let m = metrics_with(&gw, "endpoint=\"count_tokens\"").await;
    assert!(m.contains("endpoint=\"count_tokens\""), "{m}");
}

/// Model names as clients send them: exact catalog names first, then the `aliases` section's exact
/// names, then the longest matching pattern; a pattern may name a model, a chain or `auto`. An
/// unknown name's 404 lists the closest catalog names.
#[tokio::test(flavor = "multi_thread")]
async fn wildcard_aliases_route_client_model_names() {
    let aliases = "aliases:\n  \"claude-opus-*\": an/m\n  \"claude-*\": [ge/m, an/m]\n  \"gpt-5*\": auto\n  gpt-5-mini: oa/m\n";
    let (up, gw) = gateway_with("", aliases).await;
    let messages = |model: &str| json!({"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
    let cases = [
        ("claude-opus-4-8", "an/m", "/v1/messages"),
        ("claude-haiku-4-5", "ge/m", "/v1beta/models/m:generateContent"),
        ("gpt-5-mini", "oa/m", "/v1/chat/completions"),
    ];
    for (name, id, path) in cases {
        let r = post(&gw, "/v1/messages", &messages(name), &[]).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{name}: {v}");
        assert_eq!(v["router"]["model"], id, "{name}: {v}");
        assert_eq!(v["router"]["requested_model"], name);
        assert!(v["router"]["reason"].as_str().unwrap().contains("matched alias"), "{v}");
        assert_eq!(up.requests().last().unwrap().path, path, "{name}");
    }
    // The chain after the pattern's first model is its fallback.
    let r = post(&gw, "/v1/messages", &messages("claude-3-haiku"), &[]).await;
    let v: Value = r.json().await.unwrap();
    let candidates: Vec<&str> = v["router"]["attempts"].as_array().unwrap().iter().map(|a| a["model"].as_str().unwrap()).collect();
    assert_eq!(candidates[0], "ge/m", "{v}");
    // `gpt-5*` routes automatically, as `auto` would.
    let r = post(&gw, "/v1/responses", &json!({"model": "gpt-5.5-codex", "input": "hi"}), &[]).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["mode"], "balanced", "{v}");
    // An unknown name: 404 naming the closest catalog names.
    let r = post(&gw, "/v1/messages", &messages("an/mm"), &[]).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_not_found");
    assert!(v["error"]["message"].as_str().unwrap().contains("closest names are: an/m"), "{v}");
}

/// A provider that speaks the Responses API gets the client's body with only `model` changed:
/// built-in tools, namespaces, custom tools and fields the gateway does not know all pass; the
/// answer keeps every item, with the catalog id, cost and `router` added.
#[tokio::test(flavor = "multi_thread")]
async fn responses_pass_through_keeps_the_body() {
    let routing = "routing:\n  builtin_tools: reject\n";
    let (up, gw) = gateway(routing).await;
    let mut body = codex_body("rs/m", first_input());
    body["tools"].as_array_mut().unwrap().push(json!({"type": "web_search", "search_context_size": "low"}));
    body["a_field_from_tomorrow"] = json!({"x": [1, 2]});
    body["fallback"] = json!(["oa/m"]);
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-jt-dropped-tools").is_none());
    let v: Value = r.json().await.unwrap();
    let seen = up.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/v1/responses");
    assert_eq!(seen.header("authorization"), Some("Bearer k-rs"));
    let mut expected = body.clone();
    expected["model"] = json!("m");
    expected.as_object_mut().unwrap().remove("fallback");
    assert_eq!(seen.json(), expected);
    assert_eq!(v["model"], "rs/m");
    assert_eq!(v["output"][0]["type"], "web_search_call", "{v}");
    assert_eq!(v["output"][1]["content"][0]["text"], "found");
    assert!(v["usage"]["cost"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["router"]["model"], "rs/m");
    assert_eq!(v["router"]["lossy"], json!([]));

    body["stream"] = json!(true);
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let events: Vec<Value> = sse_data(&text).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(events[0]["response"]["model"], "rs/m", "{text}");
    assert_eq!(events[1]["item"]["type"], "web_search_call");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    assert_eq!(last["response"]["router"]["model"], "rs/m");
    assert!(last["response"]["usage"]["cost"].as_f64().unwrap() > 0.0);
    assert!(text.contains("event: response.completed\n") || text.contains("\"type\":\"response.completed\""));

    // The same body routed to a provider without the Responses API: refused by this route's rule.
    body["model"] = json!("oa/m");
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 400);
}

/// `auto` with built-in tools puts a model whose provider runs them (Responses pass-through) first,
/// even when the mode alone would choose another; without them the mode decides.
#[tokio::test(flavor = "multi_thread")]
async fn auto_prefers_a_provider_that_runs_builtin_tools() {
    let up = Upstream::start(|_, s| reply(&s.path, &s.json())).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  rs:\n    kind: openai_compatible\n    responses_api: true\n    base_url: {base}/v1\n    api_key: k-rs\n  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oa\n"
    );
    let entry = |id: &str, price: f64| {
        format!("  - id: {id}\n    pricing: {{input: {price}, output: {price}}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, streaming]\n    quality: {{chat: 0.8}}\n")
    };
    let gw = Gateway::start(&config("", &providers), &(entry("oa/cheap", 0.1) + &entry("rs/dear", 20.0)));
    let mut body = json!({"model": "auto:cost", "input": "hello"});
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["model"], "oa/cheap", "{v}");
    body["tools"] = json!([{"type": "web_search"}]);
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert!(r.headers().get("x-jt-dropped-tools").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["model"], "rs/dear", "{v}");
    assert_eq!(up.requests().last().unwrap().json()["tools"][0]["type"], "web_search");
}

/// A phase's edit (the firewall masking an address in the prompt) reaches a Responses pass-through:
/// the conversation is rendered again as `input` (the instructions as a system message, calls with
/// their namespace and custom form); every other field still passes as the client sent it.
#[tokio::test(flavor = "multi_thread")]
async fn responses_pass_through_carries_a_phase_edit() {
    let plugins = "plugins:\n  firewall:\n    policies:\n      - name: pii\n        rules:\n          - {name: emails, detector: email, scope: [prompt], action: mask}\n";
    let (up, gw) = gateway(plugins).await;
    let mut input = first_input();
    let items = input.as_array_mut().unwrap();
    items.push(json!({"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": PATCH}));
    items.push(json!({"type": "custom_tool_call_output", "call_id": "c1", "output": "Done!"}));
    items.push(json!({"type": "function_call", "call_id": "c2", "name": "spawn_agent", "namespace": "collab", "arguments": "{}"}));
    items.push(json!({"type": "function_call_output", "call_id": "c2", "output": "ok"}));
    items.push(json!({"role": "user", "content": "mail ada@example.com please"}));
    let mut body = codex_body("rs/m", input);
    body["tools"].as_array_mut().unwrap().push(json!({"type": "web_search"}));
    body["a_field_from_tomorrow"] = json!(1);
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    let seen = up.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/v1/responses");
    let sent = seen.json();
    let text = sent.to_string();
    assert!(!text.contains("ada@example.com") && text.contains("[EMAIL]"), "{text}");
    assert_eq!(sent["tools"], body["tools"], "{sent}");
    assert_eq!(sent["a_field_from_tomorrow"], 1);
    assert!(sent.get("instructions").is_none(), "{sent}");
    let items = sent["input"].as_array().unwrap();
    assert_eq!(items[0]["type"], "additional_tools", "{sent}");
    assert_eq!(items[0]["tools"][0]["name"], "shell");
    assert_eq!(items[1]["role"], "system");
    assert_eq!(items[1]["content"][0]["text"], "You are a coding agent.");
    let ctc = items.iter().find(|i| i["type"] == "custom_tool_call").unwrap();
    assert_eq!((ctc["name"].as_str(), ctc["input"].as_str()), (Some("apply_patch"), Some(PATCH)));
    assert!(items.iter().any(|i| i["type"] == "custom_tool_call_output" && i["call_id"] == "c1"));
    let fc = items.iter().find(|i| i["type"] == "function_call").unwrap();
    assert_eq!((fc["name"].as_str(), fc["namespace"].as_str()), (Some("spawn_agent"), Some("collab")));
}

/// A bad `aliases` entry is a configuration problem naming the file, line and entry.
#[test]
fn bad_aliases_are_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("", "  p:\n    kind: mock\n");
    std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
    let models = format!(
        "models:\n{}aliases:\n  \"claude-*\": nope/missing\n  \"*\": p/m\n  p/m: auto\n",
        model("p/m", "m", &[])
    );
    std::fs::write(dir.path().join("models.yaml"), models).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["check", "--config"])
        .arg(dir.path().join("switchyard.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("aliases.claude-*") && text.contains("\"nope/missing\" is not a model"), "{text}");
    assert!(text.contains("at least one character besides `*`"), "{text}");
    assert!(text.contains("already a model's id or alias"), "{text}");
    assert!(text.contains("models.yaml:"), "{text}");
}
