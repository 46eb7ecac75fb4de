//! The real coding agents, unchanged, against the gateway and a local fake provider: Claude Code
//! (`claude -p`) and the Codex CLI (`codex exec`, its default model and features), each once with a
//! text answer and once through a tool loop, each routed once to an OpenAI-format and once to an
//! Anthropic-format provider. Only the base URL and the key are set (and, for Claude Code, the
//! switch that turns off its non-essential traffic); homes are temporary. The clients come from
//! `tests/clients/node_modules` (pinned in `tests/clients/package-lock.json`, installed by
//! `.ci/setup` with `npm ci`). Each test asserts the client's exit status, its printed answer and
//! what the fake provider received; the gateway's own catalog `aliases` map the clients' default
//! model names (nothing is configured in the clients).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// An Anthropic stream event as Anthropic sends it, with its `event:` line (the SDKs dispatch on it);
/// the harness writes `data: ` before the text, and a field may follow `data` within an event.
fn named(e: &serde_json::Value) -> String {
    format!("{e}\nevent: {}", e["type"].as_str().unwrap_or_default())
}

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// What the file the tool loop reads holds; the final answer must quote it.
const SECRET: &str = "pineapple-4217";
const HELLO: &str = "Hello from the fake provider.";

fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients/node_modules/.bin")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run .ci/setup (npm ci in tests/clients)",
        p.display()
    );
    p
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Wire {
    OpenAi,
    Anthropic,
}

/// The conversation as the provider sees it: the last user text, the tools on offer, and the tool
/// result if the last turn is one.
struct Turn {
    prompt: String,
    tools: Vec<String>,
    result: Option<String>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().map(text_of).collect::<Vec<_>>().join(""),
        Value::Object(o) => o
            .get("text")
            .or_else(|| o.get("content"))
            .map(text_of)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn turn(wire: Wire, body: &Value) -> Turn {
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let last = msgs.last().cloned().unwrap_or_default();
    match wire {
        Wire::OpenAi => Turn {
            prompt: msgs
                .iter()
                .rev()
                .find(|m| m["role"] == "user")
                .map(|m| text_of(&m["content"]))
                .unwrap_or_default(),
            tools: body["tools"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|t| t["function"]["name"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            result: (last["role"] == "tool").then(|| text_of(&last["content"])),
        },
        Wire::Anthropic => {
            let blocks = last["content"].as_array().cloned().unwrap_or_default();
            let result = blocks
                .iter()
                .find(|b| b["type"] == "tool_result")
                .map(|b| text_of(&b["content"]));
            Turn {
                prompt: msgs
                    .iter()
                    .rev()
                    .filter(|m| m["role"] == "user")
                    .map(|m| text_of(&m["content"]))
                    .find(|t| !t.is_empty())
                    .unwrap_or_default(),
                tools: body["tools"]
                    .as_array()
                    .map(|t| t.iter().filter_map(|t| t["name"].as_str().map(String::from)).collect())
                    .unwrap_or_default(),
                result,
            }
        }
    }
}

/// The tool call that reads the secret file, with whichever tool the agent offers.
fn read_call(tools: &[String], dir: &str) -> Option<(String, Value)> {
    let file = format!("{dir}/secret.txt");
    let has = |n: &str| tools.iter().any(|t| t == n);
    if has("Read") {
        return Some(("Read".into(), json!({"file_path": file})));
    }
    // Codex's default "code mode": one freeform tool, `exec` in the `functions` namespace (flattened
    // by the gateway for a provider without namespaces), whose input is JavaScript calling its tools.
    if has("functions__exec") {
        let js = format!("const r = await tools.exec_command({{cmd: \"cat {file}\"}});\ntext(r);");
        return Some(("functions__exec".into(), json!({ "input": js })));
    }
    if has("exec_command") {
        return Some(("exec_command".into(), json!({"cmd": format!("cat {file}")})));
    }
    if has("shell_command") {
        return Some(("shell_command".into(), json!({"command": format!("cat {file}")})));
    }
    if has("shell") {
        return Some(("shell".into(), json!({"command": ["cat", file]})));
    }
    None
}

/// The fake provider: a tool call when the prompt asks for the file and no result came back yet,
/// else text (quoting the tool result when there is one). Streams when asked.
fn reply(path: &str, body: &Value, dir: &str) -> Reply {
    if path.ends_with("/count_tokens") {
        return Reply::Json(200, json!({"input_tokens": 100}));
    }
    let wire = if path.ends_with("/chat/completions") {
        Wire::OpenAi
    } else {
        Wire::Anthropic
    };
    let t = turn(wire, body);
    let call = if t.result.is_none() && t.prompt.contains("secret.txt") {
        read_call(&t.tools, dir)
    } else {
        None
    };
    let text = match &t.result {
        Some(r) => format!("The file says: {}", r.trim()),
        None => HELLO.to_string(),
    };
    let stream = body["stream"] == true;
    let gap = Duration::from_millis(1);
    match (wire, stream) {
        (Wire::OpenAi, false) => {
            let message = match &call {
                Some((name, args)) => json!({"role": "assistant", "content": null,
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}),
                None => json!({"role": "assistant", "content": text}),
            };
            Reply::Json(
                200,
                json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "message": message, "finish_reason": if call.is_some() { "tool_calls" } else { "stop" }}],
                       "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}),
            )
        }
        (Wire::OpenAi, true) => {
            let c = |delta: Value, fin: Value| {
                json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}).to_string()
            };
            let mut ev = vec![c(json!({"role": "assistant", "content": ""}), Value::Null)];
            match &call {
                Some((name, args)) => {
                    ev.push(c(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": ""}}]}), Value::Null));
                    ev.push(c(
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": args.to_string()}}]}),
                        Value::Null,
                    ));
                    ev.push(c(json!({}), json!("tool_calls")));
                }
                None => {
                    ev.push(c(json!({"content": text}), Value::Null));
                    ev.push(c(json!({}), json!("stop")));
                }
            }
            ev.push(json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}).to_string());
            ev.push("[DONE]".into());
            Reply::Sse(ev, gap)
        }
        (Wire::Anthropic, false) => {
            let content = match &call {
                Some((name, args)) => json!([{"type": "tool_use", "id": "toolu_1", "name": name, "input": args}]),
                None => json!([{"type": "text", "text": text}]),
            };
            Reply::Json(
                200,
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": content,
                       "stop_reason": if call.is_some() { "tool_use" } else { "end_turn" }, "stop_sequence": null,
                       "usage": {"input_tokens": 100, "output_tokens": 10}}),
            )
        }
        (Wire::Anthropic, true) => {
            let mut ev = vec![
                json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 1}}}),
            ];
            match &call {
                Some((name, args)) => {
                    ev.push(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}}));
                    ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": args.to_string()}}));
                }
                None => {
                    ev.push(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}));
                    ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}));
                }
            }
            ev.push(json!({"type": "content_block_stop", "index": 0}));
            ev.push(json!({"type": "message_delta", "delta": {"stop_reason": if call.is_some() { "tool_use" } else { "end_turn" }, "stop_sequence": null}, "usage": {"output_tokens": 10}}));
            ev.push(json!({"type": "message_stop"}));
            Reply::Sse(ev.iter().map(named).collect(), gap)
        }
    }
}

