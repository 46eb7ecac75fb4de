//! Every client schema × every provider kind over real sockets: text and tool-call turns, streamed and
//! not, with the tool call's id carried from the provider's answer into the client's schema and back
//! to the provider with the tool result. The local upstream answers in whichever wire format the
//! gateway chose (by path), like the real provider would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

fn weather_tool(c: Client) -> Value {
    let params = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    match c {
        Client::Chat => {
            json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather now", "parameters": params}}])
        }
        Client::Responses => {
            json!([{"type": "function", "name": "get_weather", "description": "Weather now", "parameters": params}])
        }
        Client::Messages => json!([{"name": "get_weather", "description": "Weather now", "input_schema": params}]),
    }
}

/// The first turn: a question, with or without the tool on offer.
fn first_turn(c: Client, model: &str, tools: bool, stream: bool) -> Value {
    let mut b = match c {
        Client::Chat => {
            json!({"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]})
        }
        Client::Responses => json!({"model": model, "instructions": "Be brief.", "input": "Weather in Paris?"}),
        Client::Messages => {
            json!({"model": model, "max_tokens": 100, "system": "Be brief.", "messages": [{"role": "user", "content": "Weather in Paris?"}]})
        }
    };
    if tools {
        b["tools"] = weather_tool(c);
    }
    if stream {
        b["stream"] = json!(true);
    }
    b
}

/// The second turn: the conversation with the tool call `id` and its result.
fn second_turn(c: Client, model: &str, id: &str, stream: bool) -> Value {
    let mut b = match c {
        Client::Chat => json!({"model": model, "tools": weather_tool(c), "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "sunny, 21C"}]}),
        Client::Responses => json!({"model": model, "tools": weather_tool(c), "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": id, "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": id, "output": "sunny, 21C"}]}),
        Client::Messages => json!({"model": model, "max_tokens": 100, "tools": weather_tool(c), "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "sunny, 21C"}]}]}),
    };
    if stream {
        b["stream"] = json!(true);
    }
    b
}

fn path(c: Client) -> &'static str {
    match c {
        Client::Chat => "/v1/chat/completions",
        Client::Responses => "/v1/responses",
        Client::Messages => "/v1/messages",
    }
}

/// What the client got, in canonical terms.
#[derive(Debug, Default)]
struct Got {
    model: String,
    text: String,
    tool: Option<(String, String, Value)>,
    cost: Option<f64>,
    router_model: Option<String>,
}

/// Read a whole answer in the client's schema.
fn read_json(c: Client, v: &Value) -> Got {
    let mut g = Got {
        model: v["model"].as_str().unwrap_or_default().to_string(),
        router_model: v["router"]["model"].as_str().map(str::to_string),
        ..Default::default()
    };
    match c {
        Client::Chat => {
            let m = &v["choices"][0]["message"];
            g.text = m["content"].as_str().unwrap_or_default().to_string();
            if let Some(tc) = m["tool_calls"].get(0) {
                g.tool = Some((
                    tc["id"].as_str().unwrap().into(),
                    tc["function"]["name"].as_str().unwrap().into(),
                    serde_json::from_str(tc["function"]["arguments"].as_str().unwrap()).unwrap(),
                ));
            }
            g.cost = v["usage"]["cost"].as_f64();
        }
        Client::Responses => {
            for item in v["output"].as_array().unwrap() {
                match item["type"].as_str().unwrap() {
                    "message" => g.text = item["content"][0]["text"].as_str().unwrap().into(),
                    "function_call" => {
                        g.tool = Some((
                            item["call_id"].as_str().unwrap().into(),
                            item["name"].as_str().unwrap().into(),
                            serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap(),
                        ))
                    }
                    _ => {}
                }
            }
            g.cost = v["usage"]["cost"].as_f64();
        }
        Client::Messages => {
            for b in v["content"].as_array().unwrap() {
                match b["type"].as_str().unwrap() {
                    "text" => g.text.push_str(b["text"].as_str().unwrap()),
                    "tool_use" => {
                        g.tool = Some((
                            b["id"].as_str().unwrap().into(),
                            b["name"].as_str().unwrap().into(),
                            b["input"].clone(),
                        ))
                    }
                    _ => {}
                }
            }
            g.cost = v["usage"]["cost"].as_f64();
        }
    }
    g
}

/// The SSE events of a body as (event name, JSON data).
fn events(body: &str) -> Vec<(Option<String>, Value)> {
    body.split("\n\n")
        .filter_map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_string);
            let data = e.lines().find_map(|l| l.strip_prefix("data: "))?;
            serde_json::from_str(data).ok().map(|v| (name, v))
        })
        .collect()
}

