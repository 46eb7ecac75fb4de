//! Config validation: every problem is reported, each with its field path inside the section.

use serde_json::json;

use super::*;

fn one_error(section: Value) -> ConfigError {
    let errs = config_errors(section);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn unknown_detector_lists_the_known_ones() {
    let e = one_error(rules(json!([
        {"name": "a", "detector": "email", "scope": "prompt", "action": "mask"},
        {"name": "b", "detector": "passport", "scope": "prompt", "action": "block"},
    ])));
    assert_eq!(e.path, "policies[0].rules[1].detector");
    assert!(e.message.contains("unknown detector `passport`"), "{}", e.message);
    for known in ["email", "payment_card", "us_ssn", "private_key", "secrets"] {
        assert!(e.message.contains(known), "{} lists {known}", e.message);
    }
}

#[test]
fn bad_regexes_are_refused_with_their_path() {
    let cases = [
        ("(abc", "unclosed group"),
        ("a*", "empty string"),
        (r"\b", "empty string"),
        ("x?|y*", "empty string"),
        (r"\w{5000}", "compiles to more than"),
        (r"(?:\w{100}){100}", "compiles to more than"),
    ];
    for (re, want) in cases {
        let e = one_error(json!({"policies": [
            {"name": "ok", "rules": [{"name": "fine", "regex": "x+", "scope": "prompt", "action": "warn"}]},
            {"name": "p", "rules": [
                {"name": "a", "substring": "x", "scope": "prompt", "action": "warn"},
                {"name": "b", "substring": "y", "scope": "prompt", "action": "warn"},
                {"name": "c", "substring": "z", "scope": "prompt", "action": "warn"},
                {"name": "bad", "regex": re, "scope": "prompt", "action": "block"},
            ]},
        ]}));
        assert_eq!(e.path, "policies[1].rules[3].regex", "{re}");
        assert!(e.message.contains(want), "{re}: {}", e.message);
    }
}

#[test]
fn unknown_fields_name_their_path() {
    let e = one_error(rules(json!([
        {"name": "a", "detector": "email", "scope": "prompt", "action": "mask", "colour": "red"}
    ])));
    assert_eq!(e.path, "policies[0].rules[0].colour");
    assert!(e.message.contains("unknown field `colour`"), "{}", e.message);

    let e = one_error(json!({"polices": []}));
    assert_eq!(e.path, "polices");

    let e = one_error(json!({"policies": [{"name": "p", "rules": [], "when": 1}]}));
    assert_eq!(e.path, "policies[0].when");

    let e = one_error(rules(json!([
        {"name": "a", "detector": "email", "scope": "prompt", "action": "mask", "applies_to": {"teams": ["x"]}}
    ])));
    assert_eq!(e.path, "policies[0].rules[0].applies_to.teams");
}

#[test]
fn every_problem_is_reported_at_once() {
    let errs = config_errors(json!({
        "max_holdback_bytes": 10,
        "policies": [
            {"name": "guardrails", "rules": [{"name": "a", "detector": "nope", "scope": "prompt", "action": "block"}]},
            {"name": "p", "applies_to": {"models": ["open*ai"]}, "rules": [
                {"name": "x", "regex": "(", "scope": "prompt", "action": "block"},
                {"name": "x", "scope": "prompt", "action": "warn"},
                {"name": "y", "substring": "a", "regex": "b", "scope": "prompt", "action": "warn"},
                {"name": "z", "detector": "email", "scope": "prompt", "action": "block", "replacement": "[E]"},
                {"name": "w", "regex": "abc", "case_sensitive": false, "scope": [], "action": "warn"},
                {"name": "v", "detector": "email", "scope": ["prompt", "respnse"], "action": "mask"},
                {"name": "u", "substring": "", "scope": "prompt", "action": "warn"},
            ]},
            {"name": "p", "rules": []},
        ]
    }));
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    for want in [
        "max_holdback_bytes",
        "policies[0].name",
        "policies[0].rules[0].detector",
        "policies[1].applies_to.models[0]",
        "policies[1].rules[0].regex",
        "policies[1].rules[1].name",
        "policies[1].rules[1]",
        "policies[1].rules[2]",
        "policies[1].rules[3].replacement",
        "policies[1].rules[4].scope",
        "policies[1].rules[4].case_sensitive",
        "policies[1].rules[5].scope[1]",
        "policies[1].rules[6].substring",
        "policies[2].name",
        "policies[2].rules",
    ] {
        assert!(paths.contains(&want), "missing {want} in {errs:#?}");
    }
    let by_path = |p: &str| errs.iter().find(|e| e.path == p).unwrap().message.clone();
    assert!(by_path("policies[0].name").contains("reserved"));
    assert!(by_path("policies[1].rules[1]").contains("needs one matcher"));
    assert!(by_path("policies[1].rules[2]").contains("substring and regex"));
    assert!(by_path("policies[1].rules[5].scope[1]").contains("unknown variant `respnse`"));
    assert!(by_path("policies[2].name").contains("defined twice"));
}

#[test]
fn a_response_substring_must_fit_the_holdback() {
    let long = "x".repeat(300);
    let e = one_error(rules(
        json!([{"name": "a", "substring": long, "scope": "response", "action": "mask"}]),
    ));
    assert_eq!(e.path, "policies[0].rules[0].substring");
    let ok = json!({"max_holdback_bytes": 512, "policies": [{"name": "pii", "rules": [
        {"name": "a", "substring": long, "scope": "response", "action": "mask"}]}]});
    phase(ok);
}

#[test]
fn valid_sections_build() {
    phase(json!({}));
    phase(json!({"policies": []}));
    phase(rules(json!([
        {"name": "cards", "detector": "payment_card", "scope": "prompt", "action": "block"},
        {"name": "emails", "detector": "email", "scope": ["prompt", "response"], "action": "mask", "replacement": "[EMAIL]"},
        {"name": "codename", "substring": "Project Falcon", "case_sensitive": false, "scope": "prompt", "action": "warn"},
        {"name": "internal-host", "regex": r"\bhost-[0-9]{3}\.corp\b", "scope": "response", "action": "mask"},
        {"name": "keys", "detector": "secrets", "scope": ["prompt", "metadata"], "action": "block",
         "applies_to": {"models": ["openai/*", "fast"], "keys": ["ci"], "workspaces": ["team-a"]}},
    ])));
}
