//! The built-in provider simulator behind `kind: mock` providers. It is a real HTTP server on a
//! loopback port speaking the OpenAI chat wire format, so requests to simulated models take the same
//! proxy path as real ones. Each mock provider's `simulate` block sets its latency, stream pace,
//! token usage and injected failures (error statuses, connections reset mid-stream, hangs).
//! It is a simulator: the text it returns is filler, not a model's answer. The same providers also
//! play image models on the OpenAI Images API (`/images/generations`): every image is one tiny PNG,
//! after the configured latency and with the same injected failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::apps::{HttpServerApp, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use serde_json::{json, Value};

use crate::config::raw::RawSimulate;
use crate::config::{ProviderKind, Snapshot};

const WORDS: &[&str] = &[
    "simulated",
    "reply",
    "from",
    "the",
    "Switchyard",
    "provider",
    "simulator",
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
];

pub struct Simulator {
    state: Arc<ArcSwap<Snapshot>>,
    counter: AtomicU64,
}

impl Simulator {
    pub fn new(state: Arc<ArcSwap<Snapshot>>) -> Self {
        Simulator {
            state,
            counter: AtomicU64::new(0),
        }
    }

    /// A cheap deterministic-enough random number in [0, 1) (splitmix64 of a counter and the clock).
    fn roll(&self) -> f64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut z = n.wrapping_add(t).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What one simulated request asked for.
struct Ask {
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: u64,
    completion_tokens: u64,
    tool: Option<String>,
}

fn parse_ask(body: &[u8], sim: &RawSimulate) -> Option<Ask> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text_len: usize = v["messages"]
        .as_array()?
        .iter()
        .map(|m| match &m["content"] {
            Value::String(s) => s.len(),
            Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).map(str::len).sum(),
            _ => 0,
        })
        .sum();
    let max = v["max_completion_tokens"].as_u64().or_else(|| v["max_tokens"].as_u64());
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["function"]["name"].as_str()).collect())
        .unwrap_or_default();
    let tool = match &v["tool_choice"] {
        Value::String(s) if s == "required" => tools.first().map(|s| s.to_string()),
        Value::Object(o) => o.get("function").and_then(|f| f["name"].as_str()).map(str::to_string),
        _ => None,
    };
    Some(Ask {
        model: v["model"].as_str().unwrap_or("sim").to_string(),
        stream: v["stream"].as_bool().unwrap_or(false),
        include_usage: v["stream_options"]["include_usage"].as_bool().unwrap_or(false),
        prompt_tokens: (text_len as u64 / 4).max(1),
        completion_tokens: max
            .map_or(sim.output_tokens, |m| m.min(sim.output_tokens.max(1)))
            .max(1),
        tool,
    })
}

/// Which API of a mock provider a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Chat,
    Images,
}

/// After the configured latency: answer (with the roll), or the request was already dealt with.
enum Fate {
    Answer(f64),
    Done(Option<()>),
}

/// The image every simulated image request gets: a valid 8×8 RGB PNG, base64-encoded.
pub const SIM_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAbUlEQVR42hXOUREAUQhCUaMYhShEMcqNQhSi7Fs/OQzjzLCDBg83MGToMLPsosXLLSxZug/ECgmLE4iI6oFZI2NzBhNTPzj20OHjDo4cvQf/7Bt41Rf+F+h7YsIGBYfLHyc0D8oWFZfrX05p+QDeqGABtJu0bQAAAABJRU5ErkJggg==";

/// Output tokens reported per simulated image (what gpt-image-1 reports for a low-quality square).
const SIM_IMAGE_TOKENS: u64 = 272;

/// What one simulated image request asked for.
struct ImageAsk {
    prompt: String,
    n: u64,
    url: bool,
}

fn parse_image_ask(body: &[u8]) -> Option<ImageAsk> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let prompt = v["prompt"].as_str().filter(|p| !p.trim().is_empty())?.to_string();
    let n = match &v["n"] {
        Value::Null => 1,
        n => n.as_u64().filter(|n| (1..=10).contains(n))?,
    };
    let url = match &v["response_format"] {
        Value::Null => false,
        Value::String(f) if f == "url" => true,
        Value::String(f) if f == "b64_json" => false,
        _ => return None,
    };
    Some(ImageAsk { prompt, n, url })
}