/// A gateway whose catalog sends every name the agents use (their defaults included) to the one
/// model of the wire under test, by the catalog's `aliases`; and the work directory with the file.
async fn setup(wire: Wire) -> (Upstream, Gateway, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
    let dir = work.path().to_str().unwrap().to_string();
    let up = Upstream::start(move |_, s| reply(&s.path, &s.json(), &dir)).await;
    let base = format!("http://{}", up.addr);
    let (kind, id) = match wire {
        Wire::OpenAi => ("openai_compatible", "up/m"),
        Wire::Anthropic => ("anthropic", "up/m"),
    };
    let providers = format!("  up:\n    kind: {kind}\n    base_url: {base}/v1\n    api_key: k-up\n");
    let models = format!(
        "  - id: {id}\n    pricing: {{input: 1, output: 2}}\n    context_window: 200000\n    max_output: 32000\n    capabilities: [chat, tools, parallel_tool_calls, vision, streaming, reasoning]\naliases:\n  \"claude-*\": {id}\n  \"gpt-*\": {id}\n  \"codex-*\": {id}\n  \"o3*\": {id}\n  \"o4*\": {id}\n"
    );
    let gw = Gateway::start(&config("", &providers), &models);
    (up, gw, work)
}

/// Run `cmd` to its end (at most `limit`, then its whole process group is killed, so that no helper
/// it started keeps the pipes open), returning exit success, stdout and stderr.
fn run(mut cmd: Command, limit: Duration) -> (bool, String, String) {
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let (o, e) = (read(Box::new(out)), read(Box::new(err)));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (o, e) = (o.join().unwrap(), e.join().unwrap());
    (status.is_some_and(|s| s.success()), o, e)
}

/// A clean environment: a temporary home, the PATH (node), and what the test sets.
fn clean(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", std::env::temp_dir());
}

