//! Firewall timings, printed as p50/p99 per case (no assertions: budgets are read, not enforced):
//! - the request stage over a ~2,000-token prompt (about 8 KB in six messages) with 50 configured
//!   rules plus every detector (`X-GR-Guardrails: strict`), without and with matches;
//! - one streamed answer cut into a few thousand small deltas, per event;
//! - `redact_secrets` over 8 KB.
//!
//! Run with `cargo bench -p switchyard-firewall` (`FIREWALL_BENCH=matches` for one case).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_firewall::{redact_secrets, FirewallPlugin};
use switchyard_sdk::ir::{ChatRequest, Message, Role};
use switchyard_sdk::{Decision, Endpoint, Exchange, Identity, KeyLimits, Phase, Scopes, StreamDecision};

fn config() -> Value {
    let mut rules = Vec::new();
    let words = [
        "Project Falcon",
        "Project Heron",
        "Operation Nightjar",
        "codename Osprey",
        "Blue Harbor",
        "Red Canyon",
        "Silver Lake",
        "Iron Gate",
        "Northwind merger",
        "Atlas rollout",
    ];
    for (i, w) in words.iter().enumerate() {
        rules.push(json!({"name": format!("ci-{i}"), "substring": w, "case_sensitive": false, "scope": "prompt", "action": "warn"}));
        rules.push(json!({"name": format!("cs-{i}"), "substring": format!("INTERNAL-{i}-ONLY"), "scope": ["prompt", "response"], "action": "mask"}));
    }
    let regexes = [
        r"\bhost-[0-9]{3}\.corp\b",
        r"\bPRJ-[0-9]{4,6}\b",
        r"(?i)\bconfidential\b",
        r"\bemp[0-9]{6}\b",
        r"\b[A-Z]{3}-[0-9]{5}\b",
        r"\bticket/[0-9]{7}\b",
        r"\bvault:[a-z0-9/]{8,40}\b",
        r"(?i)\bdo not distribute\b",
        r"\bacct_[A-Za-z0-9]{12}\b",
        r"\b(?:staging|prod)-db-[0-9]{2}\b",
        r"\bbuild-[0-9a-f]{8}\b",
        r"(?i)\bsalary (?:band|grade) [A-F][0-9]\b",
        r"\bcust-[0-9]{8}\b",
        r"\b10\.200\.[0-9]{1,3}\.[0-9]{1,3}\b",
        r"\bsecret_[a-z]+_token\b",
        r"\bx-internal-[a-z]+\b",
        r"\bFIN-[0-9]{4}-Q[1-4]\b",
        r"\bbadge #[0-9]{5}\b",
        r"(?i)\bunder embargo\b",
        r"\bproj_[a-z]{3,12}_v[0-9]\b",
    ];
    for (i, re) in regexes.iter().enumerate() {
        let (scope, action) = if i % 4 == 0 {
            (json!(["prompt", "response"]), "mask")
        } else {
            (json!("prompt"), "warn")
        };
        rules.push(json!({"name": format!("re-{i}"), "regex": re, "scope": scope, "action": action}));
    }
    for (i, d) in [
        "email",
        "phone",
        "ipv4",
        "ipv6",
        "iban",
        "us_ssn",
        "payment_card",
        "secrets",
        "email",
        "phone",
    ]
    .iter()
    .enumerate()
    {
        let action = if matches!(*d, "payment_card" | "secrets" | "us_ssn" | "iban") {
            "block"
        } else {
            "mask"
        };
        let scope = if i >= 8 { json!("response") } else { json!("prompt") };
        rules.push(json!({"name": format!("det-{i}"), "detector": d, "scope": scope, "action": action}));
    }
    assert_eq!(rules.len(), 50);
    json!({"policies": [{"name": "bench", "rules": rules}]})
}

const PROSE: &str = "The quarterly review covered shipping times, which improved from 4.2 to 3.1 days on average, \
and the support backlog, down to 312 tickets from 1,045 in January. Order 100-2345-6789 was refunded ($129.99) \
after the courier lost it on 2024-03-15 at 14:30. Version 2.3.1 of the mobile app ships next week; \
the crash rate is 0.12% on Android 14 and 0.08% on iOS 17.4. ";
const CODE: &str = "fn total(items: &[Item]) -> u64 {\n    items.iter().map(|i| i.price * u64::from(i.qty)).sum()\n}\n\
SELECT id, total FROM orders WHERE created_at > '2024-01-01' AND total > 99.50 LIMIT 100;\n\
curl -s https://api.example.com/v1/orders?limit=20 | jq '.data[] | {id, total}'\n";
const MATCHES: &str = "Please loop in jane.doe@corp.example.com and call +1 (415) 555-2671 about Project Falcon; \
the logs on host-042.corp show PRJ-20931 failing (see ticket/1234567, confidential). \
Ping 10.200.3.4 and ops@corp.example.com if INTERNAL-3-ONLY data shows up. ";

