//! Shared by the durable-state tests (state.rs, wallet.rs, preferences.rs): a config with two
//! providers, a catalog, a scripted upstream, and the export's helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{json, Value};

use super::*;

/// Two providers: `up` answers; `bad` fails with 503. Besides the harness's two keys (`KEY` in ws1,
/// `OTHER_KEY` in ws2, inference only), THIRD_KEY in ws3 may use every endpoint. `extra` is appended
/// (top-level sections).
pub fn cfg(up: &Upstream, extra: &str) -> String {
    let providers = provider("up", &up.base(), "") + &provider("bad", &up.base().replace("/v1", "/bad/v1"), "");
    // The harness's config ends with its `keys:` list, which this entry continues.
    config("", &providers) + &format!("  - name: third\n    hash: {}\n    workspace: ws3\n", hash(THIRD_KEY)) + extra
}

pub const THIRD_KEY: &str = "sy_live_integrationtestkey0000000000000c";

pub const SECRET: &str = "whsec_c3dpdGNoeWFyZC10ZXN0LXNpZ25pbmctc2VjcmV0";

pub fn models() -> String {
    let quality = |id: &str, up: &str, q: f64, price: f64| {
        format!(
            "  - id: {id}\n    upstream_model: {up}\n    pricing: {{input: {price}, cached_input: 0.5, output: 2.0}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, streaming]\n    quality: {{chat: {q}, code: {q}}}\n"
        )
    };
    quality("up/a", "upstream-a", 0.9, 1.0)
        + &quality("up/b", "upstream-b", 0.6, 0.5)
        + &quality("bad/x", "x", 0.95, 3.0)
}

/// The upstream: `/bad/...` answers 503; everything else a completion naming the model asked for.
pub async fn upstream() -> Upstream {
    Upstream::start(|_, seen| {
        if seen.path.starts_with("/bad") {
            return Reply::Json(503, json!({"error": {"message": "overloaded", "type": "server_error"}}));
        }
        let model = seen.json()["model"].as_str().unwrap_or("m").to_string();
        if seen.json()["stream"] == true {
            return Reply::Sse(stream_events(&model, &["Hel", "lo"]), Duration::from_millis(1));
        }
        Reply::Json(200, completion(&model, "Hello!"))
    })
    .await
}

pub async fn get(url: &str, key: Option<&str>) -> reqwest::Response {
    let mut r = client().get(url);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap()
}

pub async fn logs(gw: &Gateway, key: &str, query: &str) -> Value {
    let r = get(&format!("{}/v1/org/logs?format=json&{query}", gw.url), Some(key)).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub fn row<'a>(rows: &'a Value, id: &str) -> &'a Value {
    rows["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {rows:#}"))
}

pub fn request_id(r: &reqwest::Response) -> String {
    r.headers()["x-request-id"].to_str().unwrap().to_string()
}

/// SIGTERM the gateway, wait for it to exit, and give back its directory.
pub fn restart(mut gw: Gateway) -> tempfile::TempDir {
    gw.signal("TERM");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gw.exited() {
        assert!(std::time::Instant::now() < deadline, "the gateway did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let old = std::mem::replace(&mut gw.dir, dir);
    drop(gw);
    old
}
