//! The compiled firewall of one configuration snapshot: its rules (configured policies first, then
//! the built-in guardrail rules), the scanner over all their matchers, and which rules apply to a
//! request. Immutable once built; a reload builds a new one.

use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::detectors::DetectorSet;
use crate::guardrails::Guardrails;
use crate::matcher::{RuleHit, Scanner};
use crate::prefix::ByteSet;

pub(crate) type RuleId = u32;

/// A set of rules, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RuleBits(Vec<u64>);

impl RuleBits {
    pub(crate) fn insert(&mut self, id: RuleId) {
        let (word, bit) = ((id / 64) as usize, id % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    pub(crate) fn contains(&self, id: RuleId) -> bool {
        self.0
            .get((id / 64) as usize)
            .is_some_and(|w| (w >> (id % 64)) & 1 == 1)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub(crate) fn intersects(&self, other: &RuleBits) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    pub(crate) fn of(ids: &[RuleId]) -> Self {
        let mut bits = RuleBits::default();
        ids.iter().for_each(|id| bits.insert(*id));
        bits
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Block,
    Mask,
    Warn,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Mask => "mask",
            Action::Warn => "warn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    Prompt,
    Response,
    Metadata,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::Prompt => "prompt",
            Scope::Response => "response",
            Scope::Metadata => "metadata",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Scope::Prompt => 1,
            Scope::Response => 2,
            Scope::Metadata => 4,
        }
    }
}

/// Who a policy or rule is for; an empty list admits everyone on that count.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Audience {
    pub workspaces: Vec<String>,
    pub keys: Vec<String>,
    pub models: Vec<String>,
}

/// The caller and the models of one request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Who<'a> {
    pub workspace: Option<&'a str>,
    pub key: Option<&'a str>,
    /// The model as the client named it (catalog id, alias or routing word).
    pub requested: Option<&'a str>,
    /// The catalog id of the model that answered, once known.
    pub answering: Option<&'a str>,
}

/// Whether an audience admits a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    Yes,
    No,
    /// Only the model filter failed, on the requested model; the answering model may still match.
    Later,
}

/// A model pattern: a catalog id or alias, with `*` as a wildcard at the end or alone.
pub(crate) fn model_matches(pattern: &str, model: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => model.starts_with(prefix),
        None => pattern == model,
    }
}

impl Audience {
    pub(crate) fn admits(&self, who: &Who) -> Admit {
        let listed =
            |list: &[String], v: Option<&str>| list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v));
        if !listed(&self.workspaces, who.workspace) || !listed(&self.keys, who.key) {
            return Admit::No;
        }
        let model_ok = |m: Option<&str>| m.is_some_and(|m| self.models.iter().any(|p| model_matches(p, m)));
        if self.models.is_empty() || model_ok(who.requested) || model_ok(who.answering) {
            Admit::Yes
        } else if who.answering.is_none() {
            Admit::Later
        } else {
            Admit::No
        }
    }
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub policy: Arc<str>,
    pub name: Arc<str>,
    pub action: Action,
    /// `Scope::bit`s.
    pub scopes: u8,
    pub replacement: Option<Box<str>>,
    /// The policy's audience and the rule's own; both must admit a request.
    pub audience: Vec<Arc<Audience>>,
    /// What the rule matches, for the trace (`detector payment_card`, `regex`, `substring`).
    pub what: String,
    /// The longest match of a regex or substring rule (`None`: unbounded or a detector rule).
    pub max_len: Option<usize>,
    pub detectors: DetectorSet,
}

impl Rule {
    pub(crate) fn has_scope(&self, s: Scope) -> bool {
        self.scopes & s.bit() != 0
    }

    fn admits(&self, who: &Who) -> Admit {
        self.audience
            .iter()
            .fold(Admit::Yes, |acc, a| match (acc, a.admits(who)) {
                (Admit::No, _) | (_, Admit::No) => Admit::No,
                (Admit::Later, _) | (_, Admit::Later) => Admit::Later,
                _ => Admit::Yes,
            })
    }