/// About 8 KB (~2,000 tokens) in six messages; `matches` mixes in contacts, hosts and codenames.
fn prompt(matches: bool) -> ChatRequest {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 8 * 1024 {
        text.push_str(if i % 3 == 2 { CODE } else { PROSE });
        if matches && i % 4 == 1 {
            text.push_str(MATCHES);
        }
        i += 1;
    }
    let chunk = text.len() / 6;
    let mut messages = Vec::new();
    let mut rest = text.as_str();
    for k in 0..6 {
        let cut = if k == 5 {
            rest.len()
        } else {
            rest.char_indices().nth(chunk).map_or(rest.len(), |(i, _)| i)
        };
        let role = match k {
            0 => Role::System,
            k if k % 2 == 1 => Role::User,
            _ => Role::Assistant,
        };
        messages.push(Message::text(role, &rest[..cut]));
        rest = &rest[cut..];
    }
    ChatRequest {
        model: "openai/gpt-4o".into(),
        messages,
        ..Default::default()
    }
}

fn exchange(req: ChatRequest) -> Exchange {
    let mut ex = Exchange::new("bench".into(), Endpoint::ChatCompletions);
    ex.identity = Some(Identity {
        key_id: "k".into(),
        key_name: "bench".into(),
        workspace: "team-a".into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(KeyLimits::default()),
    });
    ex.set_request(req);
    ex
}

fn head() -> http::request::Parts {
    http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("X-GR-Guardrails", "strict")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<58} n={:<6} p50={:>9.2?} p99={:>9.2?} max={:>9.2?}",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

fn bench_prompt(p: &dyn Phase, matches: bool) {
    let req = prompt(matches);
    let h = head();
    let bytes: usize = req.texts().map(str::len).sum();
    let mut samples = Vec::with_capacity(20_000);
    for i in 0..23_000 {
        let mut ex = exchange(req.clone());
        let t = Instant::now();
        let d = match p.on_headers(&h, &mut ex) {
            Decision::Continue => p.on_request(&h, &mut ex),
            other => other,
        };
        let dt = t.elapsed();
        assert!(matches!(d, Decision::Continue), "{d:?}");
        assert_eq!(ex.request_modified(), matches);
        black_box(&ex);
        if i >= 3_000 {
            samples.push(dt);
        }
    }
    let what = if matches {
        "with matches (masks + warns)"
    } else {
        "no match"
    };
    report(&format!("prompt {bytes} B, 50 rules + all detectors, {what}"), samples);
}

fn answer_text() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 40 * 1024 {
        s.push_str(PROSE);
        if i % 3 == 0 {
            s.push_str("Reach jane.doe@corp.example.com or +44 20 7946 0958; host-042.corp is fine. ");
        }
        if i % 5 == 0 {
            s.push_str("Ünïcödé ☕ — “quoted” text. ");
        }
        i += 1;
    }
    s
}

fn bench_stream(p: &dyn Phase) {
    let text = answer_text();
    // Deltas of 4 to 19 bytes, on character boundaries, as model tokens arrive.
    let mut deltas = Vec::new();
    let mut rest = text.as_str();
    let mut k = 0usize;
    while !rest.is_empty() {
        let want = 4 + (k * 7) % 16;
        let mut cut = want.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        deltas.push(&rest[..cut]);
        rest = &rest[cut..];
        k += 1;
    }
    let mut samples = Vec::new();
    let mut out_len = 0;
    for round in 0..6 {
        let mut ex = exchange(prompt(false));
        let h = head();
        assert!(matches!(p.on_headers(&h, &mut ex), Decision::Continue));
        assert!(matches!(p.on_request(&h, &mut ex), Decision::Continue));
        assert!(p.watch_answer(&ex).is_some());
        let mut held = String::new();
        out_len = 0;
        for (i, d) in deltas.iter().enumerate() {
            held.push_str(d);
            let last = i + 1 == deltas.len();
            let t = Instant::now();
            let r = p.on_stream_delta(&mut ex, &mut held, last);
            let dt = t.elapsed();
            match r {
                StreamDecision::Release(n) => {
                    out_len += n;
                    held.drain(..n);
                }
                StreamDecision::End(r) => panic!("{r:?}"),
            }
            if round > 0 {
                samples.push(dt);
            }
        }
    }
    black_box(out_len);
    report(
        &format!(
            "stream, per event ({} events of 4-19 B, strict + 9 response rules)",
            deltas.len()
        ),
        samples,
    );
}

fn bench_redact() {
    let req = prompt(true);
    let text: String = req.texts().collect();
    let mut samples = Vec::new();
    for _ in 0..20_000 {
        let t = Instant::now();
        black_box(redact_secrets(black_box(&text)));
        samples.push(t.elapsed());
    }
    report(&format!("redact_secrets, {} B without secrets", text.len()), samples);
}

/// `FIREWALL_BENCH=prompt|matches|stream|redact` runs one case (to profile it alone); unset, all.
fn main() {
    let p = FirewallPlugin::compile(Some(&config())).expect("bench config");
    let only = std::env::var("FIREWALL_BENCH").ok();
    let run = |case: &str| only.as_deref().is_none_or(|o| o == case);
    if run("prompt") {
        bench_prompt(&*p, false);
    }
    if run("matches") {
        bench_prompt(&*p, true);
    }
    if run("stream") {
        bench_stream(&*p);
    }
    if run("redact") {
        bench_redact();
    }
}
