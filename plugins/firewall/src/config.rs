//! The plugin's section, typed (`deny_unknown_fields` at every level), validated and compiled into a
//! [`Firewall`]. Each policy and each rule is deserialized on its own, so one bad rule does not hide
//! the problems of the others: every error found is returned, each with its field path inside the
//! section (`policies[0].rules[3].regex`).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use switchyard_sdk::{typed, ConfigError};

use crate::detectors::DetectorSet;
use crate::guardrails::{self, Guardrails};
use crate::matcher::{check_regex, Pattern, Scanner};
use crate::policy::{Action, Audience, Firewall, Rule, RuleId, Scope};
use crate::prefix::{self, ByteSet};

/// Default `max_holdback_bytes`.
pub(crate) const DEFAULT_HOLDBACK: usize = 256;
/// Below this, a streamed e-mail address or API key (up to 255 bytes) could outgrow the hold-back
/// before it is recognisable, and its start would be released unmasked.
const MIN_HOLDBACK: usize = 256;
const MAX_HOLDBACK: usize = 64 * 1024;
const SUBSTRING_MAX: usize = 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    #[serde(default)]
    policies: Vec<Value>,
    #[serde(default)]
    max_holdback_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(default)]
    applies_to: Option<RawAudience>,
    rules: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudience {
    #[serde(default)]
    workspaces: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    models: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    substring: Option<String>,
    #[serde(default)]
    case_sensitive: Option<bool>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    detector: Option<String>,
    scope: Scopes,
    action: Action,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    applies_to: Option<RawAudience>,
}

