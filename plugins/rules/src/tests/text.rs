//! The text index: overlapping and nested substrings, many shards, regexes gated by their literals
//! (case-insensitive and non-ASCII ones included) and regexes that cannot be gated.

use serde_json::{json, Value};

use super::*;
use crate::scan::gate_literals;

/// Which of the rules `r0..` (one per condition) fire on `text`.
fn fired(conds: Vec<Value>, text: &str) -> Vec<bool> {
    let list: Vec<Value> = conds
        .into_iter()
        .enumerate()
        .map(|(i, c)| json!({"name": format!("r{i}"), "when": c, "then": [{"tag": {format!("t{i}"): "1"}}]}))
        .collect();
    let set = rules(json!({ "rules": list }));
    let mut ex = exchange(request(text));
    run(&set, &mut ex);
    ex.trace.iter().map(|t| t.fired).collect()
}

#[test]
fn patterns_that_are_prefixes_of_each_other_are_all_found() {
    let conds = vec![
        json!({"input_contains": "inv"}),
        json!({"input_contains": "invoice"}),
        json!({"input_contains": "invoices"}),
        json!({"input_contains": "voice"}),
        json!({"input_contains": "ice"}),
        json!({"input_contains": "icy"}),
    ];
    assert_eq!(
        fired(conds, "two INVOICES please"),
        vec![true, true, true, true, true, false]
    );
}

#[test]
fn many_patterns_span_several_shards() {
    let mut conds: Vec<Value> = (0..150)
        .map(|i| json!({"input_contains": format!("word{i:03}x")}))
        .collect();
    conds.push(json!({"input_contains": {"text": "Word149X", "case_sensitive": true}}));
    let f = fired(conds, "see WORD007X, word070x and Word149X");
    let hits: Vec<usize> = f.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i).collect();
    assert_eq!(hits, vec![7, 70, 149, 150]);
}

#[test]
fn gated_regexes_match_like_the_regex() {
    let conds = vec![
        json!({"input_matches": "(?i)\\blegal advice\\b"}),
        json!({"input_matches": "\\blegal advice\\b"}),
        json!({"input_matches": "(?i)\\blegal advisor\\b"}),
        json!({"input_matches": "invoice (number|no\\.?) \\d{3,}"}),
        json!({"input_matches": "invoice (number|no\\.?) \\d{5,}"}),
    ];
    assert_eq!(
        fired(conds, "I want LEGAL ADVICE on invoice no. 4711"),
        vec![true, false, false, true, false]
    );
}

#[test]
fn case_insensitive_regexes_fold_non_ascii_letters() {
    // The Kelvin sign folds to `k`, `É` to `é`: the literal gate must not hide such matches.
    let conds = vec![
        json!({"input_matches": "(?i)kelvin"}),
        json!({"input_matches": "(?i)émile zola"}),
    ];
    assert_eq!(fired(conds.clone(), "\u{212A}ELVIN and ÉMILE ZOLA"), vec![true, true]);
    assert_eq!(fired(conds, "celsius and emile zola"), vec![false, false]);
}

#[test]
fn substring_case_folding_is_ascii_only() {
    let conds = vec![json!({"input_contains": "émile"}), json!({"input_contains": "Émile"})];
    assert_eq!(
        fired(conds, "ÉMILE"),
        vec![false, true],
        "É only matches É; the ASCII letters fold"
    );
}

#[test]
fn regexes_without_literals_run_as_a_set() {
    let conds = vec![
        json!({"input_matches": "\\b\\d{4}[- ]?\\d{4}[- ]?\\d{4}[- ]?\\d{4}\\b"}),
        json!({"input_matches": "[A-Z]{2}\\d{2}[A-Z0-9]{10,30}"}),
        json!({"input_matches": ".*"}),
    ];
    assert_eq!(
        fired(conds.clone(), "card 4111 1111 1111 1111"),
        vec![true, false, true]
    );
    assert_eq!(fired(conds, "no numbers"), vec![false, false, true]);
}

#[test]
fn the_same_pattern_in_several_rules_is_shared() {
    let conds = vec![
        json!({"input_contains": "invoice"}),
        json!({"input_contains": "INVOICE"}),
        json!({"input_matches": "x\\d"}),
        json!({"not": {"input_matches": "x\\d"}}),
    ];
    assert_eq!(fired(conds, "invoice x1"), vec![true, true, true, false]);
}

#[test]
fn gate_literals_are_lowercased_prefixes() {
    let lits = gate_literals("(?i)\\blegal advice").unwrap();
    assert!(
        !lits.is_empty() && lits.iter().all(|l| l.starts_with(b"legal") || b"legal".starts_with(l)),
        "{lits:?}"
    );
    assert_eq!(gate_literals("\\d{16}"), None, "no literal begins every match");
    assert_eq!(gate_literals(".*x"), None);
    assert_eq!(gate_literals("foo|bar"), Some(vec![b"foo".to_vec(), b"bar".to_vec()]));
}
