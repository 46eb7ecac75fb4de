//! Config errors, each with the field path inside the section; every problem reported at once.

use serde_json::{json, Value};
use switchyard_sdk::ConfigError;

use super::*;

fn errors(section: Value) -> Vec<ConfigError> {
    match RuleSet::from_section(&section) {
        Ok(_) => panic!("accepted: {section}"),
        Err(e) => e,
    }
}

/// The single error of one rule with condition `when`.
fn when_error(when: Value) -> ConfigError {
    let e = errors(json!({"rules": [{"name": "r", "when": when, "then": [{"tag": "x"}]}]}));
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().unwrap()
}

fn then_error(then: Value) -> ConfigError {
    let e = errors(json!({"rules": [{"name": "r", "then": then}]}));
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().unwrap()
}

#[test]
fn the_example_of_the_issue_compiles() {
    let set = rules(json!({"rules": [
        {"name": "invoices-to-cheap", "priority": 10,
         "when": {"all": [{"input_contains": "invoice"}, {"tokens_below": 2000}]},
         "then": [{"set_mode": "cost"}, {"tag": {"ab": "cheap-arm"}}]},
        {"name": "no-legal-advice", "priority": 100,
         "when": {"any": [{"input_matches": "(?i)\\blegal advice\\b"}, {"metadata": {"field": "dept", "equals": "legal"}}]},
         "then": [{"reject": {"status": 403, "message": "legal questions go to counsel"}}]},
        {"name": "code-to-strong", "when": {"task": "code"},
         "then": [{"pin_model": "anthropic/claude-sonnet-4"}, {"fallback": ["openai/gpt-4o"]}]},
    ]}));
    assert_eq!(
        set.names().collect::<Vec<_>>(),
        vec!["no-legal-advice", "invoices-to-cheap", "code-to-strong"]
    );
}

#[test]
fn an_invalid_regex_names_its_path() {
    let e = errors(json!({"rules": [
        {"name": "a", "then": [{"tag": "x"}]},
        {"name": "b", "then": [{"tag": "x"}]},
        {"name": "c", "when": {"any": [{"input_matches": "(unclosed"}]}, "then": [{"tag": "x"}]},
    ]}));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "rules[2].when.any[0].input_matches");
    assert!(e[0].message.contains("invalid regex"), "{}", e[0].message);
}

#[test]
fn a_huge_regex_is_refused() {
    let e = when_error(json!({"input_matches": "(\\w{100}){100}"}));
    assert_eq!(e.path, "rules[0].when.input_matches");
    assert!(
        e.message.contains("size limit") || e.message.contains("exceeds"),
        "{}",
        e.message
    );
    let e = when_error(json!({"input_matches": "a".repeat(5000)}));
    assert!(e.message.contains("longer than"), "{}", e.message);
}

#[test]
fn unknown_modes_tasks_and_schemas() {
    let e = when_error(json!({"mode": "fastest"}));
    assert_eq!(e.path, "rules[0].when.mode");
    assert!(e.message.contains("unknown mode"));
    let e = then_error(json!([{"set_mode": "cheapest"}]));
    assert_eq!(e.path, "rules[0].then[0].set_mode");
    let e = then_error(json!([{"set_mode": "default"}]));
    assert_eq!(
        e.path, "rules[0].then[0].set_mode",
        "default is not a mode a rule can set"
    );
    let e = when_error(json!({"all": [{"tokens_above": 1}, {"not": {"task": "poetry"}}]}));
    assert_eq!(e.path, "rules[0].when.all[1].not.task");
    assert!(e.message.contains("creative_writing"), "{}", e.message);
    let e = when_error(json!({"client_schema": "gemini"}));
    assert_eq!(e.path, "rules[0].when.client_schema");
}

#[test]
fn every_task_name_is_accepted() {
    for t in crate::rule::TASKS {
        rules(json!({"rules": [{"name": "r", "when": {"task": t}, "then": [{"tag": "x"}]}]}));
    }
}

#[test]
fn bad_times() {
    let e = when_error(json!({"time": {"from": "25:00", "to": "06:00"}}));
    assert_eq!(e.path, "rules[0].when.time.from");
    let e = when_error(json!({"time": {"from": "22:00", "to": "6pm"}}));
    assert_eq!(e.path, "rules[0].when.time.to");
    let e = when_error(json!({"time": {"from": "22:00", "to": "06:00", "utc_offset": "CET"}}));
    assert_eq!(e.path, "rules[0].when.time.utc_offset");
    let e = when_error(json!({"time": {"from": "22:00", "to": "06:00", "days": ["fri", "someday"]}}));
    assert_eq!(e.path, "rules[0].when.time.days[1]");
    let e = when_error(json!({"time": {"from": "08:00", "to": "08:00"}}));
    assert_eq!(e.path, "rules[0].when.time");
    let e =
        errors(json!({"rules": [{"name": "r", "when": {"time": {"from": "x", "to": "y"}}, "then": [{"tag": "x"}]}]}));
    assert_eq!(e.len(), 2, "both ends are reported: {e:?}");
}

#[test]
fn rules_need_actions_and_unique_names() {
    let e = errors(json!({"rules": [{"name": "r", "then": []}]}));
    assert_eq!((e[0].path.as_str(), e.len()), ("rules[0].then", 1));
    let e = errors(json!({"rules": [
        {"name": "same", "then": [{"tag": "x"}]},
        {"name": "other", "then": [{"tag": "x"}]},
        {"name": " same ", "then": [{"tag": "x"}]},
    ]}));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "rules[2].name");
    assert!(e[0].message.contains("rules[0]"), "{}", e[0].message);
    let e = errors(json!({"rules": [{"name": "  ", "then": [{"tag": "x"}]}]}));
    assert_eq!(e[0].path, "rules[0].name");
}

