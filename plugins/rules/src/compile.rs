//! From the raw section to a [`RuleSet`]: validate everything (reporting every problem with its field
//! path, not just the first), canonicalise names, and hand the text conditions of all rules to one
//! shared text index (`scan`), so that a request scans its prompt a bounded number of times however
//! many rules test it.

use std::collections::HashMap;

use regex::RegexBuilder;
use serde_json::{Map, Value};
use switchyard_sdk::{typed, ConfigError, Money, Names};

use crate::config::{RawAction, RawCond, RawConfig, RawMeta, RawRule, RawTime, TagArg, TextArg};
use crate::rule::{
    shown, shown_regex, Action, ActionKind, Cond, MetaTest, Mode, ModelPattern, Node, Rule, SCHEMAS, TASKS,
};
use crate::scan::{IndexBuilder, TextIndex, REGEX_SIZE_LIMIT};
use crate::time::{parse_day, parse_hhmm, parse_offset, Window};

/// The longest `input_matches` pattern, in bytes (a pattern is config, not a document).
const MAX_PATTERN_LEN: usize = 4096;

/// All rules of one config snapshot, ordered and compiled.
#[derive(Debug)]
pub struct RuleSet {
    /// Highest priority first; equal priorities in file order.
    pub(crate) rules: Vec<Rule>,
    /// Every text condition's pattern, compiled together.
    pub(crate) text: TextIndex,
}

impl RuleSet {
    /// Validate and compile the plugin's section. Every problem is returned, each with the path of
    /// the field at fault inside the section (`rules[2].when.any[0].input_matches`).
    pub fn from_section(section: &Value) -> Result<RuleSet, Vec<ConfigError>> {
        RuleSet::from_section_with(section, None)
    }

    /// As [`RuleSet::from_section`], checking the models and providers the actions name.
    pub fn from_section_with(section: &Value, names: Option<&dyn Names>) -> Result<RuleSet, Vec<ConfigError>> {
        let raw: RawConfig = typed(section).map_err(|e| vec![e])?;
        compile(raw, names)
    }

    /// How many rules the set has.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule names in evaluation order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }
}

#[derive(Default)]
struct Compiler<'n> {
    errors: Vec<ConfigError>,
    text: IndexBuilder,
    /// The configuration's models and providers, when known: a rule that pins or falls back to one
    /// that does not exist fails the check rather than the requests it fires on.
    config_names: Option<&'n dyn Names>,
}

