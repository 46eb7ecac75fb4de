//! Every condition kind, true and false; groups, nesting and short-circuiting.

use serde_json::json;
use switchyard_sdk::ir::{Message, Role, ToolCall};

use super::*;

#[test]
fn input_contains_is_ascii_case_insensitive_by_default() {
    let mut ex = exchange(request("Please pay the attached INVOICE today"));
    assert!(holds(json!({"input_contains": "invoice"}), &mut ex));
    assert!(holds(json!({"input_contains": {"text": "Invoice"}}), &mut ex));
    assert!(!holds(json!({"input_contains": "receipt"}), &mut ex));
}

#[test]
fn input_contains_can_be_case_sensitive() {
    let mut ex = exchange(request("Please pay the attached invoice"));
    assert!(!holds(
        json!({"input_contains": {"text": "Invoice", "case_sensitive": true}}),
        &mut ex
    ));
    assert!(holds(
        json!({"input_contains": {"text": "invoice", "case_sensitive": true}}),
        &mut ex
    ));
}

#[test]
fn input_contains_sees_tool_call_arguments_and_every_message() {
    let mut req = request("nothing here");
    let mut call = Message::text(Role::Assistant, "");
    call.tool_calls.push(ToolCall {
        id: "c1".into(),
        name: "pay".into(),
        arguments: r#"{"method":"wire_transfer"}"#.into(),
    });
    req.messages.push(call);
    let mut ex = exchange(req);
    assert!(holds(json!({"input_contains": "wire_transfer"}), &mut ex));
    assert!(
        holds(json!({"input_contains": "helpful assistant"}), &mut ex),
        "the system message counts"
    );
}

#[test]
fn a_match_never_spans_two_texts() {
    let mut req = request("pay the inv");
    req.messages.push(Message::text(Role::User, "oice now"));
    let mut ex = exchange(req);
    assert!(!holds(json!({"input_contains": "invoice"}), &mut ex));
}

#[test]
fn overlapping_texts_are_all_found() {
    // `voice` lies inside `invoice`: a leftmost-only search would miss one of them.
    let set = rules(json!({"rules": [
        {"name": "a", "when": {"input_contains": "invoice"}, "then": [{"tag": {"a": "1"}}]},
        {"name": "b", "when": {"input_contains": "voice"}, "then": [{"tag": {"b": "1"}}]},
        {"name": "c", "when": {"input_contains": {"text": "nvo", "case_sensitive": true}}, "then": [{"tag": {"c": "1"}}]},
    ]}));
    let mut ex = exchange(request("an invoice"));
    run(&set, &mut ex);
    assert_eq!(ex.trace.iter().filter(|t| t.fired).count(), 3);
}

#[test]
fn input_matches_uses_the_regex() {
    let mut ex = exchange(request("I need legal advice about my lease"));
    assert!(holds(json!({"input_matches": "(?i)\\blegal advice\\b"}), &mut ex));
    assert!(!holds(json!({"input_matches": "\\blegal\\s+counsel\\b"}), &mut ex));
    assert!(
        !holds(json!({"input_matches": "^legal"}), &mut ex),
        "anchors apply per text"
    );
    assert!(holds(json!({"input_matches": "^I need"}), &mut ex));
}

#[test]
fn metadata_equals_and_exists() {
    let mut req = request("hi");
    req.metadata.insert("dept".into(), json!("legal"));
    req.metadata.insert("tier".into(), json!(2));
    req.metadata.insert("beta".into(), json!(true));
    req.metadata.insert("gone".into(), json!(null));
    let mut ex = exchange(req);
    assert!(holds(
        json!({"metadata": {"field": "dept", "equals": "legal"}}),
        &mut ex
    ));
    assert!(!holds(
        json!({"metadata": {"field": "dept", "equals": "sales"}}),
        &mut ex
    ));
    assert!(holds(json!({"metadata": {"field": "tier", "equals": 2}}), &mut ex));
    assert!(holds(json!({"metadata": {"field": "tier", "equals": "2"}}), &mut ex));
    assert!(holds(json!({"metadata": {"field": "beta", "equals": true}}), &mut ex));
    assert!(!holds(json!({"metadata": {"field": "beta", "equals": false}}), &mut ex));
    assert!(holds(json!({"metadata": {"field": "dept", "exists": true}}), &mut ex));
    assert!(!holds(json!({"metadata": {"field": "owner", "exists": true}}), &mut ex));
    assert!(holds(json!({"metadata": {"field": "owner", "exists": false}}), &mut ex));
    assert!(
        holds(json!({"metadata": {"field": "gone", "exists": false}}), &mut ex),
        "null is absent"
    );
}

