//! Durable state over real sockets and a real database file: the request log against what clients
//! saw (success, fallback, error, cache hit) and its export (JSON, CSV through a CSV parser, workspace
//! isolation, formula neutralising, the admin export, the `logs` command), idempotent replay, a
//! graceful shutdown under load, and the store off or in memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::state::*;
use common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn log_rows_match_what_the_client_saw_and_export_per_workspace() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, "plugins:\n  cache: {}\n"), &models());

    // A success.
    let ok = chat(&gw, json!({"model": "up/a", "messages": user_msg("hi")})).await;
    assert_eq!(ok.status(), 200);
    let ok_id = request_id(&ok);
    let ok_body: Value = ok.json().await.unwrap();
    // A fallback: bad/x fails, up/b answers.
    let fb = chat(
        &gw,
        json!({"model": "bad/x", "fallback": ["up/b"], "messages": user_msg("fall")}),
    )
    .await;
    assert_eq!(fb.status(), 200);
    assert_eq!(fb.headers()["x-jt-fallback"], "true");
    let fb_id = request_id(&fb);
    // An error: no fallback.
    let err = chat(&gw, json!({"model": "bad/x", "messages": user_msg("fail")})).await;
    let err_status = err.status().as_u16();
    assert!(err_status >= 500);
    let err_id = request_id(&err);
    let err_body: Value = err.json().await.unwrap();
    // A cache miss, then a hit.
    let cached = |ttl: &'static str| {
        client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .header("X-GR-Cache-TTL", ttl)
            .json(&json!({"model": "up/a", "messages": user_msg("cache me"), "temperature": 0.9}))
            .send()
    };
    let miss = cached("60").await.unwrap();
    assert_eq!(miss.headers()["x-jt-cache"], "miss");
    let miss_id = request_id(&miss);
    // The answer is stored as its request completes, just after the client has it: a repeat sent at
    // once may still miss.
    let mut hit = cached("60").await.unwrap();
    for _ in 0..50 {
        if hit.headers()["x-jt-cache"] == "hit" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        hit = cached("60").await.unwrap();
    }
    assert_eq!(hit.headers()["x-jt-cache"], "hit");
    let hit_id = request_id(&hit);
    let hit_body: Value = hit.json().await.unwrap();
    assert_eq!(hit_body["router"]["cached"], true);
    assert_eq!(hit_body["usage"]["cost"], 0.0);
    // A formula as the model name: a 404 whose row carries it.
    let formula = chat(&gw, json!({"model": "=HYPERLINK(\"x\")", "messages": user_msg("f")})).await;
    assert_eq!(formula.status(), 404);
    // Another workspace.
    let other = client()
        .post(gw.chat_url())
        .bearer_auth(THIRD_KEY)
        .json(&json!({"model": "up/b", "messages": user_msg("mine")}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let other_id = request_id(&other);

    let rows = logs(&gw, KEY, "limit=100").await;
    let r = row(&rows, &ok_id);
    assert_eq!(
        (r["status"].as_u64(), r["model"].as_str(), r["provider"].as_str()),
        (Some(200), Some("up/a"), Some("up"))
    );
    assert_eq!(
        (r["key"].as_str(), r["workspace"].as_str()),
        (Some("tester"), Some("ws1"))
    );
    assert_eq!(
        (r["endpoint"].as_str(), r["client_schema"].as_str()),
        (Some("chat_completions"), Some("chat"))
    );
    assert_eq!(
        (
            r["tokens_in"].as_u64(),
            r["tokens_cached"].as_u64(),
            r["tokens_out"].as_u64()
        ),
        (Some(1000), Some(200), Some(500))
    );
    assert_eq!(r["cost_usd"], "0.0019");
    assert_eq!(r["cost_basis"], "actual");
    assert!((ok_body["usage"]["cost"].as_f64().unwrap() - 0.0019).abs() < 1e-12);
    assert_eq!(r["mode"], "pinned");
    let f = row(&rows, &fb_id);
    let chain = f["fallback_chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{f:#}");
    assert_eq!(
        (chain[0]["model"].as_str(), chain[0]["status"].as_u64()),
        (Some("bad/x"), Some(503))
    );
    assert_eq!(
        (chain[1]["model"].as_str(), chain[1]["status"].as_u64()),
        (Some("up/b"), Some(200))
    );
    assert_eq!(
        (f["fallback"].as_bool(), f["model"].as_str()),
        (Some(true), Some("up/b"))
    );
    let e = row(&rows, &err_id);
    assert_eq!(e["status"].as_u64(), Some(u64::from(err_status)));
    assert_eq!(e["error_code"], err_body["error"]["code"]);
    assert_eq!(row(&rows, &miss_id)["cache"], "miss");
    let h = row(&rows, &hit_id);
    assert_eq!(
        (h["cache"].as_str(), h["answered_by"].as_str(), h["cost_usd"].as_str()),
        (Some("hit"), Some("cache"), Some("0"))
    );
    assert!(
        rows["data"].as_array().unwrap().iter().all(|r| r["workspace"] == "ws1"),
        "a key sees its workspace only"
    );
    assert!(rows["data"].as_array().unwrap().iter().all(|r| r["id"] != other_id));
    assert!(
        rows["data"].as_array().unwrap().iter().all(|r| r["prompt"].is_null()),
        "no bodies by default"
    );

    // Filters and the cursor.
    let errors = logs(&gw, KEY, "status=5xx").await;
    assert!(errors["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"].as_u64().unwrap() >= 500));
    // Pages of up/a's rows: two, then the rest, newest first, together the same as one export.
    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let up_a: Vec<String> = rows["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"] == "up/a" || r["requested_model"] == "up/a")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(up_a.len() >= 3, "{up_a:?}");
    let page = logs(&gw, KEY, "limit=2&model=up%2Fa").await;
    assert_eq!(page["has_more"], true);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = logs(&gw, KEY, &format!("limit=100&model=up/a&cursor={cursor}")).await;
    assert_eq!(rest["has_more"], false);
    assert_eq!([ids(&page), ids(&rest)].concat(), up_a);
    assert_eq!(up_a.last(), Some(&ok_id), "the oldest comes last");
    let bad = get(&format!("{}/v1/org/logs?limit=10001", gw.url), Some(KEY)).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["param"], "limit");

    // CSV, read back with a CSV parser.
    let csv_resp = get(&format!("{}/v1/org/logs?format=csv", gw.url), Some(KEY)).await;
    assert_eq!(csv_resp.status(), 200);
    assert!(csv_resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv_resp.bytes().await.unwrap();
    let mut rd = csv::Reader::from_reader(text.as_ref());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    // Every row of the JSON export is there (and the exports since, which are requests too).
    for r in rows["data"].as_array().unwrap() {
        assert!(recs.iter().any(|c| c[col("id")] == *r["id"].as_str().unwrap()), "{r}");
    }
    assert!(recs.iter().all(|r| &r[col("workspace")] == "ws1"));
    let f_rec = recs.iter().find(|r| r[col("id")] == fb_id).unwrap();
    assert!(
        f_rec[col("fallback_chain")].starts_with("bad/x (bad) 503"),
        "{:?}",
        &f_rec[col("fallback_chain")]
    );
    assert!(f_rec[col("fallback_chain")].contains(" > up/b (up) 200"));
    let formula_rec = recs.iter().find(|r| r[col("status")] == *"404").unwrap();
    assert_eq!(&formula_rec[col("requested_model")], "'=HYPERLINK(\"x\")");

    // The other workspace sees its own row only; the admin listener sees both.
    let theirs = logs(&gw, THIRD_KEY, "").await;
    let ids: Vec<&str> = theirs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other_id.as_str()]);
    let all = get(&format!("{}/admin/logs?format=json&limit=1000", gw.admin), None).await;
    assert_eq!(all.status(), 200);
    let all: Value = all.json().await.unwrap();
    let workspaces: std::collections::BTreeSet<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workspace"].as_str().unwrap())
        .collect();
    assert!(
        workspaces.contains("ws1") && workspaces.contains("ws3"),
        "{workspaces:?}"
    );

    // Offline, from the database file, with the CLI.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([
            "logs",
            "--format",
            "csv",
            "--workspace",
            "ws3",
            "--model",
            "up/b",
            "--config",
        ])
        .arg(gw.config_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut rd = csv::Reader::from_reader(out.stdout.as_slice());
    let cli: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(cli.len(), 1);
    assert_eq!(&cli[0][0], other_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_repeats_replay_wait_and_refuse_another_body() {
    let up = Upstream::start(|_, seen| {
        let model = seen.json()["model"].as_str().unwrap_or("m").to_string();
        Reply::Delay(
            Duration::from_millis(400),
            Box::new(Reply::Json(200, completion(&model, "once"))),
        )
    })
    .await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let send = |key: &'static str, prompt: &'static str| {
        client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .header("Idempotency-Key", key)
            .json(&json!({"model": "up/a", "messages": user_msg(prompt)}))
            .send()
    };
    // The first and a repeat while it is in flight.
    let (a, b) = tokio::join!(send("order-1", "pay"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        send("order-1", "pay").await
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert!(a.headers().get("idempotent-replayed").is_none());
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    let (a_body, b_body) = (a.bytes().await.unwrap(), b.bytes().await.unwrap());
    assert_eq!(a_body, b_body, "the repeat gets the first answer byte for byte");
    assert_eq!(up.count(), 1, "one upstream call");
    // A later repeat, and the same key with another body.
    let c = send("order-1", "pay").await.unwrap();
    assert_eq!(c.headers()["idempotent-replayed"], "true");
    assert_eq!(c.bytes().await.unwrap(), a_body);
    let d = send("order-1", "pay twice").await.unwrap();
    assert_eq!(d.status(), 422);
    let d: Value = d.json().await.unwrap();
    assert_eq!(
        (d["error"]["code"].as_str(), d["error"]["param"].as_str()),
        (Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    // Another workspace's key of the same name is its own request.
    let e = client()
        .post(gw.chat_url())
        .bearer_auth(OTHER_KEY)
        .header("Idempotency-Key", "order-1")
        .json(&json!({"model": "up/b", "messages": user_msg("pay")}))
        .send()
        .await
        .unwrap();
    assert_eq!(e.status(), 200);
    assert!(e.headers().get("idempotent-replayed").is_none());
    assert_eq!(up.count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_shutdown_under_load_loses_no_row() {
    let up = Upstream::start(|_, seen| {
        let model = seen.json()["model"].as_str().unwrap_or("m").to_string();
        Reply::Delay(
            Duration::from_millis(20),
            Box::new(Reply::Json(200, completion(&model, "ok"))),
        )
    })
    .await;
    let cfg = cfg(&up, "").replace("grace_period_seconds: 0", "grace_period_seconds: 1");
    let mut gw = Gateway::start(&cfg, &models());
    let url = gw.chat_url();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (url, answered) = (url.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            for i in 0..400 {
                let r = c
                    .post(&url)
                    .bearer_auth(KEY)
                    .json(&json!({"model": "up/a", "messages": user_msg(&format!("{w}-{i}"))}))
                    .send()
                    .await;
                let Ok(r) = r else { return };
                if r.bytes().await.is_err() {
                    return;
                }
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    gw.signal("TERM");
    for t in tasks {
        let _ = t.await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gw.exited() {
        assert!(std::time::Instant::now() < deadline, "the gateway did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(answered > 16, "the load ran ({answered} answers)");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["logs", "--format", "json", "--limit", "10000", "--db"])
        .arg(gw.dir.path().join("switchyard.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["data"].as_array().unwrap();
    let ok_rows = rows.iter().filter(|r| r["status"] == 200).count();
    assert!(ok_rows >= answered, "{ok_rows} rows for {answered} answered requests");
    assert!(rows.len() <= 16 * 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_can_be_off_or_in_memory_and_bodies_are_logged_only_when_asked() {
    let up = upstream().await;
    // Off: the endpoints that need it say so; preferences answer the YAML defaults and say why.
    let gw = Gateway::start(
        &cfg(
            &up,
            "store:\n  enabled: false\nworkspaces:\n  ws1:\n    default_optimization: cost\n",
        ),
        &models(),
    );
    assert_eq!(
        chat(&gw, json!({"model": "up/a", "messages": user_msg("hi")}))
            .await
            .status(),
        200
    );
    let r = get(&format!("{}/v1/org/logs", gw.url), Some(KEY)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "store_unavailable");
    let p: Value = get(&format!("{}/v1/preferences", gw.url), Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["preferences"]["default_optimization"], "cost");
    assert!(p["storage_error"].as_str().unwrap().contains("defaults"), "{p}");
    assert!(!gw.dir.path().join("switchyard.db").exists(), "no database file");
    drop(gw);

    // In memory, with ws1 logging bodies.
    let gw = Gateway::start(
        &cfg(
            &up,
            "store:\n  path: \":memory:\"\nworkspaces:\n  ws1:\n    content_mode_default: full\n",
        ),
        &models(),
    );
    assert_eq!(
        chat(&gw, json!({"model": "up/a", "messages": user_msg("tell me a secret")}))
            .await
            .status(),
        200
    );
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(THIRD_KEY)
        .json(&json!({"model": "up/a", "messages": user_msg("keep this private")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!gw.dir.path().join("switchyard.db").exists(), "no database file");
    let mine = logs(&gw, KEY, "model=up/a").await;
    let row = &mine["data"][0];
    assert_eq!(row["prompt"], "user: tell me a secret\n");
    assert_eq!(row["answer"], "Hello!");
    let theirs = logs(&gw, THIRD_KEY, "model=up/a").await;
    assert!(theirs["data"][0]["prompt"].is_null(), "ws3 keeps no bodies");
    assert!(theirs["data"][0]["answer"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_idempotent_request_replays_its_stream() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let send = || {
        client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .header("Idempotency-Key", "stream-1")
            .json(&json!({"model": "up/a", "stream": true, "messages": user_msg("stream it")}))
            .send()
    };
    let first = send().await.unwrap();
    assert!(first.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let first = first.bytes().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert!(second.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(second.bytes().await.unwrap(), first);
    let text: String = sse_data(std::str::from_utf8(&first).unwrap())
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "Hello");
    assert_eq!(up.count(), 1);
}
