//! Bad input gets a clear JSON error with the right status, `code` and `param`, and never reaches
//! an upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    key: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    param: Option<&'static str>,
}

fn case(name: &'static str, body: &[u8], status: u16, code: &'static str, param: Option<&'static str>) -> Case {
    Case {
        name,
        method: "POST",
        path: "/v1/chat/completions",
        key: Some(KEY),
        body: body.to_vec(),
        status,
        code,
        param,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_request_gets_the_error_shape() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let cfg = config("  max_body_bytes: 4096\n", &provider("up", &up.base(), ""));
    let gw = Gateway::start(&cfg, &(model("up/a", "a", &["a"]) + &model("up/b", "b", &[])));
    let ok_msgs = r#""messages":[{"role":"user","content":"hi"}]"#;
    let cases = vec![
        case(
            "malformed json",
            br#"{"model": "a", "messages": ["#,
            400,
            "invalid_json",
            None,
        ),
        case("empty body", b"", 400, "invalid_json", None),
        case("not an object", b"[1,2]", 400, "invalid_json", None),
        case(
            "invalid utf-8",
            b"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}",
            400,
            "invalid_json",
            None,
        ),
        case(
            "missing messages",
            br#"{"model":"a"}"#,
            400,
            "missing_field",
            Some("messages"),
        ),
        case(
            "missing model",
            format!("{{{ok_msgs}}}").as_bytes(),
            400,
            "missing_field",
            Some("model"),
        ),
        case(
            "model wrong type",
            format!("{{\"model\":7,{ok_msgs}}}").as_bytes(),
            400,
            "invalid_type",
            Some("model"),
        ),
        case(
            "messages wrong type",
            br#"{"model":"a","messages":"hi"}"#,
            400,
            "invalid_type",
            Some("messages"),
        ),
        case(
            "content wrong type",
            br#"{"model":"a","messages":[{"role":"user","content":5}]}"#,
            400,
            "invalid_type",
            Some("messages[0].content"),
        ),
        case(
            "unknown role",
            br#"{"model":"a","messages":[{"role":"boss","content":"x"}]}"#,
            400,
            "invalid_type",
            Some("messages[0].role"),
        ),
        case(
            "empty messages",
            br#"{"model":"a","messages":[]}"#,
            400,
            "invalid_request",
            Some("messages"),
        ),
        case(
            "temperature range",
            format!("{{\"model\":\"a\",{ok_msgs},\"temperature\":3}}").as_bytes(),
            400,
            "invalid_request",
            Some("temperature"),
        ),
        case(
            "max_tokens type",
            format!("{{\"model\":\"a\",{ok_msgs},\"max_tokens\":\"many\"}}").as_bytes(),
            400,
            "invalid_type",
            Some("max_tokens"),
        ),
        case(
            "stream type",
            format!("{{\"model\":\"a\",{ok_msgs},\"stream\":\"yes\"}}").as_bytes(),
            400,
            "invalid_type",
            Some("stream"),
        ),
        case(
            "tool message without id",
            br#"{"model":"a","messages":[{"role":"tool","content":"4"}]}"#,
            400,
            "invalid_request",
            Some("messages[0].tool_call_id"),
        ),
        case(
            "unknown model",
            format!("{{\"model\":\"nope/x\",{ok_msgs}}}").as_bytes(),
            404,
            "model_not_found",
            Some("model"),
        ),
        case(
            "unknown fallback",
            format!("{{\"model\":\"a\",\"fallback\":[\"zzz\"],{ok_msgs}}}").as_bytes(),
            404,
            "model_not_found",
            Some("fallback"),
        ),
        case("oversized body", &[b' '; 5000], 413, "request_too_large", None),
        Case {
            key: None,
            ..case(
                "missing key",
                format!("{{\"model\":\"a\",{ok_msgs}}}").as_bytes(),
                401,
                "missing_api_key",
                None,
            )
        },
        Case {
            key: Some("sy_live_wrongwrongwrong"),
            ..case(
                "bad key",
                format!("{{\"model\":\"a\",{ok_msgs}}}").as_bytes(),
                401,
                "invalid_api_key",
                None,
            )
        },
        Case {
            key: Some(OTHER_KEY),
            ..case(
                "model out of scope",
                format!("{{\"model\":\"a\",{ok_msgs}}}").as_bytes(),
                403,
                "model_not_allowed",
                Some("model"),
            )
        },
        Case {
            path: "/v1/nothing",
            ..case("unknown endpoint", b"{}", 404, "unknown_endpoint", None)
        },
        Case {
            method: "GET",
            ..case("wrong method", b"", 405, "method_not_allowed", None)
        },
        Case {
            method: "GET",
            path: "/v1/models",
            key: Some(OTHER_KEY),
            ..case("endpoint out of scope", b"", 403, "scope_denied", None)
        },
    ];
    let c = client();
    for k in &cases {
        let mut req = c
            .request(k.method.parse().unwrap(), format!("{}{}", gw.url, k.path))
            .header("content-type", "application/json")
            .body(k.body.clone());
        if let Some(key) = k.key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let rid = resp
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: body is not JSON: {text:?}", k.name));
        assert_eq!(status, k.status, "{}: {text}", k.name);
        assert_eq!(ctype.as_deref(), Some("application/json"), "{}", k.name);
        let e = &v["error"];
        assert_eq!(e["code"], k.code, "{}: {text}", k.name);
        assert_eq!(e["http_status"], k.status, "{}", k.name);
        assert_eq!(e["param"].as_str(), k.param, "{}: {text}", k.name);
        assert!(
            e["type"].is_string() && e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            k.name
        );
        assert_eq!(e["request_id"].as_str(), rid.as_deref(), "{}", k.name);
        assert!(e["rule_trace"].is_array(), "{}", k.name);
    }
    assert_eq!(up.count(), 0, "no bad request may reach the upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn x_api_key_header_is_accepted() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let gw = Gateway::start(&config("", &provider("up", &up.base(), "")), &model("up/a", "a", &[]));
    let r = client()
        .post(gw.chat_url())
        .header("x-api-key", KEY)
        .json(&serde_json::json!({"model": "up/a", "messages": user_msg("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        up.requests()[0].header("x-api-key").is_none(),
        "the client's key is not forwarded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_without_key_is_listed_but_refuses_with_503() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let providers = format!(
        "  nokey:\n    kind: openai_compatible\n    base_url: {}\n    api_key_env: SWITCHYARD_TEST_UNSET_VARIABLE\n",
        up.base()
    );
    let gw = Gateway::start(&config("", &providers), &model("nokey/m", "m", &[]));
    let r = chat(&gw, serde_json::json!({"model": "nokey/m", "messages": user_msg("x")})).await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "provider_unavailable");
    assert_eq!(v["error"]["provider"], "nokey");
    let list: Value = get_json(&gw, "/v1/models").await;
    assert_eq!(list["data"][0]["available"], false);
    assert_eq!(up.count(), 0);
}
