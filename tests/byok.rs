//! Bring your own key over real sockets, for each provider kind: the key reaches the upstream in that
//! provider's credential header instead of the configured one, only for its provider; it needs the
//! `byok` scope; the answer is billed as `byok`; a provider refusing it is the client's 401 with the
//! key redacted; the router prefers a provider whose key was brought when candidates are equal; and
//! no key appears in any log line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const BYO: &str = "sy_live_integrationtestkey00000000000byok";
/// Keys shaped unlike any known secret, so nothing but their own redaction hides them.
const KEYS: [(&str, &str); 4] = [
    ("x-openai-key", "byo-openai-Zq93kfj2lq0w"),
    ("x-anthropic-key", "byo-anthropic-Pq8xk2mzv"),
    ("x-gemini-key", "byo-gemini-Lm4ncq7ty2r"),
    ("x-deepseek-key", "byo-deepseek-Vb6tr2kw9p"),
];

const REFUSED: &str = "byo-refused-Hx72mq01";

fn reply(path: &str, seen: &Seen) -> Reply {
    // An upstream that refuses a key echoes it, as providers do.
    if let Some(v) = seen
        .headers
        .values()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains(REFUSED))
    {
        return Reply::Json(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: {v}"), "type": "invalid_request_error"}}),
        );
    }
    if path.ends_with("/chat/completions") {
        Reply::Json(200, completion("up", "hi"))
    } else if path.ends_with("/messages") {
        Reply::Json(
            200,
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
                   "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": null,
                   "usage": {"input_tokens": 10, "output_tokens": 5}}),
        )
    } else {
        Reply::Json(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "index": 0, "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}, "modelVersion": "g"}),
        )
    }
}

async fn gateway() -> (Upstream, Gateway) {
    let up = Upstream::start(|_, s| reply(&s.path, s)).await;
    let base = format!("http://{}", up.addr);
    let providers = format!(
        "  oa:\n    kind: openai\n    base_url: {base}/v1\n    api_key: k-oa\n  deepseek:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key: k-ds\n  an:\n    kind: anthropic\n    base_url: {base}/v1\n    api_key: k-an\n  ge:\n    kind: gemini\n    base_url: {base}/v1beta\n    api_key: k-ge\n  keyless:\n    kind: openai_compatible\n    base_url: {base}/v1\n    api_key_env: SWITCHYARD_TEST_KEY_NEVER_SET\n"
    );
    let cfg = config("", &providers)
        + &format!(
            "  - name: byo\n    hash: {}\n    workspace: wsb\n    scopes:\n      endpoints: [inference, byok]\n",
            hash(BYO)
        );
    let catalog: String = ["oa/m", "deepseek/m", "an/m", "ge/m", "keyless/m"]
        .iter()
        .map(|id| format!("  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat]\n    quality: {{chat: 0.8}}\n"))
        .collect();
    (up, Gateway::start(&cfg, &catalog))
}

async fn ask(gw: &Gateway, key: &str, model: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = client()
        .post(gw.chat_url())
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": user_msg("hello")}));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_provider_kind_gets_its_own_key_in_its_own_header_and_no_log_sees_it() {
    let (up, gw) = gateway().await;
    let cases = [
        ("oa/m", "authorization", "Bearer byo-openai-Zq93kfj2lq0w", "k-oa"),
        ("deepseek/m", "authorization", "Bearer byo-deepseek-Vb6tr2kw9p", "k-ds"),
        ("an/m", "x-api-key", "byo-anthropic-Pq8xk2mzv", "k-an"),
        ("ge/m", "x-goog-api-key", "byo-gemini-Lm4ncq7ty2r", "k-ge"),
    ];
    for (model, header, want, configured) in cases {
        let before = up.count();
        let r = ask(&gw, BYO, model, &KEYS).await;
        assert_eq!(r.status(), 200, "{model}");
        assert_eq!(r.headers()["x-jt-billing"], "byok", "{model}");
        let seen = &up.requests()[before];
        assert_eq!(seen.header(header), Some(want), "{model}");
        let all: String = seen
            .headers
            .values()
            .map(|v| v.to_str().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!all.contains(configured), "{model}: the configured key went too: {all}");
        // Only this provider's key: none of the others, and no BYOK header itself.
        for (h, k) in KEYS {
            assert!(seen.header(h).is_none(), "{model}: {h} was forwarded");
            if !want.contains(k) {
                assert!(!all.contains(k), "{model}: another provider's key went upstream: {all}");
            }
        }
    }
    // Without a brought key, the configured one.
    let before = up.count();
    assert_eq!(ask(&gw, BYO, "an/m", &[]).await.status(), 200);
    assert_eq!(up.requests()[before].header("x-api-key"), Some("k-an"));

    // A refused key is the client's 401, the key redacted from the message.
    let r = ask(&gw, BYO, "oa/m", &[("x-openai-key", REFUSED)]).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "provider_key_refused");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("X-OpenAI-Key") || msg.contains("x-openai-key"), "{msg}");
    assert!(!msg.contains(REFUSED), "{msg}");

    gw.wait_log(5, |l| l.contains("provider_key_refused"));
    let logs = gw.logs.lock().unwrap().join("\n");
    for k in KEYS.iter().map(|(_, k)| *k).chain([REFUSED]) {
        assert!(!logs.contains(k), "a brought key is in the logs");
    }
    assert!(logs.contains("\"billing\":\"byok\""), "the access line says byok");
    let m = metrics_with(&gw, "switchyard_byok_requests_total{provider=\"ge\"} 1").await;
    assert!(m.contains("switchyard_byok_requests_total{provider=\"ge\"} 1"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_without_a_configured_key_serves_a_caller_who_brings_one() {
    let (up, gw) = gateway().await;
    let r = ask(&gw, BYO, "keyless/m", &[]).await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "provider_unavailable");
    let r = ask(&gw, BYO, "keyless/m", &[("x-keyless-key", "byo-keyless-Tn5wq8")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer byo-keyless-Tn5wq8")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn byok_needs_its_scope_word() {
    let (up, gw) = gateway().await;
    let r = ask(&gw, KEY, "oa/m", &[KEYS[0]]).await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "byok_not_allowed");
    assert_eq!(up.count(), 0);
    assert_eq!(ask(&gw, KEY, "oa/m", &[]).await.status(), 200, "without it, as before");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_router_prefers_a_provider_whose_key_was_brought_when_otherwise_equal() {
    // Four equal candidates (same prices, quality, latency prior; a fresh gateway has no health):
    // without a brought key the tie goes to the smallest id, with one to its provider.
    for (headers, model) in [(vec![], "an/m"), (vec![KEYS[2]], "ge/m"), (vec![KEYS[0]], "oa/m")] {
        let (_up, gw) = gateway().await;
        let r = ask(&gw, BYO, "auto", &headers).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-jt-model"], model);
        let v: Value = r.json().await.unwrap();
        let scores: Vec<f64> = v["router"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] == w[1]), "otherwise equal: {scores:?}");
    }
}
