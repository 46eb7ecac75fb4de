//! Translation cost on a realistic conversation (~2,000 tokens: 31 messages, 2 tools, tool calls and
//! results, ~8 KB of text), against the budgets: ≤ 20 µs per direction, ≤ 5 µs added per stream event.
//!
//! - request/parse: client body → canonical IR, per client schema;
//! - request/render: canonical IR → provider body, per provider kind (and the pass-through renders);
//! - request/full: client body → provider body, per client × provider pair (as the proxy prepares it:
//!   same-schema pairs pass through);
//! - response: provider JSON → client JSON, per pair;
//! - stream: a realistic upstream stream of N events parsed and translated, per pair (per event =
//!   time / N); stream-parse is the SSE parser alone, for reference.
//!
//! `cargo bench --bench translation` runs all (a few minutes); a filter argument narrows it
//! (`cargo bench --bench translation -- stream`). The summary table at the end reads criterion's
//! medians back from `target/criterion`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench that cannot run should stop loudly

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use serde_json::{json, Value};
use switchyard::api::{codec, Schema};
use switchyard::config::{Model, ProviderKind};
use switchyard::providers::adapter;
use switchyard::providers::anthropic::passthrough as anthropic_passthrough;
use switchyard::providers::openai::passthrough as openai_passthrough;
use switchyard::translate::{prepare, stream_translator, translate_json};
use switchyard::wire::json::parse_object;
use switchyard::wire::sse::SseParser;
use switchyard::wire::Finalizer;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

const REQUEST_BUDGET_US: f64 = 20.0;
const EVENT_BUDGET_US: f64 = 5.0;

// ---- models: one per provider kind, through the public config loader -------------------------

const MODEL: &str = "pricing: {input: 3.0, cached_input: 0.3, output: 15.0}, context_window: 200000, max_output: 64000, capabilities: [chat, tools, parallel_tool_calls, vision, json_mode, json_schema, streaming, reasoning], quality: {chat: 0.8}";

fn models() -> Vec<Arc<Model>> {
    let dir = tempfile::tempdir().unwrap();
    let providers = [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("gemini", "gemini"),
        ("compat", "openai_compatible"),
    ];
    let mut cfg = String::from("server:\n  worker_threads: 1\ncatalog: models.yaml\nproviders:\n");
    for (name, kind) in providers {
        cfg += &format!("  {name}: {{kind: {kind}, base_url: 'https://api.example.com/v1', api_key: x}}\n");
    }
    let mut cat = String::from("models:\n");
    for id in [
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-flash",
        "compat/llama-3.3-70b",
    ] {
        cat += &format!("  - {{id: {id}, {MODEL}}}\n");
    }
    std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
    std::fs::write(dir.path().join("models.yaml"), cat).unwrap();
    let snap = switchyard::config::load(
        &dir.path().join("switchyard.yaml"),
        &switchyard::registry::Registry::offline(),
    )
    .unwrap_or_else(|p| panic!("bench config: {p:?}"));
    snap.catalog.models.clone()
}

fn short(m: &Model) -> &'static str {
    match m.provider.kind {
        ProviderKind::OpenAi => "openai",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::Gemini => "gemini",
        _ => "compat",
    }
}

const CLIENTS: [(Schema, &str); 3] = [
    (Schema::OpenAiChat, "chat"),
    (Schema::OpenAiResponses, "responses"),
    (Schema::AnthropicMessages, "messages"),
];

/// Like the proxy's: the price of the usage and a `router` object of the usual size.
struct Fin<'a>(&'a Model);

impl Finalizer for Fin<'_> {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        let cost = usage.map(|u| self.0.pricing.cost(&u));
        let router = json!({
            "model": self.0.id, "provider": &*self.0.provider.name, "mode": "auto", "reason": "best quality within budget",
            "attempts": [{"model": self.0.id, "provider": &*self.0.provider.name, "status": 200, "latency_ms": 412, "error": null}],
            "lossy": [], "cost_dollars": cost.map(Money::as_dollars_f64),
        });
        (router, cost)
    }
}

