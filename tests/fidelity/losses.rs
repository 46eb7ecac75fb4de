//! What was lost silently: Responses fields, prompt caching, smaller losses named, PDFs, several choices, log probabilities, input tokens.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn responses_fields_chat_completions_takes_are_passed_on() {
    let up = upstream(by_path).await;
    let gw = gateway(&up, "", "");
    let body = json!({"model": "oa/m", "input": "hi", "prompt_cache_key": "conv-7", "safety_identifier": "u-hash",
        "service_tier": "flex", "text": {"verbosity": "low"}, "metadata": {"ticket": "T-1"},
        "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]});
    let v = post_json(&gw, "/v1/responses", &body).await;
    let seen = up.requests().last().unwrap().json();
    assert!(seen["model"].is_string() && seen["messages"].is_array(), "{seen}");
    assert_eq!(seen["prompt_cache_key"], "conv-7");
    assert_eq!(seen["safety_identifier"], "u-hash");
    assert_eq!(seen["service_tier"], "flex");
    assert_eq!(seen["verbosity"], "low");
    assert_eq!(seen["metadata"], json!({"ticket": "T-1"}));
    assert_eq!(seen["reasoning_effort"], "low");
    assert_eq!(v["metadata"], json!({"ticket": "T-1"}), "echoed as sent");
    assert!(names(&v["router"], "reasoning.summary"), "{}", v["router"]);
    assert!(names(&v["router"], "reasoning.encrypted_content"), "{}", v["router"]);
    assert!(!names(&v["router"], "not understood"), "{}", v["router"]);

    // Gemini takes none of them: each is named.
    let mut to_gemini = body.clone();
    to_gemini["model"] = json!("ge/m");
    let v = post_json(&gw, "/v1/responses", &to_gemini).await;
    for f in [
        "prompt_cache_key",
        "safety_identifier",
        "service_tier",
        "verbosity",
        "metadata",
    ] {
        assert!(
            names(&v["router"], &format!("{f}: no Gemini equivalent")),
            "{f}: {}",
            v["router"]
        );
    }
    // A priority tier costs more than the catalog's price: it needs the costly_features scope.
    let mut priority = body.clone();
    priority["service_tier"] = json!("priority");
    let (status, text) = post(&gw, "/v1/responses", &priority).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("scope_denied"), "{text}");
}

// 7. Prompt caching towards Anthropic: the client's breakpoints are carried, a provider with
// `auto_cache` gets Anthropic's automatic caching on translated requests, and the cached tokens
// Anthropic reports reach the client.
#[tokio::test(flavor = "multi_thread")]
async fn prompt_cache_breakpoints_reach_anthropic_and_cached_tokens_come_back() {
    let up = upstream(|s: &Seen| {
        if !s.path.ends_with("/messages") {
            return by_path(s);
        }
        // Like Anthropic: a request with a breakpoint reads the prefix from the cache.
        let cached = s.json().to_string().contains("cache_control");
        let mut v = anthropic_text("ok", "end_turn");
        v["usage"] = if cached {
            json!({"input_tokens": 20, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 0, "output_tokens": 5})
        } else {
            json!({"input_tokens": 2020, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "output_tokens": 5})
        };
        Reply::Json(200, v)
    })
    .await;
    let auto = "  ac:\n    kind: anthropic\n    base_url: BASE/v1\n    api_key: k-ac\n    auto_cache: true\n"
        .replace("BASE", &format!("http://{}", up.addr));
    let gw = gateway(
        &up,
        &auto,
        "  - id: ac/m\n    pricing: {input: 1, output: 2}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat]\n",
    );
    let eph = json!({"type": "ephemeral"});
    let marked = json!({"model": "an/m", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "A long system prompt.", "cache_control": eph}]},
        {"role": "user", "content": [{"type": "text", "text": "A long document."}, {"type": "text", "text": "Question?", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]});
    let v = post_json(&gw, "/v1/chat/completions", &marked).await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(seen["system"][0]["cache_control"], eph, "{seen}");
    assert!(seen["messages"][0]["content"][0].get("cache_control").is_none());
    assert_eq!(
        seen["messages"][0]["content"][1]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    assert!(
        seen.get("cache_control").is_none(),
        "no automatic caching unless enabled"
    );
    assert_eq!(v["usage"]["prompt_tokens"], 2020);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 2000);

    // Without breakpoints nothing is cached at `an`; `ac` adds automatic caching.
    let plain = json!({"model": "an/m", "messages": user_msg("A long question?")});
    let v = post_json(&gw, "/v1/chat/completions", &plain).await;
    assert!(!up
        .requests()
        .last()
        .unwrap()
        .json()
        .to_string()
        .contains("cache_control"));
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    let mut to_auto = plain.clone();
    to_auto["model"] = json!("ac/m");
    let v = post_json(&gw, "/v1/chat/completions", &to_auto).await;
    assert_eq!(up.requests().last().unwrap().json()["cache_control"], eph);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 2000);

    // Responses parts carry them too.
    let v = post_json(
        &gw,
        "/v1/responses",
        &json!({"model": "an/m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "Doc.", "cache_control": eph}]}]}),
    )
    .await;
    assert_eq!(
        up.requests().last().unwrap().json()["messages"][0]["content"][0]["cache_control"],
        eph
    );
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 2000);

    // Gemini caches by itself: the breakpoint is named, not sent.
    let mut to_gemini = marked.clone();
    to_gemini["model"] = json!("ge/m");
    let v = post_json(&gw, "/v1/chat/completions", &to_gemini).await;
    assert!(!up
        .requests()
        .last()
        .unwrap()
        .json()
        .to_string()
        .contains("cache_control"));
    assert!(names(&v["router"], "cache_control breakpoints"), "{}", v["router"]);
}

