//! The firewall and rules phases end to end: masked prompts reach every provider kind masked from
//! every client schema (the pass-through paths re-render the edit), answers are masked whole and
//! streamed (a match split across events included) or ended with the schema's in-band error, the
//! guardrails header, rules with their trace, preview without an upstream call, bad policies
//! refused by `check` with file, line and field, and no secret in any log line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const EMAIL: &str = "jane.doe@example.com";
const SECRET: &str = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Chat,
    Responses,
    Messages,
}

const CLIENTS: [Client; 3] = [Client::Chat, Client::Responses, Client::Messages];
/// Catalog ids, one per provider kind: OpenAI, OpenAI-compatible, Anthropic, Gemini.
const MODELS: [&str; 4] = ["oa/m", "oc/m", "an/m", "ge/m"];

fn endpoint(c: Client) -> &'static str {
    match c {
        Client::Chat => "/v1/chat/completions",
        Client::Responses => "/v1/responses",
        Client::Messages => "/v1/messages",
    }
}

/// A conversation carrying the e-mail address in a system prompt, a user turn, a tool call's
/// arguments and a tool result, plus a field only a same-schema provider understands.
fn prompt(c: Client, model: &str, stream: bool) -> Value {
    let params = json!({"type": "object", "properties": {"to": {"type": "string"}}});
    let mut b = match c {
        Client::Chat => {
            json!({"model": model, "logprobs": false, "tools": [{"type": "function", "function": {"name": "send", "parameters": params}}], "messages": [
            {"role": "system", "content": format!("Reply to {EMAIL}.")},
            {"role": "user", "content": format!("Write to {EMAIL} please")},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "send", "arguments": format!("{{\"to\":\"{EMAIL}\"}}")}}]},
            {"role": "tool", "tool_call_id": "c1", "content": format!("sent to {EMAIL}")}]})
        }
        Client::Responses => {
            json!({"model": model, "instructions": format!("Reply to {EMAIL}."), "tools": [{"type": "function", "name": "send", "parameters": params}], "input": [
            {"role": "user", "content": format!("Write to {EMAIL} please")},
            {"type": "function_call", "call_id": "c1", "name": "send", "arguments": format!("{{\"to\":\"{EMAIL}\"}}")},
            {"type": "function_call_output", "call_id": "c1", "output": format!("sent to {EMAIL}")}]})
        }
        Client::Messages => {
            json!({"model": model, "max_tokens": 100, "system": format!("Reply to {EMAIL}."), "tools": [{"name": "send", "input_schema": params}], "messages": [
            {"role": "user", "content": format!("Write to {EMAIL} please")},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "send", "input": {"to": EMAIL}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": format!("sent to {EMAIL}")}]}]})
        }
    };
    if stream {
        b["stream"] = json!(true);
    }
    b
}

/// The answer's text, cut into deltas so that the e-mail address spans three events.
const PARTS: [&str; 4] = ["Contact jane.d", "oe@exa", "mple.com today", " please."];

/// The provider's answer in its own wire format (by path), streamed or whole, saying `PARTS`.
fn reply(path: &str, body: &Value) -> Reply {
    let stream = body["stream"] == true || path.contains("streamGenerateContent");
    let gap = Duration::from_millis(5);
    let whole: String = PARTS.concat();
    if path.ends_with("/chat/completions") {
        if stream {
            Reply::Sse(stream_events("up", &PARTS), gap)
        } else {
            Reply::Json(200, completion("up", &whole))
        }
    } else if path.ends_with("/messages") {
        if !stream {
            return Reply::Json(
                200,
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
                       "content": [{"type": "text", "text": whole}], "stop_reason": "end_turn", "stop_sequence": null,
                       "usage": {"input_tokens": 10, "output_tokens": 5}}),
            );
        }
        let mut ev = vec![
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ];
        for t in PARTS {
            ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}));
        }
        ev.push(json!({"type": "content_block_stop", "index": 0}));
        ev.push(json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}));
        ev.push(json!({"type": "message_stop"}));
        Reply::Sse(ev.into_iter().map(|e| e.to_string()).collect(), gap)
    } else {
        let chunk = |t: &str, last: bool| {
            let mut c = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "index": 0}], "modelVersion": "gemini-up"});
            if last {
                c["candidates"][0]["finishReason"] = json!("STOP");
                c["usageMetadata"] = json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15});
            }
            c
        };
        if stream {
            let n = PARTS.len();
            Reply::Sse(
                PARTS
                    .iter()
                    .enumerate()
                    .map(|(i, t)| chunk(t, i + 1 == n).to_string())
                    .collect(),
                gap,
            )
        } else {
            Reply::Json(200, chunk(&whole, true))
        }
    }
}

