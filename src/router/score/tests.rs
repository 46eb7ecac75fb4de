//! Unit tests of `score`.

use super::*;
use crate::config::raw::Quirks;
use crate::config::{test_model, ProviderKind};

fn cand(id: &str, quality: f64, price_out: f64, latency: u64) -> Candidate {
    let mut m = (*test_model(ProviderKind::OpenAi, Quirks::default())).clone();
    m.id = id.into();
    m.quality.insert("code".into(), quality);
    m.latency_prior_ms = latency;
    let cost = switchyard_sdk::Price::per_million_dollars(price_out)
        .unwrap()
        .cost(1000);
    Candidate {
        model: Arc::new(m),
        cost,
        needed_tokens: 2000,
    }
}

fn w(q: f64, c: f64, l: f64) -> Weights {
    Weights {
        quality: q,
        cost: c,
        latency: l,
        context: 0.0,
    }
}

#[test]
fn modes_pick_by_their_weights() {
    let cands = [
        cand("cheap", 0.6, 0.4, 300),
        cand("strong", 0.95, 10.0, 900),
        cand("fast", 0.7, 2.0, 100),
    ];
    let h = Health::new();
    assert_eq!(rank(&cands, "code", w(1.0, 0.0, 0.0), &h, &[])[0].model.id, "strong");
    assert_eq!(rank(&cands, "code", w(0.0, 1.0, 0.0), &h, &[])[0].model.id, "cheap");
    assert_eq!(rank(&cands, "code", w(0.0, 0.0, 1.0), &h, &[])[0].model.id, "fast");
    let r = rank(&cands, "code", w(1.0, 0.0, 0.0), &h, &[]);
    assert!(deciding_term(w(1.0, 0.0, 0.0), &r[0], &r[1]).starts_with("quality"));
}

#[test]
fn live_latency_and_failures_move_the_latency_term() {
    let cands = [cand("a", 0.8, 1.0, 100), cand("b", 0.8, 1.0, 200)];
    let h = Health::new();
    assert_eq!(rank(&cands, "code", w(0.0, 0.0, 1.0), &h, &[])[0].model.id, "a");
    h.record(
        "a",
        "p",
        None,
        crate::router::health::Outcome::Failure { retry_after: None },
        5,
        std::time::Duration::from_secs(1),
    );
    assert_eq!(
        rank(&cands, "code", w(0.0, 0.0, 1.0), &h, &[])[0].model.id,
        "b",
        "a failing model pays a latency penalty"
    );
}

#[test]
fn ties_are_deterministic_and_strong_prompts_weigh_quality() {
    let cands = [cand("y", 0.8, 1.0, 100), cand("x", 0.8, 1.0, 100)];
    let h = Health::new();
    let r = rank(&cands, "code", w(0.5, 0.5, 0.0), &h, &[]);
    assert_eq!(r[0].model.id, "x");
    let easy = adjust(w(0.5, 0.5, 0.0), 0.0, Mode::Balanced);
    let hard = adjust(w(0.5, 0.5, 0.0), 1.0, Mode::Balanced);
    assert!(hard.quality > easy.quality && (hard.quality + hard.cost - 1.0).abs() < 1e-9);
    let asked = adjust(w(0.5, 0.5, 0.0), 0.0, Mode::Quality);
    assert_eq!(asked.quality, 0.5, "quality mode keeps its weight for an easy prompt");
    let pref = rank(&cands, "code", w(0.5, 0.5, 0.0), &h, &["p".to_string()]);
    assert!(pref.iter().all(|s| s.preferred));
}
