//! The basic proxy path over real sockets: what the client gets and what the upstream saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

async fn setup(reply: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> (Upstream, Gateway) {
    let up = Upstream::start(reply).await;
    let cfg = config("", &provider("up", &up.base(), "    headers:\n      x-team: blue\n"));
    let gw = Gateway::start(
        &cfg,
        &(model("up/a", "upstream-a", &["a"]) + &model("up/b", "upstream-b", &[])),
    );
    (up, gw)
}

#[tokio::test(flavor = "multi_thread")]
async fn non_streaming_answer_with_headers_cost_and_router() {
    let (up, gw) = setup(|_, _| Reply::Json(200, completion("upstream-a-2024", "Hello!"))).await;
    let resp = client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .header("x-request-id", "client-req-1")
        .header("cookie", "session=secret")
        .json(
            &json!({"model": "a", "messages": user_msg("hi"), "logprobs": true, "seed": 7,
                      "fallback": [], "budget_dollars": 1.0, "metadata": {"team": "x"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-request-id"], "client-req-1");
    assert_eq!(h["x-jt-model"], "a");
    assert_eq!(h["x-routed-model"], "up/a");
    assert_eq!(h["x-jt-route"], "pinned");
    assert_eq!(h["x-jt-fallback"], "false");
    assert!(h["x-jt-latency-ms"].to_str().unwrap().parse::<u64>().is_ok());
    // The answer reached the gateway whole, so its header carries the actual cost (see below).
    assert_eq!(h["x-jt-cost-basis"], "actual");
    assert_eq!(h["x-jt-cost-usd"], "0.0019");
    assert!(h.get("set-cookie").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["model"], "up/a", "body model is the catalog model that answered");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(
        v["system_fingerprint"], "fp_test",
        "unknown response fields pass through"
    );
    // 800 uncached input at $1/M + 200 cached at $0.5/M + 500 output at $2/M = 0.0008 + 0.0001 + 0.001
    assert!(
        (v["usage"]["cost"].as_f64().unwrap() - 0.0019).abs() < 1e-12,
        "{}",
        v["usage"]
    );
    assert_eq!(v["router"]["model"], "up/a");
    assert_eq!(v["router"]["provider"], "up");
    assert_eq!(v["router"]["mode"], "pinned");
    assert_eq!(v["router"]["attempts"][0]["status"], 200);
    assert!((v["router"]["cost"]["actual_dollars"].as_f64().unwrap() - 0.0019).abs() < 1e-12);

    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(
        s.header("authorization"),
        Some(format!("Bearer {PROVIDER_KEY}").as_str())
    );
    assert_eq!(s.header("x-team"), Some("blue"));
    assert_eq!(s.header("x-request-id"), Some("client-req-1"));
    assert!(s.header("cookie").is_none(), "client cookies never reach a provider");
    assert_eq!(
        s.header("content-length").unwrap().parse::<usize>().unwrap(),
        s.body.len()
    );
    let b = s.json();
    assert_eq!(b["model"], "upstream-a");
    assert_eq!(b["logprobs"], true);
    assert_eq!(b["seed"], 7);
    for k in ["fallback", "budget_dollars", "metadata", "stream_options"] {
        assert!(b.get(k).is_none(), "{k} must not be forwarded: {b}");
    }
}

/// An answer that reaches the gateway whole goes out with its exact length and its actual cost in the
/// header; one whose body comes after its header has gone out goes chunked, with the estimate. Either
/// way the client gets the whole rewritten answer, over HTTP/1.1 and h2c.
#[tokio::test(flavor = "multi_thread")]
async fn whole_answers_carry_their_length_and_late_ones_go_chunked() {
    let (_up, gw) = setup(|n, _| {
        let body = completion("upstream-a", "Hello!");
        if n % 2 == 0 {
            Reply::Json(200, body)
        } else {
            Reply::LateBody(Duration::from_millis(200), body)
        }
    })
    .await;
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    for (name, c) in [("http/1.1", client()), ("h2c", h2)] {
        for late in [false, true] {
            let resp = c
                .post(gw.chat_url())
                .bearer_auth(KEY)
                .json(&json!({"model": "a", "messages": user_msg("hi")}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{name}");
            let length = resp
                .headers()
                .get("content-length")
                .map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
            let chunked = resp.headers().get("transfer-encoding").is_some_and(|v| v == "chunked");
            let header = |k: &str| resp.headers()[k].to_str().unwrap().to_string();
            let cost_headers = (header("x-jt-cost-basis"), header("x-jt-cost-usd"));
            let body = resp.bytes().await.unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["choices"][0]["message"]["content"], "Hello!", "{name}");
            assert_eq!(v["router"]["model"], "up/a", "{name}: the rewritten answer");
            let basis = (
                cost_headers.0.as_str(),
                cost_headers.1.parse::<f64>().is_ok_and(|c| c > 0.0),
            );
            if late {
                assert_eq!(length, None, "{name}: a late body cannot have had its length known");
                assert_eq!(chunked, name == "http/1.1", "{name}");
                assert_eq!(basis, ("estimate", true), "{name}: the pre-flight estimate");
            } else {
                assert_eq!(length, Some(body.len()), "{name}: a whole answer has its exact length");
                assert!(!chunked, "{name}");
                assert_eq!(basis, ("actual", true), "{name}");
                assert_eq!(
                    cost_headers.1,
                    v["usage"]["cost"].to_string(),
                    "{name}: the body's cost"
                );
            }
        }
    }
}

/// A provider's stream that reached the gateway whole (one write) is framed like a whole answer:
/// exact length, actual cost; its events are the translated ones, ending with `[DONE]`. A stream
/// that arrives over time stays chunked (`streaming_is_forwarded_event_by_event_with_router_last`).
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_arrived_whole_carries_its_length() {
    let sse: String = stream_events("upstream-a", &["one ", "two"])
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect();
    let (_up, gw) = setup(move |_, _| Reply::Text(200, "text/event-stream", sse.clone())).await;
    let resp = chat(
        &gw,
        json!({"model": "a", "stream": true, "messages": user_msg("count")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let body = resp.text().await.unwrap();
    assert_eq!(
        h["content-length"].to_str().unwrap().parse::<usize>().unwrap(),
        body.len()
    );
    assert!(h.get("transfer-encoding").is_none());
    assert_eq!(h["content-type"], "text/event-stream");
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["router"]["model"], "up/a");
    assert_eq!(h["x-jt-cost-basis"], "actual");
    assert_eq!(h["x-jt-cost-usd"].to_str().unwrap(), last["usage"]["cost"].to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_is_forwarded_event_by_event_with_router_last() {
    let words = ["one ", "two ", "three ", "four ", "five"];
    let (up, gw) = setup(move |_, _| Reply::Sse(stream_events("upstream-a", &words), Duration::from_millis(150))).await;
    let start = Instant::now();
    let mut resp = chat(
        &gw,
        json!({"model": "up/a", "stream": true, "messages": user_msg("count")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(
        resp.headers()["transfer-encoding"],
        "chunked",
        "a stream in progress has no length"
    );
    assert_eq!(resp.headers()["x-jt-cost-basis"], "estimate");
    let mut first_at = None;
    let mut body = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        if first_at.is_none() {
            first_at = Some(start.elapsed());
        }
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let total = start.elapsed();
    // 8 events 150 ms apart: the first must arrive long before the stream ends (no buffering).
    assert!(
        first_at.unwrap() < Duration::from_millis(500),
        "first byte after {first_at:?}"
    );
    assert!(total > Duration::from_millis(900), "stream took {total:?}");
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "one two three four five");
    assert!(events.iter().all(|e| e["model"] == "up/a"));
    let last = events.last().unwrap();
    assert_eq!(
        last["choices"][0]["finish_reason"], "stop",
        "usage folds into the finish chunk when not asked for"
    );
    assert_eq!(last["usage"]["prompt_tokens"], 10);
    assert!(last["usage"]["cost"].as_f64().unwrap() > 0.0);
    assert_eq!(last["router"]["model"], "up/a");
    let sent = up.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(
        sent["stream_options"]["include_usage"], true,
        "usage is always requested upstream"
    );
    assert_eq!(up.requests()[0].header("accept"), Some("text/event-stream"));
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_with_include_usage_keeps_the_usage_chunk() {
    let (_up, gw) = setup(|_, _| Reply::Sse(stream_events("upstream-a", &["x"]), Duration::ZERO)).await;
    let resp = chat(
        &gw,
        json!({"model": "up/a", "stream": true, "stream_options": {"include_usage": true}, "messages": user_msg("x")}),
    )
    .await;
    let data = sse_data(&resp.text().await.unwrap());
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 1);
    assert!(last["router"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn access_log_and_metrics_record_the_request_without_secrets() {
    let (_up, gw) = setup(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let secret_prompt = "my secret prompt text";
    let resp = chat(&gw, json!({"model": "a", "messages": user_msg(secret_prompt)})).await;
    assert_eq!(resp.status(), 200);
    let line = gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    let v: Value = serde_json::from_str(&line).unwrap();
    let f = &v["fields"];
    assert_eq!(f["key"], "tester");
    assert_eq!(f["workspace"], "ws1");
    assert_eq!(f["model"], "up/a");
    assert_eq!(f["provider"], "up");
    assert_eq!(f["status"], 200);
    assert_eq!(f["input_tokens"], 1000);
    assert_eq!(f["output_tokens"], 500);
    assert_eq!(f["cost_usd"], "0.0019");
    assert!(f["overhead_us"].as_u64().is_some());
    assert!(!line.contains(secret_prompt), "no prompt text in logs");
    assert!(
        !line.contains(KEY) && !line.contains(PROVIDER_KEY),
        "no secrets in logs"
    );
    let all = gw.logs.lock().unwrap().join("\n");
    assert!(!all.contains(KEY) && !all.contains(PROVIDER_KEY));

    let metrics = client()
        .get(format!("{}/metrics", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "switchyard_requests_total{endpoint=\"chat_completions\",model=\"up/a\",provider=\"up\",status=\"200\"} 1",
        "switchyard_tokens_total{kind=\"input\",model=\"up/a\"} 1000",
        "switchyard_tokens_total{kind=\"output\",model=\"up/a\"} 500",
        "switchyard_spend_nanodollars_total{model=\"up/a\"} 1900000",
        "switchyard_upstream_latency_seconds_count{provider=\"up\"} 1",
        "switchyard_overhead_seconds_count 1",
        "switchyard_in_flight_requests 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keepalive_connections_serve_many_requests() {
    let (up, gw) = setup(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let c = client();
    for i in 0..20 {
        let r = c
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .json(&json!({"model": "a", "messages": user_msg(&format!("q{i}"))}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "ok");
    }
    assert_eq!(up.count(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_need_no_key() {
    let (_up, gw) = setup(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let r = client().get(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = client().get(format!("{}/healthz", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
