//! Pingora's graceful upgrade: a new process started with `--upgrade` takes over the listening
//! sockets when the old one gets SIGQUIT; the old one finishes its in-flight streams and exits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrade_hands_over_listeners_without_dropping_streams() {
    let words = ["a ", "b ", "c ", "d ", "e ", "f ", "g"];
    let up = Upstream::start(move |_, s| {
        if s.json()["stream"] == true {
            Reply::Sse(stream_events("a", &words), Duration::from_millis(200))
        } else {
            Reply::Json(200, completion("a", "ok"))
        }
    })
    .await;
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("upgrade.sock");
    let write = || {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("", &provider("up", &up.base(), ""))
            .replace("upgrade_sock: /tmp/", "upgrade_sock_unused: /tmp/")
            .replace(
                "  grace_period_seconds: 0\n",
                &format!("  grace_period_seconds: 2\n  upgrade_sock: {}\n", sock.display()),
            );
        let cfg = cfg
            .lines()
            .filter(|l| !l.contains("upgrade_sock_unused"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
        std::fs::write(
            dir.path().join("models.yaml"),
            format!("models:\n{}", model("up/a", "a", &[])),
        )
        .unwrap();
        dir
    };
    let (port, admin) = (free_port(), free_port());
    let (listen, admin_listen) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{admin}"));
    let mut old = Gateway::launch(write(), &listen, &admin_listen, &[]);
    assert_eq!(
        chat(&old, json!({"model": "up/a", "messages": user_msg("x")}))
            .await
            .status(),
        200
    );

    let mut stream = chat(
        &old,
        json!({"model": "up/a", "stream": true, "messages": user_msg("x")}),
    )
    .await;
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();

    let (dir, l2, a2) = (write(), listen.clone(), admin_listen.clone());
    let new = std::thread::spawn(move || Gateway::launch(dir, &l2, &a2, &["--upgrade"]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    old.signal("QUIT");
    let new = new.join().unwrap();

    for _ in 0..5 {
        let r = chat(&new, json!({"model": "up/a", "messages": user_msg("x")})).await;
        assert_eq!(r.status(), 200);
    }
    new.wait_log(5, |l| l.contains("\"target\":\"access\"")); // log lines leave in batches
    let served_by_new = new.access_lines().len();
    assert!(served_by_new >= 1, "the new process serves the port");

    let mut body = String::from_utf8(first.to_vec()).unwrap();
    while let Some(c) = stream.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&c).unwrap());
    }
    assert_eq!(
        sse_data(&body).last().unwrap(),
        "[DONE]",
        "the in-flight stream finished on the old process"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    while !old.exited() {
        assert!(Instant::now() < deadline, "the old process did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_clients_move_to_the_new_process_without_a_failure() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("a", "ok"))).await;
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("upgrade.sock");
    let write = || {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("", &provider("up", &up.base(), ""))
            .lines()
            .filter(|l| !l.contains("upgrade_sock:"))
            .map(|l| {
                if l == "  grace_period_seconds: 0" {
                    format!("  grace_period_seconds: 2\n  upgrade_sock: {}", sock.display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
            // Both processes write the request log of one database.
            + &format!("store:\n  path: {}\n", sock_dir.path().join("state.db").display());
        std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
        std::fs::write(
            dir.path().join("models.yaml"),
            format!("models:\n{}", model("up/a", "a", &[])),
        )
        .unwrap();
        dir
    };
    let (port, admin) = (free_port(), free_port());
    let (listen, admin_listen) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{admin}"));
    let mut old = Gateway::launch(write(), &listen, &admin_listen, &[]);
    let url = format!("http://{listen}/v1/chat/completions");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        // One keep-alive connection per client, reused for every request.
        let c = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
        let (url, stop) = (url.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = c
                    .post(&url)
                    .bearer_auth(KEY)
                    .json(&json!({"model": "up/a", "messages": [{"role": "user", "content": "x"}]}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        ok += 1;
                        let _ = r.bytes().await;
                    }
                    Ok(r) => failed.push(format!("status {}", r.status())),
                    Err(e) => failed.push(format!("{e:?}")),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (ok, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (dir, l2, a2) = (write(), listen.clone(), admin_listen.clone());
    let new = std::thread::spawn(move || Gateway::launch(dir, &l2, &a2, &["--upgrade"]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    old.signal("QUIT");
    let new = new.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !old.exited() {
        assert!(Instant::now() < deadline, "the old process did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for c in clients {
        let (o, f) = c.await.unwrap();
        ok += o;
        failed.extend(f);
    }
    assert!(ok > 100, "{ok} requests went through");
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        ok as usize + failed.len()
    );
    new.wait_log(5, |l| l.contains("\"target\":\"access\""));
    // Every answered request has its row, whichever process answered it: the old one flushed its
    // queue before it exited, and the export waits for the new one's.
    let rows: serde_json::Value = reqwest::get(format!("{}/admin/logs?limit=10000&status=200&model=up/a", new.admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        rows["data"].as_array().unwrap().len(),
        ok as usize,
        "rows for the {ok} answered requests"
    );
}
