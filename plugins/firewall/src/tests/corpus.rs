//! The ordinary-sentence corpus: prices, dates, order and tracking numbers, times, versions,
//! measurements, code, URLs and math must not trip any detector.

use serde_json::json;

use super::*;
use crate::Detector;

const CORPUS: &str = include_str!("../../fixtures/ordinary_sentences.txt");

fn sentences() -> Vec<&'static str> {
    CORPUS.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

#[test]
fn the_corpus_has_at_least_200_sentences() {
    assert!(sentences().len() >= 200, "{} sentences", sentences().len());
}

#[test]
fn no_detector_fires_on_ordinary_sentences() {
    let mut hits = Vec::new();
    for s in sentences() {
        for d in crate::detect(s, &Detector::ALL) {
            hits.push(format!("{}: {:?} in {s:?}", d.detector, &s[d.range]));
        }
    }
    assert!(hits.is_empty(), "{} false positives:\n{}", hits.len(), hits.join("\n"));
}

#[test]
fn the_corpus_passes_strict_guardrails_and_every_detector_rule_untouched() {
    let rules: Vec<Value> = Detector::ALL
        .iter()
        .map(|d| json!({"name": d.name(), "detector": d.name(), "scope": ["prompt", "response"], "action": "block"}))
        .collect();
    let p = phase(json!({"policies": [{"name": "all", "rules": rules}]}));
    let messages: Vec<Message> = sentences().iter().map(|s| Message::text(Role::User, *s)).collect();
    let mut ex = exchange(request("openai/gpt-4o", messages));
    assert_continue(run(&*p, &mut ex, Some("strict")));
    assert!(!ex.request_modified());
    assert!(ex.firewall.is_empty());
    assert_eq!(answer_whole(&*p, &mut ex, CORPUS).unwrap(), CORPUS);
}
