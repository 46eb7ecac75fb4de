//! Priority order, several rules firing (first writer wins, `stop`), the trace, lazy classification,
//! and the plugin and phase wiring.

use std::path::Path;

use serde_json::json;
use switchyard_sdk::{BuildEnv, Decision, Phase, Plugin, PluginState};

use super::*;
use crate::{RulesPhase, RulesPlugin};

fn order(ex: &Exchange) -> Vec<&str> {
    ex.trace.iter().map(|t| t.rule.as_str()).collect()
}

#[test]
fn higher_priority_runs_first_and_ties_keep_file_order() {
    let set = rules(json!({"rules": [
        {"name": "low", "priority": -5, "then": [{"tag": {"low": "1"}}]},
        {"name": "tie-a", "priority": 10, "then": [{"tag": {"a": "1"}}]},
        {"name": "zero", "then": [{"tag": {"zero": "1"}}]},
        {"name": "tie-b", "priority": 10, "then": [{"tag": {"b": "1"}}]},
        {"name": "top", "priority": 100, "then": [{"tag": {"top": "1"}}]},
    ]}));
    assert_eq!(
        set.names().collect::<Vec<_>>(),
        vec!["top", "tie-a", "tie-b", "zero", "low"]
    );
    let mut ex = exchange(request("hi"));
    run(&set, &mut ex);
    assert_eq!(order(&ex), vec!["top", "tie-a", "tie-b", "zero", "low"]);
    let keys: Vec<&str> = ex.tags.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec!["top", "a", "b", "zero", "low"],
        "actions apply in the same order"
    );
}

#[test]
fn every_matching_rule_fires_and_the_higher_priority_setting_wins() {
    let set = rules(json!({"rules": [
        {"name": "generic", "priority": 1, "when": {"tokens_above": 0}, "then": [
            {"pin_model": "openai/gpt-4o-mini"}, {"set_mode": "cost"}, {"exclude_providers": ["b"]}, {"tag": "generic"}]},
        {"name": "specific", "priority": 50, "when": {"input_contains": "contract"}, "then": [
            {"pin_model": "anthropic/claude-sonnet-4"}, {"exclude_providers": ["a"]}, {"tag": "specific"}]},
        {"name": "unrelated", "priority": 20, "when": {"input_contains": "poem"}, "then": [{"pin_model": "x/y"}]},
    ]}));
    let mut ex = exchange(request("review this contract"));
    run(&set, &mut ex);
    assert_eq!(order(&ex), vec!["specific", "unrelated", "generic"]);
    assert_eq!(
        ex.trace.iter().map(|t| t.fired).collect::<Vec<_>>(),
        vec![true, false, true]
    );
    let r = ex.request().unwrap();
    assert_eq!(
        r.model, "anthropic/claude-sonnet-4",
        "the lower rule's pin does not override"
    );
    assert_eq!(
        r.routing.mode.as_deref(),
        Some("cost"),
        "settings nobody higher set still apply"
    );
    assert_eq!(r.routing.exclude_providers, vec!["a", "b"], "exclusions accumulate");
    assert_eq!(ex.tags, vec![("ab".into(), "specific".into())]);
    assert_eq!(
        ex.trace[2].actions,
        vec![
            "pin_model openai/gpt-4o-mini (ignored: already set by rule \"specific\")",
            "set_mode cost",
            "exclude_providers b",
            "tag ab=generic (ignored: already set by rule \"specific\")",
        ]
    );
    assert!(ex.trace[1].actions.is_empty(), "a rule that did not fire did nothing");
}

#[test]
fn stop_ends_the_evaluation_and_later_rules_are_not_listed() {
    let set = rules(json!({"rules": [
        {"name": "first", "priority": 9, "when": {"input_contains": "nope"}, "stop": true, "then": [{"tag": "first"}]},
        {"name": "second", "priority": 5, "stop": true, "then": [{"pin_model": "a/b"}]},
        {"name": "third", "priority": 1, "then": [{"pin_model": "c/d"}, {"tag": "third"}]},
    ]}));
    let mut ex = exchange(request("hi"));
    run(&set, &mut ex);
    assert_eq!(
        order(&ex),
        vec!["first", "second"],
        "a stop rule that does not fire does not stop"
    );
    assert_eq!(ex.request().unwrap().model, "a/b");
    assert!(ex.tags.is_empty());
    assert_eq!(ex.trace[1].detail, "stop: no later rule was evaluated");
}