async fn claude(wire: Wire, tool_loop: bool) {
    let (up, gw, work) = setup(wire).await;
    let home = tempfile::tempdir().unwrap();
    let prompt = if tool_loop {
        "What does the file secret.txt in this directory say? Read it."
    } else {
        "Say hello."
    };
    let mut cmd = Command::new(bin("claude"));
    clean(&mut cmd, home.path());
    cmd.current_dir(work.path())
        .env("ANTHROPIC_BASE_URL", &gw.url)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .args(["-p", prompt]);
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(cmd, Duration::from_secs(120)))
        .await
        .unwrap();
    let seen = up.requests();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert!(
        ok,
        "claude failed\nstdout: {out}\nstderr: {err}\nupstream saw: {paths:?}"
    );
    let inference: Vec<_> = seen.iter().filter(|s| !s.path.ends_with("/count_tokens")).collect();
    assert!(!inference.is_empty(), "{paths:?}");
    let want_path = match wire {
        Wire::OpenAi => "/v1/chat/completions",
        Wire::Anthropic => "/v1/messages",
    };
    assert!(inference.iter().all(|s| s.path == want_path), "{paths:?}");
    // Its default model names reached the one model through the catalog's aliases.
    let log = gw.access_lines();
    let named: Vec<&str> = log.iter().filter_map(|l| l["requested_model"].as_str()).collect();
    assert!(
        !named.is_empty() && named.iter().all(|n| n.starts_with("claude-")),
        "{named:?}"
    );
    if tool_loop {
        assert!(out.contains(SECRET), "stdout: {out}\nstderr: {err}");
        let last = turn(wire, &inference.last().unwrap().json());
        assert!(last.result.as_deref().is_some_and(|r| r.contains(SECRET)), "{paths:?}");
    } else {
        assert!(out.contains(HELLO), "stdout: {out}\nstderr: {err}");
    }
}

async fn codex(wire: Wire, tool_loop: bool) {
    let (up, gw, work) = setup(wire).await;
    let home = tempfile::tempdir().unwrap();
    assert!(Command::new("git")
        .arg("init")
        .arg("-q")
        .current_dir(work.path())
        .status()
        .unwrap()
        .success());
    let prompt = if tool_loop {
        "What does the file secret.txt in this directory say? Read it."
    } else {
        "Say hello."
    };
    let mut cmd = Command::new(bin("codex"));
    clean(&mut cmd, home.path());
    cmd.current_dir(work.path())
        .env("CODEX_HOME", home.path())
        // `codex exec` takes its key from CODEX_API_KEY, and the built-in OpenAI provider's base URL
        // from the `openai_base_url` setting (OPENAI_BASE_URL is no longer read).
        .env("CODEX_API_KEY", KEY)
        .args(["exec", "-c", &format!("openai_base_url=\"{}/v1\"", gw.url), prompt]);
    let started = Instant::now();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(cmd, Duration::from_secs(120)))
        .await
        .unwrap();
    let took = started.elapsed();
    let seen = up.requests();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    let log: Vec<Value> = gw.access_lines();
    assert!(
        ok,
        "codex failed\nstdout: {out}\nstderr: {err}\nupstream saw: {paths:?}\naccess log: {log:#?}"
    );
    // One WebSocket try, answered 426, and no retry of it: Codex went on over HTTPS at once.
    let upgrades = log.iter().filter(|l| l["status"] == 426).count();
    assert_eq!(upgrades, 1, "{log:#?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    let want_path = match wire {
        Wire::OpenAi => "/v1/chat/completions",
        Wire::Anthropic => "/v1/messages",
    };
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.path == want_path),
        "{paths:?}"
    );
    let named: Vec<&str> = log.iter().filter_map(|l| l["requested_model"].as_str()).collect();
    assert!(
        !named.is_empty() && named.iter().all(|n| n.starts_with("gpt-")),
        "{named:?}"
    );
    if tool_loop {
        assert!(out.contains(SECRET), "stdout: {out}\nstderr: {err}");
        let last = turn(wire, &seen.last().unwrap().json());
        assert!(last.result.as_deref().is_some_and(|r| r.contains(SECRET)), "{paths:?}");
    } else {
        assert!(out.contains(HELLO), "stdout: {out}\nstderr: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_text_openai_provider() {
    claude(Wire::OpenAi, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_text_anthropic_provider() {
    claude(Wire::Anthropic, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_tool_loop_openai_provider() {
    claude(Wire::OpenAi, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_tool_loop_anthropic_provider() {
    claude(Wire::Anthropic, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_text_openai_provider() {
    codex(Wire::OpenAi, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_text_anthropic_provider() {
    codex(Wire::Anthropic, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_tool_loop_openai_provider() {
    codex(Wire::OpenAi, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_tool_loop_anthropic_provider() {
    codex(Wire::Anthropic, true).await;
}
