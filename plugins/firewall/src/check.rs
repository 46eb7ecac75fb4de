//! Whole texts: the prompt (every message's text and reasoning parts, whatever the role — system and
//! developer messages carry Responses `instructions` and Anthropic `system` blocks — tool-call
//! arguments and tool descriptions), the metadata (`metadata` string values and `user`), and a whole
//! answer (text parts and tool-call arguments). A block anywhere refuses; masks are collected as
//! edits and written back only when something was masked, so an untouched request keeps the core's
//! pass-through path.

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse, OutPart, Part};

use crate::mask::{self, sample};
use crate::matcher::{RuleHit, Scratch, JOIN};
use crate::policy::{Action, Firewall, Plan, RuleBits, Scope};
use crate::report::Report;

/// What one text's scan decided.
pub(crate) enum Outcome {
    Clean,
    Masked(String),
    Block(Report),
}

/// Scans texts and collects what it applied.
pub(crate) struct Checker<'f> {
    fw: &'f Firewall,
    hits: Vec<RuleHit>,
    scratch: Scratch,
    joined: String,
    pub reports: Vec<Report>,
    /// The rules reported at the location of the last text (one report per rule and location).
    reported: (Arc<str>, RuleBits),
}

impl<'f> Checker<'f> {
    pub(crate) fn new(fw: &'f Firewall) -> Self {
        Checker {
            fw,
            hits: Vec::new(),
            scratch: Scratch::default(),
            joined: String::new(),
            reports: Vec::new(),
            reported: (Arc::from(""), RuleBits::default()),
        }
    }

    /// Scan one whole text with the rules `want`.
    pub(crate) fn text(
        &mut self,
        text: &str,
        want: &RuleBits,
        scope: Scope,
        location: impl FnOnce() -> String,
    ) -> Outcome {
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        self.fw.scanner.scan(text, want, &mut hits, &mut self.scratch);
        let out = if hits.is_empty() {
            Outcome::Clean
        } else {
            mask::sort(&mut hits);
            self.decide(text, scope, location().into(), &hits)
        };
        self.hits = hits;
        out
    }

    /// The matches of `want` in each of `texts`, found in one scan of the texts joined by [`JOIN`]:
    /// a scan has a fixed cost per text (one search per regex, the automaton, each detector family)
    /// that a conversation of many messages would otherwise pay many times. `None` when the texts
    /// must be scanned one by one (anchored regexes, or a match touching a joint).
    fn joined(&mut self, texts: &[&str], want: &RuleBits) -> Option<Vec<Vec<RuleHit>>> {
        if texts.len() < 2 || !self.fw.scanner.joinable() {
            return None;
        }
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        let mut starts = Vec::with_capacity(texts.len());
        for (k, t) in texts.iter().enumerate() {
            if k > 0 {
                joined.push_str(JOIN);
            }
            starts.push(joined.len());
            joined.push_str(t);
        }
        self.hits.clear();
        self.fw.scanner.scan(&joined, want, &mut self.hits, &mut self.scratch);
        self.joined = joined;
        let mut per: Vec<Vec<RuleHit>> = vec![Vec::new(); texts.len()];
        for h in &self.hits {
            let i = starts.partition_point(|&s| s <= h.start).checked_sub(1)?;
            let (start, end) = (starts[i], starts[i] + texts[i].len());
            if h.end > end {
                return None;
            }
            per[i].push(RuleHit {
                start: h.start - start,
                end: h.end - start,
                ..*h
            });
        }
        per.iter_mut().for_each(|hits| mask::sort(hits));
        Some(per)
    }

    /// What one text's (sorted) matches do: the first block refuses; otherwise every rule that
    /// matched is reported once for this location, and masks are merged and applied.
    fn decide(&mut self, text: &str, scope: Scope, location: Arc<str>, hits: &[RuleHit]) -> Outcome {
        let fw = self.fw;
        let report = |h: &RuleHit| Report {
            rule: h.rule,
            scope,
            location: location.clone(),
            sample: sample(&text[h.start..h.end], h.detector),
        };
        if let Some(h) = hits.iter().find(|h| fw.rule(h.rule).action == Action::Block) {
            return Outcome::Block(report(h));
        }
        if self.reported.0 != location {
            self.reported = (location.clone(), RuleBits::default());
        }
        for h in hits {
            if !self.reported.1.contains(h.rule) {
                self.reported.1.insert(h.rule);
                self.reports.push(report(h));
            }
        }
        let clusters = mask::clusters(hits, |h| fw.rule(h.rule).action == Action::Mask);
        if clusters.is_empty() {
            return Outcome::Clean;
        }
        Outcome::Masked(mask::apply(text, 0, text.len(), &clusters, |i| {
            fw.replacement(&hits[i])
        }))
    }
}

