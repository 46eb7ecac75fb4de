//! What other clients send: WebSocket upgrades, refused requests in the log, count_tokens, model names as aliases, the Responses pass-through, built-in tools under auto, check on bad aliases.

use super::*;

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
        m.lines()
            .any(|l| l.starts_with("switchyard_requests_total{endpoint=\"responses\"") && l.contains("status=\"426\"")),
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
    let r = client()
        .post(format!("{}/v1/nope", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .delete(format!("{}/v1/messages", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // Each request is counted when its logging hook runs, after the client has its answer: wait for both.
    let counted = |m: &str, endpoint: &str, status: &str| {
        m.lines().any(|l| {
            l.starts_with(&format!("switchyard_requests_total{{endpoint=\"{endpoint}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut m = metrics_with(&gw, "status=\"405\"").await;
    while !(counted(&m, "unknown", "404") && counted(&m, "messages", "405")) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        m = metrics_with(&gw, "status=\"405\"").await;
    }
    assert!(counted(&m, "unknown", "404"), "{m}");
    assert!(counted(&m, "messages", "405"), "{m}");
    assert!(!m.contains("endpoint=\"health\""), "{m}");
    gw.wait_log(5, |l| l.contains("\"access\"") && l.contains("405"));
    let lines = gw.access_lines();
    let of = |s: u64| {
        lines
            .iter()
            .find(|l| l["status"] == s)
            .unwrap_or_else(|| panic!("{lines:?}"))
    };
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
    let r = post(
        &gw,
        "/v1/messages/count_tokens",
        &body,
        &[("anthropic-version", "2023-06-01")],
    )
    .await;
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
    assert_eq!(
        r.headers().get("x-jt-token-count").and_then(|v| v.to_str().ok()),
        Some("estimate")
    );
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
    let aliases =
        "aliases:\n  \"claude-opus-*\": an/m\n  \"claude-*\": [ge/m, an/m]\n  \"gpt-5*\": auto\n  gpt-5-mini: oa/m\n";
    let (up, gw) = gateway_with("", aliases).await;
    let messages =
        |model: &str| json!({"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
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
    let candidates: Vec<&str> = v["router"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["model"].as_str().unwrap())
        .collect();
    assert_eq!(candidates[0], "ge/m", "{v}");
    // `gpt-5*` routes automatically, as `auto` would.
    let r = post(
        &gw,
        "/v1/responses",
        &json!({"model": "gpt-5.5-codex", "input": "hi"}),
        &[],
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["mode"], "balanced", "{v}");
    // An unknown name: 404 naming the closest catalog names.
    let r = post(&gw, "/v1/messages", &messages("an/mm"), &[]).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("closest names are: an/m"),
        "{v}"
    );
}

/// A provider that speaks the Responses API gets the client's body with only `model` changed:
/// built-in tools, namespaces, custom tools and fields the gateway does not know all pass; the
/// answer keeps every item, with the catalog id, cost and `router` added.
#[tokio::test(flavor = "multi_thread")]
async fn responses_pass_through_keeps_the_body() {
    let routing = "routing:\n  builtin_tools: reject\n";
    let (up, gw) = gateway(routing).await;
    let mut body = codex_body("rs/m", first_input());
    body["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "web_search", "search_context_size": "low"}));
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
    let (text, events) = responses_events(&gw, &body).await;
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
    let gw = Gateway::start(
        &config("", &providers),
        &(entry("oa/cheap", 0.1) + &entry("rs/dear", 20.0)),
    );
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
    body["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "web_search"}));
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
    assert_eq!(
        (ctc["name"].as_str(), ctc["input"].as_str()),
        (Some("apply_patch"), Some(PATCH))
    );
    assert!(items
        .iter()
        .any(|i| i["type"] == "custom_tool_call_output" && i["call_id"] == "c1"));
    let fc = items.iter().find(|i| i["type"] == "function_call").unwrap();
    assert_eq!(
        (fc["name"].as_str(), fc["namespace"].as_str()),
        (Some("spawn_agent"), Some("collab"))
    );
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
    let (ok, text) = check(dir.path());
    assert!(!ok, "{text}");
    assert!(
        text.contains("aliases.claude-*") && text.contains("\"nope/missing\" is not a model"),
        "{text}"
    );
    assert!(text.contains("at least one character besides `*`"), "{text}");
    assert!(text.contains("already a model's id or alias"), "{text}");
    assert!(text.contains("models.yaml:"), "{text}");
}