// 8. Smaller drops: redacted thinking named (OpenAI) or dropped and named (Gemini, which no longer
// refuses it), Anthropic's uncounted reasoning tokens not shown as a zero count, and the estimated
// input tokens of a translated Messages stream's message_start named.
#[tokio::test(flavor = "multi_thread")]
async fn smaller_losses_are_named() {
    let up = upstream(|s: &Seen| {
        if s.json()["stream"] == true && s.path.ends_with("/chat/completions") {
            let mut ev = stream_events("up", &["Hi ", "there."]);
            let n = ev.len();
            ev[n - 2] =
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [],
                               "usage": {"prompt_tokens": 1234, "completion_tokens": 2, "total_tokens": 1236}})
                .to_string();
            Reply::Sse(ev, Duration::from_millis(1))
        } else {
            by_path(s)
        }
    })
    .await;
    let gw = gateway(&up, "", "");
    let history = |model: &str| {
        json!({"model": model, "max_tokens": 100, "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}, {"type": "text", "text": "one"}]},
            {"role": "user", "content": "second"}]})
    };
    let v = post_json(&gw, "/v1/messages", &history("oa/m")).await;
    assert!(!up
        .requests()
        .last()
        .unwrap()
        .json()
        .to_string()
        .contains("EmwKAhgBEgy3va3pzix"));
    assert!(names(&v["router"], "redacted_thinking"), "{}", v["router"]);
    let v = post_json(&gw, "/v1/messages", &history("ge/m")).await;
    let seen = up.requests().last().unwrap().json();
    assert!(!seen.to_string().contains("EmwKAhgBEgy3va3pzix"), "{seen}");
    assert!(
        names(&v["router"], "reasoning signatures made by another model"),
        "{}",
        v["router"]
    );

    // Anthropic does not count thinking apart: chat omits reasoning_tokens, Responses names its 0.
    let v = post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "an/m", "messages": user_msg("x")}),
    )
    .await;
    assert!(
        v["usage"]["completion_tokens_details"]
            .get("reasoning_tokens")
            .is_none(),
        "{}",
        v["usage"]
    );
    let v = post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "oa/m", "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"], 0,
        "OpenAI counts them"
    );
    let v = post_json(&gw, "/v1/responses", &json!({"model": "an/m", "input": "x"})).await;
    assert!(names(&v["router"], "reasoning_tokens"), "{}", v["router"]);

    // A translated Messages stream starts with an estimate; the provider's figure follows, named.
    let (_, text) = post(
        &gw,
        "/v1/messages",
        &json!({"model": "oa/m", "max_tokens": 50, "messages": user_msg("hello"), "stream": true}),
    )
    .await;
    let ev = events(&text);
    let start = &ev
        .iter()
        .find(|(n, _)| n.as_deref() == Some("message_start"))
        .unwrap()
        .1;
    let estimate = start["message"]["usage"]["input_tokens"].as_u64().unwrap();
    assert_ne!(estimate, 1234);
    let delta = &ev
        .iter()
        .find(|(n, _)| n.as_deref() == Some("message_delta"))
        .unwrap()
        .1;
    assert_eq!(delta["usage"]["input_tokens"], 1234, "{text}");
    let stop = &ev.iter().find(|(n, _)| n.as_deref() == Some("message_stop")).unwrap().1;
    assert!(
        names(&stop["router"], "was the gateway's estimate"),
        "{}",
        stop["router"]
    );
}

