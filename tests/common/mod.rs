//! Test harness: the real `switchyard` binary on port 0 with a config written for the test, and local
//! upstream servers (hyper) whose replies each test scripts, which record what they received.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod state;
pub mod upstream;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

#[allow(unused_imports)]
pub use upstream::{Reply, Seen, Upstream};

pub const KEY: &str = "sy_live_integrationtestkey0000000000000a";
pub const OTHER_KEY: &str = "sy_live_integrationtestkey0000000000000b";
pub const PROVIDER_KEY: &str = "sk-upstream-secret";
/// The admin listener's token in test configs (`server.admin_token`).
pub const ADMIN_TOKEN: &str = "admin-token-for-integration-tests";

pub fn hash(key: &str) -> String {
    switchyard::keys::hash_line(key)
}

/// A gateway config: `providers` and `models` are YAML fragments (indented for their sections),
/// `server_extra` lines go under `server:`. Two keys: KEY (all models) and OTHER_KEY (only `up/b`).
pub fn config(server_extra: &str, providers: &str) -> String {
    format!(
        "server:\n  worker_threads: 2\n  grace_period_seconds: 0\n  graceful_shutdown_timeout_seconds: 1\n  upgrade_sock: /tmp/sy-test-{pid}-{n}.sock\n  pid_file: /tmp/sy-test-{pid}-{n}.pid\n  admin_token: {ADMIN_TOKEN}\n{server_extra}\ncatalog: models.yaml\nproviders:\n{providers}\nkeys:\n  - name: tester\n    hash: {h1}\n    workspace: ws1\n  - name: narrow\n    hash: {h2}\n    workspace: ws2\n    scopes:\n      endpoints: [inference]\n      models: [up/b]\n",
        pid = std::process::id(),
        n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        h1 = hash(KEY),
        h2 = hash(OTHER_KEY),
    )
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An OpenAI-compatible provider named `name` at `base` (e.g. the upstream's URL + "/v1").
pub fn provider(name: &str, base: &str, extra: &str) -> String {
    format!("  {name}:\n    kind: openai_compatible\n    base_url: {base}\n    api_key: {PROVIDER_KEY}\n{extra}")
}

/// A catalog entry `id` (provider/model) with upstream name `upstream` and optional aliases.
pub fn model(id: &str, upstream: &str, aliases: &[&str]) -> String {
    format!(
        "  - id: {id}\n    upstream_model: {upstream}\n    aliases: [{}]\n    pricing: {{input: 1.0, cached_input: 0.5, output: 2.0}}\n    context_window: 100000\n    max_output: 4096\n    capabilities: [chat, tools, streaming]\n    quality: {{chat: 0.8}}\n",
        aliases.join(", ")
    )
}

pub struct Gateway {
    child: Child,
    pub url: String,
    pub admin: String,
    pub tls: Option<String>,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

impl Gateway {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("switchyard.yaml")
    }

    /// Start the binary on `cfg` + `models` (the `models:` list body) and wait until it listens.
    pub fn start(cfg: &str, models: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
        std::fs::write(dir.path().join("models.yaml"), format!("models:\n{models}")).unwrap();
        Self::start_in(dir, &[])
    }

    pub fn start_in(dir: tempfile::TempDir, extra_args: &[&str]) -> Gateway {
        Self::launch(dir, "127.0.0.1:0", "127.0.0.1:0", extra_args)
    }

    /// Start on given addresses and wait until it listens.
    pub fn launch(dir: tempfile::TempDir, listen: &str, admin: &str, extra_args: &[&str]) -> Gateway {
        Self::launch_limited(dir, listen, admin, extra_args, None)
    }

    /// Start `cfg` + `models` with the process's open-file limit at `nofile`.
    pub fn start_with_nofile(cfg: &str, models: &str, nofile: u64) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
        std::fs::write(dir.path().join("models.yaml"), format!("models:\n{models}")).unwrap();
        Self::launch_limited(dir, "127.0.0.1:0", "127.0.0.1:0", &[], Some(nofile))
    }

    /// Start on given addresses, with the open-file limit at `nofile` when given (through the
    /// shell's `ulimit`, which then `exec`s the binary: the pid stays the gateway's).
    pub fn launch_limited(
        dir: tempfile::TempDir,
        listen: &str,
        admin: &str,
        extra_args: &[&str],
        nofile: Option<u64>,
    ) -> Gateway {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(env!("CARGO_BIN_EXE_switchyard"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_switchyard")),
        };
        let mut child = cmd
            .args(["run", "--config"])
            .arg(dir.path().join("switchyard.yaml"))
            .args(["--listen", listen, "--admin-listen", admin])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<(String, String)>();
        let out = child.stdout.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["fields"]["message"] == "listening" {
                        let _ = tx.send((
                            v["fields"]["listener"].as_str().unwrap_or("").into(),
                            v["fields"]["addr"].as_str().unwrap_or("").into(),
                        ));
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(format!("stderr: {line}"));
            }
        });
        let (mut url, mut admin, mut tls) = (None, None, None);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while url.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok((l, a)) => match l.as_str() {
                    "proxy" => url = Some(format!("http://{a}")),
                    "admin" => admin = Some(format!("http://{a}")),
                    "tls" => tls = Some(a),
                    _ => {}
                },
                Err(_) => {
                    let _ = child.kill();
                    panic!("gateway did not start: {:?}", logs.lock().unwrap());
                }
            }
        }
        // The TLS line, if any, is printed right after the proxy's.
        if let Ok((l, a)) = rx.recv_timeout(Duration::from_millis(200)) {
            if l == "tls" {
                tls = Some(a);
            }
        }
        Gateway {
            child,
            url: url.unwrap(),
            admin: admin.unwrap(),
            tls,
            logs,
            dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Access-log lines (the `fields` object of each).
    pub fn access_lines(&self) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == "access")
            .map(|v| v["fields"].clone())
            .collect()
    }

    /// Wait until `pred` holds for some log line, or panic after `secs`.
    pub fn wait_log(&self, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(l) = self.logs.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            if std::time::Instant::now() > deadline {
                panic!("no matching log line; logs: {:#?}", self.logs.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn chat_url(&self) -> String {
        format!("{}/v1/chat/completions", self.url)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The admin listener's metrics once `needle` appears in them (they are recorded just after a response
/// is written, so a scrape right after reading it can be early).
pub async fn metrics_with(gw: &Gateway, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let m = client()
            .get(format!("{}/metrics", gw.admin))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.contains(needle) || std::time::Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `switchyard check` on `dir/switchyard.yaml`: whether it passed, and what it printed (both streams).
pub fn check(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["check", "--config"])
        .arg(dir.join("switchyard.yaml"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// GET `path` with the test key, as JSON.
pub async fn get_json(gw: &Gateway, path: &str) -> serde_json::Value {
    client()
        .get(format!("{}{path}", gw.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POST `body` to the chat endpoint with the test key.
pub async fn chat(gw: &Gateway, body: serde_json::Value) -> reqwest::Response {
    client()
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A typical OpenAI chat completion an upstream would return.
pub fn completion(model: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": model,
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
                  "prompt_tokens_details": {"cached_tokens": 200}, "completion_tokens_details": {"reasoning_tokens": 0}}
    })
}

/// SSE events (the `data:` payloads) an OpenAI stream of `words` would carry, usage last.
pub fn stream_events(model: &str, words: &[&str]) -> Vec<String> {
    let mut ev = Vec::new();
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        serde_json::json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        .to_string()
    };
    ev.push(chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        serde_json::Value::Null,
    ));
    for w in words {
        ev.push(chunk(serde_json::json!({"content": w}), serde_json::Value::Null));
    }
    ev.push(chunk(serde_json::json!({}), serde_json::json!("stop")));
    ev.push(
        serde_json::json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1700000000, "model": model, "choices": [],
                           "usage": {"prompt_tokens": 10, "completion_tokens": words.len(), "total_tokens": 10 + words.len()}})
        .to_string(),
    );
    ev.push("[DONE]".into());
    ev
}

/// Parse an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_string))
        .collect()
}

pub fn user_msg(text: &str) -> serde_json::Value {
    serde_json::json!([{"role": "user", "content": text}])
}
