//! The `router` object of API.md (what answered, why, every attempt, what was lost in translation,
//! and the money) as a view over the request's state. It is serialized straight from borrowed
//! fields: building it as a `serde_json::Value` first cost more than the rest of a non-streaming
//! answer's rewrite.

use serde::Serialize;
use serde_json::Value;
use switchyard_sdk::{FirewallEntry, Money, TraceEntry};

use super::ctx::{Attempt, Ctx};
use crate::router::estimate_cost;

#[derive(Serialize)]
pub struct AttemptView<'a> {
    model: &'a str,
    provider: &'a str,
    status: Option<u16>,
    latency_ms: Option<u64>,
    /// Why the attempt failed, as a client may read it (a provider's words redacted).
    error: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> From<&'a Attempt> for AttemptView<'a> {
    fn from(a: &'a Attempt) -> Self {
        AttemptView {
            model: &a.model.id,
            provider: &a.model.provider.name,
            status: a.status,
            latency_ms: a.headers_after.or(a.duration).map(|d| d.as_millis() as u64),
            error: a.error.as_deref().map(|e| crate::redact::for_client(e, &[])),
        }
    }
}

#[derive(Serialize)]
struct Filtered<'a> {
    model: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Cost {
    estimated_dollars: Option<f64>,
    actual_dollars: Option<f64>,
}

/// One rule's part in the trace (`router.rule_trace`, an error's `rule_trace`).
#[derive(Serialize)]
pub struct TraceView<'a> {
    phase: &'a str,
    rule: &'a str,
    fired: bool,
    conditions: Vec<ConditionView<'a>>,
    actions: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    detail: &'a str,
}

#[derive(Serialize)]
struct ConditionView<'a> {
    condition: &'a str,
    result: bool,
}

impl<'a> From<&'a TraceEntry> for TraceView<'a> {
    fn from(t: &'a TraceEntry) -> Self {
        TraceView {
            phase: t.phase,
            rule: &t.rule,
            fired: t.fired,
            conditions: t
                .conditions
                .iter()
                .map(|(c, r)| ConditionView {
                    condition: c,
                    result: *r,
                })
                .collect(),
            actions: &t.actions,
            detail: &t.detail,
        }
    }
}

/// One firewall action (`router.firewall`): never the matched text, only a redacted sample.
#[derive(Serialize)]
pub struct FirewallView<'a> {
    policy: &'a str,
    rule: &'a str,
    action: &'a str,
    scope: &'a str,
    sample: &'a str,
    location: &'a str,
}

impl<'a> From<&'a FirewallEntry> for FirewallView<'a> {
    fn from(f: &'a FirewallEntry) -> Self {
        FirewallView {
            policy: &f.policy,
            rule: &f.rule,
            action: f.action,
            scope: f.scope,
            sample: &f.sample,
            location: &f.location,
        }
    }
}

/// Tags added by phases (an A/B arm, a rule's labels), as an object.
pub struct Tags<'a>(&'a [(String, String)]);

impl Tags<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Tags<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The trace as JSON (for error bodies).
pub fn trace_json(trace: &[TraceEntry]) -> Value {
    serde_json::to_value(trace.iter().map(TraceView::from).collect::<Vec<_>>()).unwrap_or_default()
}

#[derive(Serialize)]
pub struct RouterMeta<'a> {
    request_id: &'a str,
    model: Option<&'a str>,
    provider: Option<&'a str>,
    upstream_model: Option<&'a str>,
    requested_model: Option<&'a str>,
    mode: Option<&'static str>,
    reason: Option<&'a str>,
    classification: Option<&'a crate::router::RouteClass>,
    candidates: &'a [crate::router::score::ScoredShown],
    filtered: Vec<Filtered<'a>>,
    policy: Option<&'a str>,
    split_arm: Option<&'a str>,
    session_sticky: bool,
    fallback: bool,
    attempts: Vec<AttemptView<'a>>,
    cost: Cost,
    rule_trace: Vec<TraceView<'a>>,
    firewall: Vec<FirewallView<'a>>,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags<'a>,
    lossy: Lossy<'a>,
}

/// `router.lossy`: what the attempt's request could not carry, then what the answer could not.
struct Lossy<'a> {
    request: &'a [String],
    answer: &'a [String],
}

impl Serialize for Lossy<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.request.iter().chain(self.answer))
    }
}

impl<'a> RouterMeta<'a> {
    /// `cost` is the actual cost, once the usage is known.
    pub fn new(ctx: &'a Ctx, cost: Option<Money>) -> Self {
        let m = ctx.current_model();
        let req = ctx.ex.request();
        let route = ctx.decision.route.as_ref();
        let estimated = match (m, req) {
            (Some(m), Some(r)) => Some(estimate_cost(m, r)),
            _ => None,
        };
        RouterMeta {
            request_id: ctx.request_id(),
            model: m.map(|m| m.id.as_str()),
            provider: m.map(|m| &*m.provider.name),
            upstream_model: m.map(|m| m.upstream_model.as_str()),
            requested_model: req.map(|r| r.model.as_str()),
            mode: route.map(|r| r.mode),
            reason: route.map(|r| r.reason.as_str()),
            classification: route.and_then(|r| r.classification.as_ref()),
            candidates: route.map_or(&[], |r| r.scored.as_slice()),
            filtered: route.map_or_else(Vec::new, |r| {
                r.filtered
                    .iter()
                    .map(|(model, reason)| Filtered { model, reason })
                    .collect()
            }),
            policy: route.and_then(|r| r.policy.as_deref()),
            split_arm: route.and_then(|r| r.split_arm.as_deref()),
            session_sticky: route.is_some_and(|r| r.sticky),
            fallback: ctx.attempts.len() > 1,
            attempts: ctx.attempts.iter().map(AttemptView::from).collect(),
            cost: Cost {
                estimated_dollars: estimated.map(Money::as_dollars_f64),
                actual_dollars: cost.map(Money::as_dollars_f64),
            },
            rule_trace: ctx.ex.trace.iter().map(TraceView::from).collect(),
            firewall: ctx.ex.firewall.iter().map(FirewallView::from).collect(),
            tags: Tags(&ctx.ex.tags),
            lossy: Lossy {
                request: ctx.attempts.last().map_or(&[], |a| a.lossy.as_slice()),
                answer: &[],
            },
        }
    }

    /// With the lossy conversions found in the answer.
    pub fn with_notes(mut self, notes: &'a [String]) -> Self {
        self.lossy.answer = notes;
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing borrowed strings, numbers and `Value`s into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