fn catalog() -> String {
    MODELS
        .iter()
        .map(|id| format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, streaming]\n    quality: {{chat: 0.8, code: 0.8}}\n"))
        .collect()
}

async fn gateway(plugins: &str) -> (Upstream, Gateway) {
    let up = Upstream::start(|_, s| reply(&s.path, &s.json())).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai\n    base_url: {base}/v1\n    api_key: k-oa\n  oc:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-oc\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k-ge\n"
    );
    let cfg = config("", &providers) + "plugins:\n" + plugins;
    let gw = Gateway::start(&cfg, &catalog());
    (up, gw)
}

const MASK_EMAILS: &str = "  firewall:\n    policies:\n      - name: pii\n        rules:\n          - {name: emails, detector: email, scope: [prompt, response], action: mask}\n";

async fn post(gw: &Gateway, c: Client, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = client()
        .post(format!("{}{}", gw.url, endpoint(c)))
        .bearer_auth(KEY)
        .json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn masked_prompts_reach_every_provider_kind_masked_from_every_client_schema() {
    let (up, gw) = gateway(MASK_EMAILS).await;
    for c in CLIENTS {
        for m in MODELS {
            let before = up.count();
            let r = post(&gw, c, &prompt(c, m, false), &[]).await;
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert_eq!(status, 200, "{c:?} → {m}: {v}");
            let seen = &up.requests()[before];
            let body = String::from_utf8_lossy(&seen.body);
            assert!(
                !body.contains(EMAIL),
                "{c:?} → {m}: the provider got the address: {body}"
            );
            assert!(body.contains("[EMAIL]"), "{c:?} → {m}: {body}");
            if c == Client::Chat && m.starts_with("o") {
                assert!(
                    body.contains("\"logprobs\":false"),
                    "{c:?} → {m}: pass-through keeps other fields: {body}"
                );
            }
            let fw = v["router"]["firewall"].as_array().map_or(0, Vec::len);
            assert!(
                fw > 0,
                "{c:?} → {m}: the router object names the firewall's actions: {v}"
            );
            assert!(
                !v.to_string().contains(EMAIL),
                "{c:?} → {m}: the answer is masked too: {v}"
            );
        }
    }
    let m = metrics_with(&gw, "switchyard_firewall_actions_total{action=\"mask\",policy=\"pii\"}").await;
    assert!(
        m.contains("switchyard_firewall_actions_total{action=\"mask\",policy=\"pii\"}"),
        "{m}"
    );
}

/// The text a streamed answer carried, in the client's schema.
fn streamed_text(c: Client, body: &str) -> String {
    let mut out = String::new();
    for d in sse_data(body) {
        let Ok(v) = serde_json::from_str::<Value>(&d) else {
            continue;
        };
        match c {
            Client::Chat => {
                if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
                    out.push_str(t);
                }
            }
            Client::Responses => {
                if v["type"] == "response.output_text.delta" {
                    out.push_str(v["delta"].as_str().unwrap_or(""));
                }
            }
            Client::Messages => {
                if v["type"] == "content_block_delta" {
                    out.push_str(v["delta"]["text"].as_str().unwrap_or(""));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_answers_are_masked_even_when_the_match_spans_three_events() {
    let (_up, gw) = gateway(MASK_EMAILS).await;
    for c in CLIENTS {
        for m in MODELS {
            let r = post(&gw, c, &prompt(c, m, true), &[]).await;
            assert_eq!(r.status(), 200, "{c:?} → {m}");
            let body = r.text().await.unwrap();
            assert!(!body.contains(EMAIL) && !body.contains("jane.d"), "{c:?} → {m}: {body}");
            let text = streamed_text(c, &body);
            assert_eq!(text, "Contact [EMAIL] today please.", "{c:?} → {m}: {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_rule_ends_a_stream_with_the_schemas_in_band_error() {
    let plugins = "  firewall:\n    policies:\n      - name: leaks\n        rules:\n          - {name: no-mail, detector: email, scope: response, action: block}\n";
    let (_up, gw) = gateway(plugins).await;
    for c in CLIENTS {
        let r = post(&gw, c, &prompt(c, "oc/m", true), &[]).await;
        let body = r.text().await.unwrap();
        // (A Responses stream echoes the request's own instructions: only the answer's text counts.)
        assert!(!streamed_text(c, &body).contains("jane.d"), "{c:?}: {body}");
        let events = sse_data(&body);
        let clean_end = match c {
            Client::Chat => events.last().is_some_and(|e| e == "[DONE]"),
            Client::Responses => body.contains("response.completed"),
            Client::Messages => body.contains("message_stop"),
        };
        assert!(!clean_end, "{c:?}: a blocked stream does not finish cleanly: {body}");
        assert!(body.contains("firewall_blocked"), "{c:?}: {body}");
        // Whole answers are refused with the firewall's status.
        let r = post(&gw, c, &prompt(c, "oc/m", false), &[]).await;
        assert_eq!(r.status(), 403, "{c:?}");
        let v: Value = r.json().await.unwrap();
        assert!(v.to_string().contains("firewall_blocked"), "{c:?}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guardrails_header_blocks_masks_and_names_itself_when_wrong() {
    let (up, gw) = gateway("  ratelimit: {}\n").await;
    let card = json!({"model": "oc/m", "messages": user_msg("charge 4111 1111 1111 1111 now")});
    let r = post(&gw, Client::Chat, &card, &[("x-gr-guardrails", "moderate")]).await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "firewall_blocked", "{v}");
    assert!(!v["error"]["rule_trace"].as_array().unwrap().is_empty(), "{v}");
    assert!(!v.to_string().contains("4111 1111 1111 1111"), "{v}");
    assert_eq!(up.count(), 0, "blocked before inference");

    let mail = json!({"model": "oc/m", "messages": user_msg(&format!("mail {EMAIL}"))});
    let r = post(&gw, Client::Chat, &mail, &[("x-gr-guardrails", "moderate")]).await;
    let v: Value = r.json().await.unwrap();
    let got = String::from_utf8_lossy(&up.requests()[0].body).to_string();
    assert!(!got.contains(EMAIL) && got.contains("[EMAIL]"), "{got}");
    assert!(v.to_string().contains(EMAIL), "moderate leaves answers alone: {v}");
    let r = post(&gw, Client::Chat, &mail, &[("x-gr-guardrails", "strict")]).await;
    let v: Value = r.json().await.unwrap();
    assert!(!v.to_string().contains(EMAIL), "strict masks answers: {v}");

    let r = post(&gw, Client::Chat, &mail, &[("x-gr-guardrails", "paranoid")]).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["error"]["param"].as_str().map(str::to_ascii_lowercase).as_deref(),
        Some("x-gr-guardrails"),
        "{v}"
    );
}

const RULES: &str = "  rules:\n    rules:\n      - name: no-legal\n        priority: 100\n        when: {input_matches: \"(?i)legal advice\"}\n        then: [{reject: {status: 451, message: \"ask counsel\"}}]\n      - name: code-to-anthropic\n        priority: 50\n        when: {all: [{task: code}, {model: auto}]}\n        then: [{pin_model: an/m}, {tag: {arm: code}}]\n      - name: everyone-cheap\n        priority: 1\n        then: [{set_mode: cost}]\n";

#[tokio::test(flavor = "multi_thread")]
async fn rules_fire_in_priority_order_with_their_trace() {
    let (up, gw) = gateway(RULES).await;
    let legal = json!({"model": "oc/m", "messages": user_msg("I need legal advice on my lease")});
    let r = post(&gw, Client::Chat, &legal, &[]).await;
    assert_eq!(r.status(), 451);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rule_rejected", "{v}");
    assert_eq!(v["error"]["message"], "ask counsel");
    let trace = v["error"]["rule_trace"].as_array().unwrap();
    assert_eq!(trace[0]["rule"], "no-legal", "{v}");
    assert_eq!(trace[0]["fired"], true);
    assert_eq!(up.count(), 0);

    let code = json!({"model": "auto", "messages": user_msg("Write a Rust function that reverses a linked list, with tests.")});
    let r = post(&gw, Client::Chat, &code, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-routed-model"], "an/m", "the rule pinned the model");
    let v: Value = r.json().await.unwrap();
    let trace = v["router"]["rule_trace"].as_array().unwrap();
    let names: Vec<&str> = trace.iter().map(|t| t["rule"].as_str().unwrap()).collect();
    assert_eq!(names, ["no-legal", "code-to-anthropic", "everyone-cheap"], "{v}");
    assert_eq!(trace[0]["fired"], false);
    assert_eq!(trace[1]["fired"], true);
    assert!(
        trace[1]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["condition"].as_str().unwrap().contains("task")),
        "{v}"
    );
    assert_eq!(v["router"]["tags"]["arm"], "code", "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_shows_the_decision_without_an_upstream_call() {
    let plugins = format!("{MASK_EMAILS}{RULES}");
    let (up, gw) = gateway(&plugins).await;
    let ask =
        format!("Fix this Rust compile error and explain it: `fn main() {{ let x: i32 = \"a\"; }}` (reply to {EMAIL})");
    for (c, body) in [
        (Client::Chat, json!({"model": "auto", "messages": user_msg(&ask)})),
        (
            Client::Messages,
            json!({"model": "auto", "max_tokens": 50, "system": "x", "messages": user_msg(&ask)}),
        ),
        (Client::Responses, json!({"model": "auto", "input": ask})),
    ] {
        let r = client()
            .post(format!("{}/v1/rules/preview", gw.url))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["model"], "an/m", "{c:?}: {v}");
        assert_eq!(v["classification"]["task"], "code", "{c:?}: {v}");
        assert!(
            !v["candidates"].as_array().unwrap().is_empty() || v["chain"].as_array().is_some(),
            "{v}"
        );
        assert!(!v["firewall"].as_array().unwrap().is_empty(), "{v}");
        let upstream = v["upstream_request"]["body"].to_string();
        assert!(
            upstream.contains("[EMAIL]") && !upstream.contains(EMAIL),
            "{c:?}: {upstream}"
        );
        assert!(v["rule_trace"].as_array().unwrap().len() >= 2, "{v}");
    }
    assert_eq!(up.count(), 0, "preview calls no upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_log_line() {
    let plugins = "  firewall:\n    policies:\n      - name: keys\n        rules:\n          - {name: warn-keys, detector: secrets, scope: prompt, action: warn}\n";
    let (_up, gw) = gateway(plugins).await;
    let body = json!({"model": "oc/m", "messages": user_msg(&format!("my key is {SECRET}"))});
    let r = post(&gw, Client::Chat, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["firewall"][0]["action"], "warn", "{v}");
    assert!(!v["router"]["firewall"].to_string().contains(SECRET), "{v}");
    let r = post(&gw, Client::Chat, &body, &[("x-gr-guardrails", "moderate")]).await;
    assert_eq!(r.status(), 403);
    let line = gw.wait_log(5, |l| l.contains("\"status\":403"));
    assert!(line.contains("firewall"), "{line}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for l in gw.logs.lock().unwrap().iter() {
        assert!(!l.contains(SECRET), "a log line holds the secret: {l}");
    }
}

#[test]
fn check_refuses_bad_policies_with_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("switchyard.yaml"),
        "providers:\n  p: {kind: mock}\nplugins:\n  firewall: firewall.yaml\n  rules:\n    rules:\n      - name: r\n        then: [{set_mode: fastest}]\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("models.yaml"),
        "models:\n  - id: p/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("firewall.yaml"),
        "policies:\n  - name: p\n    rules:\n      - {name: a, detector: horoscope, scope: prompt, action: block}\n      - {name: b, regex: \"(a*)*$\", scope: prompt, action: warn}\n      - {name: c, regex: \"x{1000}{1000}\", scope: prompt, action: warn}\n",
    )
    .unwrap();
    let (ok, text) = check(d.path());
    assert!(!ok, "{text}");
    assert!(text.contains("firewall.yaml:4: policies[0].rules[0]"), "{text}");
    assert!(text.contains("horoscope"), "{text}");
    assert!(text.contains("firewall.yaml:5: policies[0].rules[1].regex"), "{text}");
    assert!(text.contains("firewall.yaml:6: policies[0].rules[2].regex"), "{text}");
    assert!(
        text.contains("switchyard.yaml:8: plugins.rules.rules[0].then"),
        "{text}"
    );
}

/// A rule or a cap naming a model, provider or policy the configuration does not have would do
/// nothing (or fail every request it fires on): `check` names the field instead; known names pass.
#[test]
fn check_refuses_rules_and_caps_naming_what_the_config_does_not_have() {
    let d = tempfile::tempdir().unwrap();
    let write = |rules: &str, caps: &str| {
        std::fs::write(
            d.path().join("switchyard.yaml"),
            format!(
                "providers:\n  p: {{kind: mock}}\nrouting:\n  policies:\n    - {{name: cheap, match: {{}}, chain: [p/m]}}\nplugins:\n  rules:\n    rules:\n{rules}  caps:\n    routes:\n{caps}"
            ),
        )
        .unwrap();
    };
    std::fs::write(
        d.path().join("models.yaml"),
        "models:\n  - id: p/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n    aliases: [fast]\n",
    )
    .unwrap();
    write(
        "      - {name: a, then: [{pin_model: p/nope}]}\n      - {name: b, then: [{pin_provider: q}]}\n      - {name: c, then: [{fallback: [p/m, p/gone]}]}\n      - {name: d, then: [{exclude_providers: [p, z]}]}\n",
        "      - {model: p/missing, daily_dollars: 1}\n      - {policy: dear, monthly_dollars: 5}\n",
    );
    let (ok, text) = check(d.path());
    assert!(!ok, "{text}");
    for (field, name) in [
        ("plugins.rules.rules[0].then[0].pin_model", "p/nope"),
        ("plugins.rules.rules[1].then[0].pin_provider", "\"q\""),
        ("plugins.rules.rules[2].then[0].fallback[1]", "p/gone"),
        ("plugins.rules.rules[3].then[0].exclude_providers[1]", "\"z\""),
        ("plugins.caps.routes[0].model", "p/missing"),
        ("plugins.caps.routes[1].policy", "dear"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("no {field} in {text}"));
        assert!(line.contains(name) && line.contains("switchyard.yaml:"), "{line}");
    }
    assert!(
        !text.contains("fallback[0]") && !text.contains("exclude_providers[0]"),
        "{text}"
    );
    // Ids, aliases, routing words, providers and policies that exist pass.
    write(
        "      - {name: a, then: [{pin_model: fast}]}\n      - {name: b, then: [{pin_provider: p}]}\n      - {name: c, then: [{fallback: [p/m, auto]}]}\n",
        "      - {model: p/m, daily_dollars: 1}\n      - {policy: cheap, monthly_dollars: 5}\n",
    );
    let (ok, text) = check(d.path());
    assert!(ok, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_swaps_policies_under_load_without_a_failed_request() {
    let (_up, gw) = gateway(MASK_EMAILS).await;
    let path = gw.config_path();
    let cfg = std::fs::read_to_string(&path).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (url, stop) = (gw.chat_url(), stop.clone());
        load.push(tokio::spawn(async move {
            let (mut ok, mut bad) = (0, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client()
                    .post(&url)
                    .bearer_auth(KEY)
                    .json(&json!({"model": "oc/m", "messages": [{"role": "user", "content": "hello there"}]}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => bad.push(r.status().to_string()),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            (ok, bad)
        }));
    }
    for i in 0..4 {
        // Reloads are rate-limited to one a second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let next = if i % 2 == 0 {
            cfg.replace("action: mask", "action: warn")
        } else {
            cfg.clone()
        };
        std::fs::write(&path, next).unwrap();
        let r = client()
            .post(format!("{}/admin/reload", gw.admin))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    std::fs::write(&path, cfg.replace("action: mask", "action: warn")).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = client()
        .post(format!("{}/admin/reload", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut bad) = (0, Vec::new());
    for l in load {
        let (o, b) = l.await.unwrap();
        ok += o;
        bad.extend(b);
    }
    assert!(ok > 20, "{ok}");
    assert!(bad.is_empty(), "{bad:?}");
    let v: Value = chat(
        &gw,
        json!({"model": "oc/m", "messages": user_msg(&format!("to {EMAIL}"))}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        v["router"]["firewall"][0]["action"], "warn",
        "the reloaded policy applies: {v}"
    );
}
