//! The request stage: each action on the prompt and metadata, every text of the canonical request,
//! who a policy applies to, and what is reported.

use serde_json::json;
use switchyard_sdk::ir::{JsonText, Part, Tool, ToolCall};
use switchyard_sdk::RejectKind;

use super::*;

const CARD: &str = "4111 1111 1111 1111";

fn pii() -> Arc<dyn Phase> {
    phase(rules(json!([
        {"name": "cards", "detector": "payment_card", "scope": "prompt", "action": "block"},
        {"name": "emails", "detector": "email", "scope": ["prompt", "response"], "action": "mask", "replacement": "[EMAIL]"},
        {"name": "codename", "substring": "Project Falcon", "case_sensitive": false, "scope": "prompt", "action": "warn"},
        {"name": "internal-host", "regex": r"\bhost-[0-9]{3}\.corp\b", "scope": ["prompt", "response"], "action": "mask"},
    ])))
}

#[test]
fn block_refuses_with_403_and_reports_without_the_match() {
    let p = pii();
    let mut ex = exchange(user(&format!("charge {CARD} please")));
    let r = rejected(run(&*p, &mut ex, None));
    assert_eq!(r.kind, RejectKind::Forbidden);
    assert_eq!(r.kind.status(), 403);
    assert_eq!(r.code, "firewall_blocked");
    assert!(
        r.message.contains("`pii`") && r.message.contains("`cards`"),
        "{}",
        r.message
    );
    assert_eq!(r.param.as_deref(), Some("messages[0].content"));
    assert_eq!(ex.firewall.len(), 1);
    let e = &ex.firewall[0];
    assert_eq!(
        (&*e.policy, &*e.rule, e.action, e.scope),
        ("pii", "cards", "block", "prompt")
    );
    assert_eq!(&*e.location, "messages[0].content");
    assert_eq!(e.sample, "4***1");
    let t = ex.trace.last().unwrap();
    assert_eq!((t.phase, &*t.rule, t.fired), ("firewall", "pii/cards", true));
    assert_eq!(t.actions, vec!["block".to_string()]);
    assert_not_leaked(&ex, Some(&r), CARD);
    assert_not_leaked(&ex, Some(&r), "4111111111111111");
    assert!(!ex.request_modified());
}

#[test]
fn mask_rewrites_the_request_and_warn_only_reports() {
    let p = pii();
    let mut ex = exchange(user(
        "Mail jane@corp.example.com about project falcon on host-042.corp.",
    ));
    assert_continue(run(&*p, &mut ex, None));
    assert!(ex.request_modified());
    assert_eq!(text_of(&ex, 0), "Mail [EMAIL] about project falcon on [REDACTED].");
    let got: Vec<(&str, &str, &str)> = ex
        .firewall
        .iter()
        .map(|e| (&*e.rule, e.action, e.sample.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("emails", "mask", "j***@c***.com"),
            ("codename", "warn", "p***n"),
            ("internal-host", "mask", "h***p"),
        ]
    );
    assert!(ex.trace.is_empty(), "only blocks add to the trace");
    assert_not_leaked(&ex, None, "jane@corp.example.com");
}

#[test]
fn warn_alone_does_not_modify_the_request() {
    let p = pii();
    let mut ex = exchange(user("Status of Project Falcon?"));
    assert_continue(run(&*p, &mut ex, None));
    assert!(!ex.request_modified());
    assert_eq!(ex.firewall.len(), 1);
    assert_eq!(ex.firewall[0].action, "warn");
    let sensitive = phase(rules(json!([
        {"name": "codename", "substring": "Project Falcon", "case_sensitive": true, "scope": "prompt", "action": "warn"}
    ])));
    let mut ex = exchange(user("Status of project falcon?"));
    assert_continue(run(&*sensitive, &mut ex, None));
    assert!(
        ex.firewall.is_empty(),
        "case-sensitive substring must not match other case"
    );
}

