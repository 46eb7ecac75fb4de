//! Reload: SIGHUP (or POST /admin/reload) validates the new config off the request path and swaps it
//! in; a bad config is rejected and the old one keeps serving; in-flight requests finish on the
//! snapshot they started with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn write_models(gw: &Gateway, models: &str) {
    std::fs::write(gw.dir.path().join("models.yaml"), format!("models:\n{models}")).unwrap();
}

fn reloads(gw: &Gateway, word: &str) -> usize {
    gw.logs.lock().unwrap().iter().filter(|l| l.contains(word)).count()
}

fn wait_reloads(gw: &Gateway, word: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while reloads(gw, word) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no '{word}' log; logs: {:#?}",
            gw.logs.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_swaps_valid_configs_and_rejects_bad_ones() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let cfg = config("", &provider("up", &up.base(), ""));
    let gw = Gateway::start(&cfg, &model("up/a", "a", &[]));
    assert_eq!(
        chat(&gw, json!({"model": "up/b", "messages": user_msg("x")}))
            .await
            .status(),
        404
    );

    write_models(&gw, &(model("up/a", "a", &[]) + &model("up/b", "b", &[])));
    gw.signal("HUP");
    wait_reloads(&gw, "configuration reloaded", 1);
    assert_eq!(
        chat(&gw, json!({"model": "up/b", "messages": user_msg("x")}))
            .await
            .status(),
        200
    );

    // A broken catalog: rejected, the running config stays.
    std::fs::write(
        gw.dir.path().join("models.yaml"),
        "models:\n  - id: up/c\n    bogus_field: 1\n",
    )
    .unwrap();
    gw.signal("HUP");
    wait_reloads(&gw, "reload rejected", 1);
    let line = gw.wait_log(1, |l| l.contains("reload rejected"));
    assert!(
        line.contains("models.yaml") && line.contains("bogus_field"),
        "the rejection names file and field: {line}"
    );
    assert_eq!(
        chat(&gw, json!({"model": "up/b", "messages": user_msg("x")}))
            .await
            .status(),
        200
    );

    // The admin endpoint reloads too (with the admin token), and reports problems.
    let r = client()
        .post(format!("{}/admin/reload", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reloaded"], false);
    assert!(v["problems"][0].as_str().unwrap().contains("bogus_field"));
    write_models(&gw, &model("up/a", "a", &[]));
    // Admin reloads are rate-limited to one a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = client()
        .post(format!("{}/admin/reload", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reloaded"], true);
    assert!(v["config_generation"].as_u64().unwrap() >= 2);
    assert_eq!(
        chat(&gw, json!({"model": "up/b", "messages": user_msg("x")}))
            .await
            .status(),
        404
    );
    let m = client()
        .get(format!("{}/metrics", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("switchyard_config_reloads_total{result=\"ok\"} 2"), "{m}");
    assert!(
        m.contains("switchyard_config_reloads_total{result=\"rejected\"} 2"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_flight_streams_finish_on_their_snapshot() {
    let words = ["a ", "b ", "c ", "d ", "e ", "f"];
    let up = Upstream::start(move |_, _| Reply::Sse(stream_events("a", &words), Duration::from_millis(200))).await;
    let gw = Gateway::start(&config("", &provider("up", &up.base(), "")), &model("up/a", "a", &[]));
    let mut resp = chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await;
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // Mid-stream, the model disappears from the catalog.
    write_models(&gw, &model("up/other", "o", &[]));
    gw.signal("HUP");
    wait_reloads(&gw, "configuration reloaded", 1);
    assert_eq!(
        chat(&gw, json!({"model": "up/a", "messages": user_msg("x")}))
            .await
            .status(),
        404
    );
    let mut body = String::from_utf8(first.to_vec()).unwrap();
    while let Some(c) = resp.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&c).unwrap());
    }
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]", "{body}");
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["router"]["model"], "up/a");
}
