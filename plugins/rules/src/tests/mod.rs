//! Unit tests of the rules plugin, and the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod actions;
mod conditions;
mod config;
mod semantics;
mod text;
mod time;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::HeaderMap;
use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Role};
use switchyard_sdk::{Classification, Classify, Decision, Endpoint, Exchange, Identity, KeyLimits, Scopes};

use crate::{FixedClock, RuleSet};

/// Friday 2026-01-02 00:00 UTC.
pub(crate) const FRIDAY: i64 = 1_767_312_000;

/// Friday plus `days`, at `h:m` UTC.
pub(crate) fn at(days: i64, h: i64, m: i64) -> i64 {
    FRIDAY + days * 86_400 + h * 3600 + m * 60
}

pub(crate) fn rules(section: Value) -> RuleSet {
    RuleSet::from_section(&section).unwrap_or_else(|e| panic!("config refused: {e:?}"))
}

/// One rule `r` with condition `when` that tags `hit` when it fires.
pub(crate) fn one(when: Value) -> RuleSet {
    rules(json!({"rules": [{"name": "r", "when": when, "then": [{"tag": "hit"}]}]}))
}

pub(crate) fn request(text: &str) -> ChatRequest {
    ChatRequest {
        model: "auto".into(),
        messages: vec![
            Message::text(Role::System, "You are a helpful assistant."),
            Message::text(Role::User, text),
        ],
        ..Default::default()
    }
}

pub(crate) fn exchange(req: ChatRequest) -> Exchange {
    let mut ex = Exchange::new("req-1".into(), Endpoint::ChatCompletions);
    ex.client_schema = "chat";
    ex.set_request(req);
    ex
}

pub(crate) fn identity(key_name: &str, workspace: &str) -> Identity {
    Identity {
        key_id: "key-1".into(),
        key_name: key_name.into(),
        workspace: workspace.into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(KeyLimits::default()),
    }
}

/// Evaluate at noon on Friday with no headers.
pub(crate) fn run(set: &RuleSet, ex: &mut Exchange) -> Decision {
    set.evaluate(&HeaderMap::new(), ex, &FixedClock(at(0, 12, 0)))
}

/// Whether the single rule of `one(when)` fires on `ex`.
pub(crate) fn holds(when: Value, ex: &mut Exchange) -> bool {
    let set = one(when);
    ex.trace.clear();
    ex.tags.clear();
    run(&set, ex);
    let fired = ex.trace.last().map(|t| t.fired).unwrap_or(false);
    assert_eq!(
        fired,
        ex.tags.iter().any(|(k, v)| k == "ab" && v == "hit"),
        "the trace and the effect agree"
    );
    fired
}

/// The trace lines of the last evaluated rule.
pub(crate) fn lines(ex: &Exchange) -> Vec<(String, bool)> {
    ex.trace.last().map(|t| t.conditions.clone()).unwrap_or_default()
}

/// A classifier that counts its calls and always answers `task`.
pub(crate) struct Counting {
    pub calls: AtomicUsize,
    pub task: &'static str,
}

impl Counting {
    pub fn new(task: &'static str) -> Arc<Self> {
        Arc::new(Counting {
            calls: AtomicUsize::new(0),
            task,
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Classify for Counting {
    fn classify(&self, _req: &ChatRequest) -> Classification {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Classification {
            task: self.task,
            confidence: 0.9,
            runner_up: "chat",
            complexity_tier: "SIMPLE",
            complexity_score: 0.1,
            language: "en",
            tokens: 10,
            strong: 0.2,
            reasons: vec![],
        }
    }
}

pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn json_helper_builds_a_rule_that_fires() {
    let mut ex = exchange(request("hello"));
    assert!(holds(json!({"tokens_above": 0}), &mut ex));
    assert!(!holds(json!({"tokens_above": 1_000_000}), &mut ex));
}