#[test]
fn reject_status_must_be_an_error_and_last() {
    let e = then_error(json!([{"reject": {"status": 200, "message": "ok?"}}]));
    assert_eq!(e.path, "rules[0].then[0].reject.status");
    let e = then_error(json!([{"reject": {"status": 600}}]));
    assert_eq!(e.path, "rules[0].then[0].reject.status");
    let e = then_error(json!([{"reject": {"status": 403, "message": " "}}]));
    assert_eq!(e.path, "rules[0].then[0].reject.message");
    let e = then_error(json!([{"reject": {"status": 403}}, {"tag": "x"}]));
    assert_eq!(e.path, "rules[0].then[0]");
    assert!(e.message.contains("last action"));
}

#[test]
fn floor_and_budget_ranges() {
    for bad in [json!(1.5), json!(-0.1)] {
        let e = then_error(json!([{"quality_floor": bad}]));
        assert_eq!(e.path, "rules[0].then[0].quality_floor");
    }
    rules(json!({"rules": [{"name": "r", "then": [{"quality_floor": 0}, {"budget": 0}]}]}));
    let e = then_error(json!([{"budget": -1}]));
    assert_eq!(e.path, "rules[0].then[0].budget");
}

#[test]
fn condition_shapes() {
    let e = when_error(json!({"metadata": {"field": "a", "equals": "b", "exists": true}}));
    assert_eq!(e.path, "rules[0].when.metadata");
    let e = when_error(json!({"metadata": {"field": "a"}}));
    assert_eq!(e.path, "rules[0].when.metadata");
    let e = when_error(json!({"metadata": {"field": "a", "equals": ["b"]}}));
    assert_eq!(e.path, "rules[0].when.metadata.equals");
    let e = when_error(json!({"model": "openai/*-mini"}));
    assert_eq!(e.path, "rules[0].when.model");
    let e = when_error(json!({"any": []}));
    assert_eq!(e.path, "rules[0].when.any");
    let e = when_error(json!({"input_contains": ""}));
    assert_eq!(e.path, "rules[0].when.input_contains");
    let e = when_error(json!({"input_contains": {"text": "", "case_sensitive": true}}));
    assert_eq!(e.path, "rules[0].when.input_contains.text");
    let e = when_error(json!({"key_name": ""}));
    assert_eq!(e.path, "rules[0].when.key_name");
}

#[test]
fn action_shapes() {
    let e = then_error(json!([{"fallback": []}]));
    assert_eq!(e.path, "rules[0].then[0].fallback");
    let e = then_error(json!([{"exclude_providers": ["a", ""]}]));
    assert_eq!(e.path, "rules[0].then[0].exclude_providers[1]");
    let e = then_error(json!([{"add_metadata": {"k": {"nested": 1}}}]));
    assert_eq!(e.path, "rules[0].then[0].add_metadata.k");
    let e = then_error(json!([{"tag": ""}]));
    assert_eq!(e.path, "rules[0].then[0].tag");
    let e = then_error(json!([{"pin_model": " "}]));
    assert_eq!(e.path, "rules[0].then[0].pin_model");
}

#[test]
fn structural_errors_come_from_serde_with_their_path() {
    let e = errors(json!({"rules": [{"name": "r", "prio": 1, "then": [{"tag": "x"}]}]}));
    assert_eq!(e[0].path, "rules[0].prio");
    let e = errors(json!({"rules": [{"name": "r", "when": {"input_contain": "x"}, "then": [{"tag": "x"}]}]}));
    assert!(e[0].path.starts_with("rules[0].when"), "{e:?}");
    assert!(e[0].message.contains("input_contain"), "{e:?}");
    let e = errors(json!({"rules": [{"name": "r", "then": [{"pin_model": "a"}]}], "extra": true}));
    assert_eq!(e[0].path, "extra");
    let e = errors(
        json!({"rules": [{"name": "r", "when": {"time": {"from": "01:00", "to": "02:00", "tz": "x"}}, "then": [{"tag": "x"}]}]}),
    );
    assert_eq!(e[0].path, "rules[0].when.time.tz");
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(json!({"rules": [
        {"name": "a", "when": {"all": [{"mode": "x"}, {"task": "y"}]}, "then": [{"quality_floor": 2}]},
        {"name": "a", "when": {"input_matches": "("}, "then": [{"reject": {"status": 99}}]},
    ]}));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "rules[0].when.all[0].mode",
            "rules[0].when.all[1].task",
            "rules[0].then[0].quality_floor",
            "rules[1].name",
            "rules[1].when.input_matches",
            "rules[1].then[0].reject.status",
        ]
    );
}
#[test]
fn either_or_shapes_say_what_they_expect() {
    let e = when_error(json!({"input_contains": 5}));
    assert_eq!(e.path, "rules[0].when.input_contains");
    assert!(e.message.contains("case_sensitive"), "{}", e.message);
    let e = then_error(json!([{"tag": [1]}]));
    assert_eq!(e.path, "rules[0].then[0].tag");
    assert!(e.message.contains("A/B arm"), "{}", e.message);
    let e = when_error(json!({"input_contains": "a", "tokens_above": 3}));
    assert_eq!(e.path, "rules[0].when");
    assert!(
        e.message.contains("single key"),
        "one kind per condition: {}",
        e.message
    );
}
