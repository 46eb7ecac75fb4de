//! The simulator's chat models: OpenAI chat completions, whole or streamed at the configured pace,
//! with filler text (or a call of the forced tool) and the configured token usage.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use serde_json::{json, Value};

use super::{now_secs, send, Fate, Simulator};
use crate::config::raw::RawSimulate;

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

impl Simulator {
    /// A chat model: the OpenAI chat completions API, whole or streamed, after the configured
    /// latency and with the injected failures (a reset drops the connection mid-stream).
    pub(super) async fn chat(
        &self,
        session: &mut ServerSession,
        body: &[u8],
        sim: &RawSimulate,
        shutdown: &ShutdownWatch,
    ) -> Option<()> {
        let Some(ask) = parse_ask(body, sim) else {
            let b = json!({"error": {"message": "the simulator expects an OpenAI chat request", "type": "invalid_request_error"}});
            return send(session, 400, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        let roll = match self.delay_and_fail(session, sim, shutdown).await {
            Fate::Answer(roll) => roll,
            Fate::Done(r) => return r,
        };
        let reset = roll < sim.hang_rate + sim.fail_rate + sim.reset_rate;
        let id = format!("chatcmpl-sim{:x}", self.counter.load(Ordering::Relaxed));
        if ask.stream {
            self.stream(session, &ask, sim, &id, reset).await
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
                "usage": usage(&ask, sim), "system_fingerprint": "fp_switchyard_sim",
            });
            send(session, 200, "application/json", Some(Bytes::from(b.to_string()))).await
        }
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
