//! Unit tests of the exchange, the plugin state and typed plugin config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::ir::{ChatRequest, Message, Role};
use crate::*;

struct Counting(AtomicUsize);

impl Classify for Counting {
    fn classify(&self, req: &ChatRequest) -> Classification {
        self.0.fetch_add(1, Ordering::SeqCst);
        Classification {
            task: if req.messages.len() > 1 { "code" } else { "chat" },
            confidence: 1.0,
            runner_up: "chat",
            complexity_tier: "SIMPLE",
            complexity_score: 0.0,
            language: "en",
            tokens: 1,
            strong: 0.0,
            reasons: vec![],
        }
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![Message::text(Role::User, "hi")],
        ..Default::default()
    }
}

#[test]
fn an_edit_through_request_mut_marks_the_request_modified() {
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    ex.set_request(request());
    assert!(!ex.request_modified());
    assert_eq!(ex.request().unwrap().model, "m");
    assert!(!ex.request_modified(), "reading is not editing");
    ex.request_mut().unwrap().model = "n".into();
    assert!(ex.request_modified());
    ex.set_request(request());
    assert!(!ex.request_modified(), "a new parse starts unmodified");
}

#[test]
fn classification_runs_once_and_again_after_an_edit() {
    let c = Arc::new(Counting(AtomicUsize::new(0)));
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    assert!(ex.classification().is_none(), "no classifier, no request: nothing");
    ex.classifier = Some(c.clone());
    ex.set_request(request());
    assert_eq!(ex.classification().unwrap().task, "chat");
    assert_eq!(ex.classification().unwrap().task, "chat");
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    ex.request_mut()
        .unwrap()
        .messages
        .push(Message::text(Role::User, "more"));
    assert!(ex.classification_if_known().is_none(), "an edit invalidates it");
    assert_eq!(ex.classification().unwrap().task, "code");
    assert_eq!(c.0.load(Ordering::SeqCst), 2);
}

#[test]
fn phase_data_is_kept_per_phase_and_type() {
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    ex.put_data("a", 5u32);
    ex.put_data("b", String::from("x"));
    assert_eq!(ex.data::<u32>("a"), Some(&5));
    assert_eq!(ex.data::<u32>("b"), None, "another phase's data");
    assert_eq!(ex.data::<String>("a"), None, "another type");
    *ex.data_mut::<u32>("a").unwrap() += 1;
    ex.put_data("b", String::from("y"));
    assert_eq!(ex.data::<u32>("a"), Some(&6));
    assert_eq!(ex.data::<String>("b").map(String::as_str), Some("y"));
}

#[test]
fn plugin_state_is_shared_per_plugin_and_type() {
    let st = PluginState::new();
    let a = st.get_or_init("p", || AtomicUsize::new(1));
    a.fetch_add(1, Ordering::SeqCst);
    let again = st.get_or_init("p", || AtomicUsize::new(100));
    assert_eq!(again.load(Ordering::SeqCst), 2, "the first value is kept");
    let other = st.get_or_init("q", || AtomicUsize::new(7));
    assert_eq!(other.load(Ordering::SeqCst), 7);
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Conf {
    rules: Vec<RuleConf>,
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RuleConf {
    name: String,
    limit: u32,
}

#[test]
fn typed_config_names_the_failing_field() {
    let ok: Conf = typed(&serde_json::json!({"rules": [{"name": "a", "limit": 1}]})).unwrap();
    assert_eq!(ok.rules.len(), 1);
    let e = typed::<Conf>(&serde_json::json!({"rules": [{"name": "a", "limit": 1}, {"name": "b", "limit": "x"}]}))
        .unwrap_err();
    assert_eq!(e.path, "rules[1].limit");
    assert!(e.message.contains("invalid type"), "{}", e.message);
    let e = typed::<Conf>(&serde_json::json!({"rules": [{"name": "a", "limit": 1, "extra": 2}]})).unwrap_err();
    assert_eq!(e.path, "rules[0].extra");
    assert!(e.message.contains("unknown field `extra`"), "{}", e.message);
}

#[test]
fn reject_kinds_map_to_statuses_and_types() {
    assert_eq!(RejectKind::Status { status: 451 }.status(), 451);
    assert_eq!(RejectKind::Status { status: 451 }.error_type(), "invalid_request_error");
    assert_eq!(RejectKind::RateLimited { retry_after_secs: 3 }.retry_after(), Some(3));
    assert_eq!(RejectKind::Forbidden.retry_after(), None);
    let r = Reject::new(RejectKind::Forbidden, "firewall_blocked", "no").with_header("x-a", "1");
    assert_eq!(r.headers, vec![("x-a", "1".to_string())]);
}
