//! Routing decision cost against the budgets: scoring a 50-model catalog (p99 ≤ 20 µs) and
//! classifying a 2,000-token prompt (p99 ≤ 50 µs); the whole `auto` resolution (classification,
//! eligibility filters, scoring, chain and reason) is measured beside them for reference.
//!
//! `cargo bench --bench routing` prints criterion's estimates, then a table of per-call percentiles
//! from individually timed calls (criterion reports means and medians, the budgets are p99s). Its last
//! row times arithmetic as long as a classification: what the host alone adds to a p99 in that run.
//! The classifier is timed twice: on one prompt over and over (the CPU learns its branches, a best
//! case) and on 64 different prompts in turn (what a gateway meets: every request a new prompt).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench that cannot run should stop loudly

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use switchyard::api::Schema;
use switchyard::config::{Model, Snapshot};
use switchyard::router::score::{self, Candidate};
use switchyard::router::{resolve, RouteInput, RouterState};
use switchyard_sdk::ir::{ChatRequest, Message, Role};
use switchyard_sdk::{Endpoint, Exchange, Money};

const SCORE_BUDGET_US: f64 = 20.0;
const CLASSIFY_BUDGET_US: f64 = 50.0;
const TASKS: [&str; 6] = ["chat", "code", "math", "reasoning", "summarization", "translation"];

/// 10 providers × 5 models with spread prices, latencies, windows and per-task quality, loaded
/// through the public config loader like any deployment's catalog.
fn snapshot() -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("server:\n  worker_threads: 1\ncatalog: models.yaml\nproviders:\n");
    let mut cat = String::from("models:\n");
    for p in 0..10 {
        cfg += &format!("  p{p}: {{kind: openai_compatible, base_url: 'https://p{p}.example.com/v1', api_key: x}}\n");
        for m in 0..5 {
            let i = p * 5 + m;
            let q = |t: usize| 0.4 + ((i * 7 + t * 13) % 50) as f64 / 100.0;
            let quality = TASKS
                .iter()
                .enumerate()
                .map(|(t, name)| format!("{name}: {:.2}", q(t)))
                .collect::<Vec<_>>()
                .join(", ");
            cat += &format!(
                "  - {{id: p{p}/model-{m}, pricing: {{input: {:.2}, output: {:.2}}}, context_window: {}, max_output: 16000, \
                 latency_ms: {}, capabilities: [chat, tools, streaming, json_mode], quality: {{{quality}}}}}\n",
                0.1 + i as f64 * 0.3,
                0.4 + i as f64 * 1.1,
                32_000 * (1 + i % 8),
                150 + (i * 37) % 900,
            );
        }
    }
    std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
    std::fs::write(dir.path().join("models.yaml"), cat).unwrap();
    let snap = switchyard::config::load(
        &dir.path().join("switchyard.yaml"),
        &switchyard::registry::Registry::offline(),
    )
    .unwrap_or_else(|p| panic!("bench config: {p:?}"));
    assert_eq!(snap.catalog.models.len(), 50, "the bench needs a 50-model catalog");
    snap
}

/// About 2,000 tokens of mixed prose and code, the classifier's budgeted size.
fn long_prompt() -> String {
    let para = "Our service ingests events from several regions, deduplicates them and writes hourly \
                aggregates. Lately the p99 latency of the aggregation job doubled after a schema change. \
                fn merge(a: &mut Vec<Event>, b: Vec<Event>) { a.extend(b); a.sort_by_key(|e| e.ts); } ";
    let mut s = String::new();
    while s.len() < 8_000 {
        s += para;
    }
    s + "Explain why the latency doubled and propose a faster merge with a proof of its complexity."
}

/// `n` different prompts of about 2,000 tokens: prose of random words and punctuation with the odd
/// code line, list item and number, each prompt its own text. Classifying one prompt over and over
/// lets the CPU learn its branches; these are timed in turn, as a gateway meets prompts.
fn varied_prompts(n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "the",
        "a",
        "of",
        "to",
        "and",
        "in",
        "is",
        "that",
        "for",
        "it",
        "with",
        "as",
        "on",
        "be",
        "at",
        "by",
        "this",
        "from",
        "or",
        "an",
        "which",
        "can",
        "how",
        "what",
        "why",
        "when",
        "should",
        "would",
        "could",
        "please",
        "explain",
        "write",
        "summarize",
        "translate",
        "compare",
        "function",
        "latency",
        "service",
        "request",
        "database",
        "question",
        "answer",
        "history",
        "between",
        "different",
        "algorithm",
        "proof",
        "Paris",
        "Europe",
        "Python",
        "Rust",
        "revenue",
        "customer",
        "probability",
        "integral",
        "triangle",
        "character",
        "story",
        "dialogue",
        "sentiment",
        "category",
        "extract",
        "names",
        "dates",
        "table",
        "performance",
        "regression",
        "configuration",
        "infrastructure",
        "independent",
        "approximately",
        "nevertheless",
        "consequences",
        "responsibility",
        "I",
        "we",
        "you",
        "they",
        "it's",
        "don't",
        "x",
        "y",
    ];
    const CODE: &[&str] = &[
        "    for (i, x) in items.iter().enumerate() { total += x * weights[i]; }\n",
        "def merge(a, b):\n    return sorted(a + b, key=lambda e: e.ts)\n",
        "SELECT name, COUNT(*) FROM orders WHERE total > 100 GROUP BY name;\n",
        "const result = await fetch(url, { method: 'POST', body: JSON.stringify(data) });\n",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|_| {
            let mut s = String::with_capacity(8_400);
            while s.len() < 8_000 {
                let r = next();
                match r % 40 {
                    0 => s += CODE[(r >> 8) as usize % CODE.len()],
                    1 => s += &format!("\n{}. ", (r >> 8) % 9 + 1),
                    2 => s += &format!("{} ", (r >> 8) % 5000),
                    _ => {
                        s += WORDS[(r >> 8) as usize % WORDS.len()];
                        s += match (r >> 20) % 16 {
                            0 => ". ",
                            1 => ", ",
                            2 => "? ",
                            3 => ".\n",
                            _ => " ",
                        };
                    }
                }
            }
            s
        })
        .collect()
}

