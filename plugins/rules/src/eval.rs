//! Evaluating a [`RuleSet`] against one request: walk the rules in priority order, evaluate each
//! rule's condition tree with short-circuiting, apply the actions of the rules that fire, and write a
//! trace entry per evaluated rule. Anything expensive is computed at most once per request and only
//! when a condition reaches it: the prompt scans (one per automaton), the token estimate, the clock,
//! and the classification (through `Exchange::classification`, which the core shares with routing).

use http::HeaderMap;
use serde_json::Value;
use switchyard_sdk::ir::ChatRequest;
use switchyard_sdk::{Decision, Exchange, TraceEntry};

use crate::action::{apply, Claims};
use crate::compile::RuleSet;
use crate::rule::{Cond, MetaTest, Mode, Node};
use crate::scan::TextState;
use crate::time::Clock;

/// The phase name in traces.
pub(crate) const PHASE: &str = "rules";

impl RuleSet {
    /// Evaluate the rules against `ex`'s request: apply the actions of every rule that fires to the
    /// exchange (routing hints, the requested model, tags), push one [`TraceEntry`] per evaluated
    /// rule to `ex.trace`, and return `Decision::Respond` when a `reject` fired. `headers` are the
    /// request's (for `x-jt-route`); `clock` is read only if a time condition is reached.
    ///
    /// This is the whole phase: the `on_request` hook calls it with the system clock, and a preview
    /// can call it on an exchange of its own with any clock.
    pub fn evaluate(&self, headers: &HeaderMap, ex: &mut Exchange, clock: &dyn Clock) -> Decision {
        if ex.request().is_none() {
            return Decision::Continue;
        }
        let mut scan = Scan::new(self, headers, clock);
        let mut claims = Claims::default();
        ex.trace.reserve(self.rules.len());
        for rule in &self.rules {
            let mut conditions = Vec::with_capacity(rule.nodes);
            let fired = match &rule.when {
                Some(node) => scan.eval(node, ex, &mut conditions, true),
                None => true,
            };
            let mut entry = TraceEntry {
                phase: PHASE,
                rule: rule.name.clone(),
                conditions,
                fired,
                actions: Vec::new(),
                detail: String::new(),
            };
            if fired {
                entry.actions.reserve_exact(rule.actions.len());
                for action in &rule.actions {
                    if let Some(reject) = apply(action, &rule.name, ex, &mut claims, &mut entry.actions) {
                        entry.detail = format!("rejected with status {}", reject.kind.status());
                        ex.trace.push(entry);
                        return Decision::Respond(reject);
                    }
                }
                if rule.stop {
                    entry.detail = "stop: no later rule was evaluated".to_string();
                    ex.trace.push(entry);
                    break;
                }
            }
            ex.trace.push(entry);
        }
        Decision::Continue
    }
}

/// What one evaluation computed so far (each field at most once, and only when needed).
struct Scan<'s> {
    set: &'s RuleSet,
    headers: &'s HeaderMap,
    clock: &'s dyn Clock,
    text: TextState,
    tokens: Option<u64>,
    now: Option<i64>,
}

impl<'s> Scan<'s> {
    fn new(set: &'s RuleSet, headers: &'s HeaderMap, clock: &'s dyn Clock) -> Self {
        Scan {
            set,
            headers,
            clock,
            text: TextState::default(),
            tokens: None,
            now: None,
        }
    }

    /// Evaluate `node`, appending each evaluated condition and its result to `out` (a group after
    /// its members, so the line order is the order results became known). The `all`/`any` group
    /// that is a rule's whole condition gets no line of its own: its result is the rule's `fired`,
    /// and every line is an allocation on the request path.
    fn eval(&mut self, node: &Node, ex: &mut Exchange, out: &mut Vec<(String, bool)>, top: bool) -> bool {
        let result = match &node.cond {
            Cond::All(nodes) => nodes.iter().all(|n| self.eval(n, ex, out, false)),
            Cond::Any(nodes) => nodes.iter().any(|n| self.eval(n, ex, out, false)),
            Cond::Not(n) => !self.eval(n, ex, out, false),
            // The one condition that may run the classifier; `classification()` caches it per request.
            Cond::Task(task) => ex.classification().is_some_and(|c| c.task == *task),
            leaf => self.leaf(leaf, ex),
        };
        if !(top && matches!(node.cond, Cond::All(_) | Cond::Any(_))) {
            // `String::from`, not `to_string()`: no formatting machinery for a plain copy.
            out.push((String::from(&*node.desc), result));
        }
        result
    }

