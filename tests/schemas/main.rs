//! Every client schema × every provider kind over real sockets: text and tool-call turns, streamed and
//! not, with the tool call's id carried from the provider's answer into the client's schema and back
//! to the provider with the tool result. The local upstream answers in whichever wire format the
//! gateway chose (by path), like the real provider would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Chat,
    Responses,
    Messages,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Prov {
    OpenAi,
    Anthropic,
    Gemini,
}

const TEXT: &str = "It is sunny in Paris.";

impl Prov {
    fn model(self) -> &'static str {
        match self {
            Prov::OpenAi => "oa/m",
            Prov::Anthropic => "an/m",
            Prov::Gemini => "ge/m",
        }
    }

    fn of(path: &str) -> Prov {
        if path.ends_with("/chat/completions") {
            Prov::OpenAi
        } else if path.ends_with("/messages") {
            Prov::Anthropic
        } else {
            Prov::Gemini
        }
    }
}

/// Whether the provider request's last turn is a tool result.
fn answers_tool(p: Prov, body: &Value) -> bool {
    match p {
        Prov::OpenAi => body["messages"].as_array().unwrap().last().unwrap()["role"] == "tool",
        Prov::Anthropic => {
            let last = body["messages"].as_array().unwrap().last().unwrap();
            last["content"]
                .as_array()
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
        }
        Prov::Gemini => {
            let last = body["contents"].as_array().unwrap().last().unwrap();
            last["parts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.get("functionResponse").is_some())
        }
    }
}

fn offers_tools(p: Prov, body: &Value) -> bool {
    match p {
        Prov::OpenAi | Prov::Anthropic => body["tools"].as_array().is_some_and(|t| !t.is_empty()),
        Prov::Gemini => body["tools"][0]["functionDeclarations"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
    }
}

/// The provider's answer: a tool call when tools are offered and not yet answered, else text.
fn upstream_reply(path: &str, body: &Value) -> Reply {
    let p = Prov::of(path);
    let stream = body["stream"] == true || path.contains("streamGenerateContent");
    let tool = offers_tools(p, body) && !answers_tool(p, body);
    let gap = Duration::from_millis(5);
    match (p, stream, tool) {
        (Prov::OpenAi, false, false) => {
            let mut v = completion("up", TEXT);
            v["usage"] = json!({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120});
            Reply::Json(200, v)
        }
        (Prov::OpenAi, false, true) => Reply::Json(
            200,
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
                   "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                       "tool_calls": [{"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                   "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}),
        ),
        (Prov::OpenAi, true, false) => {
            let mut ev = stream_events("up", &["It is ", "sunny ", "in Paris."]);
            let n = ev.len();
            ev[n - 2] = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}}).to_string();
            Reply::Sse(ev, gap)
        }
        (Prov::OpenAi, true, true) => {
            let c = |delta: Value, fin: Value| {
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}).to_string()
            };
            Reply::Sse(
                vec![
                    c(json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}), Value::Null),
                    c(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), Value::Null),
                    c(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), Value::Null),
                    c(json!({}), json!("tool_calls")),
                    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}}).to_string(),
                    "[DONE]".into(),
                ],
                gap,
            )
        }
        (Prov::Anthropic, false, _) => {
            let content = if tool {
                json!([{"type": "tool_use", "id": "toolu_w1", "name": "get_weather", "input": {"city": "Paris"}}])
            } else {
                json!([{"type": "text", "text": TEXT}])
            };
            Reply::Json(
                200,
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": content,
                       "stop_reason": if tool { "tool_use" } else { "end_turn" }, "stop_sequence": null,
                       "usage": {"input_tokens": 100, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}),
            )
        }
        (Prov::Anthropic, true, _) => {
            let mut ev = vec![
                json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 1}}}),
            ];
            if tool {
                ev.push(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_w1", "name": "get_weather", "input": {}}}));
                ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}));
                ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}));
            } else {
                ev.push(
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                );
                for t in ["It is ", "sunny ", "in Paris."] {
                    ev.push(
                        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}),
                    );
                }
            }
            ev.push(json!({"type": "content_block_stop", "index": 0}));
            ev.push(json!({"type": "message_delta", "delta": {"stop_reason": if tool { "tool_use" } else { "end_turn" }, "stop_sequence": null}, "usage": {"output_tokens": 20}}));
            ev.push(json!({"type": "message_stop"}));
            // Anthropic names each event; the harness sends data-only events, which the decoder reads by `type`.
            Reply::Sse(ev.into_iter().map(|e| e.to_string()).collect(), gap)
        }
        (Prov::Gemini, _, _) => {
            let usage = json!({"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120});
            let part = if tool {
                json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}})
            } else {
                json!({"text": TEXT})
            };
            let whole = json!({"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                               "usageMetadata": usage, "modelVersion": "gemini-up", "responseId": "resp1"});
            if !stream {
                Reply::Json(200, whole)
            } else if tool {
                Reply::Sse(vec![whole.to_string()], gap)
            } else {
                let chunk = |t: &str, last: bool| {
                    let mut c = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "index": 0}], "modelVersion": "gemini-up", "responseId": "resp1"});
                    if last {
                        c["candidates"][0]["finishReason"] = json!("STOP");
                        c["usageMetadata"] = usage.clone();
                    }
                    c.to_string()
                };
                Reply::Sse(
                    vec![chunk("It is ", false), chunk("sunny ", false), chunk("in Paris.", true)],
                    gap,
                )
            }
        }
    }
}

