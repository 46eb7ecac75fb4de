//! What the audit found wrong: stop sequences, foreign thinking blocks, finish reasons, refusals, thinking budgets.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn stop_sequences_follow_the_target_providers_limit() {
    let up = upstream(by_path).await;
    let gw = gateway(&up, "", "");
    let five: Vec<String> = (1..=5).map(|i| format!("STOP{i}")).collect();
    for model in ["an/m", "ge/m"] {
        let body = json!({"model": model, "max_tokens": 50, "stop_sequences": five,
                          "messages": [{"role": "user", "content": "count"}]});
        post_json(&gw, "/v1/messages", &body).await;
        let seen = up.requests().last().unwrap().json();
        let sent = if model == "an/m" {
            &seen["stop_sequences"]
        } else {
            &seen["generationConfig"]["stopSequences"]
        };
        assert_eq!(sent, &json!(five), "{model}: {seen}");
    }
    // Gemini takes at most 5: a sixth makes it ineligible (422 naming the reason), nothing is sent.
    let before = up.count();
    let six: Vec<String> = (1..=6).map(|i| format!("S{i}")).collect();
    let (status, text) = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "stop": six, "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("no_eligible_model") && text.contains("stop"), "{text}");
    assert_eq!(up.count(), before);
    // An OpenAI-compatible server decides for itself: all six go to it.
    post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "oa/m", "stop": six, "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(up.requests().last().unwrap().json()["stop"], json!(six));
}

// 2. Messages pass-through: thinking blocks another provider signed are dropped and named; Anthropic's
// own signed blocks go on untouched.
#[tokio::test(flavor = "multi_thread")]
async fn foreign_thinking_blocks_are_dropped_on_the_messages_pass_through() {
    let up = upstream(by_path).await;
    let gw = gateway(&up, "", "");
    let body = json!({"model": "an/m", "max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "gemini thought", "signature": "gemini:ge-up:c2lnbmF0dXJl"},
                {"type": "text", "text": "one"}]},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "my thought", "signature": "EqQBCkYIBRgCKkB"},
                {"type": "text", "text": "two"}]},
            {"role": "user", "content": "third"}]});
    let v = post_json(&gw, "/v1/messages", &body).await;
    let seen = up.requests().last().unwrap().json();
    let msgs = seen["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["content"], json!([{"type": "text", "text": "one"}]), "{seen}");
    assert_eq!(
        msgs[3]["content"], body["messages"][3]["content"],
        "Anthropic's own block is kept"
    );
    assert_eq!(seen["thinking"], body["thinking"]);
    assert!(
        names(&v["router"], "thinking blocks not signed by Anthropic"),
        "{}",
        v["router"]
    );

    // Nothing foreign: the body goes on byte for byte but the model name, and nothing is named.
    let mut own = body.clone();
    own["messages"].as_array_mut().unwrap().drain(1..3);
    let v = post_json(&gw, "/v1/messages", &own).await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(seen["messages"], own["messages"]);
    assert!(lossy(&v["router"]).is_empty(), "{}", v["router"]);
}

// 3. Finish reasons outside each client schema's enum: the nearest value, the original in
// router.lossy.
#[tokio::test(flavor = "multi_thread")]
async fn finish_reasons_outside_the_clients_enum_are_mapped_and_named() {
    let up = upstream(|s: &Seen| {
        if s.path.contains(":streamGenerateContent") {
            Reply::Sse(
                vec![gemini_text("", "MALFORMED_FUNCTION_CALL").to_string()],
                Duration::ZERO,
            )
        } else if s.path.contains(":generateContent") {
            Reply::Json(200, gemini_text("", "MALFORMED_FUNCTION_CALL"))
        } else {
            Reply::Json(200, anthropic_text("paused", "pause_turn"))
        }
    })
    .await;
    let gw = gateway(&up, "", "");
    let q = user_msg("call the tool");

    let v = post_json(&gw, "/v1/chat/completions", &json!({"model": "ge/m", "messages": q})).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(names(&v["router"], "MALFORMED_FUNCTION_CALL"), "{}", v["router"]);

    let v = post_json(&gw, "/v1/chat/completions", &json!({"model": "an/m", "messages": q})).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(names(&v["router"], "pause_turn"), "{}", v["router"]);

    let v = post_json(
        &gw,
        "/v1/responses",
        &json!({"model": "ge/m", "input": "call the tool"}),
    )
    .await;
    assert_eq!(v["status"], "failed", "{v}");
    assert_eq!(v["error"]["code"], "server_error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("MALFORMED_FUNCTION_CALL"));
    assert!(names(&v["router"], "MALFORMED_FUNCTION_CALL"));

    let v = post_json(&gw, "/v1/responses", &json!({"model": "an/m", "input": "go on"})).await;
    assert_eq!(v["status"], "incomplete", "{v}");

    let v = post_json(
        &gw,
        "/v1/messages",
        &json!({"model": "ge/m", "max_tokens": 50, "messages": q}),
    )
    .await;
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(names(&v["router"], "MALFORMED_FUNCTION_CALL"));

    // Streams: chat's last chunk, Responses' closing event.
    let (_, text) = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "messages": q, "stream": true}),
    )
    .await;
    let ev = events(&text);
    let last = &ev.last().unwrap().1;
    assert_eq!(last["choices"][0]["finish_reason"], "stop", "{text}");
    assert!(names(&last["router"], "MALFORMED_FUNCTION_CALL"));
    let (_, text) = post(
        &gw,
        "/v1/responses",
        &json!({"model": "ge/m", "input": "x", "stream": true}),
    )
    .await;
    let (name, last) = events(&text).pop().unwrap();
    assert_eq!(name.as_deref(), Some("response.failed"), "{text}");
    assert_eq!(last["response"]["status"], "failed");
    assert!(names(&last["response"]["router"], "MALFORMED_FUNCTION_CALL"));
}