#[test]
fn a_reject_stops_the_evaluation() {
    let set = rules(json!({"rules": [
        {"name": "label", "priority": 10, "then": [{"tag": "seen"}]},
        {"name": "block", "priority": 5, "when": {"input_contains": "forbidden"}, "then": [{"reject": {"status": 403, "message": "no"}}]},
        {"name": "after", "then": [{"pin_model": "a/b"}]},
    ]}));
    let mut ex = exchange(request("a forbidden topic"));
    assert!(matches!(run(&set, &mut ex), Decision::Respond(_)));
    assert_eq!(order(&ex), vec!["label", "block"]);
    assert_eq!(ex.request().unwrap().model, "auto");

    let mut ex = exchange(request("fine"));
    assert!(matches!(run(&set, &mut ex), Decision::Continue));
    assert_eq!(order(&ex), vec!["label", "block", "after"]);
}

#[test]
fn the_trace_lists_every_evaluated_rule_condition_and_action() {
    let set = rules(json!({"rules": [
        {"name": "invoices-to-cheap", "priority": 10,
         "when": {"all": [{"input_contains": "invoice"}, {"tokens_below": 2000}]},
         "then": [{"set_mode": "cost"}, {"tag": {"ab": "cheap-arm"}}]},
        {"name": "code-to-strong", "when": {"task": "code"},
         "then": [{"pin_model": "anthropic/claude-sonnet-4"}, {"fallback": ["openai/gpt-4o"]}]},
    ]}));
    let mut ex = exchange(request("Summarise this invoice"));
    ex.classifier = Some(Counting::new("summarization"));
    run(&set, &mut ex);
    let t = &ex.trace;
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|e| e.phase == "rules"));
    assert_eq!(
        (t[0].rule.as_str(), t[0].fired, &t[0].conditions, &t[0].actions),
        (
            "invoices-to-cheap",
            true,
            &vec![
                ("input contains \"invoice\"".to_string(), true),
                ("tokens < 2000".to_string(), true),
            ],
            &vec!["set_mode cost".to_string(), "tag ab=cheap-arm".to_string()],
        )
    );
    assert_eq!(
        (t[1].rule.as_str(), t[1].fired, &t[1].conditions, t[1].actions.len()),
        ("code-to-strong", false, &vec![("task = code".to_string(), false)], 0)
    );
}

#[test]
fn the_trace_never_carries_the_prompt() {
    let secret = "my-password-is-hunter2 and a very long prompt";
    let set = rules(json!({"rules": [
        {"name": "r", "when": {"any": [{"input_matches": "hunter\\d"}, {"input_contains": "password"}]}, "then": [{"tag": "x"}]},
    ]}));
    let mut ex = exchange(request(secret));
    run(&set, &mut ex);
    let all = format!("{:?}", ex.trace);
    assert!(!all.contains("hunter2") && !all.contains("my-password"), "{all}");
    assert!(all.contains("input matches /hunter\\\\d/"), "{all}");
}

#[test]
fn long_patterns_are_cut_in_the_trace() {
    let long = "x".repeat(500);
    let mut ex = exchange(request("hi"));
    assert!(!holds(json!({"input_contains": long}), &mut ex));
    let (desc, _) = &lines(&ex)[0];
    assert!(desc.len() < 100 && desc.ends_with('…'), "{desc}");
}

#[test]
fn no_classification_when_no_task_condition_is_reached() {
    let c = Counting::new("code");
    let set = rules(json!({"rules": [
        {"name": "a", "when": {"all": [{"tokens_above": 1_000_000}, {"task": "code"}]}, "then": [{"tag": "a"}]},
        {"name": "b", "priority": 5, "stop": true, "then": [{"tag": {"b": "1"}}]},
        {"name": "c", "priority": 1, "when": {"task": "math"}, "then": [{"tag": "c"}]},
    ]}));
    let mut ex = exchange(request("hi"));
    ex.classifier = Some(c.clone());
    run(&set, &mut ex);
    assert_eq!(c.calls(), 0, "c was never evaluated and a short-circuited");
    assert!(ex.classification_if_known().is_none());
}

