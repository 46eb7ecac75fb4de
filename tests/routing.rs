//! Auto routing and fallback at the proxy layer, with fault injection: each provider is a local
//! upstream whose behaviour each test scripts (and whose calls it counts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

type Behaviour = Arc<dyn Fn(usize, &Seen) -> Reply + Send + Sync>;

fn ok(model: &str) -> Reply {
    Reply::Json(200, completion(model, &format!("answer from {model}")))
}

/// Three providers with one model each: cheap (low quality, cheap), strong (high quality, dear) and
/// fast (fast prior). `behave` scripts each upstream by provider name.
async fn trio(behave: impl Fn(&str) -> Behaviour, routing: &str) -> (Vec<Upstream>, Gateway) {
    let mut ups = Vec::new();
    let mut providers = String::new();
    for name in ["cheap", "strong", "fast"] {
        let b = behave(name);
        let up = Upstream::start(move |n, s| b(n, s)).await;
        providers.push_str(&provider(name, &up.base(), "    read_timeout_ms: 1500\n"));
        ups.push(up);
    }
    let entry = |id: &str, price_in: f64, price_out: f64, q: f64, lat: u64| {
        format!(
            "  - id: {id}\n    pricing: {{input: {price_in}, output: {price_out}}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, streaming]\n    quality: {{chat: {q}, code: {q}, math: {q}, reasoning: {q}, knowledge_qa: {q}, creative_writing: {q}}}\n    latency_ms: {lat}\n"
        )
    };
    let models = entry("cheap/m", 0.1, 0.4, 0.6, 200)
        + &entry("strong/m", 5.0, 15.0, 0.95, 900)
        + &entry("fast/m", 1.0, 2.0, 0.75, 100);
    let cfg = config("", &providers) + routing;
    (ups, Gateway::start(&cfg, &models))
}

fn all_ok() -> impl Fn(&str) -> Behaviour {
    |name: &str| {
        let name = name.to_string();
        Arc::new(move |_: usize, _: &Seen| ok(&name)) as Behaviour
    }
}

async fn auto(gw: &Gateway, body: Value, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut b = json!({"model": "auto", "messages": user_msg("Hello! How are you today?")});
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    let mut req = client().post(gw.chat_url()).bearer_auth(KEY).json(&b);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let v: Value = r.json().await.unwrap();
    (status, h, v)
}

fn counts(ups: &[Upstream]) -> [usize; 3] {
    [ups[0].count(), ups[1].count(), ups[2].count()]
}

