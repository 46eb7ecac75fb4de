//! What a client sends and reads in each schema: the tool on offer, the first and second turns of a
//! tool loop, the answer read whole or streamed (as the official SDKs accumulate it), and the tool
//! result as each provider received it.

use super::*;

pub(super) fn weather_tool(c: Client) -> Value {
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
pub(super) fn first_turn(c: Client, model: &str, tools: bool, stream: bool) -> Value {
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
pub(super) fn second_turn(c: Client, model: &str, id: &str, stream: bool) -> Value {
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

pub(super) fn path(c: Client) -> &'static str {
    match c {
        Client::Chat => "/v1/chat/completions",
        Client::Responses => "/v1/responses",
        Client::Messages => "/v1/messages",
    }
}

/// What the client got, in canonical terms.
#[derive(Debug, Default)]
pub(super) struct Got {
    pub(super) model: String,
    pub(super) text: String,
    pub(super) tool: Option<(String, String, Value)>,
    pub(super) cost: Option<f64>,
    pub(super) router_model: Option<String>,
}

/// Read a whole answer in the client's schema.
pub(super) fn read_json(c: Client, v: &Value) -> Got {
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
pub(super) fn events(body: &str) -> Vec<(Option<String>, Value)> {
    body.split("\n\n")
        .filter_map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_string);
            let data = e.lines().find_map(|l| l.strip_prefix("data: "))?;
            serde_json::from_str(data).ok().map(|v| (name, v))
        })
        .collect()
}

/// Read a streamed answer in the client's schema, as the official SDKs accumulate it.
pub(super) fn read_stream(c: Client, body: &str) -> Got {
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

pub(super) async fn call(gw: &Gateway, c: Client, body: &Value) -> Got {
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
pub(super) fn provider_tool_result(p: Prov, body: &Value) -> (String, String) {
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