#[test]
fn overlapping_substrings_of_different_rules_all_match() {
    let p = phase(rules(json!([
        {"name": "a", "substring": "Project Falcon", "scope": "prompt", "action": "warn"},
        {"name": "b", "substring": "Falcon Heavy", "scope": "prompt", "action": "warn"},
        {"name": "c", "substring": "falcon", "case_sensitive": false, "scope": "prompt", "action": "warn"},
        {"name": "d", "substring": "FALCON", "scope": "prompt", "action": "warn"},
        {"name": "e", "substring": "ecT", "case_sensitive": false, "scope": "prompt", "action": "mask"},
        {"name": "f", "substring": "on", "scope": "prompt", "action": "warn"},
    ])));
    let mut ex = exchange(user("Project Falcon Heavy and FALCON 9"));
    assert_continue(run(&*p, &mut ex, None));
    let got: Vec<(&str, &str)> = ex.firewall.iter().map(|e| (&*e.rule, e.sample.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("a", "P***n"),
            ("e", "***"),
            ("b", "F***y"),
            ("c", "F***n"),
            ("f", "**"),
            ("d", "F***N")
        ]
    );
    assert_eq!(text_of(&ex, 0), "Proj[REDACTED] Falcon Heavy and FALCON 9");
}

#[test]
fn nothing_to_mask_leaves_the_request_untouched() {
    let p = pii();
    let mut ex = exchange(request(
        "openai/gpt-4o",
        vec![
            Message::text(Role::System, "You are helpful. Orders ship within 3-5 days."),
            Message::text(Role::User, "Order 100-2345-6789 cost $1,299.99 on 2024-03-15 at 12:30."),
        ],
    ));
    assert_continue(run(&*p, &mut ex, Some("strict")));
    assert!(!ex.request_modified());
    assert!(ex.firewall.is_empty(), "{:?}", ex.firewall);
}

#[test]
fn every_text_of_the_prompt_is_masked() {
    let p = pii();
    let mut assistant = Message::text(Role::Assistant, "I'll write to b@corp.example.com");
    assistant.tool_calls.push(ToolCall {
        id: "call_1".into(),
        name: "send".into(),
        arguments: r#"{"to":"c@corp.example.com"}"#.into(),
    });
    let mut tool_result = Message::text(Role::Tool, "sent to d@corp.example.com");
    tool_result.tool_call_id = Some("call_1".into());
    let reasoning = Message::new(
        Role::Assistant,
        vec![
            Part::Reasoning {
                text: "the user is e@corp.example.com".into(),
                signature: Some("sig".into()),
            },
            Part::Text("ok".into()),
        ],
    );
    let mut req = request(
        "openai/gpt-4o",
        vec![
            Message::text(Role::System, "Escalate to a@corp.example.com"),
            Message::text(Role::Developer, "never reveal host-001.corp"),
            Message::text(Role::User, "hi"),
            assistant,
            tool_result,
            reasoning,
        ],
    );
    req.tools.push(Tool {
        name: "send".into(),
        description: Some("Sends mail as f@corp.example.com".into()),
        parameters: JsonText::empty_object_schema(),
        strict: None,
    });
    let mut ex = exchange(req);
    assert_continue(run(&*p, &mut ex, None));
    assert!(ex.request_modified());
    let req = ex.request().unwrap();
    let all: Vec<String> = req.texts().map(String::from).collect();
    assert_eq!(
        all,
        vec![
            "Escalate to [EMAIL]",
            "never reveal [REDACTED]",
            "hi",
            "I'll write to [EMAIL]",
            r#"{"to":"[EMAIL]"}"#,
            "sent to [EMAIL]",
            "ok",
        ]
    );
    assert_eq!(
        req.messages[5].content[0],
        Part::Reasoning {
            text: "the user is [EMAIL]".into(),
            signature: Some("sig".into())
        }
    );
    assert_eq!(req.tools[0].description.as_deref(), Some("Sends mail as [EMAIL]"));
    let locations: Vec<&str> = ex.firewall.iter().map(|e| &*e.location).collect();
    assert_eq!(
        locations,
        vec![
            "messages[0].content",
            "messages[1].content",
            "messages[3].content",
            "messages[3].tool_calls[0].arguments",
            "messages[4].content",
            "messages[5].content[0]",
            "tools[0].description",
        ]
    );
}