#[tokio::test(flavor = "multi_thread")]
async fn modes_choose_by_their_weights_and_explain_why() {
    let (_ups, gw) = trio(all_ok(), "").await;
    // Latency first, while the catalog priors decide it (every local upstream answers equally fast).
    for (mode, want) in [("latency", "fast/m"), ("quality", "strong/m"), ("cost", "cheap/m")] {
        let (s, h, v) = auto(&gw, json!({"model": format!("auto:{mode}")}), &[]).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["model"], want, "auto:{mode}");
        assert_eq!(h["x-jt-route"], mode);
        assert_eq!(h["x-routed-model"], want);
        assert_eq!(h["x-jt-model"], want, "the id that answered, not \"auto\"");
        let r = &v["router"];
        assert_eq!(r["mode"], mode);
        assert_eq!(r["classification"]["task"], "chat");
        assert!(
            r["reason"].as_str().unwrap().contains(&format!("chose {want} by")),
            "{}",
            r["reason"]
        );
        assert_eq!(r["candidates"].as_array().unwrap().len(), 3);
        assert_eq!(r["candidates"][0]["model"], want);
    }
    // The header wins over the body; router_mode and optimization select modes too.
    let (_, h, v) = auto(&gw, json!({"router_mode": "cost"}), &[("x-jt-route", "quality")]).await;
    assert_eq!(
        (v["model"].as_str(), h["x-jt-route"].to_str().unwrap()),
        (Some("strong/m"), "quality")
    );
    let (_, _, v) = auto(&gw, json!({"optimization": "price-optimized"}), &[]).await;
    assert_eq!(v["model"], "cheap/m");
    let (s, _, v) = auto(&gw, json!({"model": "auto:fastest-please"}), &[]).await;
    assert_eq!((s, v["error"]["param"].as_str()), (400, Some("model")));
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_are_deterministic() {
    // Same snapshot and health state → same ranking: the suggestion endpoint ranks without calling an
    // upstream (so without changing the measured latencies), and `auto` right after it must agree.
    let (_ups, gw) = trio(all_ok(), "").await;
    let _ = auto(&gw, json!({}), &[]).await; // some live latency measured first
    gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let suggest = || async {
        let r = client()
            .post(format!("{}/v1/auto/suggest", gw.url))
            .bearer_auth(KEY)
            .json(&json!({"messages": user_msg("Hello! How are you today?")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    let (a, b) = (suggest().await, suggest().await);
    assert_eq!(a["suggestions"], b["suggestions"]);
    let order = |v: &Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["model"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, routed) = auto(&gw, json!({}), &[]).await;
    assert_eq!(order(&routed["router"], "candidates"), order(&a, "suggestions"));
    assert_eq!(routed["model"].as_str().unwrap(), order(&a, "suggestions")[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_mode_follows_measured_latency() {
    // `fast` has the fastest prior but answers slowly; `cheap` answers at once.
    let behave = |name: &str| {
        let name = name.to_string();
        Arc::new(move |_: usize, _: &Seen| {
            if name == "fast" {
                Reply::Delay(Duration::from_millis(250), Box::new(ok(&name)))
            } else {
                ok(&name)
            }
        }) as Behaviour
    };
    let (_ups, gw) = trio(behave, "").await;
    let (_, _, v) = auto(&gw, json!({"model": "auto:latency"}), &[]).await;
    assert_eq!(v["model"], "fast/m", "cold: the catalog prior decides");
    for m in ["fast/m", "cheap/m", "fast/m", "cheap/m"] {
        assert_eq!(
            chat(&gw, json!({"model": m, "messages": user_msg("x")})).await.status(),
            200
        );
    }
    gw.wait_log(5, |l| {
        l.matches("\"target\":\"access\"").count() >= 1 && l.contains("cheap/m")
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health: Value = get_json(&gw, "/v1/model-health").await;
    let (_, _, v) = auto(&gw, json!({"model": "auto:latency"}), &[]).await;
    let attempts: Vec<String> = gw
        .access_lines()
        .iter()
        .map(|l| format!("{} {} {}", l["model"], l["status"], l["attempt_log"]))
        .collect();
    assert_eq!(
        v["model"], "cheap/m",
        "warm: measured latency decides: {} {health} {attempts:#?}",
        v["router"]["candidates"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_kind_falls_back_to_the_next_candidate() {
    // The quality order is strong, fast, cheap; strong fails in a different way in each case.
    let kinds: Vec<(&str, Reply)> = vec![
        ("500", Reply::Json(500, json!({"error": {"message": "boom"}}))),
        (
            "429",
            Reply::JsonWith(
                429,
                json!({"error": {"message": "slow down"}}),
                vec![("retry-after", "30".into())],
            ),
        ),
        ("hang", Reply::Hang),
    ];
    for (kind, _) in kinds {
        let k = kind.to_string();
        let behave = move |name: &str| {
            let (name, k) = (name.to_string(), k.clone());
            Arc::new(move |_: usize, _: &Seen| match (name.as_str(), k.as_str()) {
                ("strong", "500") => Reply::Json(500, json!({"error": {"message": "boom"}})),
                ("strong", "429") => Reply::JsonWith(
                    429,
                    json!({"error": {"message": "slow down"}}),
                    vec![("retry-after", "30".into())],
                ),
                ("strong", _) => Reply::Hang,
                _ => ok(&name),
            }) as Behaviour
        };
        let (ups, gw) = trio(behave, "").await;
        let t = Instant::now();
        let (s, h, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
        assert_eq!(s, 200, "{kind}: {v}");
        assert_eq!(h["x-jt-fallback"], "true", "{kind}");
        assert_eq!(v["model"], "fast/m", "{kind}: the next candidate, on another provider");
        let att = v["router"]["attempts"].as_array().unwrap();
        assert_eq!(att[0]["model"], "strong/m", "{kind}");
        assert!(att[0]["error"].is_string(), "{kind}: {att:?}");
        assert_eq!(att[1]["status"], 200);
        assert_eq!(counts(&ups), [0, 1, 1], "{kind}");
        let line = gw.wait_log(5, |l| l.contains("\"target\":\"access\"") && l.contains("attempt_log"));
        assert!(
            line.contains("strong/m") && line.contains("\"model\":\"fast/m\""),
            "{kind}: {line}"
        );
        assert!(
            line.contains("\"route\":\"quality\"") && line.contains("chose strong/m"),
            "{kind}: {line}"
        );
        if kind == "hang" {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "{kind}: the timeout is the provider's read timeout"
            );
        }
        if kind == "429" {
            // Retry-After: strong is cooled down, not even tried now.
            let (_, _, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
            assert_eq!(v["model"], "fast/m");
            assert_eq!(ups[1].count(), 1, "a cooled-down model is skipped");
            assert!(
                v["router"]["filtered"].to_string().contains("cooling down"),
                "{}",
                v["router"]["filtered"]
            );
            let health: Value = get_json(&gw, "/v1/model-health?models=strong/m").await;
            assert!(health["data"][0]["cooldown_seconds"].as_u64().unwrap() > 25, "{health}");
            assert_eq!(health["data"][0]["available"], false);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_falls_back() {
    let (_ups, gw) = {
        let up = Upstream::start(|_, _| ok("cheap")).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let providers =
            provider("dead", &format!("http://127.0.0.1:{port}/v1"), "") + &provider("cheap", &up.base(), "");
        let m = |id: &str, q: f64| {
            format!("  - id: {id}\n    pricing: {{input: 1, output: 1}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat]\n    quality: {{chat: {q}}}\n")
        };
        let gw = Gateway::start(&config("", &providers), &(m("dead/m", 0.99) + &m("cheap/m", 0.5)));
        (vec![up], gw)
    };
    let (s, _, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["model"], "cheap/m");
    assert!(
        v["router"]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{}",
        v["router"]["attempts"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_as_the_first_stream_event_falls_back_before_the_client_sees_a_byte() {
    let behave = |name: &str| {
        let name = name.to_string();
        Arc::new(move |_, s: &Seen| {
            if name == "strong" {
                Reply::Sse(
                    vec![json!({"error": {"message": "overloaded", "type": "server_error"}}).to_string()],
                    Duration::ZERO,
                )
            } else if s.json()["stream"] == true {
                Reply::Sse(stream_events(&name, &["all ", "good"]), Duration::from_millis(5))
            } else {
                ok(&name)
            }
        }) as Behaviour
    };
    let (ups, gw) = trio(behave, "").await;
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&json!({"model": "auto:quality", "stream": true, "messages": user_msg("Hello!")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    // Which attempt's header the client got depends on whether the first one had been written when its
    // error event arrived; either way it is the gateway's header, consistent with itself.
    assert!(h.contains_key("x-request-id"), "{h:?}");
    assert_eq!(h["x-jt-route"], "quality", "{h:?}");
    let fell_back = h["x-jt-fallback"] == "true";
    assert_eq!(h["x-routed-model"], if fell_back { "fast/m" } else { "strong/m" });
    let body = r.text().await.unwrap();
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]", "{body}");
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        events.iter().all(|e| e.get("error").is_none()),
        "the failed attempt's error event never reached the client: {body}"
    );
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "all good");
    let last = events.last().unwrap();
    assert_eq!(last["model"], "fast/m");
    assert_eq!(last["router"]["attempts"][0]["model"], "strong/m");
    assert!(last["router"]["attempts"][0]["error"]
        .as_str()
        .unwrap()
        .contains("overloaded"));
    assert_eq!(last["router"]["fallback"], true);
    assert_eq!(counts(&ups), [0, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_after_streaming_began_is_in_band_and_not_retried() {
    let behave = |name: &str| {
        let name = name.to_string();
        Arc::new(move |_: usize, _: &Seen| {
            let ev = stream_events(&name, &["partial ", "answer"]);
            Reply::ResetAfter(ev[..2].to_vec())
        }) as Behaviour
    };
    let (ups, gw) = trio(behave, "").await;
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&json!({"model": "auto:quality", "stream": true, "messages": user_msg("Hello!")}))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    let data = sse_data(&body);
    assert!(!data.iter().any(|d| d == "[DONE]"));
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert!(last["error"]["code"].is_string(), "{body}");
    assert_eq!(
        counts(&ups).iter().sum::<usize>(),
        1,
        "no retry once the client got bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn all_failing_gives_503_with_the_attempts_and_no_fallback_gives_502() {
    let behave =
        |_: &str| Arc::new(|_: usize, _: &Seen| Reply::Json(500, json!({"error": {"message": "down"}}))) as Behaviour;
    let (ups, gw) = trio(behave, "").await;
    let (s, _, v) = auto(&gw, json!({}), &[]).await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"]["code"], "all_candidates_failed");
    let att = v["error"]["attempts"].as_array().unwrap();
    assert_eq!(att.len(), 3);
    assert!(att.iter().all(|a| a["status"] == 500));
    assert_eq!(counts(&ups), [1, 1, 1]);
    let (s, h, v) = auto(&gw, json!({}), &[("x-jt-no-fallback", "true")]).await;
    assert_eq!(s, 502, "{v}");
    assert_eq!(v["error"]["code"], "upstream_error");
    assert!(h.get("x-jt-fallback").is_none() || h["x-jt-fallback"] == "false");
    assert_eq!(counts(&ups).iter().sum::<usize>(), 4, "one more call, no fallback");
}

#[tokio::test(flavor = "multi_thread")]
async fn budget_and_capabilities_filter_models_or_give_422() {
    let (ups, gw) = trio(all_ok(), "").await;
    // 30 output tokens: strong costs ~$0.0005, cheap ~$0.00001.
    let (s, _, v) = auto(
        &gw,
        json!({"model": "auto:quality", "max_tokens": 30, "budget_dollars": 0.0001}),
        &[],
    )
    .await;
    assert_eq!(s, 200);
    assert_ne!(v["model"], "strong/m", "over budget");
    assert!(v["router"]["filtered"].to_string().contains("over the budget"));
    let (s, _, v) = auto(&gw, json!({"max_tokens": 30, "budget_dollars": 0.0000000001}), &[]).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "no_eligible_model");
    assert_eq!(v["error"]["param"], "budget_dollars");
    assert_eq!(v["error"]["filtered"].as_array().unwrap().len(), 3);
    // None of the models lists `tools` or `vision`.
    let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    let (s, _, v) = auto(&gw, json!({"tools": tools}), &[]).await;
    assert_eq!(s, 422);
    assert!(v["error"]["message"].as_str().unwrap().contains("tools"), "{v}");
    assert_eq!(
        counts(&ups),
        [0, 0, 1],
        "only the first request reached an upstream: fast, the best within budget"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_circuit_opens_and_recovers_through_a_half_open_probe() {
    let failing = Arc::new(AtomicU32::new(1));
    let f2 = failing.clone();
    let behave = move |name: &str| {
        let (name, f) = (name.to_string(), f2.clone());
        Arc::new(move |_: usize, _: &Seen| {
            if name == "strong" && f.load(Ordering::SeqCst) == 1 {
                Reply::Json(503, json!({"error": {"message": "down"}}))
            } else {
                ok(&name)
            }
        }) as Behaviour
    };
    let (ups, gw) = trio(behave, "routing:\n  breaker_failures: 2\n  breaker_open_seconds: 1\n").await;
    for _ in 0..2 {
        let (_, _, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
        assert_eq!(v["model"], "fast/m");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ups[1].count(), 2);
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
    assert_eq!(v["model"], "fast/m");
    assert_eq!(ups[1].count(), 2, "the open circuit keeps strong out");
    assert!(
        v["router"]["filtered"].to_string().contains("circuit open"),
        "{}",
        v["router"]["filtered"]
    );
    let health: Value = get_json(&gw, "/v1/model-health?models=strong/m").await;
    assert_eq!(health["data"][0]["circuit"], "open");
    assert_eq!(health["data"][0]["degraded"], true);
    assert_eq!(health["data"][0]["consecutive_failures"], 2);
    // After the open time, one real request probes; strong has recovered, so the circuit closes.
    failing.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality"}), &[]).await;
    assert_eq!(v["model"], "strong/m", "{}", v["router"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health: Value = get_json(&gw, "/v1/model-health?models=strong/m").await;
    assert_eq!(health["data"][0]["circuit"], "closed");
    assert_eq!(health["data"][0]["degraded"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_stays_on_the_model_that_served_it() {
    let (_ups, gw) = trio(all_ok(), "").await;
    let (_, _, v) = auto(&gw, json!({"model": "auto:cost", "session_id": "conv-1"}), &[]).await;
    assert_eq!(v["model"], "cheap/m");
    gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    // Quality mode would pick strong, but the conversation stays where it is.
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality", "session_id": "conv-1"}), &[]).await;
    assert_eq!(v["model"], "cheap/m");
    assert_eq!(v["router"]["session_sticky"], true);
    assert!(v["router"]["reason"].as_str().unwrap().contains("kept on cheap/m"));
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality", "session_id": "conv-2"}), &[]).await;
    assert_eq!(v["model"], "strong/m", "another session is routed afresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_match_segments_and_split_traffic_stickily() {
    let routing = "routing:\n  policies:\n    - name: free-users\n      match: {metadata: {tier: free}}\n      chain: [cheap/m, fast/m]\n    - name: ab\n      match: {metadata: {tier: beta}}\n      split: [{model: strong/m, weight: 50}, {model: fast/m, weight: 50}]\n";
    let (_ups, gw) = trio(all_ok(), routing).await;
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality", "metadata": {"tier": "free"}}), &[]).await;
    assert_eq!(
        v["model"], "cheap/m",
        "free users get the cheap chain whatever the mode"
    );
    assert_eq!(v["router"]["policy"], "free-users");
    let (_, _, v) = auto(&gw, json!({"model": "auto:quality", "metadata": {"tier": "paid"}}), &[]).await;
    assert_eq!(v["model"], "strong/m");
    let mut arms = std::collections::HashMap::new();
    for i in 0..24 {
        let sid = format!("user-{i}");
        let (_, _, a) = auto(
            &gw,
            json!({"model": "auto:cost", "metadata": {"tier": "beta"}, "session_id": sid}),
            &[],
        )
        .await;
        let arm = a["router"]["split_arm"].as_str().unwrap().to_string();
        assert_eq!(a["model"], arm.as_str());
        // The same key draws the same arm (before any session stickiness is learned).
        let b = auto(
            &gw,
            json!({"model": "auto:cost", "metadata": {"tier": "beta"}, "session_id": sid}),
            &[],
        )
        .await
        .2;
        assert_eq!(b["model"], arm.as_str());
        *arms.entry(arm).or_insert(0) += 1;
    }
    assert_eq!(arms.len(), 2, "both arms get traffic: {arms:?}");
    let line = gw.wait_log(5, |l| l.contains("\"target\":\"access\"") && l.contains("split_arm"));
    assert!(line.contains("\"policy\":\"ab\""), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_hangs_up_does_not_count_against_the_model() {
    // A slow stream; the client reads the first chunk and goes away.
    let behave = |name: &str| {
        let name = name.to_string();
        Arc::new(move |_: usize, _: &Seen| {
            Reply::Sse(
                stream_events(&name, &["a ", "b ", "c ", "d"]),
                Duration::from_millis(150),
            )
        }) as Behaviour
    };
    let (_ups, gw) = trio(behave, "").await;
    let mut r = client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&json!({"model": "cheap/m", "stream": true, "messages": user_msg("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.chunk().await.unwrap();
    drop(r);
    gw.wait_log(10, |l| l.contains("\"target\":\"access\""));
    let health: Value = get_json(&gw, "/v1/model-health?models=cheap/m").await;
    assert_eq!(health["data"][0]["failures"], 0, "{health}");
    assert_eq!(health["data"][0]["degraded"], false, "{health}");
}