fn compile(raw: RawConfig, names: Option<&dyn Names>) -> Result<RuleSet, Vec<ConfigError>> {
    let mut c = Compiler {
        config_names: names,
        ..Compiler::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rules = Vec::with_capacity(raw.rules.len());
    for (i, r) in raw.rules.into_iter().enumerate() {
        let path = format!("rules[{i}]");
        let name = r.name.trim().to_string();
        if name.is_empty() {
            c.err(format!("{path}.name"), "a rule needs a name");
        } else if let Some(first) = seen.get(&name) {
            c.err(
                format!("{path}.name"),
                format!("duplicate rule name {name:?} (also rules[{first}])"),
            );
        } else {
            seen.insert(name.clone(), i);
        }
        if let Some(rule) = c.rule(r, name, &path) {
            rules.push(rule);
        }
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let text = c.text.build().map_err(|e| vec![ConfigError::new("rules", e)])?;
    // A stable sort keeps file order among equal priorities.
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
    Ok(RuleSet { rules, text })
}

/// A JSON scalar as the text rules compare and tag with.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn nonempty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

impl Compiler<'_> {
    /// Whether `name` is a configured model (`provider: false`) or provider; an error at `path` if not.
    fn known(&mut self, name: &str, provider: bool, path: String) -> bool {
        let Some(n) = self.config_names else { return true };
        let (ok, what) = if provider {
            (n.is_provider(name), "provider")
        } else {
            (n.is_model(name), "model")
        };
        if !ok {
            self.err(path, switchyard_sdk::unknown(what, name));
        }
        ok
    }

    /// A list of models (`provider: false`) or providers: valid as [`Compiler::names`] wants, and each
    /// one configured (every unknown one is named at its index).
    fn known_names(&mut self, list: &[String], path: &str, provider: bool) -> Option<Vec<String>> {
        let unknown = (0..list.len())
            .filter(|k| !self.known(&list[*k], provider, format!("{path}[{k}]")))
            .count();
        let list = self.names(list, path, if provider { "provider" } else { "model" })?;
        (unknown == 0).then_some(list)
    }

    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }

    fn rule(&mut self, r: RawRule, name: String, path: &str) -> Option<Rule> {
        let errors_before = self.errors.len();
        let when = r.when.as_ref().and_then(|w| self.cond(w, &format!("{path}.when")));
        if r.then.is_empty() {
            self.err(format!("{path}.then"), "a rule needs at least one action");
        }
        let mut actions = Vec::with_capacity(r.then.len());
        let last = r.then.len().saturating_sub(1);
        for (j, a) in r.then.iter().enumerate() {
            let apath = format!("{path}.then[{j}]");
            if matches!(a, RawAction::Reject(_)) && j != last {
                self.err(
                    apath.clone(),
                    "reject must be the rule's last action (nothing after it would run)",
                );
            }
            self.action(a, &apath, &mut actions);
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let nodes = when.as_ref().map_or(0, count_nodes);
        Some(Rule {
            name,
            priority: r.priority,
            stop: r.stop,
            when,
            actions,
            nodes,
        })
    }

    /// A condition, or `None` after recording why it is invalid.
    fn cond(&mut self, raw: &RawCond, path: &str) -> Option<Node> {
        let (cond, desc) = match raw {
            RawCond::InputContains(arg) => {
                let (text, case_sensitive, p) = match arg {
                    TextArg::Plain(t) => (t, false, format!("{path}.input_contains")),
                    TextArg::Full(f) => (&f.text, f.case_sensitive, format!("{path}.input_contains.text")),
                };
                if text.is_empty() {
                    return self.fail(p, "the text to look for is empty (it would match every request)");
                }
                let id = self.text.substring(text, case_sensitive);
                let suffix = if case_sensitive { " (case-sensitive)" } else { "" };
                (Cond::Contains(id), format!("input contains {}{suffix}", shown(text)))
            }
            RawCond::InputMatches(pattern) => {
                let p = format!("{path}.input_matches");
                if pattern.len() > MAX_PATTERN_LEN {
                    return self.fail(p, format!("the pattern is longer than {MAX_PATTERN_LEN} bytes"));
                }
                if let Err(e) = RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build() {
                    return self.fail(p, format!("invalid regex: {e}"));
                }
                let id = self.text.regex(pattern);
                (Cond::Matches(id), format!("input matches {}", shown_regex(pattern)))
            }
            RawCond::Metadata(m) => return self.meta(m, &format!("{path}.metadata")),
            RawCond::Mode(m) => match Mode::parse(m) {
                Mode::Other => {
                    return self.fail(
                        format!("{path}.mode"),
                        format!("unknown mode {m:?}; use quality, cost, latency, balanced or default"),
                    )
                }
                mode => (Cond::Mode(mode), format!("mode = {}", mode.as_str())),
            },
            RawCond::Model(m) => {
                let p = format!("{path}.model");
                let Some(m) = nonempty(m) else {
                    return self.fail(p, "the model is empty");
                };
                let pattern = match m.strip_suffix('*') {
                    Some(prefix) if !prefix.contains('*') => ModelPattern::Prefix(prefix.into()),
                    None if !m.contains('*') => ModelPattern::Exact(m.into()),
                    _ => return self.fail(p, "`*` is allowed only at the end (`openai/*`)"),
                };
                (Cond::Model(pattern), format!("model = {m}"))
            }
            RawCond::KeyName(v) => self.name_cond(v, path, "key_name", Cond::KeyName)?,
            RawCond::Workspace(v) => self.name_cond(v, path, "workspace", Cond::Workspace)?,
            RawCond::Segment(v) => self.name_cond(v, path, "segment", Cond::Segment)?,
            RawCond::TokensAbove(n) => (Cond::TokensAbove(*n), format!("tokens > {n}")),
            RawCond::TokensBelow(n) => (Cond::TokensBelow(*n), format!("tokens < {n}")),
            RawCond::Task(t) => match TASKS.iter().find(|k| **k == t.trim()) {
                Some(k) => (Cond::Task(k), format!("task = {k}")),
                None => {
                    return self.fail(
                        format!("{path}.task"),
                        format!("unknown task {t:?}; one of {}", TASKS.join(", ")),
                    )
                }
            },
            RawCond::ClientSchema(s) => match SCHEMAS.iter().find(|k| **k == s.trim()) {
                Some(k) => (Cond::ClientSchema(k), format!("client_schema = {k}")),
                None => {
                    return self.fail(
                        format!("{path}.client_schema"),
                        format!("unknown client schema {s:?}; one of chat, responses, messages"),
                    )
                }
            },
            RawCond::Time(t) => {
                let w = self.window(t, &format!("{path}.time"))?;
                let desc = w.describe();
                (Cond::Time(w), desc)
            }
            RawCond::All(list) => {
                let nodes = self.group(list, &format!("{path}.all"))?;
                let desc = format!("all of {}", nodes.len());
                (Cond::All(nodes), desc)
            }
            RawCond::Any(list) => {
                let nodes = self.group(list, &format!("{path}.any"))?;
                let desc = format!("any of {}", nodes.len());
                (Cond::Any(nodes), desc)
            }
            RawCond::Not(inner) => {
                let node = self.cond(inner, &format!("{path}.not"))?;
                let desc = format!("not ({})", node.desc);
                (Cond::Not(Box::new(node)), desc)
            }
        };
        Some(Node {
            cond,
            desc: desc.into(),
        })
    }

    fn fail<T>(&mut self, path: String, message: impl Into<String>) -> Option<T> {
        self.err(path, message);
        None
    }

    fn name_cond(&mut self, v: &str, path: &str, field: &str, make: fn(Box<str>) -> Cond) -> Option<(Cond, String)> {
        match nonempty(v) {
            Some(v) => Some((make(v.into()), format!("{field} = {}", shown(v)))),
            None => self.fail(format!("{path}.{field}"), format!("the {field} is empty")),
        }
    }

    fn meta(&mut self, m: &RawMeta, path: &str) -> Option<Node> {
        let Some(field) = nonempty(&m.field) else {
            return self.fail(format!("{path}.field"), "the field name is empty");
        };
        let (test, desc) = match (&m.equals, m.exists) {
            (Some(v), None) => match scalar_text(v) {
                Some(t) => {
                    let desc = format!("metadata.{field} = {}", shown(&t));
                    (MetaTest::Equals(t.into()), desc)
                }
                None => return self.fail(format!("{path}.equals"), "must be a string, number or boolean"),
            },
            (None, Some(e)) => {
                let desc = format!("metadata.{field} {}", if e { "exists" } else { "absent" });
                (MetaTest::Exists(e), desc)
            }
            (Some(_), Some(_)) => return self.fail(path.to_string(), "give either equals or exists, not both"),
            (None, None) => return self.fail(path.to_string(), "give equals (a value) or exists (true/false)"),
        };
        Some(Node {
            cond: Cond::Meta {
                field: field.into(),
                test,
            },
            desc: desc.into(),
        })
    }

    fn window(&mut self, t: &RawTime, path: &str) -> Option<Window> {
        let before = self.errors.len();
        let from = parse_hhmm(&t.from, false).map_err(|e| self.err(format!("{path}.from"), e));
        let to = parse_hhmm(&t.to, true).map_err(|e| self.err(format!("{path}.to"), e));
        let offset = match &t.utc_offset {
            None => Ok(0),
            Some(o) => parse_offset(o).map_err(|e| self.err(format!("{path}.utc_offset"), e)),
        };
        let mut days = 0u8;
        for (k, d) in t.days.iter().enumerate() {
            match parse_day(d) {
                Some(d) => days |= 1 << d,
                None => self.err(
                    format!("{path}.days[{k}]"),
                    format!("{d:?} is not a day; use mon, tue, wed, thu, fri, sat, sun"),
                ),
            }
        }
        let (Ok(from), Ok(to), Ok(offset)) = (from, to, offset) else {
            return None;
        };
        if from == to {
            return self.fail(
                path.to_string(),
                "from and to are equal, so the window is empty; for the whole day use from \"00:00\", to \"24:00\"",
            );
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Window { from, to, offset, days })
    }

    fn group(&mut self, list: &[RawCond], path: &str) -> Option<Vec<Node>> {
        if list.is_empty() {
            return self.fail(path.to_string(), "an empty group; add conditions or remove it");
        }
        let nodes: Vec<Option<Node>> = list
            .iter()
            .enumerate()
            .map(|(k, c)| self.cond(c, &format!("{path}[{k}]")))
            .collect();
        nodes.into_iter().collect()
    }

    fn action(&mut self, raw: &RawAction, path: &str, out: &mut Vec<Action>) {
        let mut push = |kind, label: String| {
            out.push(Action {
                kind,
                label: label.into(),
            })
        };
        match raw {
            RawAction::PinModel(m) => match nonempty(m) {
                Some(m) if !self.known(m, false, format!("{path}.pin_model")) => {}
                Some(m) => push(ActionKind::PinModel(m.into()), format!("pin_model {m}")),
                None => self.err(format!("{path}.pin_model"), "the model is empty"),
            },
            RawAction::PinProvider(p) => match nonempty(p) {
                Some(p) if !self.known(p, true, format!("{path}.pin_provider")) => {}
                Some(p) => push(ActionKind::PinProvider(p.into()), format!("pin_provider {p}")),
                None => self.err(format!("{path}.pin_provider"), "the provider is empty"),
            },
            RawAction::SetMode(m) => match Mode::parse(m) {
                Mode::Default | Mode::Other => self.err(
                    format!("{path}.set_mode"),
                    format!("unknown mode {m:?}; use quality, cost, latency or balanced"),
                ),
                mode => push(
                    ActionKind::SetMode(mode.as_str()),
                    format!("set_mode {}", mode.as_str()),
                ),
            },
            RawAction::Fallback(list) => {
                if let Some(list) = self.known_names(list, &format!("{path}.fallback"), false) {
                    let label = format!("fallback {}", list.join(", "));
                    push(ActionKind::Fallback(list), label);
                }
            }
            RawAction::ExcludeProviders(list) => {
                if let Some(list) = self.known_names(list, &format!("{path}.exclude_providers"), true) {
                    let label = format!("exclude_providers {}", list.join(", "));
                    push(ActionKind::ExcludeProviders(list), label);
                }
            }
            RawAction::QualityFloor(f) => {
                if f.is_finite() && (0.0..=1.0).contains(f) {
                    push(ActionKind::QualityFloor(*f), format!("quality_floor {f}"));
                } else {
                    self.err(
                        format!("{path}.quality_floor"),
                        "the quality floor is a score from 0 to 1",
                    );
                }
            }
            RawAction::Budget(d) => match Money::from_dollars(*d) {
                Some(m) => push(ActionKind::Budget(m), format!("budget ${m}")),
                None => self.err(
                    format!("{path}.budget"),
                    "the budget is an amount in dollars from 0 to 10000000",
                ),
            },
            RawAction::AddMetadata(map) => {
                for (key, value) in self.tags(map, &format!("{path}.add_metadata")) {
                    let label = format!("add_metadata {key}={value}");
                    push(ActionKind::Tag { key, value }, label);
                }
            }
            RawAction::Tag(TagArg::Arm(arm)) => match nonempty(arm) {
                Some(arm) => push(
                    ActionKind::Tag {
                        key: "ab".into(),
                        value: arm.into(),
                    },
                    format!("tag ab={arm}"),
                ),
                None => self.err(format!("{path}.tag"), "the A/B arm is empty"),
            },
            RawAction::Tag(TagArg::Named(map)) => {
                for (key, value) in self.tags(map, &format!("{path}.tag")) {
                    let label = format!("tag {key}={value}");
                    push(ActionKind::Tag { key, value }, label);
                }
            }
            RawAction::Reject(r) => {
                if !(400..=599).contains(&r.status) {
                    self.err(
                        format!("{path}.reject.status"),
                        format!("{} is not an error status; use 400 to 599", r.status),
                    );
                }
                let message = match r.message.as_deref().map(str::trim) {
                    Some("") => {
                        self.err(format!("{path}.reject.message"), "the message is empty");
                        return;
                    }
                    Some(m) => m.to_string(),
                    None => "the request was rejected by a routing rule".to_string(),
                };
                push(
                    ActionKind::Reject {
                        status: r.status,
                        message,
                    },
                    format!("reject {}", r.status),
                );
            }
        }
    }

    /// A non-empty list of non-empty names.
    fn names(&mut self, list: &[String], path: &str, what: &str) -> Option<Vec<String>> {
        if list.is_empty() {
            return self.fail(path.to_string(), format!("the list needs at least one {what}"));
        }
        let mut out = Vec::with_capacity(list.len());
        for (k, s) in list.iter().enumerate() {
            match nonempty(s) {
                Some(s) => out.push(s.to_string()),
                None => self.err(format!("{path}[{k}]"), format!("the {what} is empty")),
            }
        }
        (out.len() == list.len()).then_some(out)
    }

    /// Key/value pairs of a tag map, each value a scalar.
    fn tags(&mut self, map: &Map<String, Value>, path: &str) -> Vec<(String, String)> {
        if map.is_empty() {
            self.err(path.to_string(), "give at least one key: value");
        }
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            if k.trim().is_empty() {
                self.err(path.to_string(), "a key is empty");
                continue;
            }
            match scalar_text(v) {
                Some(t) => out.push((k.clone(), t)),
                None => self.err(format!("{path}.{k}"), "must be a string, number or boolean"),
            }
        }
        out
    }
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.cond {
        Cond::All(v) | Cond::Any(v) => v.iter().map(count_nodes).sum(),
        Cond::Not(c) => count_nodes(c),
        _ => 0,
    }
}