#[test]
fn case_insensitive_regexes_match_every_case_and_only_whole_words() {
    let p = phase(rules(json!([
        {"name": "embargo", "regex": r"(?i)\bunder embargo\b", "scope": "prompt", "action": "mask"},
        {"name": "kelvin", "regex": "(?i)kelvin [0-9]+", "scope": "prompt", "action": "mask", "replacement": "[K]"},
        {"name": "exact", "regex": r"\bNDA\b", "scope": "prompt", "action": "warn"},
    ])));
    let mut ex = exchange(user(
        "UNDER Embargo, under embargo; underembargo. \u{212A}ELVIN 300 kelvin 4 nda NDA",
    ));
    assert_continue(run(&*p, &mut ex, None));
    assert_eq!(text_of(&ex, 0), "[REDACTED], [REDACTED]; underembargo. [K] [K] nda NDA");
    let warned: Vec<&str> = ex
        .firewall
        .iter()
        .filter(|e| e.action == "warn")
        .map(|e| e.sample.as_str())
        .collect();
    assert_eq!(warned, vec!["***"], "the case-sensitive regex matches `NDA` only");
}

#[test]
fn texts_scanned_together_keep_their_own_edges() {
    // `^` anchors at the start of each text, as when every text is scanned alone.
    let p = phase(rules(
        json!([{"name": "top", "regex": "^TOP SECRET", "scope": "prompt", "action": "mask"}]),
    ));
    let mut ex = exchange(request(
        "m",
        vec![
            Message::text(Role::User, "hello"),
            Message::text(Role::User, "TOP SECRET plan"),
        ],
    ));
    assert_continue(run(&*p, &mut ex, None));
    assert_eq!(text_of(&ex, 1), "[REDACTED] plan");

    // A regex that could run across the joint between two texts matches inside one text only.
    let p = phase(rules(
        json!([{"name": "x", "regex": r"end\W+start", "scope": "prompt", "action": "mask"}]),
    ));
    let mut ex = exchange(request(
        "m",
        vec![
            Message::text(Role::User, "the end"),
            Message::text(Role::User, "start now"),
        ],
    ));
    assert_continue(run(&*p, &mut ex, None));
    assert!(ex.firewall.is_empty() && !ex.request_modified(), "{:?}", ex.firewall);
    let mut ex = exchange(request(
        "m",
        vec![
            Message::text(Role::User, "the end, start"),
            Message::text(Role::User, "ok"),
        ],
    ));
    assert_continue(run(&*p, &mut ex, None));
    assert_eq!(text_of(&ex, 0), "the [REDACTED]");

    // A key block left open in one message ends with that message.
    let p = phase(rules(
        json!([{"name": "pem", "detector": "private_key", "scope": "prompt", "action": "block"}]),
    ));
    let mut ex = exchange(request(
        "m",
        vec![
            Message::text(Role::User, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg"),
            Message::text(Role::User, "-----END PRIVATE KEY----- thanks"),
        ],
    ));
    let r = rejected(run(&*p, &mut ex, None));
    assert_eq!(r.param.as_deref(), Some("messages[0].content"));
}

#[test]
fn metadata_scope_covers_metadata_strings_and_user() {
    let p = phase(rules(json!([
        {"name": "meta-mail", "detector": "email", "scope": "metadata", "action": "mask"},
        {"name": "prompt-phone", "detector": "phone", "scope": "prompt", "action": "mask"},
    ])));
    let mut req = user("write to a@corp.example.com, call (555) 123-4567");
    req.user = Some("u@corp.example.com".into());
    req.metadata =
        json!({"owner": "o@corp.example.com", "tags": ["x", "t@corp.example.com"], "n": 5, "phone": "(555) 123-4567"})
            .as_object()
            .unwrap()
            .clone();
    let mut ex = exchange(req);
    assert_continue(run(&*p, &mut ex, None));
    let req = ex.request().unwrap();
    assert_eq!(
        text_of(&ex, 0),
        "write to a@corp.example.com, call [PHONE]",
        "the prompt rule only"
    );
    assert_eq!(req.user.as_deref(), Some("[EMAIL]"));
    assert_eq!(req.metadata["owner"], "[EMAIL]");
    assert_eq!(req.metadata["tags"], json!(["x", "[EMAIL]"]));
    assert_eq!(req.metadata["phone"], "(555) 123-4567", "metadata is not prompt");
    let locations: Vec<(&str, &str)> = ex.firewall.iter().map(|e| (&*e.location, e.scope)).collect();
    assert_eq!(
        locations,
        vec![
            ("messages[0].content", "prompt"),
            ("user", "metadata"),
            ("metadata.owner", "metadata"),
            ("metadata.tags[1]", "metadata"),
        ]
    );
}

#[test]
fn overlapping_masks_merge_into_one_replacement() {
    let p = phase(rules(json!([
        {"name": "mail", "detector": "email", "scope": "prompt", "action": "mask"},
        {"name": "domain", "regex": r"corp\.example\.com", "scope": "prompt", "action": "mask", "replacement": "[DOMAIN]"},
    ])));
    let mut ex = exchange(user("to a@corp.example.com and corp.example.com"));
    assert_continue(run(&*p, &mut ex, None));
    assert_eq!(text_of(&ex, 0), "to [EMAIL] and [DOMAIN]");
    assert_eq!(ex.firewall.len(), 2, "both rules applied: {:?}", ex.firewall);
}

fn audience_phase(applies: Value, scope: &str) -> Arc<dyn Phase> {
    phase(json!({"policies": [{"name": "pol", "applies_to": applies, "rules": [
        {"name": "cards", "detector": "payment_card", "scope": scope, "action": "block"}
    ]}]}))
}

fn blocked(p: &dyn Phase, workspace: &str, key: &str, model: &str) -> bool {
    let mut ex = exchange(request(model, vec![Message::text(Role::User, CARD)]));
    ex.identity = Some(identity(workspace, key));
    matches!(run(p, &mut ex, None), Decision::Respond(_))
}

#[test]
fn applies_to_filters_by_workspace_key_and_model() {
    let p = audience_phase(json!({"workspaces": ["team-a"]}), "prompt");
    assert!(blocked(&*p, "team-a", "ci", "m"));
    assert!(!blocked(&*p, "team-b", "ci", "m"));

    let p = audience_phase(json!({"keys": ["ci", "bot"]}), "prompt");
    assert!(blocked(&*p, "team-b", "bot", "m"));
    assert!(!blocked(&*p, "team-a", "human", "m"));

    let p = audience_phase(json!({"models": ["openai/*", "fast"]}), "prompt");
    assert!(blocked(&*p, "w", "k", "openai/gpt-4o"));
    assert!(blocked(&*p, "w", "k", "fast"));
    assert!(!blocked(&*p, "w", "k", "anthropic/claude-sonnet"));
    assert!(!blocked(&*p, "w", "k", "faster"));

    let p = audience_phase(json!({"workspaces": ["team-a"], "keys": ["ci"]}), "prompt");
    assert!(blocked(&*p, "team-a", "ci", "m"));
    assert!(!blocked(&*p, "team-a", "other", "m"), "every list must admit");

    // A rule's own audience narrows its policy's.
    let p = phase(
        json!({"policies": [{"name": "pol", "applies_to": {"workspaces": ["team-a", "team-b"]}, "rules": [
            {"name": "cards", "detector": "payment_card", "scope": "prompt", "action": "block", "applies_to": {"keys": ["ci"]}}
        ]}]}),
    );
    assert!(blocked(&*p, "team-b", "ci", "m"));
    assert!(!blocked(&*p, "team-b", "x", "m"));
    assert!(!blocked(&*p, "team-c", "ci", "m"));

    // No identity: a filtered policy does not apply, an unfiltered one does.
    let p = audience_phase(json!({"workspaces": ["team-a"]}), "prompt");
    let mut ex = exchange(user(CARD));
    ex.identity = None;
    assert_continue(run(&*p, &mut ex, None));
}

#[test]
fn response_model_filters_wait_for_the_answering_model() {
    let p = phase(
        json!({"policies": [{"name": "pol", "applies_to": {"models": ["openai/*"]}, "rules": [
            {"name": "mail", "detector": "email", "scope": "response", "action": "mask"}
        ]}]}),
    );
    for (answering, masked) in [("openai/gpt-4o", true), ("anthropic/claude-sonnet", false)] {
        let mut ex = exchange(request("auto", vec![Message::text(Role::User, "hi")]));
        assert_continue(run(&*p, &mut ex, None));
        assert!(p.watch_answer(&ex).is_some(), "the answering model is not known yet");
        ex.answering_model = Some(answering.into());
        let out = answer_whole(&*p, &mut ex, "write to a@corp.example.com").unwrap();
        assert_eq!(out == "write to [EMAIL]", masked, "{answering}: {out}");
    }
    let mut ex = exchange(request(
        "anthropic/claude-sonnet",
        vec![Message::text(Role::User, "hi")],
    ));
    ex.answering_model = Some("anthropic/claude-sonnet".into());
    assert_continue(run(&*p, &mut ex, None));
    assert!(p.watch_answer(&ex).is_none(), "known not to apply");
}

#[test]
fn answers_are_masked_or_blocked_whole() {
    let p = phase(rules(json!([
        {"name": "mail", "detector": "email", "scope": "response", "action": "mask"},
        {"name": "keys", "detector": "secrets", "scope": "response", "action": "block"},
        {"name": "note", "substring": "internal", "scope": "response", "action": "warn"},
    ])));
    let mut ex = exchange(user("hi"));
    assert_continue(run(&*p, &mut ex, None));
    let mut a = ChatResponse {
        parts: vec![
            OutPart::Text("internal: ask a@corp.example.com".into()),
            OutPart::ToolCall(ToolCall {
                id: "c".into(),
                name: "mail".into(),
                arguments: r#"{"to":"b@corp.example.com"}"#.into(),
            }),
        ],
        ..Default::default()
    };
    assert_continue(p.on_answer(&mut ex, &mut a));
    assert_eq!(a.text(), "internal: ask [EMAIL]");
    assert_eq!(a.tool_calls().next().unwrap().arguments, r#"{"to":"[EMAIL]"}"#);
    let locations: Vec<(&str, &str, &str)> = ex.firewall.iter().map(|e| (&*e.rule, &*e.location, e.scope)).collect();
    assert_eq!(
        locations,
        vec![
            ("note", "answer", "response"),
            ("mail", "answer", "response"),
            ("mail", "answer.tool_calls[0].arguments", "response"),
        ]
    );

    let key = "AKIAIOSFODNN7EXAMPLE";
    let mut ex = exchange(user("hi"));
    assert_continue(run(&*p, &mut ex, None));
    let r = answer_whole(&*p, &mut ex, &format!("use {key}")).unwrap_err();
    assert_eq!((r.code, r.kind.status()), ("firewall_blocked", 403));
    assert!(r.message.starts_with("the answer was blocked"), "{}", r.message);
    assert_eq!(ex.trace.last().unwrap().rule, "pii/keys");
    assert_not_leaked(&ex, Some(&r), key);
}

#[test]
fn samples_never_contain_the_secret() {
    let secrets = [
        format!("sk-proj-{}", "Ab3_xY9-Qr7Z".repeat(13)),
        format!("sk-ant-api03-{}AA", "Zx8-Kp2_Lm4Q".repeat(8)),
        format!("sk-{}", "a1B2c3D4".repeat(6)),
        "AKIAIOSFODNN7EXAMPLE".to_string(),
        format!("ghp_{}", "R2d2C3po".repeat(5)),
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx".to_string(),
        format!("AIza{}", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
        crate::detectors::tests::JWT.to_string(),
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----".to_string(),
        CARD.to_string(),
        "DE89 3704 0044 0532 0130 00".to_string(),
        "123-45-6789".to_string(),
        "jane.doe@corp.example.com".to_string(),
        "+44 20 7946 0958".to_string(),
        "10.20.30.40".to_string(),
        "2001:db8::8a2e:370:7334".to_string(),
    ];
    let all = phase(rules(json!([
        {"name": "mask-all", "detector": "secrets", "scope": "prompt", "action": "mask"},
        {"name": "mask-pii", "regex": "(?:x{3})+", "scope": "prompt", "action": "mask"},
        {"name": "b", "detector": "payment_card", "scope": "prompt", "action": "block"},
    ])));
    let detectors = ["email", "phone", "iban", "us_ssn", "ipv4", "ipv6"];
    for secret in &secrets {
        for (action, guard) in [
            ("warn", None),
            ("mask", None),
            ("block", None),
            ("warn", Some("moderate")),
        ] {
            let rules: Vec<Value> = detectors
                .iter()
                .chain(&["secrets", "payment_card"])
                .map(|d| json!({"name": d, "detector": d, "scope": "prompt", "action": action}))
                .collect();
            let p = phase(json!({"policies": [{"name": "all", "rules": rules}]}));
            let mut ex = exchange(user(&format!("here: {secret} .")));
            let d = run(&*p, &mut ex, guard);
            assert!(!ex.firewall.is_empty(), "{secret} is detected ({action})");
            let r = match d {
                Decision::Respond(r) => Some(r),
                _ => None,
            };
            assert_not_leaked(&ex, r.as_ref(), secret);
        }
        let mut ex = exchange(user(secret));
        let _ = run(&*all, &mut ex, None);
        assert_not_leaked(&ex, None, secret);
    }
}