// Refused though Gemini can do it: PDF documents go as inlineData; an https image URL without an
// extension is refused with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn pdf_documents_reach_gemini() {
    let up = upstream(by_path).await;
    let gw = gateway(&up, "", "");
    let pdf = "JVBERi0xLjQK";
    post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Summarise."},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": format!("data:application/pdf;base64,{pdf}")}}]}]}),
    )
    .await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(
        seen["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "application/pdf", "data": pdf}}),
        "{seen}"
    );
    post_json(
        &gw,
        "/v1/messages",
        &json!({"model": "ge/m", "max_tokens": 50, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}},
            {"type": "text", "text": "Summarise."}]}]}),
    )
    .await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(
        seen["contents"][0]["parts"][0]["inlineData"]["mimeType"], "application/pdf",
        "{seen}"
    );

    let (status, text) = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/image?id=7"}}]}]}),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("does not fetch images"), "{text}");
}

// Refused though Gemini can do it: several answers (`n`) go as candidateCount and come back as the
// chat answer's choices.
#[tokio::test(flavor = "multi_thread")]
async fn several_choices_from_gemini() {
    let up = upstream(|s: &Seen| {
        let cand = |i: u64, text: &str, finish: &str| {
            json!({"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish, "index": i})
        };
        let n = s.json()["generationConfig"]["candidateCount"].as_u64().unwrap_or(1);
        let mut v = gemini_text("first", "STOP");
        if n == 2 {
            v["candidates"] = json!([cand(0, "first", "STOP"), cand(1, "second", "MAX_TOKENS")]);
        }
        Reply::Json(200, v)
    })
    .await;
    let gw = gateway(&up, "", "");
    let v = post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "n": 2, "messages": user_msg("two ways")}),
    )
    .await;
    assert_eq!(
        up.requests().last().unwrap().json()["generationConfig"]["candidateCount"],
        2
    );
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2, "{v}");
    assert_eq!(
        (
            choices[0]["index"].as_u64(),
            choices[0]["message"]["content"].as_str(),
            choices[0]["finish_reason"].as_str()
        ),
        (Some(0), Some("first"), Some("stop"))
    );
    assert_eq!(
        (
            choices[1]["index"].as_u64(),
            choices[1]["message"]["content"].as_str(),
            choices[1]["finish_reason"].as_str()
        ),
        (Some(1), Some("second"), Some("length"))
    );
    // A stream carries one choice: n > 1 with stream is still refused, with the reason.
    let before = up.count();
    let (status, text) = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "n": 2, "stream": true, "messages": user_msg("two ways")}),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("candidateCount"), "{text}");
    assert_eq!(up.count(), before);
}