    /// The longest text one of this rule's matches can span (`None`: unbounded).
    fn longest(&self) -> Option<usize> {
        if self.detectors.is_empty() {
            return self.max_len;
        }
        self.detectors
            .iter()
            .try_fold(0, |acc: usize, d| d.max_len().map(|l| acc.max(l)))
    }
}

/// Which rules apply to one request, by scope.
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    pub prompt: RuleBits,
    pub metadata: RuleBits,
    /// Response rules that apply.
    pub response: Vec<RuleId>,
    /// Response rules whose model filter waits for the answering model.
    pub later: Vec<RuleId>,
}

/// The compiled firewall.
#[derive(Debug)]
pub(crate) struct Firewall {
    pub rules: Vec<Rule>,
    /// Rules `0..config_rules` come from the configured policies; the rest are guardrails.
    pub config_rules: usize,
    pub moderate: Vec<RuleId>,
    pub strict: Vec<RuleId>,
    pub scanner: Scanner,
    /// Over every response-scope mask and block matcher; see [`crate::prefix`].
    pub viability: Option<Regex>,
    /// `max_holdback_bytes`: the most a streamed match may hold back.
    pub cap: usize,
    /// By rule: the bytes its matches can contain.
    pub rule_bytes: Vec<ByteSet>,
    /// By detector (`Detector as usize`): the bytes its matches can contain.
    pub detector_bytes: Vec<ByteSet>,
}

impl Firewall {
    pub(crate) fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id as usize]
    }

    pub(crate) fn plan(&self, who: &Who, level: Guardrails) -> Plan {
        let mut plan = Plan::default();
        let guards = match level {
            Guardrails::Off => &[][..],
            Guardrails::Moderate => &self.moderate[..],
            Guardrails::Strict => &self.strict[..],
        };
        let config = (0..self.config_rules as RuleId).map(|id| (id, self.rule(id).admits(who)));
        for (id, admit) in config.chain(guards.iter().map(|id| (*id, Admit::Yes))) {
            let rule = self.rule(id);
            match admit {
                Admit::No => {}
                Admit::Later => {
                    if rule.has_scope(Scope::Response) {
                        plan.later.push(id);
                    }
                }
                Admit::Yes => {
                    if rule.has_scope(Scope::Prompt) {
                        plan.prompt.insert(id);
                    }
                    if rule.has_scope(Scope::Metadata) {
                        plan.metadata.insert(id);
                    }
                    if rule.has_scope(Scope::Response) {
                        plan.response.push(id);
                    }
                }
            }
        }
        plan
    }

    /// Whether rule `id`, waiting for the answering model, applies now that it is known.
    pub(crate) fn admits_later(&self, id: RuleId, who: &Who) -> bool {
        self.rule(id).admits(who) == Admit::Yes
    }

    /// The longest a match of rule `id` can be, capped at `max_holdback_bytes`.
    pub(crate) fn window(&self, id: RuleId) -> usize {
        self.rule(id).longest().map_or(self.cap, |l| l.min(self.cap))
    }

    /// The longest this match could grow to, capped.
    pub(crate) fn hit_window(&self, h: &RuleHit) -> usize {
        match h.detector {
            Some(d) => d.max_len().map_or(self.cap, |l| l.min(self.cap)),
            None => self.window(h.rule),
        }
    }

    /// The bytes this match's matcher can contain.
    pub(crate) fn hit_bytes(&self, h: &RuleHit) -> Option<&ByteSet> {
        match h.detector {
            Some(d) => self.detector_bytes.get(d as usize),
            None => self.rule_bytes.get(h.rule as usize),
        }
    }

    /// What a mask writes over this match: the rule's replacement, else the detector's token.
    pub(crate) fn replacement(&self, h: &RuleHit) -> &str {
        match &self.rule(h.rule).replacement {
            Some(r) => r,
            None => h.detector.map_or("[REDACTED]", |d| d.default_replacement()),
        }
    }

    /// Whether this match may be longer than the cap (so a stream masks it in pieces).
    pub(crate) fn hit_capped(&self, h: &RuleHit) -> bool {
        let longest = match h.detector {
            Some(d) => d.max_len(),
            None => self.rule(h.rule).longest(),
        };
        longest.is_none_or(|l| l > self.cap)
    }
}
