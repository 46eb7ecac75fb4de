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

mod fixtures;

use fixtures::*;

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
