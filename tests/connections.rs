//! Client connections, attacked the slow and the malformed way over raw sockets: idle and slow
//! headers are bounded, a short HTTP/1 request is answered on an h2c listener, protocol errors get
//! the JSON error shape, a stalled body gets its 408, the connection cap holds while the admin
//! listener answers, and none of it floods the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(gw: &Gateway) -> String {
    gw.url.trim_start_matches("http://").to_string()
}

/// Read until the peer closes (or `limit` passes): what arrived and whether it closed.
async fn read_all(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// The status and the JSON body of a raw HTTP/1 response.
fn parse(resp: &str) -> (u16, Value) {
    let status = resp.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn gateway(extra: &str) -> Gateway {
    let cfg = config(extra, "  sim:\n    kind: mock\n");
    Gateway::start(
        &cfg,
        "  - id: sim/a\n    pricing: {input: 1, output: 1}\n    context_window: 1000\n    max_output: 100\n",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_bounded() {
    let gw = gateway("  client_idle_timeout_ms: 500\n  client_header_timeout_ms: 1000\n");
    // Nothing at all: closed after the idle limit.
    let mut idle = TcpStream::connect(addr(&gw)).await.unwrap();
    let t = Instant::now();
    let (got, closed) = read_all(&mut idle, Duration::from_secs(5)).await;
    assert!(closed && got.is_empty(), "{got:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    // A header byte every 200 ms: 408 once the header limit passes, then closed.
    let mut slow = TcpStream::connect(addr(&gw)).await.unwrap();
    let t = Instant::now();
    let header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut answer = String::new();
    for b in header {
        if slow.write_all(&[*b]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
            answer.push_str(&String::from_utf8_lossy(&buf[..n]));
            break;
        }
    }
    let (rest, closed) = read_all(&mut slow, Duration::from_secs(3)).await;
    answer.push_str(&rest);
    let (status, body) = parse(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_eq!(body["error"]["code"], "request_timeout", "{answer}");
    assert!(closed);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    // Neither left an ERROR line behind.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let errors: Vec<String> = gw
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .cloned()
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let m = metrics_with(&gw, "switchyard_client_refused_total{reason=\"request_timeout\"} 1").await;
    assert!(
        m.contains("switchyard_client_refused_total{reason=\"idle_timeout\"} 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_shorter_than_the_h2_preface_is_answered_on_an_h2c_listener() {
    let gw = gateway("  h2c: true\n");
    let mut s = TcpStream::connect(addr(&gw)).await.unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let (got, _) = read_all(&mut s, Duration::from_secs(3)).await;
    let (status, body) = parse(&got);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_endpoint")),
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_errors_get_the_json_error_shape() {
    let gw = gateway("");
    let many: String = (0..300).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "garbage request line",
            b"HELLO THERE\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "invalid content-length",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            400,
            "invalid_content_length",
        ),
        (
            "duplicate content-length",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab"
                .to_vec(),
            400,
            "invalid_content_length",
        ),
        (
            "too many headers",
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(),
            431,
            "too_many_headers",
        ),
        (
            "a 100 KB URL",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            "a 2 MB header",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "b".repeat(2_000_000)
            )
            .into_bytes(),
            431,
            "header_too_large",
        ),
    ];
    for (name, raw, status, code) in cases {
        let mut s = TcpStream::connect(addr(&gw)).await.unwrap();
        // A large header may be refused before it is all written.
        let _ = s.write_all(&raw).await;
        let (got, closed) = read_all(&mut s, Duration::from_secs(5)).await;
        let (st, body) = parse(&got);
        assert_eq!(st, status, "{name}: {got}");
        assert_eq!(body["error"]["code"], code, "{name}: {got}");
        assert_eq!(body["error"]["http_status"], status, "{name}");
        assert!(
            got.to_ascii_lowercase().contains("content-type: application/json"),
            "{name}: {got}"
        );
        assert!(closed, "{name}: the connection is closed after a protocol error");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_small_body_gets_its_408() {
    let gw = gateway("  client_body_timeout_ms: 500\n");
    let mut s = TcpStream::connect(addr(&gw)).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    let (got, closed) = read_all(&mut s, Duration::from_secs(5)).await;
    let (status, body) = parse(&got);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (408, Some("request_timeout")),
        "{got}"
    );
    assert!(closed);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_cap_holds_and_the_admin_listener_answers() {
    let gw = gateway("  max_client_connections: 3\n");
    // Three connections in the middle of a request (half a header): none is waiting for a request.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr(&gw)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(addr(&gw)).await.unwrap();
    let _ = over.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (got, closed) = read_all(&mut over, Duration::from_secs(3)).await;
    let (status, body) = parse(&got);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("too_many_connections")),
        "{got}"
    );
    assert!(closed);
    let admin = client().get(format!("{}/healthz", gw.admin)).send().await.unwrap();
    assert_eq!(
        admin.status(),
        200,
        "the admin listener answers while the client one is full"
    );
    // One finishes its request and waits for the next: a new connection takes its place.
    let mut done = held.pop().unwrap();
    done.write_all(b"Host: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = done.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let ok = client().get(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_eq!(ok.status(), 200, "the connection that waited longest made room");
    let (rest, closed) = read_all(&mut done, Duration::from_secs(3)).await;
    assert!(closed && rest.is_empty(), "the waiting connection was closed: {rest:?}");
    // A connection that goes frees its slot.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = client().get(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_eq!(ok.status(), 200, "a freed slot is usable again");
    let m = metrics_with(&gw, "switchyard_client_refused_total{reason=\"connection_limit\"} 1").await;
    assert!(
        m.contains("switchyard_client_refused_total{reason=\"idle_evicted\"}"),
        "{m}"
    );
}