// ---- the conversation ------------------------------------------------------------------------

/// Deterministic filler prose: words, punctuation, the odd quote and newline (escaping matters).
struct Prose(u64);

impl Prose {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, bytes: usize) -> String {
        const WORDS: &[&str] = &[
            "the",
            "gateway",
            "routes",
            "each",
            "request",
            "to",
            "a",
            "model",
            "that",
            "fits",
            "budget",
            "and",
            "latency",
            "weather",
            "forecast",
            "in",
            "Paris",
            "is",
            "mild",
            "with",
            "light",
            "rain",
            "expected",
            "later",
            "today",
            "documentation",
            "says",
            "configure",
            "providers",
            "under",
            "keys",
            "please",
            "check",
            "whether",
            "stream",
            "usage",
            "tokens",
            "cost",
            "fallback",
            "retry",
            "after",
            "timeout",
            "résumé",
            "naïve",
            "\"quoted\"",
            "value",
            "function",
            "arguments",
            "schema",
            "result",
            "error",
        ];
        let mut s = String::with_capacity(bytes + 16);
        while s.len() < bytes {
            let r = self.next();
            s += WORDS[(r % WORDS.len() as u64) as usize];
            s += match r >> 59 {
                0 => ".\n",
                1 | 2 => ". ",
                3 => ", ",
                _ => " ",
            };
        }
        s.trim_end().to_string()
    }
}

enum Turn {
    User(String),
    Assistant(String),
    /// Assistant text, then a call.
    Call {
        text: String,
        id: String,
        name: &'static str,
        args: Value,
    },
    Result {
        id: String,
        content: String,
    },
}

struct Conversation {
    system: String,
    turns: Vec<Turn>,
}

fn conversation() -> Conversation {
    let mut p = Prose(0x9e37_79b9_7f4a_7c15);
    let mut turns = Vec::new();
    for i in 0..10 {
        turns.push(Turn::User(p.text(if i % 2 == 0 { 260 } else { 180 })));
        if i % 2 == 0 {
            let (name, args) = if i % 4 == 0 {
                ("get_weather", json!({"location": "Paris, France", "unit": "celsius"}))
            } else {
                ("search_docs", json!({"query": p.text(40), "max_results": 5}))
            };
            let id = format!("call_{i:02}_kL3nW0cD9Qh2bXo1VyT5");
            turns.push(Turn::Call {
                text: p.text(90),
                id: id.clone(),
                name,
                args,
            });
            turns.push(Turn::Result {
                id,
                content: p.text(330),
            });
        }
        turns.push(Turn::Assistant(p.text(if i % 2 == 0 { 230 } else { 330 })));
    }
    Conversation {
        system: p.text(600),
        turns,
    }
}

fn tools_params() -> [(&'static str, &'static str, Value); 2] {
    [
        (
            "get_weather",
            "Current weather and a short forecast for a location.",
            json!({"type": "object", "properties": {
                "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                "required": ["location"], "additionalProperties": false}),
        ),
        (
            "search_docs",
            "Search the product documentation; returns the best matching passages.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 20}},
                "required": ["query"], "additionalProperties": false}),
        ),
    ]
}

fn chat_body(c: &Conversation) -> Vec<u8> {
    let mut msgs = vec![json!({"role": "system", "content": c.system})];
    for t in &c.turns {
        msgs.push(match t {
            Turn::User(s) => json!({"role": "user", "content": s}),
            Turn::Assistant(s) => json!({"role": "assistant", "content": s}),
            Turn::Call { text, id, name, args } => json!({"role": "assistant", "content": text, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}),
            Turn::Result { id, content } => json!({"role": "tool", "tool_call_id": id, "content": content}),
        });
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"type": "function", "function": {"name": n, "description": d, "parameters": p}}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "messages": msgs, "tools": tools, "tool_choice": "auto",
        "temperature": 0.2, "max_tokens": 1024}),
    )
    .unwrap()
}