// 4. An OpenAI refusal is a Responses `refusal` part and a Messages `stop_reason: refusal`, whole
// and streamed, never the answer's text.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_keep_their_place_in_each_schema() {
    const NO: &str = "I can't help with that.";
    let up = upstream(|s: &Seen| {
        if s.json()["stream"] == true {
            let c = |delta: Value, fin: Value| {
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]})
                .to_string()
            };
            Reply::Sse(
                vec![
                    c(
                        json!({"role": "assistant", "content": null, "refusal": ""}),
                        Value::Null,
                    ),
                    c(json!({"refusal": "I can't "}), Value::Null),
                    c(json!({"refusal": "help with that."}), Value::Null),
                    c(json!({}), json!("stop")),
                    "[DONE]".into(),
                ],
                Duration::from_millis(2),
            )
        } else {
            let mut v = completion("up", "");
            v["choices"][0]["message"] = json!({"role": "assistant", "content": null, "refusal": NO});
            Reply::Json(200, v)
        }
    })
    .await;
    let gw = gateway(&up, "", "");

    let v = post_json(&gw, "/v1/responses", &json!({"model": "oa/m", "input": "bad"})).await;
    let item = &v["output"][0];
    assert_eq!(item["type"], "message", "{v}");
    assert_eq!(item["content"], json!([{"type": "refusal", "refusal": NO}]));
    assert_eq!(v["output"].as_array().unwrap().len(), 1);

    let v = post_json(
        &gw,
        "/v1/messages",
        &json!({"model": "oa/m", "max_tokens": 50, "messages": user_msg("bad")}),
    )
    .await;
    assert_eq!(v["stop_reason"], "refusal", "{v}");
    assert_eq!(v["content"], json!([{"type": "text", "text": NO}]));

    let (_, text) = post(
        &gw,
        "/v1/responses",
        &json!({"model": "oa/m", "input": "bad", "stream": true}),
    )
    .await;
    let ev = events(&text);
    let deltas: String = ev
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("response.refusal.delta"))
        .map(|(_, e)| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, NO, "{text}");
    let done = ev
        .iter()
        .find(|(n, _)| n.as_deref() == Some("response.refusal.done"))
        .expect("refusal.done");
    assert_eq!(done.1["refusal"], NO);
    assert!(!ev
        .iter()
        .any(|(n, _)| n.as_deref() == Some("response.output_text.delta")));
    let (name, last) = ev.last().unwrap();
    assert_eq!(name.as_deref(), Some("response.completed"));
    assert_eq!(
        last["response"]["output"][0]["content"],
        json!([{"type": "refusal", "refusal": NO}])
    );

    let (_, text) = post(
        &gw,
        "/v1/messages",
        &json!({"model": "oa/m", "max_tokens": 50, "messages": user_msg("bad"), "stream": true}),
    )
    .await;
    let delta = events(&text)
        .into_iter()
        .find(|(n, _)| n.as_deref() == Some("message_delta"))
        .unwrap()
        .1;
    assert_eq!(delta["delta"]["stop_reason"], "refusal", "{text}");
}

// 5. Gemini thinking budgets stay within the model's range (catalog `thinking_budget`), named when
// changed; and a budget lowered to fit Anthropic's max_tokens leaves room for an answer.
#[tokio::test(flavor = "multi_thread")]
async fn thinking_budgets_fit_the_models_range() {
    let up = upstream(by_path).await;
    let extra = "  - id: ge/pro\n    pricing: {input: 1, output: 2}\n    context_window: 100000\n    max_output: 65536\n    capabilities: [chat, reasoning]\n    thinking_budget: {min: 128, max: 32768}\n  - id: ge/flash\n    pricing: {input: 1, output: 2}\n    context_window: 100000\n    max_output: 65536\n    capabilities: [chat, reasoning]\n    thinking_budget: {min: 1, max: 24576, can_disable: true}\n";
    let gw = gateway(&up, "", extra);
    for (model, effort, sent, named) in [
        ("ge/pro", "none", 128, Some("cannot turn thinking off")),
        ("ge/pro", "xhigh", 32768, None),
        (
            "ge/flash",
            "xhigh",
            24576,
            Some("outside ge/flash's range of 1 to 24576"),
        ),
        ("ge/flash", "none", 0, None),
    ] {
        let v = post_json(
            &gw,
            "/v1/chat/completions",
            &json!({"model": model, "reasoning_effort": effort, "messages": user_msg("think")}),
        )
        .await;
        let seen = up.requests().last().unwrap().json();
        assert_eq!(
            seen["generationConfig"]["thinkingConfig"]["thinkingBudget"], sent,
            "{model} {effort}: {seen}"
        );
        match named {
            Some(n) => assert!(names(&v["router"], n), "{model} {effort}: {}", v["router"]),
            None => assert!(
                !names(&v["router"], "thinking budget"),
                "{model} {effort}: {}",
                v["router"]
            ),
        }
    }
    // Anthropic: a budget at or over max_tokens is lowered so that a quarter is left for the answer.
    let v = post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "an/m", "max_tokens": 2000, "reasoning_effort": "high", "messages": user_msg("think")}),
    )
    .await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(
        seen["thinking"],
        json!({"type": "enabled", "budget_tokens": 1500}),
        "{seen}"
    );
    assert!(
        names(&v["router"], "500 tokens are left for the answer"),
        "{}",
        v["router"]
    );
}

// 6. Responses → an OpenAI-schema provider goes to chat completions: what chat completions takes
// goes on (prompt_cache_key, safety_identifier, service_tier, text.verbosity as verbosity,
// metadata), what it cannot return (reasoning summaries, encrypted reasoning) is named.