async fn gateway() -> (Upstream, Gateway) {
    let up = Upstream::start(|_, s| upstream_reply(&s.path, &s.json())).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oa\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k-ge\n"
    );
    let entry = |id: &str| {
        format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, parallel_tool_calls, vision, streaming]\n")
    };
    let gw = Gateway::start(
        &config("", &providers),
        &(entry("oa/m") + &entry("an/m") + &entry("ge/m")),
    );
    (up, gw)
}

mod client;

use client::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_client_schema_reaches_every_provider_with_text_and_tools() {
    let (up, gw) = gateway().await;
    for c in [Client::Chat, Client::Responses, Client::Messages] {
        for p in [Prov::OpenAi, Prov::Anthropic, Prov::Gemini] {
            for stream in [false, true] {
                let case = format!("{c:?} → {p:?} stream={stream}");
                // A text answer.
                let g = call(&gw, c, &first_turn(c, p.model(), false, stream)).await;
                assert_eq!(g.text, TEXT, "{case}");
                assert_eq!(g.model, p.model(), "{case}: the model that answered");
                assert_eq!(g.router_model.as_deref(), Some(p.model()), "{case}: router object");
                let cost = g.cost.unwrap_or_else(|| panic!("{case}: no cost"));
                // 100 input at $1/M + 20 output at $2/M
                assert!((cost - 0.00014).abs() < 1e-12, "{case}: cost {cost}");
                let seen = up.requests().last().unwrap().clone();
                assert_eq!(Prov::of(&seen.path), p, "{case}: {}", seen.path);
                match p {
                    Prov::OpenAi => assert_eq!(seen.header("authorization"), Some("Bearer k-oa")),
                    Prov::Anthropic => {
                        assert_eq!(seen.header("x-api-key"), Some("k-an"), "{case}");
                        assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"), "{case}");
                        assert!(
                            seen.json()["max_tokens"].as_u64().is_some(),
                            "{case}: max_tokens is required"
                        );
                        assert!(
                            seen.json()["system"].to_string().contains("Be brief."),
                            "{case}: system prompt"
                        );
                    }
                    Prov::Gemini => {
                        assert_eq!(seen.header("x-goog-api-key"), Some("k-ge"), "{case}");
                        assert!(
                            seen.path.contains(if stream {
                                ":streamGenerateContent"
                            } else {
                                ":generateContent"
                            }),
                            "{case}"
                        );
                        assert!(
                            seen.json()["systemInstruction"].to_string().contains("Be brief."),
                            "{case}"
                        );
                    }
                }
                // A tool call, then its result back to the provider.
                let g = call(&gw, c, &first_turn(c, p.model(), true, stream)).await;
                let (id, name, args) = g.tool.unwrap_or_else(|| panic!("{case}: no tool call"));
                assert_eq!(
                    (name.as_str(), &args),
                    ("get_weather", &json!({"city": "Paris"})),
                    "{case}"
                );
                let g = call(&gw, c, &second_turn(c, p.model(), &id, stream)).await;
                assert_eq!(g.text, TEXT, "{case}: answer after the tool result");
                let (ref_id, result) = provider_tool_result(p, &up.requests().last().unwrap().json());
                match p {
                    Prov::Gemini => assert_eq!(ref_id, "get_weather", "{case}: Gemini matches results by name"),
                    // Ids the provider's schema cannot hold are mapped; all of ours are plain.
                    _ => assert_eq!(ref_id, id, "{case}: the tool call id made the round trip"),
                }
                assert!(result.contains("sunny, 21C"), "{case}: {result}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_ids_survive_into_each_client_schema() {
    // The provider's own call id reaches the client unchanged (Gemini has none: one is made up).
    let (_up, gw) = gateway().await;
    for (p, want) in [
        (Prov::OpenAi, Some("call_w1")),
        (Prov::Anthropic, Some("toolu_w1")),
        (Prov::Gemini, None),
    ] {
        for c in [Client::Chat, Client::Responses, Client::Messages] {
            let g = call(&gw, c, &first_turn(c, p.model(), true, false)).await;
            let id = g.tool.unwrap().0;
            match want {
                Some(w) => assert_eq!(id, w, "{c:?} ← {p:?}"),
                None => assert!(!id.is_empty(), "{c:?} ← {p:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn images_reach_each_provider_in_its_own_form() {
    let (up, gw) = gateway().await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    for p in [Prov::OpenAi, Prov::Anthropic, Prov::Gemini] {
        let body = json!({"model": p.model(), "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}}]}]});
        let g = call(&gw, Client::Chat, &body).await;
        assert_eq!(g.text, TEXT);
        let seen = up.requests().last().unwrap().json();
        let found = match p {
            Prov::OpenAi => seen["messages"][0]["content"][1]["image_url"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(png)),
            Prov::Anthropic => {
                let img = &seen["messages"][0]["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|b| b["type"] == "image")
                    .unwrap()["source"];
                img["type"] == "base64" && img["media_type"] == "image/png" && img["data"] == png
            }
            Prov::Gemini => seen["contents"][0]["parts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["inlineData"]["mimeType"] == "image/png" && p["inlineData"]["data"] == png),
        };
        assert!(found, "{p:?}: {seen}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_errors_keep_their_status_in_each_client_schema() {
    let up = Upstream::start(|_, s| match Prov::of(&s.path) {
        // No Retry-After: a cooled-down model would answer the next client without asking the provider.
        Prov::OpenAi => Reply::Json(
            429,
            json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
        ),
        Prov::Anthropic => Reply::Json(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
        Prov::Gemini => Reply::Json(
            400,
            json!({"error": {"code": 400, "message": "Invalid argument", "status": "INVALID_ARGUMENT"}}),
        ),
    })
    .await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k\n  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k\n"
    );
    let entry = |id: &str| {
        format!(
            "  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n"
        )
    };
    let gw = Gateway::start(
        &config("", &providers),
        &(entry("oa/m") + &entry("an/m") + &entry("ge/m")),
    );
    for (p, status, message) in [
        (Prov::OpenAi, 429, "slow down"),
        (Prov::Anthropic, 502, "Overloaded"),
        (Prov::Gemini, 400, "Invalid argument"),
    ] {
        for c in [Client::Chat, Client::Responses, Client::Messages] {
            let mut req = client()
                .post(format!("{}{}", gw.url, path(c)))
                .json(&first_turn(c, p.model(), false, false));
            req = if c == Client::Messages {
                req.header("x-api-key", KEY)
            } else {
                req.bearer_auth(KEY)
            };
            let r = req.send().await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{c:?} ← {p:?}");
            let v: Value = r.json().await.unwrap();
            if c == Client::Messages {
                assert_eq!(v["type"], "error", "Anthropic clients get Anthropic's error envelope");
            }
            assert_eq!(
                v["error"]["provider"],
                p.model().split('/').next().unwrap(),
                "{c:?} ← {p:?}"
            );
            assert!(
                v["error"]["message"].as_str().unwrap().contains(message),
                "{c:?} ← {p:?}: {v}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feature_the_provider_lacks_makes_the_model_ineligible() {
    let (up, gw) = gateway().await;
    let before = up.count();
    // Anthropic has no `n`, Gemini cannot fetch an http image URL.
    for (model, body) in [
        ("an/m", json!({"model": "an/m", "n": 2, "messages": user_msg("x")})),
        (
            "ge/m",
            json!({"model": "ge/m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}]}]}),
        ),
    ] {
        let r = chat(&gw, body).await;
        assert_eq!(r.status(), 422, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "no_eligible_model", "{model}");
        assert_eq!(v["error"]["param"], "model");
    }
    assert_eq!(up.count(), before, "nothing reached a provider");
}
