//! Keys at runtime over real sockets: the admin API (401 without the admin token; create shows the
//! secret once, list never), rotation with a grace window, revocation on the next request, YAML keys
//! read-only, counters that survive rotation, keys and last use that survive a restart, and the
//! offline `switchyard keys` commands on the database file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::state::*;
use common::*;
use serde_json::{json, Value};

async fn admin(gw: &Gateway, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = client()
        .request(method, format!("{}{path}", gw.admin))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn chat_with(gw: &Gateway, key: &str) -> reqwest::Response {
    client()
        .post(gw.chat_url())
        .bearer_auth(key)
        .json(&json!({"model": "up/a", "messages": user_msg("hi")}))
        .send()
        .await
        .unwrap()
}

async fn code_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"]["code"].as_str().unwrap_or("").to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_api_creates_lists_rotates_and_revokes_keys() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());

    // Without the admin token: 401, for reads too.
    for (m, body) in [
        (reqwest::Method::GET, None),
        (reqwest::Method::POST, Some(json!({"name": "x", "workspace": "w"}))),
    ] {
        let mut r = client().request(m, format!("{}/admin/keys", gw.admin));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    let (status, created) = admin(
        &gw,
        reqwest::Method::POST,
        "/admin/keys",
        Some(json!({"name": "app", "workspace": "ws9", "scopes": {"endpoints": ["inference", "catalog"]}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sy_live_") && id.starts_with("key_"));
    assert_eq!(created["prefix"], json!(&secret[..12]));

    // The list: YAML keys read-only, the new key without its secret or hash.
    let (status, list) = admin(&gw, reqwest::Method::GET, "/admin/keys", None).await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains(&secret), "the list shows a secret");
    assert!(!text.contains(&hash(&secret)[7..]), "the list shows a hash");
    let rows = list["data"].as_array().unwrap();
    let tester = rows.iter().find(|k| k["name"] == "tester").unwrap();
    assert_eq!(
        (tester["source"].as_str(), tester["read_only"].as_bool()),
        (Some("config"), Some(true))
    );
    let app = rows.iter().find(|k| k["name"] == "app").unwrap();
    assert_eq!(app["workspace"], "ws9");
    assert_eq!(app["scopes"]["endpoints"], json!(["inference", "catalog"]));
    assert!(app["last_used_at"].is_null());

    // YAML keys cannot be changed through the API.
    let (status, v) = admin(&gw, reqwest::Method::POST, "/admin/keys/tester/revoke", None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("read_only_key")));
    let (status, _) = admin(
        &gw,
        reqwest::Method::POST,
        "/admin/keys",
        Some(json!({"name": "tester", "workspace": "w"})),
    )
    .await;
    assert_eq!(status, 409, "a YAML key's name is taken");

    // The key works, and its use is recorded.
    assert_eq!(chat_with(&gw, &secret).await.status(), 200);
    let (_, one) = admin(&gw, reqwest::Method::GET, &format!("/admin/keys/{id}"), None).await;
    assert!(one["last_used_at"].as_i64().unwrap() > 1_700_000_000, "{one}");
    // Its scopes hold: no logs scope.
    let r = get(&format!("{}/v1/org/logs", gw.url), Some(&secret)).await;
    assert_eq!(r.status(), 403);

    // Rotation: the new secret works at once, the old one for the grace window only.
    let (status, rotated) = admin(
        &gw,
        reqwest::Method::POST,
        &format!("/admin/keys/{id}/rotate"),
        Some(json!({"grace_seconds": 2})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["id"], json!(id), "rotation keeps the identity");
    assert_eq!(chat_with(&gw, &new_secret).await.status(), 200);
    assert_eq!(chat_with(&gw, &secret).await.status(), 200, "inside the grace window");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        code_of(chat_with(&gw, &secret).await).await,
        (401, "invalid_api_key".into())
    );
    assert_eq!(chat_with(&gw, &new_secret).await.status(), 200);

    // Update scopes: now the logs are allowed.
    let (status, _) = admin(
        &gw,
        reqwest::Method::PATCH,
        "/admin/keys/app",
        Some(json!({"scopes": {"endpoints": ["*"]}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&format!("{}/v1/org/logs", gw.url), Some(&new_secret))
            .await
            .status(),
        200
    );
    let (status, v) = admin(
        &gw,
        reqwest::Method::PATCH,
        "/admin/keys/app",
        Some(json!({"scopes": {"endpoints": ["all"]}})),
    )
    .await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_request")));

    // Revocation: the very next request is refused.
    let (status, _) = admin(&gw, reqwest::Method::POST, &format!("/admin/keys/{id}/revoke"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        code_of(chat_with(&gw, &new_secret).await).await,
        (401, "revoked_api_key".into())
    );
    let (status, _) = admin(&gw, reqwest::Method::GET, "/admin/keys/nope", None).await;
    assert_eq!(status, 404);

    // The secrets never reach the logs.
    let logs = gw.logs.lock().unwrap().join("\n");
    assert!(!logs.contains(&secret) && !logs.contains(&new_secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_survive_rotation_and_keys_survive_a_restart() {
    let up = upstream().await;
    let gw = Gateway::start(&cfg(&up, ""), &models());
    let (_, created) = admin(
        &gw,
        reqwest::Method::POST,
        "/admin/keys",
        Some(json!({"name": "limited", "workspace": "ws9", "limits": {"requests_per_minute": 3}})),
    )
    .await;
    let secret = created["key"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_eq!(chat_with(&gw, &secret).await.status(), 200);
    }
    let (_, rotated) = admin(&gw, reqwest::Method::POST, "/admin/keys/limited/rotate", None).await;
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    assert_eq!(
        code_of(chat_with(&gw, &secret).await).await.0,
        401,
        "no grace window asked"
    );
    assert_eq!(chat_with(&gw, &new_secret).await.status(), 200, "the third of three");
    assert_eq!(
        code_of(chat_with(&gw, &new_secret).await).await,
        (429, "rate_limited".into()),
        "the counter belongs to the key, not its secret"
    );

    let dir = restart(gw);
    let gw = Gateway::start_in(dir, &[]);
    let (_, one) = admin(&gw, reqwest::Method::GET, "/admin/keys/limited", None).await;
    assert!(
        one["last_used_at"].as_i64().is_some(),
        "last use checkpointed at exit: {one}"
    );
    assert_eq!(one["limits"]["requests_per_minute"], 3);
    assert_eq!(
        chat_with(&gw, &new_secret).await.status(),
        200,
        "the key survives a restart"
    );
    assert_eq!(code_of(chat_with(&gw, &secret).await).await.0, 401);
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_manages_keys_offline_and_a_reload_takes_them() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("switchyard.yaml"), cfg(&up, "")).unwrap();
    std::fs::write(dir.path().join("models.yaml"), format!("models:\n{}", models())).unwrap();
    let config = dir.path().join("switchyard.yaml");
    let config = config.to_str().unwrap();
    let (ok, out, err) = cli(&[
        "keys",
        "create",
        "--config",
        config,
        "--name",
        "batch",
        "--workspace",
        "ws7",
        "--scopes",
        "inference",
        "--requests-per-minute",
        "100",
    ]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let secret = created["key"].as_str().unwrap().to_string();
    assert!(dir.path().join("switchyard.db").exists(), "the config's store.path");
    let (ok, out, _) = cli(&["keys", "list", "--config", config]);
    assert!(ok && out.contains("\"batch\"") && !out.contains(&secret));
    let (ok, _, err) = cli(&[
        "keys",
        "create",
        "--config",
        config,
        "--name",
        "tester",
        "--workspace",
        "w",
    ]);
    assert!(!ok && err.contains("key_name_taken"), "{err}");

    let gw = Gateway::start_in(dir, &[]);
    assert_eq!(chat_with(&gw, &secret).await.status(), 200);
    let db = gw.dir.path().join("switchyard.db");
    let (ok, out, err) = cli(&[
        "keys",
        "rotate",
        "batch",
        "--db",
        db.to_str().unwrap(),
        "--grace-seconds",
        "600",
    ]);
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    let (ok, _, err) = cli(&["keys", "revoke", "batch", "--db", db.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(chat_with(&gw, &secret).await.status(), 200, "not taken before a reload");
    let r = client()
        .post(format!("{}/admin/reload", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        code_of(chat_with(&gw, &secret).await).await,
        (401, "revoked_api_key".into())
    );
    assert_eq!(
        code_of(chat_with(&gw, &new_secret).await).await,
        (401, "revoked_api_key".into())
    );
}