/// `scope: prompt` or `scope: [prompt, response]`.
#[derive(Debug)]
struct Scopes(Vec<Scope>);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`prompt`, `response`, `metadata` or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scopes, E> {
                Scope::deserialize(v.into_deserializer()).map(|s| Scopes(vec![s]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<Scope>()? {
                    all.push(s);
                }
                Ok(Scopes(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// `typed` on a part of the section, with the error's path put under `prefix`.
fn typed_at<T: serde::de::DeserializeOwned>(v: &Value, prefix: &str) -> Result<T, ConfigError> {
    typed(v).map_err(|e| {
        let path = match e.path.as_str() {
            "" => prefix.to_string(),
            p if p.starts_with('[') => format!("{prefix}{p}"),
            p => format!("{prefix}.{p}"),
        };
        ConfigError::new(path, e.message)
    })
}

fn audience(raw: Option<RawAudience>, path: &str, errors: &mut Vec<ConfigError>) -> Option<Arc<Audience>> {
    let raw = raw?;
    for (field, list) in [
        ("workspaces", &raw.workspaces),
        ("keys", &raw.keys),
        ("models", &raw.models),
    ] {
        for (i, v) in list.iter().enumerate() {
            if v.trim().is_empty() {
                errors.push(ConfigError::new(format!("{path}.{field}[{i}]"), "must not be empty"));
            } else if field == "models" && v.trim_end_matches('*').contains('*') {
                errors.push(ConfigError::new(
                    format!("{path}.{field}[{i}]"),
                    "`*` is allowed only at the end of a model pattern",
                ));
            }
        }
    }
    let a = Audience {
        workspaces: raw.workspaces,
        keys: raw.keys,
        models: raw.models,
    };
    (a != Audience::default()).then(|| Arc::new(a))
}

fn known_detectors() -> String {
    let mut names: Vec<&str> = crate::Detector::ALL.iter().map(|d| d.name()).collect();
    names.push("secrets");
    names.join(", ")
}

/// Validate and compile the section (`None`, or an empty section: no policies, guardrails only).
pub(crate) fn compile(section: Option<&Value>) -> Result<Firewall, Vec<ConfigError>> {
    let raw: RawSection = match section {
        None | Some(Value::Null) => RawSection::default(),
        Some(v) => typed(v).map_err(|e| vec![e])?,
    };
    let mut errors = Vec::new();
    let cap = raw.max_holdback_bytes.unwrap_or(DEFAULT_HOLDBACK);
    if !(MIN_HOLDBACK..=MAX_HOLDBACK).contains(&cap) {
        errors.push(ConfigError::new(
            "max_holdback_bytes",
            format!("must be between {MIN_HOLDBACK} and {MAX_HOLDBACK}"),
        ));
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut patterns: Vec<Pattern> = Vec::new();
    let mut policy_names = HashSet::new();
    for (pi, pv) in raw.policies.iter().enumerate() {
        let ppath = format!("policies[{pi}]");
        let p: RawPolicy = match typed_at(pv, &ppath) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if p.name.trim().is_empty() {
            errors.push(ConfigError::new(format!("{ppath}.name"), "must not be empty"));
        } else if p.name == guardrails::POLICY {
            errors.push(ConfigError::new(
                format!("{ppath}.name"),
                "`guardrails` is reserved for the X-GR-Guardrails rules",
            ));
        } else if !policy_names.insert(p.name.clone()) {
            errors.push(ConfigError::new(
                format!("{ppath}.name"),
                format!("policy `{}` is defined twice", p.name),
            ));
        }
        let paud = audience(p.applies_to, &format!("{ppath}.applies_to"), &mut errors);
        if p.rules.is_empty() {
            errors.push(ConfigError::new(
                format!("{ppath}.rules"),
                "a policy needs at least one rule",
            ));
        }
        let mut rule_names = HashSet::new();
        for (ri, rv) in p.rules.iter().enumerate() {
            let rpath = format!("{ppath}.rules[{ri}]");
            let mut r: RawRule = match typed_at(rv, &rpath) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if r.name.trim().is_empty() {
                errors.push(ConfigError::new(format!("{rpath}.name"), "must not be empty"));
            } else if !rule_names.insert(r.name.clone()) {
                errors.push(ConfigError::new(
                    format!("{rpath}.name"),
                    format!("rule `{}` is defined twice in policy `{}`", r.name, p.name),
                ));
            }
            let mut audience_list: Vec<Arc<Audience>> = paud.iter().cloned().collect();
            audience_list.extend(audience(
                r.applies_to.take(),
                &format!("{rpath}.applies_to"),
                &mut errors,
            ));
            if let Some((pattern, rule)) = rule(&p.name, &r.name, &r, &rpath, cap, audience_list, &mut errors) {
                patterns.push(pattern);
                rules.push(rule);
            }
        }
    }
    let config_rules = rules.len();
    let (moderate, strict) = guard_rules(&mut rules, &mut patterns);
    let ids: Vec<(RuleId, &Pattern)> = patterns.iter().enumerate().map(|(i, p)| (i as RuleId, p)).collect();
    let scanner = match Scanner::build(&ids) {
        Ok(s) => s,
        Err(e) => {
            errors.push(ConfigError::new("policies", e));
            Scanner::default()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let viability = prefix::viability(&response_shapes(&rules, &patterns));
    let detector_bytes: Vec<ByteSet> = crate::Detector::ALL
        .iter()
        .map(|d| regex_syntax::parse(d.shape()).map_or(ByteSet::of_text("", false), |h| ByteSet::of_hir(&h)))
        .collect();
    let rule_bytes = patterns
        .iter()
        .map(|p| match p {
            Pattern::Regex(c) => ByteSet::of_hir(&c.hir),
            Pattern::Substring { text, case_sensitive } => ByteSet::of_text(text, !case_sensitive),
            Pattern::Detectors(set) => set
                .iter()
                .filter_map(|d| detector_bytes.get(d as usize))
                .fold(ByteSet::default(), |acc, b| acc.union(b)),
        })
        .collect();
    Ok(Firewall {
        rule_bytes,
        detector_bytes,
        rules,
        config_rules,
        moderate,
        strict,
        scanner,
        viability,
        cap,
    })
}

/// Validate one rule; `None` when it has errors (pushed to `errors`).
fn rule(
    policy: &str,
    name: &str,
    r: &RawRule,
    path: &str,
    cap: usize,
    audience: Vec<Arc<Audience>>,
    errors: &mut Vec<ConfigError>,
) -> Option<(Pattern, Rule)> {
    let before = errors.len();
    let mut scopes = 0u8;
    r.scope.0.iter().for_each(|s| scopes |= s.bit());
    if scopes == 0 {
        errors.push(ConfigError::new(format!("{path}.scope"), "needs at least one scope"));
    }
    if r.replacement.is_some() && r.action != Action::Mask {
        errors.push(ConfigError::new(
            format!("{path}.replacement"),
            "only `mask` rules have a replacement",
        ));
    }
    if r.case_sensitive.is_some() && r.substring.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.case_sensitive"),
            "applies to `substring` rules only",
        ));
    }
    let given = [
        ("substring", r.substring.is_some()),
        ("regex", r.regex.is_some()),
        ("detector", r.detector.is_some()),
    ];
    let named: Vec<&str> = given.iter().filter(|(_, set)| *set).map(|(n, _)| *n).collect();
    let (pattern, what, max_len) = match (&r.substring, &r.regex, &r.detector, named.len()) {
        (Some(s), None, None, 1) => {
            if s.is_empty() || s.len() > SUBSTRING_MAX {
                errors.push(ConfigError::new(
                    format!("{path}.substring"),
                    format!("must be 1 to {SUBSTRING_MAX} bytes long"),
                ));
            } else if scopes & Scope::Response.bit() != 0 && s.len() > cap {
                errors.push(ConfigError::new(
                    format!("{path}.substring"),
                    format!("longer than max_holdback_bytes ({cap}), so it could not be masked in a streamed answer"),
                ));
            }
            let p = Pattern::Substring {
                text: s.clone(),
                case_sensitive: r.case_sensitive.unwrap_or(true),
            };
            (p, "substring".to_string(), Some(s.len()))
        }
        (None, Some(re), None, 1) => match check_regex(re) {
            Ok(c) => {
                let max = c.max_len;
                (Pattern::Regex(c), "regex".to_string(), max)
            }
            Err(e) => {
                errors.push(ConfigError::new(format!("{path}.regex"), e));
                return None;
            }
        },
        (None, None, Some(d), 1) => match DetectorSet::from_name(d) {
            Some(set) => (Pattern::Detectors(set), format!("detector {d}"), None),
            None => {
                errors.push(ConfigError::new(
                    format!("{path}.detector"),
                    format!("unknown detector `{d}`; known detectors: {}", known_detectors()),
                ));
                return None;
            }
        },
        (.., 0) => {
            errors.push(ConfigError::new(
                path,
                "a rule needs one matcher: `substring`, `regex` or `detector`",
            ));
            return None;
        }
        _ => {
            errors.push(ConfigError::new(
                path,
                format!("a rule has exactly one matcher, this one has {}", named.join(" and ")),
            ));
            return None;
        }
    };
    if errors.len() > before {
        return None;
    }
    let detectors = match &pattern {
        Pattern::Detectors(set) => *set,
        _ => DetectorSet::default(),
    };
    let rule = Rule {
        policy: policy.into(),
        name: name.into(),
        action: r.action,
        scopes,
        replacement: r.replacement.as_deref().map(Into::into),
        audience,
        what,
        max_len,
        detectors,
    };
    Some((pattern, rule))
}

/// Append the guardrail rules of both levels; their ids by level.
fn guard_rules(rules: &mut Vec<Rule>, patterns: &mut Vec<Pattern>) -> (Vec<RuleId>, Vec<RuleId>) {
    let mut ids = (Vec::new(), Vec::new());
    for level in [Guardrails::Moderate, Guardrails::Strict] {
        for (d, action, scopes) in guardrails::rules(level) {
            let id = rules.len() as RuleId;
            rules.push(Rule {
                policy: guardrails::POLICY.into(),
                name: format!("{}/{}", level.as_str(), d.name()).into(),
                action,
                scopes,
                replacement: None,
                audience: Vec::new(),
                what: format!("detector {}", d.name()),
                max_len: None,
                detectors: DetectorSet::of(&[d]),
            });
            patterns.push(Pattern::Detectors(DetectorSet::of(&[d])));
            match level {
                Guardrails::Moderate => ids.0.push(id),
                _ => ids.1.push(id),
            }
        }
    }
    ids
}

/// The regexes whose prefixes streaming watches: response-scope mask and block rules.
fn response_shapes(rules: &[Rule], patterns: &[Pattern]) -> Vec<regex_syntax::hir::Hir> {
    let mut shapes = Vec::new();
    let mut seen = HashSet::new();
    for (rule, pattern) in rules.iter().zip(patterns) {
        if !rule.has_scope(Scope::Response) || rule.action == Action::Warn {
            continue;
        }
        let sources: Vec<String> = match pattern {
            Pattern::Regex(c) => {
                shapes.push(c.hir.clone());
                continue;
            }
            Pattern::Substring { text, case_sensitive } => {
                let flags = if *case_sensitive { "" } else { "(?i)" };
                vec![format!("{flags}{}", regex::escape(text))]
            }
            Pattern::Detectors(set) => set.iter().map(|d| d.shape().to_string()).collect(),
        };
        for s in sources {
            if seen.insert(s.clone()) {
                if let Ok(h) = regex_syntax::parse(&s) {
                    shapes.push(h);
                }
            }
        }
    }
    shapes
}