fn responses_body(c: &Conversation) -> Vec<u8> {
    let mut input = Vec::new();
    for t in &c.turns {
        match t {
            Turn::User(s) => {
                input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": s}]}))
            }
            Turn::Assistant(s) => input
                .push(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": s}]})),
            Turn::Call { text, id, name, args } => {
                input.push(
                    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}),
                );
                input
                    .push(json!({"type": "function_call", "call_id": id, "name": name, "arguments": args.to_string()}));
            }
            Turn::Result { id, content } => {
                input.push(json!({"type": "function_call_output", "call_id": id, "output": content}))
            }
        }
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"type": "function", "name": n, "description": d, "parameters": p}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "instructions": c.system, "input": input, "tools": tools,
        "tool_choice": "auto", "temperature": 0.2, "max_output_tokens": 1024, "store": false}),
    )
    .unwrap()
}

fn messages_body(c: &Conversation) -> Vec<u8> {
    let mut msgs = Vec::new();
    for t in &c.turns {
        msgs.push(match t {
            Turn::User(s) => json!({"role": "user", "content": s}),
            Turn::Assistant(s) => json!({"role": "assistant", "content": [{"type": "text", "text": s}]}),
            Turn::Call { text, id, name, args } => json!({"role": "assistant", "content": [
                {"type": "text", "text": text}, {"type": "tool_use", "id": id, "name": name, "input": args}]}),
            Turn::Result { id, content } => json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": content}]}),
        });
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"name": n, "description": d, "input_schema": p}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "system": c.system, "messages": msgs, "tools": tools,
        "tool_choice": {"type": "auto"}, "temperature": 0.2, "max_tokens": 1024}),
    )
    .unwrap()
}

fn text_bytes(c: &Conversation) -> usize {
    c.system.len()
        + c.turns
            .iter()
            .map(|t| match t {
                Turn::User(s) | Turn::Assistant(s) => s.len(),
                Turn::Call { text, args, .. } => text.len() + args.to_string().len(),
                Turn::Result { content, .. } => content.len(),
            })
            .sum::<usize>()
}

// ---- provider answers, whole and streamed -----------------------------------------------------

const ANSWER_TEXT_BYTES: usize = 700;

fn provider_response(kind: &str, p: &mut Prose) -> Vec<u8> {
    let text = p.text(ANSWER_TEXT_BYTES);
    let args = json!({"location": "Lyon, France", "unit": "celsius"});
    let v = match kind {
        "anthropic" => json!({"id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": text},
            {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather", "input": args}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 2104,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 212, "service_tier": "standard"}}),
        "gemini" => json!({"candidates": [{"content": {"parts": [{"text": text},
            {"functionCall": {"name": "get_weather", "args": args}, "thoughtSignature": "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwpl"}],
            "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 2104,
            "candidatesTokenCount": 212, "totalTokenCount": 2316, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2104}]},
            "modelVersion": "gemini-2.5-flash", "responseId": "qpc2afWVFJK4vr0Pq6WiyAU"}),
        _ => json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion", "created": 1756493000,
            "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
            "tool_calls": [{"id": "call_kL3nW0cD9Qh2bXo1VyT5uR8e", "type": "function", "function": {"name": "get_weather",
            "arguments": args.to_string()}}], "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 2104, "completion_tokens": 212, "total_tokens": 2316,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_07871e2ad8"}),
    };
    serde_json::to_vec(&v).unwrap()
}