fn request(prompt: &str) -> ChatRequest {
    ChatRequest {
        model: "auto".into(),
        messages: vec![Message::text(Role::User, prompt)],
        max_tokens: Some(800),
        ..Default::default()
    }
}

fn candidates(snap: &Snapshot) -> Vec<Candidate> {
    snap.catalog
        .models
        .iter()
        .enumerate()
        .map(|(i, m): (usize, &Arc<Model>)| Candidate {
            model: m.clone(),
            cost: Money(1_000_000 * (i as u64 + 1)),
            needed_tokens: 2_800,
        })
        .collect()
}

/// Percentiles of `n` individually timed calls, in µs.
fn percentiles(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n.min(1_000) {
        f();
    }
    let mut ns: Vec<u64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let q = |p: f64| ns[((ns.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    (q(0.5), q(0.99))
}

/// A closure of pure arithmetic that takes about `us` µs.
fn calibrated_spin(us: f64) -> impl FnMut() {
    fn spin(n: u64) -> u64 {
        (0..n).fold(1u64, |x, i| {
            black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i))
        })
    }
    let t = Instant::now();
    spin(black_box(2_000_000));
    let per_iter_ns = t.elapsed().as_nanos() as f64 / 2e6;
    let n = (us * 1000.0 / per_iter_ns) as u64;
    move || {
        black_box(spin(black_box(n)));
    }
}

fn main() {
    let snap = snapshot();
    let state = RouterState::default();
    let cands = candidates(&snap);
    let weights = snap.routing.weights(switchyard::config::routing::Mode::Balanced);
    // The snapshot's classifier is the built-in one (the bench config names no weights file).
    let classifier = switchyard::router::classify::Classifier::builtin();
    let long = request(&long_prompt());
    let short = request("Write a Rust function that parses an ISO-8601 date and explain the edge cases.");
    let mut ex = Exchange::new("bench".into(), Endpoint::ChatCompletions);
    ex.set_request(short.clone());
    let route = || {
        let input = RouteInput {
            snap: &snap,
            ex: &ex,
            schema: Schema::OpenAiChat,
            header_mode: None,
            no_fallback: false,
            state: &state,
        };
        black_box(resolve(&input).unwrap());
    };
    let rank = || {
        black_box(score::rank(black_box(&cands), "code", weights, &state.health, &[]));
    };
    let classify = || {
        black_box(classifier.classify_request(black_box(&long)));
    };
    let varied: Vec<ChatRequest> = varied_prompts(64).iter().map(|p| request(p)).collect();
    let mut turn = 0usize;
    let classify_varied = || {
        turn = (turn + 1) % varied.len();
        black_box(classifier.classify_request(black_box(&varied[turn])));
    };

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("score/rank_50_models", |b| b.iter(rank));
    c.bench_function("classify/2000_tokens", |b| b.iter(classify));
    c.bench_function("route/auto_50_models", |b| b.iter(route));
    c.final_summary();

    let tokens: Vec<u32> = varied.iter().map(|r| classifier.classify_request(r).tokens).collect();
    println!(
        "\n== routing vs budgets (per-call percentiles, 20,000 calls each; the 64 prompts have {}–{} tokens) ==",
        tokens.iter().min().unwrap(),
        tokens.iter().max().unwrap()
    );
    println!("{:<24} {:>10} {:>10} {:>10}", "what", "p50 µs", "p99 µs", "budget");
    let classified = percentiles(20_000, classify);
    // The host's own tail: arithmetic only, no memory, as long as a classification. Its p99 over
    // its p50 is what preemption alone adds on this machine, in this run.
    let spin = calibrated_spin(classified.0);
    for (name, (p50, p99), budget) in [
        ("score 50 models", percentiles(20_000, rank), Some(SCORE_BUDGET_US)),
        ("classify 2k tokens", classified, Some(CLASSIFY_BUDGET_US)),
        (
            "classify 2k, 64 in turn",
            percentiles(20_000, classify_varied),
            Some(CLASSIFY_BUDGET_US),
        ),
        ("auto route 50 models", percentiles(20_000, route), None),
        ("spin (host reference)", percentiles(20_000, spin), None),
    ] {
        let verdict = budget.map_or("-".to_string(), |b| {
            format!("{b:.0} {}", if p99 <= b { "ok" } else { "OVER" })
        });
        println!("{name:<24} {p50:>10.2} {p99:>10.2} {verdict:>10}");
    }
}
