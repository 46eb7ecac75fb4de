//! Upstream failures: error statuses mapped to the public shape, timeouts, resets, refused
//! connections, and the caller's fallback chain at the proxy layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

async fn one(reply: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static, extra: &str) -> (Upstream, Gateway) {
    let up = Upstream::start(reply).await;
    let gw = Gateway::start(
        &config("", &provider("up", &up.base(), extra)),
        &(model("up/a", "a", &[]) + &model("up/b", "b", &[])),
    );
    (up, gw)
}

async fn error_of(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let v: Value = r.json().await.unwrap();
    (status, h, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_error_statuses_map_to_the_contract() {
    let cases: Vec<(u16, u16, &str)> = vec![
        (500, 502, "upstream_error"),
        (503, 502, "upstream_error"),
        (400, 400, "upstream_rejected_request"),
        (401, 502, "provider_auth_failed"),
        (403, 502, "provider_auth_failed"),
        (404, 502, "upstream_error"),
        (429, 429, "upstream_rate_limited"),
    ];
    for (up_status, status, code) in cases {
        let (up, gw) = one(
            move |_, _| {
                Reply::JsonWith(
                    up_status,
                    json!({"error": {"message": format!("boom {up_status}"), "type": "x"}}),
                    vec![("retry-after", "7".into())],
                )
            },
            "",
        )
        .await;
        let (s, h, v) = error_of(chat(&gw, json!({"model": "up/a", "messages": user_msg("x")})).await).await;
        assert_eq!(s, status, "upstream {up_status}: {v}");
        assert_eq!(v["error"]["code"], code, "upstream {up_status}");
        assert_eq!(v["error"]["provider"], "up");
        assert_eq!(v["error"]["http_status"], status);
        // A refused credential is the operator's business: the provider's words go to the log only.
        let passed_on = !matches!(up_status, 401 | 403);
        assert_eq!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("boom {up_status}")),
            passed_on,
            "{v}"
        );
        assert_eq!(
            h.get("retry-after").map(|v| v.to_str().unwrap()),
            if up_status == 429 { Some("7") } else { None }
        );
        assert_eq!(up.count(), 1, "no fallback without a second candidate");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_request_with_upstream_error_gets_a_json_error() {
    let (_up, gw) = one(|_, _| Reply::Json(500, json!({"error": {"message": "down"}})), "").await;
    let (s, h, v) =
        error_of(chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await).await;
    assert_eq!(s, 502);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(v["error"]["code"], "upstream_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_upstream_times_out_with_504() {
    let (_up, gw) = one(|_, _| Reply::Hang, "    read_timeout_ms: 400\n").await;
    let t = Instant::now();
    let (s, _, v) = error_of(chat(&gw, json!({"model": "up/a", "messages": user_msg("x")})).await).await;
    assert_eq!(s, 504, "{v}");
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert_eq!(v["error"]["provider"], "up");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_connection_and_unresolvable_host_give_502() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let providers = provider("closed", &format!("http://127.0.0.1:{port}/v1"), "")
        + &provider("nxdomain", "http://no-such-host.invalid/v1", "");
    let gw = Gateway::start(
        &config("", &providers),
        &(model("closed/m", "m", &[]) + &model("nxdomain/m", "m", &[])),
    );
    for m in ["closed/m", "nxdomain/m"] {
        let t = Instant::now();
        let (s, _, v) = error_of(chat(&gw, json!({"model": m, "messages": user_msg("x")})).await).await;
        assert_eq!(s, 502, "{m}: {v}");
        assert_eq!(v["error"]["code"], "upstream_unreachable", "{m}");
        assert_eq!(v["error"]["provider"], m.split('/').next().unwrap());
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_cut_off_ends_with_an_in_band_error_and_no_done() {
    let ev = stream_events("a", &["one ", "two ", "three"]);
    let (_up, gw) = one(move |_, _| Reply::ResetAfter(ev[..3].to_vec()), "").await;
    let r = chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await;
    assert_eq!(r.status(), 200);
    let body = r
        .text()
        .await
        .unwrap_or_else(|e| panic!("the stream must end cleanly with an error event: {e}"));
    let data = sse_data(&body);
    assert!(!data.iter().any(|d| d == "[DONE]"), "no fake [DONE]: {body}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_unreachable", "{body}");
    assert_eq!(last["error"]["provider"], "up");
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "one two ", "what streamed before the break was delivered");
    let line = gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    assert!(line.contains("\"truncated\":true"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_stalls_ends_with_an_in_band_timeout() {
    let ev = stream_events("a", &["one ", "two "]);
    let (_up, gw) = one(
        move |_, _| Reply::Sse(ev.clone(), Duration::from_millis(1500)),
        "    read_timeout_ms: 500\n",
    )
    .await;
    let r = chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let data = sse_data(&body);
    assert!(!data.iter().any(|d| d == "[DONE]"), "{body}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_timeout", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callers_fallback_chain_is_tried_in_order_and_billing_follows_the_answer() {
    let (up, gw) = one(
        |_, s| {
            if s.json()["model"] == "a" {
                Reply::Json(500, json!({"error": {"message": "a is down"}}))
            } else {
                Reply::Json(200, completion("b", "from b"))
            }
        },
        "",
    )
    .await;
    let r = chat(
        &gw,
        json!({"model": "up/a", "fallback": ["up/b"], "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-jt-fallback"], "true");
    assert_eq!(r.headers()["x-routed-model"], "up/b");
    assert_eq!(r.headers()["x-jt-model"], "up/b");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "up/b");
    assert_eq!(v["choices"][0]["message"]["content"], "from b");
    let attempts = v["router"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (attempts[0]["model"].as_str(), attempts[0]["status"].as_u64()),
        (Some("up/a"), Some(500))
    );
    assert_eq!(
        (attempts[1]["model"].as_str(), attempts[1]["status"].as_u64()),
        (Some("up/b"), Some(200))
    );
    assert_eq!(v["router"]["fallback"], true);
    assert_eq!(up.count(), 2);
    let m = metrics_with(&gw, "switchyard_spend_nanodollars_total{model=\"up/b\"}").await;
    assert!(
        m.contains("switchyard_fallbacks_total{provider=\"up\",reason=\"500\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("switchyard_spend_nanodollars_total{model=\"up/b\"}"),
        "billing follows the model that answered"
    );
    assert!(!m.contains("switchyard_spend_nanodollars_total{model=\"up/a\"}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_failure_falls_back_to_the_next_candidate() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("b", "ok"))).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let providers = provider("closed", &format!("http://127.0.0.1:{port}/v1"), "") + &provider("up", &up.base(), "");
    let gw = Gateway::start(
        &config("", &providers),
        &(model("closed/m", "m", &[]) + &model("up/b", "b", &[])),
    );
    let r = chat(
        &gw,
        json!({"model": "closed/m", "fallback": ["up/b"], "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["router"]["attempts"][0]["status"], Value::Null);
    assert!(
        v["router"]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{v}"
    );
    assert_eq!(v["model"], "up/b");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_200_answer_is_not_passed_off_as_a_completion() {
    let (_up, gw) = one(|_, _| Reply::Text(200, "text/html", "<html>login</html>".into()), "").await;
    let r = chat(&gw, json!({"model": "up/a", "messages": user_msg("x")})).await;
    // If Pingora saw the body before writing the headers, the client gets a clean 502; if the
    // headers went out first, the body is cut off. Either way it is never taken for an answer.
    match r.status().as_u16() {
        502 => {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "upstream_invalid_response");
        }
        200 => assert!(r.bytes().await.is_err(), "a 200 must be cut off, not completed"),
        s => panic!("unexpected status {s}"),
    }
    let line = gw.wait_log(5, |l| l.contains("\"target\":\"access\""));
    assert!(line.contains("upstream_invalid_response"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_that_failed_everywhere_bills_nothing() {
    let (_up, gw) = one(|_, _| Reply::Json(502, json!({"error": {"message": "down"}})), "").await;
    let r = chat(
        &gw,
        json!({"model": "up/a", "fallback": ["up/b"], "messages": user_msg("x")}),
    )
    .await;
    let (status, h, v) = error_of(r).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "all_candidates_failed");
    assert_eq!(h["x-jt-cost-usd"], "0", "nothing was billed");
    assert_eq!(h["x-jt-cost-basis"], "actual");
    // A lone candidate's error too.
    let r = chat(&gw, json!({"model": "up/a", "messages": user_msg("x")})).await;
    let (status, h, _) = error_of(r).await;
    assert_eq!(status, 502);
    assert_eq!(h["x-jt-cost-usd"], "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lone_streams_first_event_error_is_a_json_error() {
    let (_up, gw) = one(
        |_, _| {
            Reply::Sse(
                vec![json!({"error": {"message": "overloaded", "type": "server_error"}}).to_string()],
                Duration::from_millis(0),
            )
        },
        "",
    )
    .await;
    let r = chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await;
    assert_eq!(r.status(), 502, "nothing was sent yet, so the error has its own status");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_stream_error", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("overloaded"), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_streams_teach_the_generation_speed() {
    let words = ["a ", "b ", "c ", "d "];
    let (_up, gw) = one(
        move |_, s| {
            if s.json()["stream"] == true {
                Reply::Sse(stream_events("a", &words), Duration::from_millis(30))
            } else {
                Reply::Json(200, completion("a", "whole answer"))
            }
        },
        "",
    )
    .await;
    for _ in 0..3 {
        let r = chat(&gw, json!({"model": "up/a", "messages": user_msg("x")})).await;
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h: Value = get_json(&gw, "/v1/model-health?models=up/a").await;
    let tps = &h["data"][0]["tokens_per_second"];
    assert!(
        tps.is_null() || tps.as_f64() == Some(0.0),
        "whole answers have no pace: {h}"
    );
    let r = chat(&gw, json!({"model": "up/a", "stream": true, "messages": user_msg("x")})).await;
    r.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h: Value = get_json(&gw, "/v1/model-health?models=up/a").await;
    let tps = h["data"][0]["tokens_per_second"].as_f64().unwrap_or(0.0);
    assert!(tps > 0.0 && tps < 10_000.0, "a paced stream's rate: {h}");
}
