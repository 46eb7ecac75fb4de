//! `X-GR-Guardrails`: off, moderate, strict, unknown values, and that it only ever adds rules.

use serde_json::json;
use switchyard_sdk::RejectKind;

use super::*;
use crate::Guardrails;

fn bare() -> Arc<dyn Phase> {
    FirewallPlugin::compile(None).unwrap()
}

const EMAIL: &str = "jane.doe@corp.example.com";
const PHONE: &str = "+1 (415) 555-2671";

#[test]
fn values_are_case_insensitive() {
    assert_eq!(Guardrails::parse("OFF"), Some(Guardrails::Off));
    assert_eq!(Guardrails::parse(" Moderate "), Some(Guardrails::Moderate));
    assert_eq!(Guardrails::parse("STRICT"), Some(Guardrails::Strict));
    assert_eq!(Guardrails::parse("max"), None);
    assert_eq!(Guardrails::parse(""), None);
}

#[test]
fn off_adds_nothing() {
    let p = bare();
    for header in [None, Some("off"), Some("Off")] {
        let mut ex = exchange(user(&format!("card 4111 1111 1111 1111, mail {EMAIL}")));
        assert_continue(run(&*p, &mut ex, header));
        assert!(!ex.request_modified());
        assert!(ex.firewall.is_empty());
        assert!(
            p.watch_answer(&ex).is_none(),
            "no response rule: the answer stays on the fast path"
        );
    }
}

#[test]
fn moderate_blocks_sensitive_numbers_and_secrets_before_inference() {
    let p = bare();
    let cases = [
        ("4111 1111 1111 1111", "moderate/payment_card"),
        ("123-45-6789", "moderate/us_ssn"),
        ("DE89 3704 0044 0532 0130 00", "moderate/iban"),
        ("AKIAIOSFODNN7EXAMPLE", "moderate/aws_access_key_id"),
        (crate::detectors::tests::JWT, "moderate/jwt"),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            "moderate/private_key",
        ),
    ];
    for (secret, rule) in cases {
        let mut ex = exchange(user(&format!("here you go: {secret}")));
        let r = rejected(run(&*p, &mut ex, Some("moderate")));
        assert_eq!((r.kind, r.code), (RejectKind::Forbidden, "firewall_blocked"));
        let e = ex.firewall.last().unwrap();
        assert_eq!((&*e.policy, &*e.rule, e.action), ("guardrails", rule, "block"));
        assert_eq!(ex.trace.last().unwrap().rule, format!("guardrails/{rule}"));
        assert!(r.message.contains(rule), "{}", r.message);
        assert_not_leaked(&ex, Some(&r), secret);
    }
}

#[test]
fn moderate_masks_contacts_in_the_prompt_only() {
    let p = bare();
    let mut ex = exchange(user(&format!("I am {EMAIL}, call {PHONE}.")));
    assert_continue(run(&*p, &mut ex, Some("moderate")));
    assert!(ex.request_modified());
    assert_eq!(text_of(&ex, 0), "I am [EMAIL], call [PHONE].");
    let rules: Vec<&str> = ex.firewall.iter().map(|e| &*e.rule).collect();
    assert_eq!(rules, vec!["moderate/email", "moderate/phone"]);
    assert!(p.watch_answer(&ex).is_none(), "moderate leaves the answer alone");
}

#[test]
fn strict_also_masks_the_answer_whole_and_streamed() {
    let p = bare();
    let mut ex = exchange(user(&format!("I am {EMAIL}")));
    assert_continue(run(&*p, &mut ex, Some("strict")));
    assert_eq!(text_of(&ex, 0), "I am [EMAIL]");
    assert_eq!(&*ex.firewall[0].rule, "strict/email");
    let out = answer_whole(&*p, &mut ex, &format!("Reach {EMAIL} or {PHONE}.")).unwrap();
    assert_eq!(out, "Reach [EMAIL] or [PHONE].");

    let mut ex = exchange(user("hi"));
    assert_continue(run(&*p, &mut ex, Some("strict")));
    let s = stream(
        &*p,
        &mut ex,
        &["Reach jane.doe@corp.ex", "ample.com or +1 (415) 55", "5-2671."],
    );
    assert_eq!(s.out, "Reach [EMAIL] or [PHONE].");
    let rules: Vec<(&str, &str)> = ex.firewall.iter().map(|e| (&*e.rule, &*e.location)).collect();
    assert_eq!(rules, vec![("strict/email", "answer"), ("strict/phone", "answer")]);
    let r = rejected(run(&*p, &mut exchange(user("4111111111111111")), Some("strict")));
    assert!(r.message.contains("strict/payment_card"));
}

#[test]
fn an_unknown_value_is_a_400_naming_the_header() {
    let p = bare();
    let mut ex = exchange(user("hi"));
    let r = rejected(run(&*p, &mut ex, Some("maximum")));
    assert_eq!((r.kind.status(), r.code), (400, "invalid_request"));
    assert_eq!(r.param.as_deref(), Some("X-GR-Guardrails"));
    assert!(r.message.contains("maximum") && r.message.contains("X-GR-Guardrails"));
    // Also when the core skips the header stage.
    let mut ex = exchange(user("hi"));
    let r = rejected(p.on_request(&head(Some("lax")), &mut ex));
    assert_eq!(r.param.as_deref(), Some("X-GR-Guardrails"));
    // Not checked on endpoints that never reach a model.
    let mut ex = Exchange::new("r".into(), Endpoint::Models);
    assert_continue(p.on_headers(&head(Some("lax")), &mut ex));
}

#[test]
fn the_header_never_turns_a_configured_policy_off() {
    let p = phase(rules(json!([
        {"name": "cards", "detector": "payment_card", "scope": "prompt", "action": "block"},
        {"name": "mail", "detector": "email", "scope": "response", "action": "mask"},
    ])));
    for header in [None, Some("off"), Some("moderate"), Some("strict")] {
        let mut ex = exchange(user("4111 1111 1111 1111"));
        let r = rejected(run(&*p, &mut ex, header));
        assert_eq!(
            &*ex.firewall.last().unwrap().policy,
            "pii",
            "{header:?}: the configured rule fires first"
        );
        assert!(r.message.contains("`cards`"));
        let mut ex = exchange(user("hi"));
        assert_continue(run(&*p, &mut ex, header));
        assert!(p.watch_answer(&ex).is_some(), "{header:?}");
        assert_eq!(answer_whole(&*p, &mut ex, EMAIL).unwrap(), "[EMAIL]");
    }
}