/// A streamed answer in `kind`'s wire format, one SSE event per chunk: ~120 text deltas of a token
/// or so, then a tool call whose arguments come in 8 fragments (Gemini: ~5 tokens per event, the
/// call whole, as Gemini sends them).
fn provider_stream(kind: &str, p: &mut Prose) -> Vec<Vec<u8>> {
    let text = p.text(ANSWER_TEXT_BYTES);
    let deltas: Vec<String> = text.split_inclusive(' ').map(str::to_string).collect();
    let args = json!({"location": "Lyon, France", "unit": "celsius"}).to_string();
    let frags: Vec<String> = args
        .as_bytes()
        .chunks(args.len().div_ceil(8))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let ev = |name: Option<&str>, data: Value| {
        let mut out = Vec::new();
        switchyard::wire::sse::write_event(&mut out, name, data.to_string().as_bytes());
        out
    };
    let mut out = Vec::new();
    match kind {
        "anthropic" => {
            let e = |name: &str, data: Value| ev(Some(name), data);
            out.push(e("message_start", json!({"type": "message_start", "message": {"id": "msg_019Q1hrJbZG26Fb9BQhrkHEr",
                "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 2104, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1024, "output_tokens": 1, "service_tier": "standard"}}})));
            out.push(e(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            out.push(e("ping", json!({"type": "ping"})));
            for d in &deltas {
                out.push(e(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
                ));
            }
            out.push(e(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ));
            out.push(e(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}}}),
            ));
            for f in &frags {
                out.push(e(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": f}}),
                ));
            }
            out.push(e(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ));
            out.push(e(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"output_tokens": 212}}),
            ));
            out.push(e("message_stop", json!({"type": "message_stop"})));
        }
        "gemini" => {
            let chunk = |parts: Value, finish: Option<&str>, out_tokens: Option<u64>| {
                let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
                if let Some(f) = finish {
                    cand["finishReason"] = json!(f);
                }
                let mut usage = json!({"promptTokenCount": 2104, "totalTokenCount": 2104,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2104}]});
                if let Some(n) = out_tokens {
                    usage["candidatesTokenCount"] = json!(n);
                    usage["totalTokenCount"] = json!(2104 + n);
                }
                ev(
                    None,
                    json!({"candidates": [cand], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
                    "responseId": "qpc2afWVFJK4vr0Pq6WiyAU"}),
                )
            };
            for d in deltas.chunks(5) {
                out.push(chunk(json!([{"text": d.concat()}]), None, None));
            }
            out.push(chunk(
                json!([{"functionCall": {"name": "get_weather", "args": {"location": "Lyon, France", "unit": "celsius"}},
                    "thoughtSignature": "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwpl"}]),
                Some("STOP"),
                Some(212),
            ));
        }
        _ => {
            let chunk = |delta: Value, finish: Value| {
                ev(
                    None,
                    json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion.chunk", "created": 1756493000,
                    "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_07871e2ad8",
                    "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}], "usage": null}),
                )
            };
            out.push(chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ));
            for d in &deltas {
                out.push(chunk(json!({"content": d}), Value::Null));
            }
            out.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_kL3nW0cD9Qh2bXo1VyT5uR8e", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
                Value::Null,
            ));
            for f in &frags {
                out.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}),
                    Value::Null,
                ));
            }
            out.push(chunk(json!({}), json!("tool_calls")));
            out.push(ev(None, json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion.chunk", "created": 1756493000,
                "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_07871e2ad8", "choices": [],
                "usage": {"prompt_tokens": 2104, "completion_tokens": 212, "total_tokens": 2316,
                "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 0}}})));
            out.push(b"data: [DONE]\n\n".to_vec());
        }
    }
    out
}

// ---- benchmarks --------------------------------------------------------------------------------