fn words(n: u64) -> String {
    (0..n)
        .map(|i| WORDS[i as usize % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn usage(ask: &Ask, sim: &RawSimulate) -> Value {
    json!({
        "prompt_tokens": ask.prompt_tokens,
        "completion_tokens": ask.completion_tokens,
        "total_tokens": ask.prompt_tokens + ask.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": sim.cached_tokens.min(ask.prompt_tokens)},
        "completion_tokens_details": {"reasoning_tokens": 0},
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn send(session: &mut ServerSession, status: u16, ctype: &str, body: Option<Bytes>) -> Option<()> {
    let mut h = ResponseHeader::build(status, Some(4)).ok()?;
    h.insert_header("content-type", ctype).ok()?;
    match &body {
        Some(b) => h.insert_header("content-length", b.len().to_string()).ok()?,
        None => h.insert_header("transfer-encoding", "chunked").ok()?,
    }
    if status == 429 {
        h.insert_header("retry-after", "1").ok()?;
    }
    session.write_response_header(Box::new(h)).await.ok()?;
    if let Some(b) = body {
        session.write_response_body(b, true).await.ok()?;
    }
    Some(())
}

async fn hang(shutdown: &ShutdownWatch) {
    let mut s = shutdown.clone();
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        _ = s.changed() => {}
    }
}

impl Simulator {
    /// Serve one request; `None` when the connection must not be reused.
    async fn serve(&self, session: &mut ServerSession, shutdown: &ShutdownWatch) -> Option<()> {
        let path = session.req_header().uri.path().to_string();
        let mut body = Vec::new();
        while let Some(chunk) = session.read_request_body().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > 64 << 20 {
                return None;
            }
        }
        let snap = self.state.load_full();
        let found = path
            .strip_prefix("/sim/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(name, tail)| {
                let endpoint = match tail {
                    "v1/chat/completions" => Served::Chat,
                    "v1/images/generations" => Served::Images,
                    _ => return None,
                };
                let p = snap.providers.get(name).filter(|p| p.kind == ProviderKind::Mock)?;
                Some((endpoint, p.simulate.clone()?))
            });
        let Some((endpoint, sim)) = found else {
            let b = json!({"error": {"message": format!("no simulated provider at {path}"), "type": "invalid_request_error"}});
            return send(session, 404, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        if endpoint == Served::Images {
            return self.images(session, &body, &sim, shutdown).await;
        }
        let Some(ask) = parse_ask(&body, &sim) else {
            let b = json!({"error": {"message": "the simulator expects an OpenAI chat request", "type": "invalid_request_error"}});
            return send(session, 400, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        let roll = match self.delay_and_fail(session, &sim, shutdown).await {
            Fate::Answer(roll) => roll,
            Fate::Done(r) => return r,
        };
        let reset = roll < sim.hang_rate + sim.fail_rate + sim.reset_rate;
        let id = format!("chatcmpl-sim{:x}", self.counter.load(Ordering::Relaxed));
        if ask.stream {
            self.stream(session, &ask, &sim, &id, reset).await
        } else {
            let message = match &ask.tool {
                Some(name) => json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": format!("call_{id}"), "type": "function", "function": {"name": name, "arguments": "{}"}}]}),
                None => {
                    json!({"role": "assistant", "content": words(ask.completion_tokens), "refusal": null})
                }
            };
            let b = json!({
                "id": id, "object": "chat.completion", "created": now_secs(), "model": ask.model,
                "choices": [{"index": 0, "message": message, "logprobs": null,
                             "finish_reason": if ask.tool.is_some() { "tool_calls" } else { "stop" }}],
                "usage": usage(&ask, &sim), "system_fingerprint": "fp_switchyard_sim",
            });
            send(session, 200, "application/json", Some(Bytes::from(b.to_string()))).await
        }
    }

    /// The configured latency, then a hang or a failure by the configured shares. `Fate::Answer`
    /// carries the roll for the caller's own injected faults.
    async fn delay_and_fail(&self, session: &mut ServerSession, sim: &RawSimulate, shutdown: &ShutdownWatch) -> Fate {
        if sim.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sim.latency_ms)).await;
        }
        let roll = self.roll();
        if roll < sim.hang_rate {
            hang(shutdown).await;
            return Fate::Done(None);
        }
        if roll < sim.hang_rate + sim.fail_rate {
            let b = json!({"error": {"message": format!("simulated failure ({})", sim.fail_status), "type": "server_error", "code": "simulated"}});
            return Fate::Done(
                send(
                    session,
                    sim.fail_status,
                    "application/json",
                    Some(Bytes::from(b.to_string())),
                )
                .await,
            );
        }
        Fate::Answer(roll)
    }

    /// An image model: the OpenAI Images API (`/images/generations`). Each image is the same tiny
    /// PNG, as `b64_json` (the default) or as a `data:` URL when `response_format` is `url`.
    async fn images(
        &self,
        session: &mut ServerSession,
        body: &[u8],
        sim: &RawSimulate,
        shutdown: &ShutdownWatch,
    ) -> Option<()> {
        let Some(ask) = parse_image_ask(body) else {
            let b = json!({"error": {"message": "the simulator expects an OpenAI image request: a prompt, n from 1 to 10, response_format url or b64_json", "type": "invalid_request_error"}});
            return send(session, 400, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        if let Fate::Done(r) = self.delay_and_fail(session, sim, shutdown).await {
            return r;
        }
        let image = |_| match ask.url {
            true => json!({"url": format!("data:image/png;base64,{SIM_PNG_BASE64}"), "revised_prompt": ask.prompt}),
            false => json!({"b64_json": SIM_PNG_BASE64, "revised_prompt": ask.prompt}),
        };
        let input_tokens = (ask.prompt.len() as u64 / 4).max(1);
        let output_tokens = SIM_IMAGE_TOKENS * ask.n;
        let b = json!({
            "created": now_secs(),
            "data": (0..ask.n).map(image).collect::<Vec<_>>(),
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens,
                      "input_tokens_details": {"text_tokens": input_tokens, "image_tokens": 0}},
        });
        send(session, 200, "application/json", Some(Bytes::from(b.to_string()))).await
    }

    async fn stream(
        &self,
        session: &mut ServerSession,
        ask: &Ask,
        sim: &RawSimulate,
        id: &str,
        reset: bool,
    ) -> Option<()> {
        send(session, 200, "text/event-stream", None).await?;
        let created = now_secs();
        let chunk = |delta: Value, finish: Value| {
            let c = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": ask.model,
                           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
            Bytes::from(format!("data: {c}\n\n"))
        };
        session
            .write_response_body(chunk(json!({"role": "assistant", "content": ""}), Value::Null), false)
            .await
            .ok()?;
        let per_chunk = sim.tokens_per_chunk.max(1);
        let pause = (sim.tokens_per_second > 0)
            .then(|| Duration::from_secs_f64(per_chunk as f64 / sim.tokens_per_second as f64));
        let finish = if let Some(name) = &ask.tool {
            let call = json!({"tool_calls": [{"index": 0, "id": format!("call_{id}"), "type": "function", "function": {"name": name, "arguments": ""}}]});
            session
                .write_response_body(chunk(call, Value::Null), false)
                .await
                .ok()?;
            let args = json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]});
            session
                .write_response_body(chunk(args, Value::Null), false)
                .await
                .ok()?;
            "tool_calls"
        } else {
            let mut sent = 0;
            while sent < ask.completion_tokens {
                if let Some(p) = pause {
                    tokio::time::sleep(p).await;
                }
                let n = per_chunk.min(ask.completion_tokens - sent);
                let text: String = (sent..sent + n)
                    .map(|i| format!("{} ", WORDS[i as usize % WORDS.len()]))
                    .collect();
                session
                    .write_response_body(chunk(json!({"content": text}), Value::Null), false)
                    .await
                    .ok()?;
                sent += n;
                if reset && sent * 2 >= ask.completion_tokens {
                    return None; // drop the connection mid-stream
                }
            }
            "stop"
        };
        session
            .write_response_body(chunk(json!({}), json!(finish)), false)
            .await
            .ok()?;
        if ask.include_usage {
            let u = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": ask.model, "choices": [], "usage": usage(ask, sim)});
            session
                .write_response_body(Bytes::from(format!("data: {u}\n\n")), false)
                .await
                .ok()?;
        }
        session
            .write_response_body(Bytes::from_static(b"data: [DONE]\n\n"), true)
            .await
            .ok()?;
        Some(())
    }
}

#[async_trait]
impl HttpServerApp for Simulator {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !session.read_request().await.ok()? {
            return None;
        }
        session.set_keepalive(Some(60));
        self.serve(&mut session, shutdown).await?;
        let settings = pingora::apps::HttpPersistentSettings::for_session(&session);
        session
            .finish()
            .await
            .ok()
            .flatten()
            .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
    }
}