/// Read a streamed answer in the client's schema, as the official SDKs accumulate it.
fn read_stream(c: Client, body: &str) -> Got {
    let mut g = Got::default();
    let mut args = String::new();
    let mut tool: Option<(String, String)> = None;
    for (_, e) in events(body) {
        assert!(
            e.get("error").is_none() || c == Client::Responses && e["type"] != "error",
            "error event: {e}"
        );
        match c {
            Client::Chat => {
                g.model = e["model"].as_str().unwrap_or_default().to_string();
                let d = &e["choices"][0]["delta"];
                g.text.push_str(d["content"].as_str().unwrap_or_default());
                if let Some(tc) = d["tool_calls"].get(0) {
                    if let Some(id) = tc["id"].as_str() {
                        tool = Some((id.into(), tc["function"]["name"].as_str().unwrap().into()));
                    }
                    args.push_str(tc["function"]["arguments"].as_str().unwrap_or_default());
                }
                if e.get("router").is_some() {
                    g.router_model = e["router"]["model"].as_str().map(str::to_string);
                    g.cost = e["usage"]["cost"].as_f64();
                }
            }
            Client::Responses => match e["type"].as_str().unwrap() {
                "response.output_text.delta" => g.text.push_str(e["delta"].as_str().unwrap()),
                "response.output_item.added" if e["item"]["type"] == "function_call" => {
                    tool = Some((
                        e["item"]["call_id"].as_str().unwrap().into(),
                        e["item"]["name"].as_str().unwrap().into(),
                    ))
                }
                "response.function_call_arguments.delta" => args.push_str(e["delta"].as_str().unwrap()),
                "response.completed" => {
                    g.model = e["response"]["model"].as_str().unwrap().into();
                    g.cost = e["response"]["usage"]["cost"].as_f64();
                    g.router_model = e["response"]["router"]["model"].as_str().map(str::to_string);
                }
                _ => {}
            },
            Client::Messages => match e["type"].as_str().unwrap() {
                "message_start" => g.model = e["message"]["model"].as_str().unwrap().into(),
                "content_block_start" if e["content_block"]["type"] == "tool_use" => {
                    tool = Some((
                        e["content_block"]["id"].as_str().unwrap().into(),
                        e["content_block"]["name"].as_str().unwrap().into(),
                    ))
                }
                "content_block_delta" => {
                    g.text.push_str(e["delta"]["text"].as_str().unwrap_or_default());
                    args.push_str(e["delta"]["partial_json"].as_str().unwrap_or_default());
                }
                "message_delta" => g.cost = e["usage"]["cost"].as_f64(),
                "message_stop" => g.router_model = e["router"]["model"].as_str().map(str::to_string),
                _ => {}
            },
        }
    }
    if let Some((id, name)) = tool {
        g.tool = Some((
            id,
            name,
            serde_json::from_str(&args).unwrap_or_else(|e| panic!("arguments {args:?}: {e}")),
        ));
    }
    g
}

async fn call(gw: &Gateway, c: Client, body: &Value) -> Got {
    let mut req = client().post(format!("{}{}", gw.url, path(c))).json(body);
    req = match c {
        Client::Messages => req.header("x-api-key", KEY).header("anthropic-version", "2023-06-01"),
        _ => req.bearer_auth(KEY),
    };
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{c:?}: {text}");
    if body["stream"] == true {
        read_stream(c, &text)
    } else {
        read_json(c, &serde_json::from_str(&text).unwrap())
    }
}

/// The tool result the provider received in the second turn: (id it references, or the function
/// name for Gemini), and the result text.
fn provider_tool_result(p: Prov, body: &Value) -> (String, String) {
    match p {
        Prov::OpenAi => {
            let m = body["messages"].as_array().unwrap().last().unwrap();
            (m["tool_call_id"].as_str().unwrap().into(), m["content"].to_string())
        }
        Prov::Anthropic => {
            let b = body["messages"].as_array().unwrap().last().unwrap()["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "tool_result")
                .unwrap()
                .clone();
            (b["tool_use_id"].as_str().unwrap().into(), b["content"].to_string())
        }
        Prov::Gemini => {
            let parts = body["contents"].as_array().unwrap().last().unwrap()["parts"]
                .as_array()
                .unwrap()
                .clone();
            let fr = parts.iter().find_map(|p| p.get("functionResponse")).unwrap().clone();
            (fr["name"].as_str().unwrap().into(), fr["response"].to_string())
        }
    }
}

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
