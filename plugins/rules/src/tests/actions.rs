//! Each action's effect on the exchange, and that none marks the request modified.

use serde_json::json;
use switchyard_sdk::{Decision, Money, RejectKind};

use super::*;

/// Apply the actions `then` of one always-firing rule to a fresh `auto` request.
fn applied(then: serde_json::Value) -> Exchange {
    let set = rules(json!({"rules": [{"name": "r", "then": then}]}));
    let mut ex = exchange(request("hi"));
    let d = run(&set, &mut ex);
    assert!(matches!(d, Decision::Continue), "{d:?}");
    assert!(!ex.request_modified(), "routing actions do not modify the request");
    ex
}

#[test]
fn pin_model_sets_the_requested_model() {
    let ex = applied(json!([{"pin_model": "anthropic/claude-sonnet-4"}]));
    assert_eq!(ex.request().unwrap().model, "anthropic/claude-sonnet-4");
    assert_eq!(ex.trace[0].actions, vec!["pin_model anthropic/claude-sonnet-4"]);
}

#[test]
fn pin_provider_and_exclude_providers() {
    let ex = applied(json!([{"pin_provider": "openai"}, {"exclude_providers": ["gemini", "deepseek"]}]));
    let r = &ex.request().unwrap().routing;
    assert_eq!(r.provider.as_deref(), Some("openai"));
    assert_eq!(r.exclude_providers, vec!["gemini", "deepseek"]);
    assert_eq!(
        ex.trace[0].actions,
        vec!["pin_provider openai", "exclude_providers gemini, deepseek"]
    );
}

#[test]
fn set_mode_sets_the_hint_and_overrides_auto_mode_in_the_model() {
    let ex = applied(json!([{"set_mode": "balance"}]));
    assert_eq!(ex.request().unwrap().routing.mode.as_deref(), Some("balanced"));
    assert_eq!(ex.trace[0].actions, vec!["set_mode balanced"]);

    let set = rules(json!({"rules": [{"name": "r", "then": [{"set_mode": "price-optimized"}]}]}));
    let mut req = request("hi");
    req.model = "auto:quality".into();
    let mut ex = exchange(req);
    run(&set, &mut ex);
    let r = ex.request().unwrap();
    assert_eq!((r.model.as_str(), r.routing.mode.as_deref()), ("auto", Some("cost")));
    assert!(!ex.request_modified());
}

#[test]
fn fallback_quality_floor_and_budget() {
    let ex = applied(
        json!([{"fallback": ["openai/gpt-4o", "openai/gpt-4o-mini"]}, {"quality_floor": 0.7}, {"budget": 0.05}]),
    );
    let r = &ex.request().unwrap().routing;
    assert_eq!(r.fallback, vec!["openai/gpt-4o", "openai/gpt-4o-mini"]);
    assert_eq!(r.quality_floor, Some(0.7));
    assert_eq!(r.budget, Money::from_dollars(0.05));
    assert_eq!(
        ex.trace[0].actions,
        vec![
            "fallback openai/gpt-4o, openai/gpt-4o-mini",
            "quality_floor 0.7",
            "budget $0.05"
        ]
    );
}

#[test]
fn fallback_replaces_the_clients_chain() {
    let set = rules(json!({"rules": [{"name": "r", "then": [{"fallback": ["a/b"]}]}]}));
    let mut req = request("hi");
    req.routing.fallback = vec!["x/y".into()];
    let mut ex = exchange(req);
    run(&set, &mut ex);
    assert_eq!(ex.request().unwrap().routing.fallback, vec!["a/b"]);
}

#[test]
fn add_metadata_and_tags_go_to_the_exchange_tags() {
    let ex = applied(json!([
        {"add_metadata": {"dept": "legal", "level": 3}},
        {"tag": "cheap-arm"},
        {"tag": {"exp-7": "b", "on": true}},
    ]));
    assert_eq!(
        ex.tags,
        vec![
            ("dept".to_string(), "legal".to_string()),
            ("level".to_string(), "3".to_string()),
            ("ab".to_string(), "cheap-arm".to_string()),
            ("exp-7".to_string(), "b".to_string()),
            ("on".to_string(), "true".to_string()),
        ]
    );
    assert!(
        ex.request().unwrap().metadata.is_empty(),
        "the request's metadata is not edited"
    );
    assert_eq!(
        ex.trace[0].actions,
        vec![
            "add_metadata dept=legal",
            "add_metadata level=3",
            "tag ab=cheap-arm",
            "tag exp-7=b",
            "tag on=true"
        ]
    );
}

#[test]
fn a_rule_tag_replaces_another_phases_tag_of_the_same_key() {
    let set = rules(json!({"rules": [{"name": "r", "then": [{"tag": "b"}]}]}));
    let mut ex = exchange(request("hi"));
    ex.tags.push(("ab".into(), "a".into()));
    ex.tags.push(("cache".into(), "miss".into()));
    run(&set, &mut ex);
    assert_eq!(
        ex.tags,
        vec![("ab".into(), "b".into()), ("cache".into(), "miss".into())]
    );
}

#[test]
fn reject_answers_with_the_status_and_message() {
    let set = rules(json!({"rules": [{
        "name": "no-legal", "when": {"input_contains": "legal advice"},
        "then": [{"tag": "blocked"}, {"reject": {"status": 451, "message": "legal questions go to counsel"}}],
    }]}));
    let mut ex = exchange(request("I want legal advice"));
    let Decision::Respond(r) = run(&set, &mut ex) else {
        panic!("expected a refusal");
    };
    assert_eq!(r.kind, RejectKind::Status { status: 451 });
    assert_eq!(r.kind.status(), 451);
    assert_eq!(r.code, "rule_rejected");
    assert_eq!(r.message, "legal questions go to counsel");
    let t = &ex.trace[0];
    assert_eq!((t.phase, t.rule.as_str(), t.fired), ("rules", "no-legal", true));
    assert_eq!(
        t.conditions,
        vec![("input contains \"legal advice\"".to_string(), true)]
    );
    assert_eq!(t.actions, vec!["tag ab=blocked", "reject 451"]);
    assert_eq!(t.detail, "rejected with status 451");
    assert_eq!(
        ex.tags,
        vec![("ab".into(), "blocked".into())],
        "actions before the reject applied"
    );
}

#[test]
fn reject_has_a_default_message() {
    let set = rules(json!({"rules": [{"name": "r", "then": [{"reject": {"status": 503}}]}]}));
    let mut ex = exchange(request("hi"));
    let Decision::Respond(r) = run(&set, &mut ex) else {
        panic!("expected a refusal");
    };
    assert_eq!(r.kind.status(), 503);
    assert!(r.message.contains("rejected"), "{}", r.message);
}

#[test]
fn no_request_no_evaluation() {
    let set = rules(json!({"rules": [{"name": "r", "then": [{"reject": {"status": 403}}]}]}));
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    assert!(matches!(run(&set, &mut ex), Decision::Continue));
    assert!(ex.trace.is_empty());
}