#[test]
fn two_task_conditions_classify_once() {
    let c = Counting::new("code");
    let set = rules(json!({"rules": [
        {"name": "a", "when": {"task": "math"}, "then": [{"tag": "a"}]},
        {"name": "b", "when": {"any": [{"task": "reasoning"}, {"task": "code"}]}, "then": [{"tag": "b"}]},
    ]}));
    let mut ex = exchange(request("hi"));
    ex.classifier = Some(c.clone());
    run(&set, &mut ex);
    assert_eq!(c.calls(), 1);
    assert_eq!(ex.trace.iter().map(|t| t.fired).collect::<Vec<_>>(), vec![false, true]);
    assert_eq!(
        ex.classification_if_known().map(|c| c.task),
        Some("code"),
        "shared with routing"
    );
}

#[test]
fn the_plugin_builds_a_phase_only_when_there_are_rules() {
    let state = PluginState::new();
    let env = BuildEnv::new(&state, Path::new("."));
    assert_eq!(RulesPlugin.name(), "rules");
    assert!(RulesPlugin.build(None, &env).unwrap().is_none());
    assert!(RulesPlugin.build(Some(&json!({"rules": []})), &env).unwrap().is_none());
    assert!(RulesPlugin.build(Some(&json!({})), &env).unwrap().is_none());
    let errs = RulesPlugin
        .build(Some(&json!({"rules": [{"name": "r", "then": []}]})), &env)
        .err()
        .unwrap();
    assert_eq!(errs[0].path, "rules[0].then");

    let phase = RulesPlugin
        .build(
            Some(&json!({"rules": [{"name": "r", "when": {"mode": "cost"}, "then": [{"pin_model": "a/b"}]}]})),
            &env,
        )
        .unwrap()
        .unwrap();
    assert_eq!(phase.name(), "rules");
    let (head, ()) = http::Request::builder()
        .header("x-jt-route", "cost")
        .body(())
        .unwrap()
        .into_parts();
    let mut ex = exchange(request("hi"));
    assert!(matches!(phase.on_headers(&head, &mut ex), Decision::Continue));
    assert!(ex.trace.is_empty(), "nothing happens before the body");
    assert!(matches!(phase.on_request(&head, &mut ex), Decision::Continue));
    assert_eq!(ex.request().unwrap().model, "a/b", "on_request read the header");
}

#[test]
fn the_phase_reads_its_injected_clock() {
    let set = rules(
        json!({"rules": [{"name": "night", "when": {"time": {"from": "22:00", "to": "06:00"}}, "then": [{"tag": "n"}]}]}),
    );
    let phase = RulesPhase::with_clock(set, Arc::new(FixedClock(at(0, 23, 0))));
    let (head, ()) = http::Request::builder().body(()).unwrap().into_parts();
    let mut ex = exchange(request("hi"));
    phase.on_request(&head, &mut ex);
    assert!(ex.trace[0].fired);
    assert_eq!(phase.rules().len(), 1);
}

#[test]
fn conditions_see_what_earlier_rules_did() {
    let set = rules(json!({"rules": [
        {"name": "pin", "priority": 3, "when": {"input_contains": "sql"}, "then": [{"pin_model": "openai/gpt-4o"}]},
        {"name": "mode", "priority": 2, "when": {"model": "auto:*"}, "then": [{"set_mode": "latency"}]},
        {"name": "on-openai", "priority": 1, "when": {"model": "openai/*"}, "then": [{"tag": "openai"}]},
        {"name": "fast", "when": {"mode": "latency"}, "then": [{"tag": {"fast": "yes"}}]},
    ]}));
    let mut ex = exchange(request("write sql"));
    run(&set, &mut ex);
    assert_eq!(
        ex.trace.iter().map(|t| t.fired).collect::<Vec<_>>(),
        vec![true, false, true, false]
    );

    let mut req = request("hello");
    req.model = "auto:quality".into();
    let mut ex = exchange(req);
    run(&set, &mut ex);
    assert_eq!(
        ex.trace.iter().map(|t| t.fired).collect::<Vec<_>>(),
        vec![false, true, false, true]
    );
    assert_eq!(ex.tags, vec![("fast".into(), "yes".into())]);
}