    fn leaf(&mut self, cond: &Cond, ex: &Exchange) -> bool {
        let Some(req) = ex.request() else {
            return false;
        };
        match cond {
            Cond::Contains(t) => self.text.contains(&self.set.text, req, *t),
            Cond::Matches(id) => self.text.matches(&self.set.text, req, *id),
            Cond::Meta { field, test } => {
                let found = lookup(ex, req, field);
                match test {
                    MetaTest::Exists(e) => found.is_some() == *e,
                    MetaTest::Equals(want) => found.is_some_and(|f| f.equals(want)),
                }
            }
            Cond::Segment(want) => lookup(ex, req, "segment").is_some_and(|f| f.equals(want)),
            Cond::Mode(m) => requested_mode(self.headers, req) == *m,
            Cond::Model(p) => p.matches(&req.model),
            Cond::KeyName(k) => ex.identity.as_ref().is_some_and(|i| *i.key_name == **k),
            Cond::Workspace(w) => ex.identity.as_ref().is_some_and(|i| *i.workspace == **w),
            Cond::TokensAbove(n) => self.tokens(req) > *n,
            Cond::TokensBelow(n) => self.tokens(req) < *n,
            Cond::ClientSchema(s) => ex.client_schema == *s,
            Cond::Time(w) => {
                let clock = self.clock;
                w.contains(*self.now.get_or_insert_with(|| clock.unix_seconds()))
            }
            Cond::Task(_) | Cond::All(_) | Cond::Any(_) | Cond::Not(_) => false,
        }
    }

    fn tokens(&mut self, req: &ChatRequest) -> u64 {
        *self.tokens.get_or_insert_with(|| req.estimated_input_tokens())
    }
}

/// A metadata value as a condition sees it.
enum Found<'a> {
    Tag(&'a str),
    Meta(&'a Value),
}

impl Found<'_> {
    fn equals(&self, want: &str) -> bool {
        match self {
            Found::Tag(s) => *s == want,
            Found::Meta(Value::String(s)) => s == want,
            Found::Meta(Value::Bool(b)) => want == if *b { "true" } else { "false" },
            Found::Meta(Value::Number(n)) => {
                // By spelling, as the config's value was kept (`equals: 2` matches `"segment": 2`).
                let n = n.to_string();
                n == want
            }
            Found::Meta(_) => false,
        }
    }
}

/// `field` as set by an earlier rule (the latest tag with that key), else in the request's
/// `metadata`. Tags come first because the client writes `metadata` and the operator's rules write
/// tags: a client must not be able to undo what a rule decided about it. A JSON `null` is absent.
fn lookup<'a>(ex: &'a Exchange, req: &'a ChatRequest, field: &str) -> Option<Found<'a>> {
    if let Some((_, v)) = ex.tags.iter().rev().find(|(k, _)| k == field) {
        return Some(Found::Tag(v));
    }
    req.metadata.get(field).filter(|v| !v.is_null()).map(Found::Meta)
}

/// The routing mode the request asks for, in the core's order: the `x-jt-route` header, then
/// `auto:<mode>` in `model`, then `router_mode`/`optimization` (`routing.mode`); none is `Default`.
pub(crate) fn requested_mode(headers: &HeaderMap, req: &ChatRequest) -> Mode {
    let asked = |s: &str| match Mode::parse(s) {
        // `default` is how rules name "no mode asked", not a mode a request can ask for.
        Mode::Default => Mode::Other,
        m => m,
    };
    if let Some(v) = headers.get("x-jt-route") {
        return v.to_str().map_or(Mode::Other, asked);
    }
    if let Some(m) = req.model.strip_prefix("auto:") {
        return asked(m);
    }
    match &req.routing.mode {
        Some(m) => asked(m),
        None => Mode::Default,
    }
}
