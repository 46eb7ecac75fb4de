//! Request bodies of every size up to the limit reach the upstream whole, on every attempt. Pingora
//! replays bodies only from a 64 KiB buffer, so the sizes around 64 and 128 KiB are regression tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Length of the chat body with an empty prompt.
fn shell_len() -> usize {
    json!({"model": "up/a", "messages": [{"role": "user", "content": ""}], "fallback": ["up/b"]})
        .to_string()
        .len()
}

/// A chat body of exactly `size` bytes, whose prompt is `size - shell_len()` bytes.
fn body_of(size: usize) -> Vec<u8> {
    let fill = size - shell_len();
    let b = json!({"model": "up/a", "messages": [{"role": "user", "content": "x".repeat(fill)}], "fallback": ["up/b"]})
        .to_string();
    assert_eq!(b.len(), size);
    b.into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_around_the_retry_buffer_reach_every_attempt() {
    // The first attempt of each request fails with 503, so the body must be replayed to the second.
    let up = Upstream::start(|_, s| {
        if s.json()["model"] == "a" {
            Reply::Json(503, json!({"error": {"message": "busy"}}))
        } else {
            Reply::Json(200, completion("b", "ok"))
        }
    })
    .await;
    // Every first attempt fails on purpose: keep the circuit breaker out of this test's way.
    let cfg =
        config("  max_body_bytes: 8388608\n", &provider("up", &up.base(), "")) + "routing:\n  breaker_failures: 1000\n";
    let gw = Gateway::start(&cfg, &(model("up/a", "a", &[]) + &model("up/b", "b", &[])));
    let k = 1024;
    let sizes = [
        1000,
        64 * k - 1,
        64 * k,
        64 * k + 1,
        128 * k - 1,
        128 * k,
        128 * k + 1,
        3 * 1024 * k + 7,
    ];
    for size in sizes {
        let before = up.count();
        let body = body_of(size);
        let r = client()
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "size {size}");
        assert_eq!(r.headers()["x-jt-fallback"], "true");
        let reqs = up.requests();
        assert_eq!(reqs.len() - before, 2, "size {size}: two attempts");
        for (i, s) in reqs[before..].iter().enumerate() {
            let v = s.json();
            assert_eq!(
                v["messages"][0]["content"].as_str().unwrap().len(),
                size - shell_len(),
                "size {size} attempt {i}: the whole prompt arrived"
            );
            assert_eq!(
                s.header("content-length").unwrap().parse::<usize>().unwrap(),
                s.body.len(),
                "size {size} attempt {i}"
            );
            assert_eq!(v["model"], if i == 0 { "a" } else { "b" });
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_bodies_work_when_small_and_get_411_when_large() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let gw = Gateway::start(
        &config("", &provider("up", &up.base(), "")),
        &(model("up/a", "a", &[]) + &model("up/b", "b", &[])),
    );
    let addr = gw.url.trim_start_matches("http://").to_string();
    for (size, expect) in [(2000usize, 200u16), (200 * 1024, 411)] {
        let body = body_of(size);
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        for piece in body.chunks(10_000) {
            s.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await.unwrap();
            s.write_all(piece).await.unwrap();
            s.write_all(b"\r\n").await.unwrap();
        }
        s.write_all(b"0\r\n\r\n").await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(&format!("HTTP/1.1 {expect}")), "size {size}: {text}");
        if expect == 411 {
            assert!(text.contains("\"code\":\"length_required\""), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expect_100_continue_is_answered() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("m", "ok"))).await;
    let gw = Gateway::start(
        &config("", &provider("up", &up.base(), "")),
        &(model("up/a", "a", &[]) + &model("up/b", "b", &[])),
    );
    let addr = gw.url.trim_start_matches("http://").to_string();
    let body = body_of(100_000);
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Like curl: wait for the interim response before sending the body.
    let mut first = [0u8; 25];
    tokio::time::timeout(std::time::Duration::from_secs(5), s.read_exact(&mut first))
        .await
        .expect("no 100 Continue")
        .unwrap();
    assert!(
        first.starts_with(b"HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    s.write_all(&body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("HTTP/1.1 200"), "{text}");
    assert_eq!(up.requests()[0].header("expect"), None);
    let v: Value = up.requests()[0].json();
    assert_eq!(
        v["messages"][0]["content"].as_str().unwrap().len(),
        body.len() - shell_len()
    );
}