/// Where a request text lives, to name it and to write a masked text back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    Part(usize, usize),
    ToolArgs(usize, usize),
    ToolDesc(usize),
    User,
    Meta(Vec<Seg>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl Target {
    fn location(&self, req: &ChatRequest) -> String {
        match self {
            Target::Part(i, j) if req.messages.get(*i).is_some_and(|m| m.content.len() > 1) => {
                format!("messages[{i}].content[{j}]")
            }
            Target::Part(i, _) => format!("messages[{i}].content"),
            Target::ToolArgs(i, k) => format!("messages[{i}].tool_calls[{k}].arguments"),
            Target::ToolDesc(k) => format!("tools[{k}].description"),
            Target::User => "user".to_string(),
            Target::Meta(path) => path.iter().fold("metadata".to_string(), |mut s, seg| {
                match seg {
                    Seg::Key(k) => {
                        s.push('.');
                        s.push_str(k);
                    }
                    Seg::Index(i) => s.push_str(&format!("[{i}]")),
                }
                s
            }),
        }
    }
}

/// The prompt and metadata checks of one request.
pub(crate) struct Checked {
    pub reports: Vec<Report>,
    pub edits: Vec<(Target, String)>,
    pub block: Option<Report>,
}

struct Walk<'a, 'f> {
    c: Checker<'f>,
    req: &'a ChatRequest,
    edits: Vec<(Target, String)>,
}

impl<'a> Walk<'a, '_> {
    fn outcome(&mut self, target: Target, out: Outcome) -> Result<(), Report> {
        match out {
            Outcome::Clean => Ok(()),
            Outcome::Masked(s) => {
                self.edits.push((target, s));
                Ok(())
            }
            Outcome::Block(r) => Err(r),
        }
    }

    /// Several texts of one scope: joined into one scan when possible, else one by one.
    fn batch(&mut self, items: Vec<(Target, &'a str)>, want: &RuleBits, scope: Scope) -> Result<(), Report> {
        let texts: Vec<&str> = items.iter().map(|(_, t)| *t).collect();
        match self.c.joined(&texts, want) {
            Some(per) => {
                for ((target, text), hits) in items.into_iter().zip(per) {
                    if !hits.is_empty() {
                        let out = self.c.decide(text, scope, target.location(self.req).into(), &hits);
                        self.outcome(target, out)?;
                    }
                }
                Ok(())
            }
            None => items
                .into_iter()
                .try_for_each(|(target, text)| self.visit(target, text, want, scope)),
        }
    }

    fn visit(&mut self, target: Target, text: &str, want: &RuleBits, scope: Scope) -> Result<(), Report> {
        let req = self.req;
        let out = self.c.text(text, want, scope, || target.location(req));
        self.outcome(target, out)
    }

    fn meta(&mut self, path: &mut Vec<Seg>, v: &Value, want: &RuleBits, depth: usize) -> Result<(), Report> {
        match v {
            Value::String(s) => self.visit(Target::Meta(path.clone()), s, want, Scope::Metadata),
            Value::Array(items) if depth < 8 => items.iter().enumerate().try_for_each(|(i, item)| {
                path.push(Seg::Index(i));
                let r = self.meta(path, item, want, depth + 1);
                path.pop();
                r
            }),
            Value::Object(map) if depth < 8 => map.iter().try_for_each(|(k, item)| {
                path.push(Seg::Key(k.clone()));
                let r = self.meta(path, item, want, depth + 1);
                path.pop();
                r
            }),
            _ => Ok(()),
        }
    }

    fn request(&mut self, plan: &Plan) -> Result<(), Report> {
        let req = self.req;
        if !plan.prompt.is_empty() {
            let mut items: Vec<(Target, &str)> = Vec::new();
            for (i, m) in req.messages.iter().enumerate() {
                for (j, p) in m.content.iter().enumerate() {
                    if let Part::Text(t) | Part::Reasoning { text: t, .. } = p {
                        items.push((Target::Part(i, j), t));
                    }
                }
                for (k, call) in m.tool_calls.iter().enumerate() {
                    items.push((Target::ToolArgs(i, k), &call.arguments));
                }
            }
            for (k, tool) in req.tools.iter().enumerate() {
                if let Some(d) = &tool.description {
                    items.push((Target::ToolDesc(k), d));
                }
            }
            self.batch(items, &plan.prompt, Scope::Prompt)?;
        }
        if !plan.metadata.is_empty() {
            if let Some(u) = &req.user {
                self.visit(Target::User, u, &plan.metadata, Scope::Metadata)?;
            }
            let mut path = Vec::new();
            for (k, v) in &req.metadata {
                path.push(Seg::Key(k.clone()));
                self.meta(&mut path, v, &plan.metadata, 0)?;
                path.pop();
            }
        }
        Ok(())
    }
}

/// Check a request's prompt and metadata against the plan's rules.
pub(crate) fn check_request(fw: &Firewall, req: &ChatRequest, plan: &Plan) -> Checked {
    let mut w = Walk {
        c: Checker::new(fw),
        req,
        edits: Vec::new(),
    };
    let block = w.request(plan).err();
    let mut reports = w.c.reports;
    if block.is_some() {
        // Masks were not applied (the request is refused); warnings were.
        reports.retain(|r| fw.rule(r.rule).action == Action::Warn);
    }
    Checked {
        reports,
        edits: w.edits,
        block,
    }
}

/// Write masked texts back into the request.
pub(crate) fn apply_edits(req: &mut ChatRequest, edits: Vec<(Target, String)>) {
    for (target, text) in edits {
        let slot: Option<&mut String> = match target {
            Target::Part(i, j) => match req.messages.get_mut(i).and_then(|m| m.content.get_mut(j)) {
                Some(Part::Text(t) | Part::Reasoning { text: t, .. }) => Some(t),
                _ => None,
            },
            Target::ToolArgs(i, k) => req
                .messages
                .get_mut(i)
                .and_then(|m| m.tool_calls.get_mut(k))
                .map(|c| &mut c.arguments),
            Target::ToolDesc(k) => req.tools.get_mut(k).and_then(|t| t.description.as_mut()),
            Target::User => req.user.as_mut(),
            Target::Meta(path) => {
                let mut it = path.iter();
                let mut v = match it.next() {
                    Some(Seg::Key(k)) => req.metadata.get_mut(k),
                    _ => None,
                };
                for seg in it {
                    v = match (seg, v) {
                        (Seg::Key(k), Some(Value::Object(m))) => m.get_mut(k),
                        (Seg::Index(i), Some(Value::Array(a))) => a.get_mut(*i),
                        _ => None,
                    };
                }
                match v {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                }
            }
        };
        if let Some(slot) = slot {
            *slot = text;
        }
    }
}

/// Check (and mask in place) a whole answer: its text parts and tool-call arguments.
pub(crate) fn check_answer(fw: &Firewall, answer: &mut ChatResponse, want: &RuleBits) -> (Vec<Report>, Option<Report>) {
    let mut c = Checker::new(fw);
    let mut calls = 0;
    let mut masked = false;
    // Every choice's parts (a request with `n` has several).
    let more = answer.more_choices.iter_mut().flat_map(|c| c.parts.iter_mut());
    for part in answer.parts.iter_mut().chain(more) {
        let (text, location) = match part {
            OutPart::Text(t) | OutPart::Refusal(t) => (t, "answer".to_string()),
            OutPart::ToolCall(call) => {
                calls += 1;
                (
                    &mut call.arguments,
                    format!("answer.tool_calls[{}].arguments", calls - 1),
                )
            }
            OutPart::Reasoning { .. } => continue,
        };
        match c.text(text, want, Scope::Response, || location) {
            Outcome::Clean => {}
            Outcome::Masked(s) => {
                *text = s;
                masked = true;
            }
            Outcome::Block(r) => {
                c.reports.retain(|r| fw.rule(r.rule).action == Action::Warn);
                return (c.reports, Some(r));
            }
        }
    }
    if masked {
        // The tokens' log probabilities spell the text unmasked.
        answer.logprobs = None;
        for ch in &mut answer.more_choices {
            ch.logprobs = None;
        }
    }
    (c.reports, None)
}
