//! What a hostile client with a valid key can do to routing state and through providers, performed
//! against the real gateway on loopback, each bounded in count and time: a `session_id` flood, one
//! key steering another's session, provider error text (the gateway's own credential, internal
//! addresses), one key opening a circuit for everyone, costly provider features without the scope,
//! and models the key may not see named in routing answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const TEST_A: &str = "sy_test_hardeningsessionkey00000000000a";
const TEST_B: &str = "sy_test_hardeningsessionkey00000000000b";
const COSTLY: &str = "sy_live_hardeningcostlykey0000000000000c";
const TEST_COSTLY: &str = "sy_test_hardeningcostlykey0000000000000d";
const VICTIM: &str = "sy_live_hardeningvictimkey0000000000000e";

/// Keys beyond the harness's two (appended to its `keys:` list).
fn keys(extra: &[(&str, &str, &str, &str)]) -> String {
    extra
        .iter()
        .map(|(name, key, ws, scopes)| {
            format!(
                "  - name: {name}\n    hash: {}\n    workspace: {ws}\n    scopes:\n      endpoints: {scopes}\n      models: [\"*\"]\n",
                hash(key)
            )
        })
        .collect()
}

/// Resident and virtual memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmSize:"))
}

async fn post(gw: &Gateway, key: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_id_flood_is_refused_and_the_session_table_stays_bounded() {
    let cfg = config("", "  sim:\n    kind: mock\n")
        + &keys(&[("a", TEST_A, "demo", "[\"*\"]"), ("b", TEST_B, "demo", "[\"*\"]")])
        + "routing:\n  session_max_entries: 200\n";
    let models = model("sim/a", "a", &[]) + &model("sim/b", "b", &[]);
    let gw = Gateway::start(&cfg, &models);
    let ask = |sid: &str| json!({"model": "auto", "messages": user_msg("hello there"), "session_id": sid});
    // Warm up (allocator arenas, first connections), then measure.
    for _ in 0..20 {
        assert_eq!(post(&gw, TEST_A, &ask("warm")).await.0, 200);
    }
    let (rss_before, _) = memory_kib(gw.pid());
    let t = Instant::now();

    // 50 requests carrying a 4 MB session_id: each refused, naming the field.
    let huge = "s".repeat(4 << 20);
    for batch in 0..10 {
        let calls = (0..5).map(|i| {
            let body = ask(&format!("{huge}{batch}{i}"));
            let gw = &gw;
            async move { post(gw, TEST_A, &body).await }
        });
        for (status, body) in futures_util::future::join_all(calls).await {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["error"]["param"], "session_id", "{body}");
        }
    }
    // 1,000 distinct ids of the longest accepted length: served, the table holds at most its bound.
    let long = "x".repeat(240);
    for batch in 0..125 {
        let calls = (0..8).map(|i| {
            let body = ask(&format!("{long}-{batch:04}-{i}"));
            let gw = &gw;
            async move { post(gw, TEST_A, &body).await.0 }
        });
        assert!(futures_util::future::join_all(calls).await.iter().all(|s| *s == 200));
    }
    let (rss_after, _) = memory_kib(gw.pid());
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    let m = metrics_with(&gw, "switchyard_session_entries 200").await;
    assert!(
        m.contains("switchyard_session_entries 200"),
        "the table is held at its bound: {m}"
    );
    eprintln!(
        "session flood: RSS {rss_before} -> {rss_after} KiB in {:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_belongs_to_the_key_that_made_it() {
    let cfg = config("", "  sim:\n    kind: mock\n")
        + &keys(&[("a", TEST_A, "demo", "[\"*\"]"), ("b", TEST_B, "demo", "[\"*\"]")]);
    let models = model("sim/a", "a", &[]) + &model("sim/b", "b", &[]);
    let gw = Gateway::start(&cfg, &models);
    let ask = json!({"model": "auto", "messages": user_msg("hello there"), "session_id": "conversation-42"});
    let (s, first) = post(&gw, TEST_A, &ask).await;
    assert_eq!(s, 200);
    assert_eq!(first["router"]["session_sticky"], false);
    let (_, again) = post(&gw, TEST_A, &ask).await;
    assert_eq!(again["router"]["session_sticky"], true, "{}", again["router"]);
    let reason = again["router"]["reason"].as_str().unwrap();
    assert!(reason.contains("for its session"), "{reason}");
    assert!(
        !reason.contains("conversation-42"),
        "the client's id stays out of the reason: {reason}"
    );
    // Another key of the same workspace, with the same id: not that session.
    let (_, other) = post(&gw, TEST_B, &ask).await;
    assert_eq!(other["router"]["session_sticky"], false, "{}", other["router"]);
    let lines = gw.access_lines();
    assert!(lines.iter().all(|l| !l.to_string().contains("conversation-42")));
}

/// A provider that echoes secrets and internal names in its errors.
async fn leaky_upstream() -> Upstream {
    Upstream::start(|_, seen| match seen.json()["model"].as_str() {
        Some("auth") => Reply::Json(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: Bearer {PROVIDER_KEY}. You can find your API key at https://platform.openai.com/account/api-keys."),
                             "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ),
        Some("forbidden") => Reply::Json(
            403,
            json!({"error": {"message": "organization org-AbCdEfGhIjKlMnOpQrSt1234 is not allowed"}}),
        ),
        Some("leaky") => Reply::Json(
            400,
            json!({"error": {"message": "org-AbCdEfGhIjKlMnOpQrSt1234 could not reach http://10.0.0.7:8000/v1 (internal-vllm.corp.invalid:8000); token=abcdef123456; key AKIAIOSFODNN7EXAMPLE"}}),
        ),
        Some("empty") => Reply::Empty(500),
        _ => Reply::Json(200, completion("m", "fine")),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_errors_reach_clients_redacted_and_credential_failures_generic() {
    let up = leaky_upstream().await;
    let providers = provider("up", &up.base(), "")
        + &provider("down", "http://127.0.0.1:1/v1", "    connect_timeout_ms: 500\n")
        + &provider("dns", "http://internal-vllm.corp.invalid:8000/v1", "");
    let models = ["auth", "forbidden", "leaky", "empty"]
        .iter()
        .map(|m| model(&format!("up/{m}"), m, &[]))
        .collect::<String>()
        + &model("down/m", "m", &[])
        + &model("dns/m", "m", &[]);
    let gw = Gateway::start(&config("", &providers), &models);
    let call = |m: &str| {
        let body = json!({"model": m, "messages": user_msg("hi")});
        let gw = &gw;
        async move {
            let r = client()
                .post(gw.chat_url())
                .bearer_auth(KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
            let text = r.text().await.unwrap();
            (status, ctype, text)
        }
    };
    let leaks = [
        PROVIDER_KEY,
        "sk-",
        "Incorrect API key",
        "org-AbCd",
        "10.0.0.7",
        "corp.invalid",
        "internal-vllm",
        "abcdef123456",
        "AKIAIOSFODNN7EXAMPLE",
        "127.0.0.1",
    ];
    let clean = |what: &str, text: &str| {
        for l in leaks {
            assert!(!text.contains(l), "{what}: {l:?} reached the client: {text}");
        }
    };

    for (m, upstream_status) in [("up/auth", 401), ("up/forbidden", 403)] {
        let (status, ctype, text) = call(m).await;
        assert_eq!(status, 502, "{text}");
        assert!(ctype.starts_with("application/json"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "provider_auth_failed", "{text}");
        assert_eq!(v["error"]["provider"], "up");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&upstream_status.to_string()));
        clean(m, &text);
    }
    // The operator's log has the provider's words, without the key.
    let warn = gw.wait_log(5, |l| {
        l.contains("refused the gateway's credentials") && l.contains("Incorrect API key")
    });
    assert!(warn.contains("[redacted]"), "{warn}");
    let logs = gw.logs.lock().unwrap().join("\n");
    assert!(!logs.contains(PROVIDER_KEY), "the provider key reached the log");

    let (status, _, text) = call("up/leaky").await;
    assert_eq!(status, 400, "{text}");
    clean("leaky 400", &text);
    let v: Value = serde_json::from_str(&text).unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("[redacted]") && msg.contains("[address]"), "{msg}");
    assert!(
        msg.contains("could not reach"),
        "the rest of the provider's message stays: {msg}"
    );

    let (status, ctype, text) = call("up/empty").await;
    assert_eq!(status, 502, "{text}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let v: Value = serde_json::from_str(&text).expect("an empty upstream error still gets a JSON body");
    assert_eq!(v["error"]["code"], "upstream_error", "{text}");

    for m in ["down/m", "dns/m"] {
        let (status, _, text) = call(m).await;
        assert_eq!(status, 502, "{m}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "upstream_unreachable", "{m}: {text}");
        clean(m, &text);
    }
    // The operator still learns where: the access log's error detail names the address.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = gw.access_lines();
    let down = lines.iter().find(|l| l["model"] == "down/m").unwrap();
    assert!(down["error_detail"].as_str().unwrap().contains("127.0.0.1:1"), "{down}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_key_cannot_open_a_circuit_for_other_keys() {
    // The model fails only on what the attacker sends; the provider is fine.
    let up = Upstream::start(|_, seen| {
        if String::from_utf8_lossy(&seen.body).contains("boom") {
            Reply::Json(500, json!({"error": {"message": "internal error"}}))
        } else {
            Reply::Json(200, completion("m", "fine"))
        }
    })
    .await;
    let cfg = config("", &provider("up", &up.base(), ""))
        + &keys(&[("victim", VICTIM, "other", "[\"*\"]")])
        + "routing:\n  breaker_failures: 3\n  breaker_open_seconds: 30\n";
    let gw = Gateway::start(&cfg, &(model("up/m", "m", &[]) + &model("up/n", "n", &[])));
    let attack = json!({"model": "up/m", "messages": user_msg("boom")});
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .header("x-jt-no-fallback", "true")
            .json(&attack)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        // Health learns once a request is logged, just after its answer went out.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(&statuses[..3], &[502, 502, 502], "{statuses:?}");
    assert!(
        statuses[3..].iter().all(|s| *s == 503),
        "the attacker's own circuit opened: {statuses:?}"
    );
    assert_eq!(up.count(), 3, "the attacker stopped reaching the provider");

    // Another key: the model and its provider are open to it.
    let ok = json!({"model": "up/m", "messages": user_msg("hello")});
    assert_eq!(post(&gw, VICTIM, &ok).await.0, 200, "the shared circuit stayed closed");
    let other = json!({"model": "up/n", "messages": user_msg("hello")});
    assert_eq!(post(&gw, VICTIM, &other).await.0, 200, "the provider stayed available");
    let health: Value = client()
        .get(format!("{}/v1/model-health?models=up/m", gw.url))
        .bearer_auth(VICTIM)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["data"][0]["circuit"], "closed", "{health}");
}

/// An Anthropic provider's answer and an OpenAI one, by path.
async fn two_schema_upstream() -> Upstream {
    Upstream::start(|_, seen| {
        if seen.path.ends_with("/messages") {
            Reply::Json(
                200,
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
                       "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                       "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 2}}),
            )
        } else {
            Reply::Json(200, completion("m", "fine"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn costly_provider_features_need_the_scope_and_a_capable_model() {
    let up = two_schema_upstream().await;
    let providers = provider("oa", &up.base(), "")
        + &format!(
            "  an:\n    kind: anthropic\n    base_url: {}\n    api_key: {PROVIDER_KEY}\n",
            up.base()
        )
        + "  sim:\n    kind: mock\n";
    let plain = "  - id: an/plain\n    upstream_model: plain\n    pricing: {input: 1, output: 1}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat]\n";
    let models = model("oa/m", "m", &[]) + &model("an/claude", "claude", &[]) + plain + &model("sim/s", "s", &[]);
    let cfg = config("", &providers)
        + &keys(&[
            ("costly", COSTLY, "ws1", "[\"*\", costly_features]"),
            ("test-costly", TEST_COSTLY, "ws1", "[\"*\", costly_features]"),
        ]);
    let gw = Gateway::start(&cfg, &models);
    let chat_as = |key: &'static str, body: Value| {
        let gw = &gw;
        async move { post(gw, key, &body).await }
    };
    let messages_as = |key: &'static str, body: Value, beta: Option<&'static str>| {
        let gw = &gw;
        async move {
            let mut r = client()
                .post(format!("{}/v1/messages", gw.url))
                .header("x-api-key", key)
                .header("anthropic-version", "2023-06-01");
            if let Some(b) = beta {
                r = r.header("anthropic-beta", b);
            }
            let r = r.json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // OpenAI's priority tier: refused without the scope, before any upstream call.
    let priority = json!({"model": "oa/m", "messages": user_msg("hi"), "service_tier": "priority"});
    let (s, v) = chat_as(KEY, priority.clone()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("scope_denied")), "{v}");
    assert_eq!(v["error"]["param"], "service_tier");
    assert_eq!(up.count(), 0);
    let (s, v) = chat_as(COSTLY, priority).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        up.requests()[0].json()["service_tier"],
        "priority",
        "passed on with the scope"
    );
    for field in [
        json!({"store": true}),
        json!({"web_search_options": {}}),
        json!({"modalities": ["text", "audio"]}),
    ] {
        let mut body = json!({"model": "oa/m", "messages": user_msg("hi")});
        let name = field.as_object().unwrap().keys().next().unwrap().clone();
        body[&name] = field[&name].clone();
        let (s, v) = chat_as(KEY, body).await;
        assert_eq!((s, v["error"]["param"].as_str()), (403, Some(name.as_str())), "{v}");
    }
    // A test key never has it, whatever its scopes say.
    let (s, v) = chat_as(
        TEST_COSTLY,
        json!({"model": "sim/s", "messages": user_msg("hi"), "store": true}),
    )
    .await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("scope_denied")), "{v}");

    // Anthropic's server tools.
    let search = json!({"model": "an/claude", "max_tokens": 100, "messages": user_msg("news?"),
                        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]});
    let (s, v) = messages_as(KEY, search.clone(), None).await;
    assert_eq!((s, v["error"]["param"].as_str()), (403, Some("tools[0]")), "{v}");
    let mut on_plain = search.clone();
    on_plain["model"] = json!("an/plain");
    let (s, v) = messages_as(COSTLY, on_plain, None).await;
    assert_eq!(s, 422, "a model without the tools capability is refused: {v}");
    let before = up.count();
    let (s, v) = messages_as(COSTLY, search, None).await;
    assert_eq!(s, 200, "{v}");
    let seen = up.requests()[before].json();
    assert_eq!(seen["tools"][0]["type"], "web_search_20250305");

    // Beta flags: a token-priced one passes, one that may switch on a billed feature needs the scope.
    let hello = json!({"model": "an/claude", "max_tokens": 100, "messages": user_msg("hi")});
    let (s, v) = messages_as(KEY, hello.clone(), Some("prompt-caching-2024-07-31")).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = messages_as(
        KEY,
        hello.clone(),
        Some("prompt-caching-2024-07-31,mcp-client-2025-04-04"),
    )
    .await;
    assert_eq!((s, v["error"]["param"].as_str()), (403, Some("anthropic-beta")), "{v}");
    let mcp = json!({"model": "an/claude", "max_tokens": 100, "messages": user_msg("hi"),
                     "mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "x"}]});
    let (s, v) = messages_as(KEY, mcp, None).await;
    assert_eq!((s, v["error"]["param"].as_str()), (403, Some("mcp_servers")), "{v}");

    let m = metrics_with(&gw, "switchyard_billed_extras_total{feature=\"web_search\"} 1").await;
    assert!(
        m.contains("switchyard_billed_extras_total{feature=\"priority_tier\"} 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_answers_name_only_models_the_key_may_see() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("b", "fine"))).await;
    let models = model("up/a", "a", &[]) + &model("up/b", "b", &[]) + &model("up/c", "c", &[]);
    let gw = Gateway::start(&config("", &provider("up", &up.base(), "")), &models);
    // OTHER_KEY may use up/b only.
    let (s, v) = post(&gw, OTHER_KEY, &json!({"model": "auto", "messages": user_msg("hi")})).await;
    assert_eq!(s, 200, "{v}");
    let router = v["router"].to_string();
    assert!(!router.contains("up/a") && !router.contains("up/c"), "{router}");
    let (s, v) = post(
        &gw,
        OTHER_KEY,
        &json!({"model": "auto", "messages": user_msg("hi"), "budget_dollars": 0.000000001}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let filtered: Vec<&str> = v["error"]["filtered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["model"].as_str().unwrap())
        .collect();
    assert_eq!(filtered, ["up/b"], "{v}");
    assert!(!v.to_string().contains("up/a"), "{v}");
    // A key that sees everything still gets every model's reason.
    let (s, v) = post(
        &gw,
        KEY,
        &json!({"model": "auto", "messages": user_msg("hi"), "budget_dollars": 0.000000001}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["error"]["filtered"].as_array().unwrap().len(), 3, "{v}");
}
