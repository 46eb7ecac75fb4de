//! Codex's Responses requests: its tools per provider kind, a streamed custom tool call, built-in tools dropped or refused.

use super::*;

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
        assert_eq!(
            (fc["name"].as_str(), fc["namespace"].as_str()),
            (Some("spawn_agent"), Some("collab")),
            "{v}"
        );
        assert_eq!(
            serde_json::from_str::<Value>(fc["arguments"].as_str().unwrap()).unwrap(),
            json!({"message": "hi"})
        );
        let ctc = out.iter().find(|i| i["type"] == "custom_tool_call").unwrap();
        assert_eq!(
            (ctc["name"].as_str(), ctc["input"].as_str()),
            (Some("apply_patch"), Some(PATCH)),
            "{v}"
        );

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
    let (_, events) = responses_events(&gw, &body).await;
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
    body["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "web_search", "external_web_access": false}));
    let r = post(&gw, "/v1/responses", &body, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("x-jt-dropped-tools").and_then(|v| v.to_str().ok()),
        Some("web_search")
    );
    let v: Value = r.json().await.unwrap();
    assert!(
        v["router"]["lossy"]
            .to_string()
            .contains("built-in tool web_search dropped"),
        "{v}"
    );
    let sent = up.requests().last().unwrap().json();
    assert!(!sent.to_string().contains("web_search"), "{sent}");
    assert_eq!(sent["tools"].as_array().unwrap().len(), 2, "{sent}");

    let routing =
        "routing:\n  policies:\n    - name: strict\n      match: {models: [oa/m]}\n      builtin_tools: reject\n";
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
