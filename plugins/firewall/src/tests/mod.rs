//! Unit tests of the firewall phase, driven the way the core drives it: typed inputs in, decisions,
//! edited requests and answers, released stream text and reports out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod corpus;
mod guardrails;
mod prompt;
mod stream;

use std::sync::Arc;

use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, ChatResponse, Message, OutPart, Role};
use switchyard_sdk::{
    ConfigError, Decision, Endpoint, Exchange, Identity, KeyLimits, Phase, Reject, Scopes, StreamDecision,
};

use crate::FirewallPlugin;

pub(crate) fn phase(section: Value) -> Arc<dyn Phase> {
    FirewallPlugin::compile(Some(&section)).unwrap_or_else(|e| panic!("config errors: {e:?}"))
}

pub(crate) fn config_errors(section: Value) -> Vec<ConfigError> {
    match FirewallPlugin::compile(Some(&section)) {
        Ok(_) => panic!("expected config errors for {section}"),
        Err(e) => e,
    }
}

/// A one-policy section with these rules.
pub(crate) fn rules(rules: Value) -> Value {
    json!({"policies": [{"name": "pii", "rules": rules}]})
}

pub(crate) fn identity(workspace: &str, key: &str) -> Identity {
    Identity {
        key_id: format!("id-{key}").into(),
        key_name: key.into(),
        workspace: workspace.into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(KeyLimits::default()),
    }
}

pub(crate) fn request(model: &str, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages,
        ..Default::default()
    }
}

pub(crate) fn user(text: &str) -> ChatRequest {
    request("openai/gpt-4o", vec![Message::text(Role::User, text)])
}

/// An exchange of team-a's key `ci` carrying `req`.
pub(crate) fn exchange(req: ChatRequest) -> Exchange {
    let mut ex = Exchange::new("req-1".into(), Endpoint::ChatCompletions);
    ex.identity = Some(identity("team-a", "ci"));
    ex.set_request(req);
    ex
}

pub(crate) fn head(guardrails: Option<&str>) -> http::request::Parts {
    let mut b = http::Request::builder().method("POST").uri("/v1/chat/completions");
    if let Some(g) = guardrails {
        b = b.header("X-GR-Guardrails", g);
    }
    b.body(()).unwrap().into_parts().0
}

/// The request stages, as the core runs them.
pub(crate) fn run(p: &dyn Phase, ex: &mut Exchange, guardrails: Option<&str>) -> Decision {
    let h = head(guardrails);
    match p.on_headers(&h, ex) {
        Decision::Continue => p.on_request(&h, ex),
        other => other,
    }
}

pub(crate) fn rejected(d: Decision) -> Reject {
    match d {
        Decision::Respond(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub(crate) fn assert_continue(d: Decision) {
    assert!(matches!(d, Decision::Continue), "expected Continue, got {d:?}");
}

/// The first user message's text.
pub(crate) fn text_of(ex: &Exchange, message: usize) -> String {
    match &ex.request().unwrap().messages[message].content[0] {
        switchyard_sdk::ir::Part::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    }
}

/// Assert no report, trace entry or refusal message carries `secret`.
pub(crate) fn assert_not_leaked(ex: &Exchange, reject: Option<&Reject>, secret: &str) {
    for e in &ex.firewall {
        for field in [&*e.policy, &*e.rule, e.sample.as_str(), &*e.location] {
            assert!(!field.contains(secret), "firewall entry leaks {secret:?}: {e:?}");
        }
    }
    for t in &ex.trace {
        let all = format!("{t:?}");
        assert!(!all.contains(secret), "trace leaks {secret:?}: {t:?}");
    }
    if let Some(r) = reject {
        assert!(
            !r.message.contains(secret),
            "reject message leaks {secret:?}: {}",
            r.message
        );
        assert!(!r.param.as_deref().unwrap_or("").contains(secret));
    }
}

/// A whole answer of one text part, through `on_answer`: the masked text, or the refusal.
pub(crate) fn answer_whole(p: &dyn Phase, ex: &mut Exchange, text: &str) -> Result<String, Reject> {
    let mut a = ChatResponse {
        parts: vec![OutPart::Text(text.into())],
        ..Default::default()
    };
    match p.on_answer(ex, &mut a) {
        Decision::Continue => Ok(a.text()),
        Decision::Respond(r) => Err(r),
        other => panic!("{other:?}"),
    }
}

/// What a stream released.
#[derive(Debug, Default)]
pub(crate) struct Streamed {
    /// Everything released, in order.
    pub out: String,
    /// The released text after each event (cumulative).
    pub prefixes: Vec<String>,
    /// The most bytes held back after any event.
    pub max_held: usize,
    pub end: Option<Reject>,
}

/// Stream `deltas` through the phase as the core does, checking the contract on every event:
/// releases on character boundaries, never more held than declared, everything released at the end.
pub(crate) fn stream(p: &dyn Phase, ex: &mut Exchange, deltas: &[&str]) -> Streamed {
    let watch = p.watch_answer(ex).expect("the phase watches this answer");
    assert!(watch.stream && watch.whole);
    let mut held = String::new();
    let mut s = Streamed::default();
    for (i, d) in deltas.iter().enumerate() {
        let last = i + 1 == deltas.len();
        held.push_str(d);
        match p.on_stream_delta(ex, &mut held, last) {
            StreamDecision::Release(n) => {
                assert!(n <= held.len(), "release {n} of {}", held.len());
                assert!(held.is_char_boundary(n), "release {n} splits a character in {held:?}");
                let released: String = held.drain(..n).collect();
                s.out.push_str(&released);
                s.prefixes.push(s.out.clone());
                assert!(
                    held.len() <= watch.holdback,
                    "held {} bytes, declared {}: {held:?}",
                    held.len(),
                    watch.holdback
                );
                s.max_held = s.max_held.max(held.len());
                if last {
                    assert!(held.is_empty(), "the last event releases everything");
                }
            }
            StreamDecision::End(r) => {
                s.end = Some(r);
                break;
            }
        }
    }
    s
}

#[test]
fn plugin_and_phase_are_named_firewall() {
    use switchyard_sdk::{BuildEnv, Plugin, PluginState};
    let state = PluginState::default();
    let env = BuildEnv::new(&state, std::path::Path::new("."));
    assert_eq!(FirewallPlugin.name(), "firewall");
    let p = FirewallPlugin
        .build(None, &env)
        .unwrap()
        .expect("a phase even without a section");
    assert_eq!(p.name(), "firewall");
    let p = FirewallPlugin.build(Some(&Value::Null), &env).unwrap().unwrap();
    assert_eq!(p.name(), "firewall");
}

#[test]
fn redact_secrets_masks_every_secret_and_borrows_clean_text() {
    let key = format!("sk-proj-{}", "Ab3_xY9-Qr7Z".repeat(10));
    let text = format!("upstream said: invalid key {key} (AKIAIOSFODNN7EXAMPLE) for a@b.co");
    let red = crate::redact_secrets(&text);
    assert_eq!(red, "upstream said: invalid key [SECRET] ([SECRET]) for a@b.co");
    assert!(matches!(
        crate::redact_secrets("nothing here 4111"),
        std::borrow::Cow::Borrowed(_)
    ));
    let found = crate::find_secrets(&text);
    assert_eq!(
        found.iter().map(|d| d.detector).collect::<Vec<_>>(),
        vec![crate::Detector::OpenAiKey, crate::Detector::AwsAccessKeyId]
    );
}
