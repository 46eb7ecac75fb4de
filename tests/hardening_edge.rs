//! What a hostile client can do at the edge, performed against the real gateway on loopback, each
//! bounded in count and time: a flood of bare connections, a refusal that waits for a body, declared
//! lengths that reserve memory, bodies held in flight, the admin listener from a browser, and
//! password guessing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

fn sim_gateway(server_extra: &str) -> Gateway {
    Gateway::start(
        &config(server_extra, "  sim:\n    kind: mock\n"),
        &model("sim/a", "a", &[]),
    )
}

/// Virtual and resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmSize:"), field("VmRSS:"))
}

/// Read until the peer closes or `limit` passes: what arrived, when the first byte did, and whether
/// (and when) it closed.
async fn read_all(s: &mut TcpStream, limit: Duration) -> (String, Option<Duration>, Option<Duration>) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut first = None;
    let mut buf = [0u8; 8192];
    loop {
        let left = limit.saturating_sub(t.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), first, Some(t.elapsed())),
            Ok(Ok(n)) => {
                first.get_or_insert(t.elapsed());
                out.extend_from_slice(&buf[..n]);
            }
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), first, None),
        }
    }
}

fn status_and_json(resp: &str) -> (u16, Value) {
    let status = resp.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_bare_connections_neither_exhausts_files_nor_locks_clients_out() {
    // The gateway may open 4,096 files; the default cap is three quarters of that. The attack opens
    // two and a half times as many connections and sends nothing on them.
    let gw = Gateway::start_with_nofile(&config("", "  sim:\n    kind: mock\n"), &model("sim/a", "a", &[]), 4096);
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: hard,
            maximum: hard,
        },
    );
    let t = Instant::now();
    let mut held = Vec::new();
    for i in 0..10_000 {
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr(&gw.url))).await {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
        if i % 250 == 249 {
            // Bursts of 250: as fast as a client loop goes, with a breath for a loaded test machine.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(held.len() >= 9_000, "only {} connections opened", held.len());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The admin listener answers, and so does the client one, on fresh connections.
    let admin = client().get(format!("{}/healthz", gw.admin)).send().await.unwrap();
    assert_eq!(admin.status(), 200);
    let ok = client().get(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_eq!(
        ok.status(),
        200,
        "a new client gets in: the longest-waiting bare connection made room"
    );
    let m = metrics_with(&gw, "switchyard_client_refused_total{reason=\"idle_evicted\"}").await;
    let evicted: f64 = m
        .lines()
        .find(|l| l.starts_with("switchyard_client_refused_total{reason=\"idle_evicted\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(evicted >= 6_000.0, "{evicted} evicted");
    let open: f64 = m
        .lines()
        .find(|l| l.starts_with("switchyard_client_connections "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        open <= 3072.0 + 64.0,
        "{open} client connections open, over the cap of 3,072"
    );
    let out_of_files: Vec<String> = gw
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("Too many open files"))
        .take(3)
        .cloned()
        .collect();
    assert!(
        out_of_files.is_empty(),
        "the gateway ran out of files: {out_of_files:#?}"
    );
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    eprintln!(
        "{} connections, {evicted} evicted, {open} open, in {:?}",
        held.len(),
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_a_key_is_refused_on_its_headers_without_waiting_for_its_body() {
    let gw = sim_gateway("");
    for declared in [1_000u64, 5_000_000] {
        let mut s = TcpStream::connect(addr(&gw.url)).await.unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let (got, first, closed) = read_all(&mut s, Duration::from_secs(10)).await;
        let (status, body) = status_and_json(&got);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("missing_api_key")),
            "{got}"
        );
        assert!(first.unwrap() < Duration::from_millis(500), "401 after {first:?}");
        let closed = closed.expect("the connection is closed");
        assert!(
            closed < Duration::from_millis(800),
            "closed after {closed:?} (declared {declared})"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_lengths_reserve_nothing_up_front() {
    let gw = sim_gateway("");
    // Warm up first (runtime threads, allocator arenas, HTTP/2 sessions), so the baseline is steady.
    let warm = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    for _ in 0..20 {
        let body = json!({"model": "sim/a", "messages": user_msg("hi")});
        let _ = warm
            .post(gw.chat_url())
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (vm_before, rss_before) = memory_kib(gw.pid());
    // 400 HTTP/2 streams over 4 connections, each declaring 8 MiB and sending 1 KiB.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
        for _ in 0..100 {
            let (c, url) = (c.clone(), gw.chat_url());
            tasks.push(tokio::spawn(async move {
                let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 1024]))])
                    .chain(futures_util::stream::pending());
                let _ = c
                    .post(url)
                    .bearer_auth(KEY)
                    .header("content-type", "application/json")
                    .header("content-length", (8u64 << 20).to_string())
                    .body(reqwest::Body::wrap_stream(body))
                    .send()
                    .await;
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (vm_during, rss_during) = memory_kib(gw.pid());
    let m = metrics_with(&gw, "switchyard_in_flight_requests 400").await;
    assert!(
        m.contains("switchyard_in_flight_requests 400"),
        "all streams are in: {m}"
    );
    for t in &tasks {
        t.abort();
    }
    eprintln!(
        "400 streams declaring 8 MiB: VmSize {vm_before} -> {vm_during} KiB, RSS {rss_before} -> {rss_during} KiB"
    );
    // Reserving the declared length would map 3.2 GiB.
    assert!(
        vm_during < vm_before + 256 * 1024,
        "VmSize {vm_before} -> {vm_during} KiB"
    );
    assert!(
        rss_during < rss_before + 128 * 1024,
        "RSS {rss_before} -> {rss_during} KiB"
    );
}

use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn request_bytes_in_flight_are_bounded_across_the_gateway() {
    let gw = sim_gateway("  max_body_bytes: 1048576\n  max_body_bytes_in_flight: 2097152\n");
    let start = |n: usize| {
        let url = gw.url.clone();
        async move {
            let mut s = TcpStream::connect(addr(&url)).await.unwrap();
            let head = format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let _ = s.write_all(&vec![b' '; n]).await;
            s
        }
    };
    let a = start(900_000).await;
    let b = start(900_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = metrics_with(&gw, "switchyard_request_body_bytes_in_flight 1800000").await;
    assert!(m.contains("switchyard_request_body_bytes_in_flight 1800000"), "{m}");
    let mut c = start(900_000).await;
    let (got, _, _) = read_all(&mut c, Duration::from_secs(5)).await;
    let (status, body) = status_and_json(&got);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("too_many_request_bytes")),
        "{got}"
    );
    assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got}");
    // Freed when the holders go.
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(300)).await;
    metrics_with(&gw, "switchyard_request_body_bytes_in_flight 0").await;
    let r = client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&json!({"model": "sim/a", "messages": user_msg("hi")}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 503);
}

async fn admin_post(gw: &Gateway, headers: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = client().post(format!("{}/admin/reload", gw.admin));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap();
    let (status, h) = (r.status().as_u16(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), h)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_listener_refuses_browsers_and_needs_its_token() {
    let gw = sim_gateway("");
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let (s, v, _) = admin_post(&gw, &[]).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("invalid_admin_token")),
        "{v}"
    );
    let (s, v, _) = admin_post(&gw, &[("authorization", "Bearer not-the-admin-token-at-all")]).await;
    assert_eq!(s, 401, "{v}");
    // What a web page can send: a simple cross-origin POST, even with a stolen token.
    for origin in ["https://evil.example", "null"] {
        let (s, v, _) = admin_post(
            &gw,
            &[
                ("origin", origin),
                ("content-type", "text/plain"),
                ("authorization", &bearer),
            ],
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("browser_request_refused")),
            "{v}"
        );
    }
    let (s, v, _) = admin_post(&gw, &[("sec-fetch-site", "cross-site"), ("authorization", &bearer)]).await;
    assert_eq!(s, 403, "{v}");
    // DNS rebinding: a name as Host, without the token.
    let (s, v, _) = admin_post(&gw, &[("host", "rebind.evil.example")]).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("host_refused")), "{v}");
    // The operator, with the token: one reload a second.
    let t = Instant::now();
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..50 {
        let (s, v, h) = admin_post(&gw, &[("authorization", &bearer)]).await;
        match s {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(v["error"]["code"], "reload_rate_limited");
                assert!(h.contains_key("retry-after"));
            }
            other => panic!("{other}: {v}"),
        }
    }
    let secs = t.elapsed().as_secs() + 1;
    assert!(ok >= 1 && ok as u64 <= secs, "{ok} reloads went through in {secs} s");
    assert_eq!(ok + limited, 50);
    // Metrics need the token too, unless the config opens them.
    let r = client().get(format!("{}/metrics", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let m = metrics_with(&gw, "switchyard_admin_refused_total{reason=\"origin\"} 3").await;
    assert!(m.contains("switchyard_admin_refused_total{reason=\"origin\"} 3"), "{m}");
    assert!(
        m.contains(&format!("switchyard_config_reloads_total{{result=\"ok\"}} {ok}")),
        "{m}"
    );
    let health = client().get(format!("{}/healthz", gw.admin)).send().await.unwrap();
    assert_eq!(health.status(), 200, "liveness needs no token");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_configured_token_nothing_mutates_and_metrics_open_only_when_configured() {
    let cfg = config("  metrics_open: true\n", "  sim:\n    kind: mock\n")
        .replace(&format!("  admin_token: {ADMIN_TOKEN}\n"), "");
    let gw = Gateway::start(&cfg, &model("sim/a", "a", &[]));
    let (s, v, _) = admin_post(&gw, &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))]).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("admin_token_not_configured")),
        "{v}"
    );
    let r = client().get(format!("{}/metrics", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), 200, "metrics_open: true");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_authentication_is_throttled_per_address_and_its_log_lines_sampled() {
    let gw = sim_gateway("  max_auth_failures_per_minute: 20\n");
    let guesser = client();
    let t = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    let mut retry_after = None;
    for i in 0..300 {
        let r = guesser
            .get(format!("{}/v1/models", gw.url))
            .bearer_auth(format!("sy_live_guess{i:032}"))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        if s == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "auth_throttled");
        }
        *statuses.entry(s).or_insert(0) += 1;
    }
    let elapsed = t.elapsed();
    assert_eq!(statuses.get(&401), Some(&20), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&280), "{statuses:?}");
    assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)), "{retry_after:?}");
    // The right key from the same address waits too; another address is not affected.
    let r = client()
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let r = elsewhere
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The log got a sample of the failures, not one line each.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged = gw
        .access_lines()
        .iter()
        .filter(|l| l["status"] == 401 || l["status"] == 429)
        .count();
    let bound = 10 * (elapsed.as_secs() as usize + 2);
    assert!(
        logged <= bound && logged < 300,
        "{logged} lines for 301 refusals in {elapsed:?}"
    );
    metrics_with(&gw, "switchyard_access_log_sampled_out_total").await;
    metrics_with(&gw, "switchyard_auth_throttled_total{event=\"throttled\"} 1").await;
}