#[test]
fn metadata_sees_tags_of_earlier_rules_before_the_request() {
    let mut req = request("hi");
    req.metadata.insert("tier".into(), json!("premium"));
    let set = rules(json!({"rules": [
        {"name": "label", "priority": 5, "when": {"key_name": "free-key"}, "then": [{"add_metadata": {"tier": "free", "region": "eu"}}]},
        {"name": "use-tier", "when": {"metadata": {"field": "tier", "equals": "free"}}, "then": [{"set_mode": "cost"}]},
        {"name": "use-region", "when": {"metadata": {"field": "region", "exists": true}}, "then": [{"pin_provider": "eu-host"}]},
    ]}));
    let mut ex = exchange(req.clone());
    ex.identity = Some(identity("free-key", "ws"));
    run(&set, &mut ex);
    assert!(ex.trace[1].fired, "the rule's tag wins over the client's metadata");
    assert!(ex.trace[2].fired);
    let r = ex.request().unwrap();
    assert_eq!(r.routing.mode.as_deref(), Some("cost"));
    assert_eq!(r.metadata["tier"], "premium", "the request itself is untouched");

    let mut ex = exchange(req);
    ex.identity = Some(identity("paid-key", "ws"));
    run(&set, &mut ex);
    assert!(!ex.trace[1].fired && !ex.trace[2].fired);
}

#[test]
fn segment_is_the_segment_metadata() {
    let mut req = request("hi");
    req.metadata.insert("segment".into(), json!("enterprise"));
    let mut ex = exchange(req);
    assert!(holds(json!({"segment": "enterprise"}), &mut ex));
    assert!(!holds(json!({"segment": "smb"}), &mut ex));
    let mut ex = exchange(request("hi"));
    assert!(!holds(json!({"segment": "enterprise"}), &mut ex), "no segment at all");
}

fn mode_holds(mode: &str, model: &str, routing_mode: Option<&str>, header: Option<&str>) -> bool {
    let set = one(json!({"mode": mode}));
    let mut req = request("hi");
    req.model = model.into();
    req.routing.mode = routing_mode.map(str::to_string);
    let mut ex = exchange(req);
    let h = headers(&header.map(|v| vec![("x-jt-route", v)]).unwrap_or_default());
    set.evaluate(&h, &mut ex, &FixedClock(FRIDAY));
    ex.trace[0].fired
}

#[test]
fn mode_follows_header_then_model_then_field() {
    assert!(mode_holds("quality", "auto", None, Some("quality")));
    assert!(
        mode_holds("quality", "auto:cost", Some("latency"), Some("quality")),
        "the header wins"
    );
    assert!(
        mode_holds("cost", "auto:cost", Some("latency"), None),
        "then auto:<mode>"
    );
    assert!(!mode_holds("latency", "auto:cost", Some("latency"), None));
    assert!(mode_holds("latency", "auto", Some("latency"), None), "then router_mode");
    assert!(mode_holds("default", "auto", None, None), "nothing asked");
    assert!(mode_holds("default", "router", None, None));
    assert!(!mode_holds("default", "auto:cost", None, None));
    assert!(!mode_holds("cost", "auto", None, None));
}

#[test]
fn mode_words_are_normalised() {
    assert!(mode_holds("balanced", "auto:balance", None, None));
    assert!(
        mode_holds("balance", "auto", Some("balanced"), None),
        "the config side too"
    );
    assert!(mode_holds("quality", "auto", Some("output-optimized"), None));
    assert!(mode_holds("cost", "auto", Some("price-optimized"), None));
    assert!(mode_holds("cost", "auto", None, Some("Price-Optimized")));
    assert!(
        !mode_holds("default", "auto", None, Some("nonsense")),
        "an unknown word is no mode rules know"
    );
}

#[test]
fn model_equals_with_a_trailing_wildcard() {
    let mut req = request("hi");
    req.model = "openai/gpt-4o".into();
    let mut ex = exchange(req);
    assert!(holds(json!({"model": "openai/gpt-4o"}), &mut ex));
    assert!(!holds(json!({"model": "openai/gpt-4"}), &mut ex), "exact means exact");
    assert!(holds(json!({"model": "openai/*"}), &mut ex));
    assert!(holds(json!({"model": "openai/gpt-4*"}), &mut ex));
    assert!(!holds(json!({"model": "anthropic/*"}), &mut ex));
    assert!(holds(json!({"model": "*"}), &mut ex));
}

#[test]
fn key_name_and_workspace() {
    let mut ex = exchange(request("hi"));
    assert!(
        !holds(json!({"key_name": "ci"}), &mut ex),
        "no identity: nothing matches"
    );
    ex.identity = Some(identity("ci", "acme"));
    assert!(holds(json!({"key_name": "ci"}), &mut ex));
    assert!(!holds(json!({"key_name": "prod"}), &mut ex));
    assert!(holds(json!({"workspace": "acme"}), &mut ex));
    assert!(!holds(json!({"workspace": "globex"}), &mut ex));
}