// Refused though Gemini can do it: log probabilities go as responseLogprobs/logprobs and come back
// in the chat choice's `logprobs`.
#[tokio::test(flavor = "multi_thread")]
async fn log_probabilities_from_gemini() {
    let up = upstream(|_: &Seen| {
        let mut v = gemini_text("Hi there", "STOP");
        v["candidates"][0]["logprobsResult"] = json!({
            "topCandidates": [
                {"candidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "Hello", "logProbability": -2.5}]},
                {"candidates": [{"token": " there", "logProbability": -0.3}, {"token": "!", "logProbability": -1.9}]}],
            "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}, {"token": " there", "logProbability": -0.3}]});
        Reply::Json(200, v)
    })
    .await;
    let gw = gateway(&up, "", "");
    let v = post_json(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "logprobs": true, "top_logprobs": 2, "messages": user_msg("hi")}),
    )
    .await;
    let gc = &up.requests().last().unwrap().json()["generationConfig"];
    assert_eq!(
        (gc["responseLogprobs"].as_bool(), gc["logprobs"].as_u64()),
        (Some(true), Some(2)),
        "{gc}"
    );
    let content = &v["choices"][0]["logprobs"]["content"];
    assert_eq!(content[0]["token"], "Hi", "{v}");
    assert_eq!(content[0]["logprob"], -0.1);
    assert_eq!(content[0]["bytes"], json!([72, 105]));
    assert_eq!(
        content[1]["top_logprobs"][1],
        json!({"token": "!", "logprob": -1.9, "bytes": [33]})
    );
}

// 6 (cont.). Responses' top_logprobs reach chat completions, and the log probabilities come back
// in output_text.logprobs.
#[tokio::test(flavor = "multi_thread")]
async fn responses_log_probabilities_round_trip() {
    let up = upstream(|_: &Seen| {
        let mut v = completion("up", "Hi");
        v["choices"][0]["logprobs"] = json!({"content": [{"token": "Hi", "logprob": -0.2, "bytes": [72, 105],
            "top_logprobs": [{"token": "Hi", "logprob": -0.2, "bytes": [72, 105]}, {"token": "Yo", "logprob": -1.7, "bytes": [89, 111]}]}],
            "refusal": null});
        Reply::Json(200, v)
    })
    .await;
    let gw = gateway(&up, "", "");
    let v = post_json(
        &gw,
        "/v1/responses",
        &json!({"model": "oa/m", "input": "hi", "top_logprobs": 2, "include": ["message.output_text.logprobs"]}),
    )
    .await;
    let seen = up.requests().last().unwrap().json();
    assert_eq!(
        (seen["logprobs"].as_bool(), seen["top_logprobs"].as_u64()),
        (Some(true), Some(2)),
        "{seen}"
    );
    let lp = &v["output"][0]["content"][0]["logprobs"];
    assert_eq!(lp[0]["token"], "Hi", "{v}");
    assert_eq!(lp[0]["logprob"], -0.2);
    assert_eq!(
        lp[0]["top_logprobs"][1],
        json!({"token": "Yo", "bytes": [89, 111], "logprob": -1.7})
    );
    assert!(!names(&v["router"], "include"), "{}", v["router"]);
}

// 8 (cont.). A provider that reports usage from its first event (Gemini) gives message_start the
// real input tokens, and nothing is named.
#[tokio::test(flavor = "multi_thread")]
async fn messages_stream_starts_with_the_providers_input_tokens_when_known() {
    let up = upstream(|_: &Seen| {
        let mut first = gemini_text("Hello", "STOP");
        first["candidates"][0].as_object_mut().unwrap().remove("finishReason");
        first["usageMetadata"] = json!({"promptTokenCount": 777, "candidatesTokenCount": 1, "totalTokenCount": 778});
        let mut last = gemini_text(" world", "STOP");
        last["usageMetadata"] = json!({"promptTokenCount": 777, "candidatesTokenCount": 2, "totalTokenCount": 779});
        Reply::Sse(vec![first.to_string(), last.to_string()], Duration::from_millis(2))
    })
    .await;
    let gw = gateway(&up, "", "");
    let (_, text) = post(
        &gw,
        "/v1/messages",
        &json!({"model": "ge/m", "max_tokens": 50, "messages": user_msg("hello"), "stream": true}),
    )
    .await;
    let ev = events(&text);
    assert_eq!(ev[0].0.as_deref(), Some("message_start"), "{text}");
    assert_eq!(ev[0].1["message"]["usage"]["input_tokens"], 777, "{text}");
    let stop = &ev.iter().find(|(n, _)| n.as_deref() == Some("message_stop")).unwrap().1;
    assert!(!names(&stop["router"], "estimate"), "{}", stop["router"]);
}

// Streamed log probabilities from Gemini reach a chat stream, chunk by chunk.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_log_probabilities_from_gemini() {
    let up = upstream(|_: &Seen| {
        let chunk = |text: &str, lp: f64, last: bool| {
            let mut c = gemini_text(text, "STOP");
            if !last {
                c["candidates"][0].as_object_mut().unwrap().remove("finishReason");
            }
            c["candidates"][0]["logprobsResult"] = json!({"topCandidates": [{"candidates": [{"token": text, "logProbability": lp}]}],
                                                          "chosenCandidates": [{"token": text, "logProbability": lp}]});
            c.to_string()
        };
        Reply::Sse(vec![chunk("Hi", -0.1, false), chunk(" there", -0.4, true)], Duration::from_millis(2))
    })
    .await;
    let gw = gateway(&up, "", "");
    let (status, text) = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "ge/m", "logprobs": true, "stream": true, "messages": user_msg("hi")}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        up.requests().last().unwrap().json()["generationConfig"]["responseLogprobs"],
        true
    );
    let tokens: Vec<(String, f64)> = events(&text)
        .iter()
        .filter_map(|(_, d)| d["choices"][0]["logprobs"]["content"].as_array().cloned())
        .flatten()
        .map(|t| (t["token"].as_str().unwrap().to_string(), t["logprob"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        tokens,
        [("Hi".to_string(), -0.1), (" there".to_string(), -0.4)],
        "{text}"
    );
}
