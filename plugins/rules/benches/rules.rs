//! Times the rules phase on the request path and prints percentiles: 100 mixed rules over a ~8 KB
//! (about 2,000-token) conversation, then the same rules behind one rule whose task condition forces
//! a classification by a stub classifier. Each iteration times one `on_request`; the exchange is
//! reset between iterations outside the timed span. The allocator is jemalloc, as in the gateway
//! binary. Run with `cargo bench -p switchyard-rules` (`-- task` runs only the labels containing
//! `task`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use switchyard_rules::RulesPlugin;
use switchyard_sdk::ir::{ChatRequest, Message, Role, RoutingHints};
use switchyard_sdk::{
    BuildEnv, Classification, Classify, Endpoint, Exchange, Identity, KeyLimits, Phase, Plugin, PluginState, Scopes,
};

/// The gateway's allocator (src/main.rs of the root crate), so allocation costs what it costs there.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const WARMUP: usize = 5_000;
const ITERATIONS: usize = 200_000;

/// Words the prompt is made of (prose and a little code), drawn by a fixed PRNG so runs compare.
const WORDS: &[&str] = &[
    "the", "report", "customer", "quarter", "revenue", "shipping", "delay", "please", "review", "attached", "summary",
    "and", "of", "to", "in", "for", "with", "a", "contract", "order", "payment", "terms", "our", "team", "should",
    "update", "schedule", "meeting", "notes", "product", "launch", "risk", "budget", "forecast", "region", "sales",
    "growth", "support", "ticket", "issue", "resolved", "next", "steps", "let", "fn", "return", "value", "error",
    "result", "config", "server", "request", "response",
];

fn prompt_text(seed: u64, bytes: usize) -> String {
    let mut x = seed;
    let mut s = String::with_capacity(bytes + 16);
    let mut n = 0;
    while s.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        n += 1;
        s.push(if n % 14 == 0 { '.' } else { ' ' });
        if n % 14 == 0 {
            s.push(' ');
        }
    }
    s
}

/// A four-message conversation of about 8 KB with one "invoice" near the end.
fn request() -> ChatRequest {
    let mut req = ChatRequest {
        model: "auto".into(),
        messages: vec![
            Message::text(Role::System, prompt_text(1, 700)),
            Message::text(Role::User, prompt_text(2, 3000)),
            Message::text(Role::Assistant, prompt_text(3, 2000)),
            Message::text(
                Role::User,
                format!("{} Also, where is the invoice?", prompt_text(4, 2500)),
            ),
        ],
        ..Default::default()
    };
    req.metadata.insert("dept".into(), json!("finance"));
    req.metadata.insert("segment".into(), json!("enterprise"));
    req
}

/// 100 rules mixing every condition kind; a handful fire.
fn rules() -> Vec<Value> {
    let absent = [
        "refund",
        "lawsuit",
        "diagnosis",
        "password",
        "kubernetes",
        "recipe",
        "poem",
        "haiku",
        "bitcoin",
        "visa",
    ];
    (0..100)
        .map(|i| {
            let w = absent[(i / 10) % absent.len()];
            let when = match i % 10 {
                0 => json!({"input_contains": format!("{w}{i}")}),
                1 => json!({"input_matches": format!("(?i)\\b{w}[-_ ]?(number|id)\\s*\\d{{3,}}\\b")}),
                2 => json!({"all": [{"input_contains": if i == 2 { "invoice".to_string() } else { format!("{w}-{i}") }}, {"tokens_below": 4000}]}),
                3 => json!({"metadata": {"field": "dept", "equals": if i == 3 { "finance" } else { "legal" }}}),
                4 => json!({"any": [{"model": "openai/*"}, {"mode": "cost"}]}),
                5 => json!({"any": [{"key_name": format!("key-{i}")}, {"workspace": "globex"}, {"segment": "smb"}]}),
                6 => json!({"not": {"tokens_above": 100 + i * 10}}),
                7 => json!({"all": [{"client_schema": "messages"}, {"input_contains": {"text": w, "case_sensitive": true}}]}),
                8 => json!({"time": {"from": "22:00", "to": "06:00", "utc_offset": "+02:00", "days": ["sat", "sun"]}}),
                _ => json!({"any": [{"input_matches": format!("\\b{w}\\d{{2}}\\b")}, {"metadata": {"field": format!("flag{i}"), "exists": true}}]}),
            };
            let then = match i % 5 {
                0 => json!([{"tag": format!("arm-{i}")}]),
                1 => json!([{"pin_model": "anthropic/claude-sonnet-4"}, {"fallback": ["openai/gpt-4o"]}]),
                2 => json!([{"set_mode": "cost"}, {"add_metadata": {"rule": i}}]),
                3 => json!([{"exclude_providers": ["deepseek"]}, {"quality_floor": 0.6}]),
                _ => json!([{"budget": 0.05}, {"pin_provider": "openai"}]),
            };
            json!({"name": format!("rule-{i}"), "priority": (i % 7) as i64, "when": when, "then": then})
        })
        .collect()
}