/// What the summary reports: criterion id, per-what divisor, budget.
struct Case {
    group: &'static str,
    id: String,
    per: u64,
    budget_us: f64,
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
        .configure_from_args();
    let models = models();
    let conv = conversation();
    let bodies: Vec<(Schema, &str, Vec<u8>)> = CLIENTS
        .iter()
        .map(|&(s, n)| {
            let b = match s {
                Schema::OpenAiChat => chat_body(&conv),
                Schema::OpenAiResponses => responses_body(&conv),
                Schema::AnthropicMessages => messages_body(&conv),
            };
            (s, n, b)
        })
        .collect();
    let text = text_bytes(&conv);
    println!(
        "conversation: {} messages + system, 2 tools, {} tool calls, {} bytes of text (~{} tokens); bodies: {}",
        conv.turns.len(),
        conv.turns.iter().filter(|t| matches!(t, Turn::Call { .. })).count(),
        text,
        text / 4 + 4 * (conv.turns.len() + 1),
        bodies
            .iter()
            .map(|(_, n, b)| format!("{n} {} B", b.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cases = Vec::new();

    // Client body → canonical.
    let mut g = c.benchmark_group("request-parse");
    for (s, n, body) in &bodies {
        let codec = codec(*s);
        codec
            .parse(body)
            .unwrap_or_else(|e| panic!("{n} body does not parse: {e:?}"));
        g.bench_function(*n, |b| b.iter(|| codec.parse(black_box(body)).unwrap()));
        cases.push(Case {
            group: "request-parse",
            id: n.to_string(),
            per: 1,
            budget_us: REQUEST_BUDGET_US,
        });
    }
    g.finish();

    // Canonical → provider body (the canonical request as the OpenAI chat codec parses it).
    let chat = codec(Schema::OpenAiChat).parse(&bodies[0].2).unwrap();
    let messages = codec(Schema::AnthropicMessages).parse(&bodies[2].2).unwrap();
    let mut g = c.benchmark_group("request-render");
    for m in &models {
        let a = adapter(m.provider.kind);
        a.check(&chat.request, m).unwrap_or_else(|e| panic!("{}: {e}", m.id));
        a.render(&chat.request, m).unwrap_or_else(|e| panic!("{}: {e}", m.id));
        g.bench_function(short(m), |b| b.iter(|| a.render(black_box(&chat.request), m).unwrap()));
        cases.push(Case {
            group: "request-render",
            id: short(m).into(),
            per: 1,
            budget_us: REQUEST_BUDGET_US,
        });
    }
    let openai = &models[0];
    let anthropic = models
        .iter()
        .find(|m| m.provider.kind == ProviderKind::Anthropic)
        .unwrap();
    // A pass-through render splits the client's body into its raw fields first.
    let (chat_body, messages_body) = (&bodies[0].2, &bodies[2].2);
    g.bench_function("pass-openai", |b| {
        b.iter(|| {
            openai_passthrough::render_request(&parse_object(black_box(chat_body)).unwrap(), &chat.request, openai)
        })
    });
    g.bench_function("pass-anthropic", |b| {
        b.iter(|| {
            let raw = parse_object(black_box(messages_body)).unwrap();
            anthropic_passthrough::render_request(&raw, &messages.request, anthropic)
        })
    });
    for id in ["pass-openai", "pass-anthropic"] {
        cases.push(Case {
            group: "request-render",
            id: id.into(),
            per: 1,
            budget_us: REQUEST_BUDGET_US,
        });
    }
    g.finish();

    // Client body → provider body, as the proxy prepares it.
    let mut g = c.benchmark_group("request-full");
    for (s, n, body) in &bodies {
        for m in &models {
            let run = || {
                let p = codec(*s).parse(body).unwrap();
                prepare(*s, m, &p.request, body).unwrap().body
            };
            let _ = run();
            let id = format!("{n}.{}", short(m));
            g.bench_function(&id, |b| b.iter(|| black_box(run())));
            cases.push(Case {
                group: "request-full",
                id,
                per: 1,
                budget_us: REQUEST_BUDGET_US,
            });
        }
    }
    g.finish();

    // Provider JSON → client JSON.
    let mut g = c.benchmark_group("response");
    let mut prose = Prose(0x2545_f491_4f6c_dd1d);
    for m in &models {
        let answer = provider_response(short(m), &mut prose);
        for (s, n, body) in &bodies {
            let p = codec(*s).parse(body).unwrap();
            let plan = prepare(*s, m, &p.request, body).unwrap().plan;
            translate_json(plan, &answer, m, &mut Fin(m)).unwrap_or_else(|e| panic!("{n} <- {}: {e}", m.id));
            let id = format!("{n}.{}", short(m));
            g.bench_function(&id, |b| {
                b.iter(|| translate_json(plan, black_box(&answer), m, &mut Fin(m)).unwrap())
            });
            cases.push(Case {
                group: "response",
                id,
                per: 1,
                budget_us: REQUEST_BUDGET_US,
            });
        }
    }
    g.finish();

    // Streams: parse + translate a whole answer, per event.
    let mut g = c.benchmark_group("stream");
    let mut prose = Prose(0x2545_f491_4f6c_dd1d);
    let mut parse_only = Vec::new();
    for m in &models {
        let events = provider_stream(short(m), &mut prose);
        let n = events.len() as u64;
        g.throughput(Throughput::Elements(n));
        for (s, name, body) in &bodies {
            let mut p = codec(*s).parse(body).unwrap();
            p.request.stream = true;
            let plan = prepare(*s, m, &p.request, body).unwrap().plan;
            let req = &p.request;
            let run = || {
                let mut t = stream_translator(plan, req, m);
                let mut parser = SseParser::new(4 << 20);
                let mut fin = Fin(m);
                let mut out = Vec::with_capacity(256);
                let mut total = 0;
                for e in &events {
                    parser.push(e, |ev| t.event(&ev, &mut out, &mut fin)).unwrap();
                    total += out.len(); // the proxy hands each chunk's output on
                    out.clear();
                }
                t.end(&mut out, &mut fin).unwrap();
                total + out.len()
            };
            assert!(run() > 0);
            let id = format!("{name}.{}", short(m));
            g.bench_function(&id, |b| b.iter(|| black_box(run())));
            cases.push(Case {
                group: "stream",
                id,
                per: n,
                budget_us: EVENT_BUDGET_US,
            });
        }
        if !parse_only.iter().any(|(k, _)| *k == short(m)) {
            parse_only.push((short(m), n));
            let id = format!("parse-only.{}", short(m));
            g.bench_function(&id, |b| {
                b.iter(|| {
                    let mut parser = SseParser::new(4 << 20);
                    let mut k = 0;
                    for e in &events {
                        parser.push(black_box(e), |ev| k += ev.data.len()).unwrap();
                    }
                    k
                })
            });
            cases.push(Case {
                group: "stream",
                id,
                per: n,
                budget_us: EVENT_BUDGET_US,
            });
        }
    }
    g.finish();
    c.final_summary();
    summary(&cases, &parse_only);
}

/// criterion's output directory, as criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(h);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    // target/<profile>/deps/<bench binary>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| "target/criterion".into())
}

fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir().join(group).join(id).join("new/estimates.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn summary(cases: &[Case], parse_only: &[(&str, u64)]) {
    println!("\n== translation vs budgets (criterion medians of this run) ==");
    println!(
        "{:<16} {:<22} {:>12} {:>10}  verdict",
        "group", "case", "µs", "budget µs"
    );
    let mut fails = 0;
    for c in cases {
        let Some(ns) = median_ns(c.group, &c.id) else { continue };
        let us = ns / 1000.0 / c.per as f64;
        let ok = us <= c.budget_us;
        fails += usize::from(!ok);
        let what = if c.per > 1 {
            format!("{} (per event of {})", c.id, c.per)
        } else {
            c.id.clone()
        };
        println!(
            "{:<16} {:<34} {:>8.3} {:>8.1}  {}",
            c.group,
            what,
            us,
            c.budget_us,
            if ok { "PASS" } else { "OVER" }
        );
    }
    for (kind, n) in parse_only {
        println!("({kind} stream: {n} events)");
    }
    println!("{fails} case(s) over budget");
}