#[test]
fn estimated_tokens_above_and_below() {
    // 4,000 bytes of text is about 1,000 tokens.
    let mut ex = exchange(request(&"word ".repeat(800)));
    let est = ex.request().unwrap().estimated_input_tokens();
    assert!((1000..1020).contains(&est), "{est}");
    assert!(holds(json!({"tokens_above": 900}), &mut ex));
    assert!(!holds(json!({"tokens_above": 2000}), &mut ex));
    assert!(holds(json!({"tokens_below": 2000}), &mut ex));
    assert!(!holds(json!({"tokens_below": 900}), &mut ex));
    assert!(!holds(json!({"tokens_above": est}), &mut ex), "strictly above");
}

#[test]
fn task_uses_the_classifier() {
    let c = Counting::new("code");
    let mut ex = exchange(request("fn main() {}"));
    ex.classifier = Some(c.clone());
    assert!(holds(json!({"task": "code"}), &mut ex));
    assert!(!holds(json!({"task": "math"}), &mut ex));
    assert_eq!(c.calls(), 1, "the classification is kept for the request");
    let mut ex = exchange(request("fn main() {}"));
    assert!(!holds(json!({"task": "code"}), &mut ex), "no classifier: no task");
}

#[test]
fn client_schema_equals() {
    let mut ex = exchange(request("hi"));
    assert!(holds(json!({"client_schema": "chat"}), &mut ex));
    assert!(!holds(json!({"client_schema": "messages"}), &mut ex));
    ex.client_schema = "messages";
    assert!(holds(json!({"client_schema": "messages"}), &mut ex));
}

#[test]
fn all_any_and_not() {
    let mut ex = exchange(request("invoice for March"));
    assert!(holds(
        json!({"all": [{"input_contains": "invoice"}, {"tokens_below": 100}]}),
        &mut ex
    ));
    assert!(!holds(
        json!({"all": [{"input_contains": "invoice"}, {"tokens_above": 100}]}),
        &mut ex
    ));
    assert!(holds(
        json!({"any": [{"input_contains": "receipt"}, {"input_contains": "march"}]}),
        &mut ex
    ));
    assert!(!holds(
        json!({"any": [{"input_contains": "receipt"}, {"tokens_above": 100}]}),
        &mut ex
    ));
    assert!(holds(json!({"not": {"input_contains": "receipt"}}), &mut ex));
    assert!(!holds(json!({"not": {"input_contains": "invoice"}}), &mut ex));
}

#[test]
fn groups_nest() {
    let mut ex = exchange(request("invoice for March"));
    ex.identity = Some(identity("ci", "acme"));
    let when = json!({"any": [
        {"all": [{"workspace": "globex"}, {"input_contains": "invoice"}]},
        {"all": [{"workspace": "acme"}, {"not": {"any": [{"input_contains": "receipt"}, {"tokens_above": 500}]}}]},
    ]});
    assert!(holds(when, &mut ex));
    assert_eq!(
        lines(&ex),
        vec![
            ("workspace = \"globex\"".to_string(), false),
            ("all of 2".to_string(), false),
            ("workspace = \"acme\"".to_string(), true),
            ("input contains \"receipt\"".to_string(), false),
            ("tokens > 500".to_string(), false),
            ("any of 2".to_string(), false),
            ("not (any of 2)".to_string(), true),
            ("all of 2".to_string(), true),
        ],
        "the rule's own group is its `fired`, not a line"
    );
}

#[test]
fn evaluation_short_circuits() {
    let c = Counting::new("code");
    let mut ex = exchange(request("invoice"));
    ex.classifier = Some(c.clone());
    assert!(!holds(
        json!({"all": [{"input_contains": "receipt"}, {"task": "code"}]}),
        &mut ex
    ));
    assert!(holds(
        json!({"any": [{"input_contains": "invoice"}, {"task": "code"}]}),
        &mut ex
    ));
    assert_eq!(c.calls(), 0, "the task condition was never reached");
    assert_eq!(
        lines(&ex),
        vec![("input contains \"invoice\"".to_string(), true)],
        "conditions after the deciding one are not listed"
    );
}

#[test]
fn a_rule_without_when_always_fires() {
    let set = rules(json!({"rules": [{"name": "always", "then": [{"tag": "x"}]}]}));
    let mut ex = exchange(request("anything"));
    run(&set, &mut ex);
    assert!(ex.trace[0].fired);
    assert!(ex.trace[0].conditions.is_empty());
}