/// A stand-in for the core's classifier that reads the whole prompt once, as a real one would.
struct StubClassifier;

/// How many times the stub ran (to show the rules classify only when a task condition is reached).
static CLASSIFIED: AtomicUsize = AtomicUsize::new(0);

impl Classify for StubClassifier {
    fn classify(&self, req: &ChatRequest) -> Classification {
        CLASSIFIED.fetch_add(1, Ordering::Relaxed);
        let code_bytes: usize = req
            .texts()
            .map(|t| t.bytes().filter(|b| matches!(b, b'{' | b'}' | b';' | b'(')).count())
            .sum();
        Classification {
            task: if code_bytes > 20 { "code" } else { "chat" },
            confidence: 0.8,
            runner_up: "chat",
            complexity_tier: "MEDIUM",
            complexity_score: 0.4,
            language: "en",
            tokens: 2000,
            strong: 0.3,
            reasons: vec![],
        }
    }
}

fn build(rules: Vec<Value>) -> Arc<dyn Phase> {
    let state = PluginState::new();
    let env = BuildEnv::new(&state, Path::new("."));
    RulesPlugin
        .build(Some(&json!({ "rules": rules })), &env)
        .unwrap()
        .unwrap()
}

fn exchange(classifier: bool) -> Exchange {
    let mut ex = Exchange::new("bench".into(), Endpoint::ChatCompletions);
    ex.client_schema = "chat";
    ex.identity = Some(Identity {
        key_id: "k".into(),
        key_name: "prod-key".into(),
        workspace: "acme".into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(KeyLimits::default()),
    });
    if classifier {
        ex.classifier = Some(Arc::new(StubClassifier));
    }
    ex.set_request(request());
    ex
}

/// Undo what the phase did, so every iteration sees the same request (not timed).
fn reset(ex: &mut Exchange) {
    ex.trace.clear();
    ex.tags.clear();
    if let Some(mut req) = ex.take_request() {
        req.model = "auto".into();
        req.routing = RoutingHints::default();
        ex.set_request(req);
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn time(filter: &str, label: &str, phase: &dyn Phase, mut ex: Exchange) {
    if !label.contains(filter) {
        return;
    }
    let (head, ()) = http::Request::builder().body(()).unwrap().into_parts();
    let mut ns = Vec::with_capacity(ITERATIONS);
    let classified = CLASSIFIED.load(Ordering::Relaxed);
    for i in 0..WARMUP + ITERATIONS {
        reset(&mut ex);
        let t = Instant::now();
        let d = phase.on_request(&head, black_box(&mut ex));
        let elapsed = t.elapsed().as_nanos() as u64;
        black_box(d);
        if i >= WARMUP {
            ns.push(elapsed);
        }
    }
    let classified = (CLASSIFIED.load(Ordering::Relaxed) - classified) as f64 / (WARMUP + ITERATIONS) as f64;
    ns.sort_unstable();
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64;
    let fired = ex.trace.iter().filter(|t| t.fired).count();
    let lines: usize = ex.trace.iter().map(|t| t.conditions.len()).sum();
    println!(
        "{label}: p50 {:.2} µs  p90 {:.2} µs  p99 {:.2} µs  p99.9 {:.2} µs  mean {:.2} µs  ({} rules evaluated, {fired} fired, {lines} trace lines, {classified} classifications per request, {} iterations)",
        percentile(&ns, 0.50) as f64 / 1000.0,
        percentile(&ns, 0.90) as f64 / 1000.0,
        percentile(&ns, 0.99) as f64 / 1000.0,
        percentile(&ns, 0.999) as f64 / 1000.0,
        mean / 1000.0,
        ex.trace.len(),
        ns.len(),
    );
}

fn main() {
    // `cargo bench -p switchyard-rules -- task` runs only the cases whose label contains `task`.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let req = request();
    let bytes: usize = req.texts().map(str::len).sum();
    println!(
        "prompt: {} messages, {bytes} bytes of text, {} estimated tokens",
        req.messages.len(),
        req.estimated_input_tokens()
    );

    let phase = build(rules());
    time(&filter, "100 rules", &*phase, exchange(true));

    let mut with_task = vec![
        json!({"name": "code-first", "priority": 1000, "when": {"task": "code"}, "then": [{"pin_model": "anthropic/claude-sonnet-4"}]}),
    ];
    with_task.extend(rules());
    let phase = build(with_task);
    time(
        &filter,
        "101 rules, one task condition (stub classifier runs)",
        &*phase,
        exchange(true),
    );

    // The stub's own cost, so the line above can be read as rules + classification.
    let stub = StubClassifier;
    let req = request();
    let t = Instant::now();
    for _ in 0..10_000 {
        black_box(stub.classify(black_box(&req)));
    }
    println!(
        "stub classifier alone: mean {:.2} µs",
        t.elapsed().as_nanos() as f64 / 10_000.0 / 1000.0
    );
}
