//! Validation of the model catalog (`models.yaml`) and of the models that routing policies name.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use switchyard_sdk::{Money, Price};

use super::raw::RawModel;
use super::source::{Problem, Source};
use super::*;

fn tier_from_price(output: Price) -> &'static str {
    match output.per_million_as_f64() {
        x if x <= 0.0 => "free",
        x if x < 1.0 => "budget",
        x if x < 10.0 => "standard",
        x if x < 40.0 => "premium",
        _ => "frontier",
    }
}

/// The catalog's `aliases` section: every target a model of the catalog (by id or alias), `auto` or
/// `auto:<mode>`; an exact name may not shadow a model's own name.
pub(crate) fn validate_aliases(
    catalog: Catalog,
    raw: BTreeMap<String, super::raw::RawAliasTarget>,
    src: &Source,
    problems: &mut Vec<Problem>,
) -> Catalog {
    use super::raw::RawAliasTarget;
    use super::snapshot::{AliasRule, AliasTarget};
    let mut rules = Vec::with_capacity(raw.len());
    for (pattern, target) in raw {
        let at = format!("aliases.{pattern}");
        if pattern.is_empty() || pattern.chars().all(|c| c == '*') {
            problems.push(src.problem(&at, "a pattern needs at least one character besides `*`"));
            continue;
        }
        if !pattern.contains('*') && catalog.get(&pattern).is_some() {
            problems.push(src.problem(&at, format!("{pattern:?} is already a model's id or alias")));
            continue;
        }
        let names = match target {
            RawAliasTarget::One(t) if t == "auto" || t == "router" || t.starts_with("auto:") => {
                rules.push(AliasRule {
                    pattern,
                    target: AliasTarget::Auto(t),
                });
                continue;
            }
            RawAliasTarget::One(t) => vec![t],
            RawAliasTarget::Chain(c) => c,
        };
        if names.is_empty() {
            problems.push(src.problem(&at, "an empty chain names no model"));
            continue;
        }
        if let Some(bad) = names.iter().find(|n| catalog.get(n).is_none()) {
            problems.push(src.problem(&at, format!("{bad:?} is not a model of the catalog")));
            continue;
        }
        rules.push(AliasRule {
            pattern,
            target: AliasTarget::Models(names),
        });
    }
    catalog.with_rules(rules)
}

pub(crate) fn validate_catalog(
    raw: Vec<RawModel>,
    providers: &BTreeMap<String, Arc<Provider>>,
    src: &Source,
    problems: &mut Vec<Problem>,
) -> Catalog {
    let mut seen: HashSet<String> = HashSet::new();
    let mut models = Vec::new();
    for (i, m) in raw.into_iter().enumerate() {
        let at = |f: &str| format!("models[{i}].{f}");
        let Some((prov, name)) = m.id.split_once('/').filter(|(p, n)| !p.is_empty() && !n.is_empty()) else {
            problems.push(src.problem(at("id"), format!("{:?} must be provider/model", m.id)));
            continue;
        };
        let Some(provider) = providers.get(prov) else {
            problems.push(src.problem(
                at("id"),
                format!("provider {prov:?} is not defined in the config's `providers`"),
            ));
            continue;
        };
        for n in std::iter::once(&m.id).chain(&m.aliases) {
            if !seen.insert(n.clone()) {
                problems.push(src.problem(at("aliases"), format!("{n:?} names more than one model")));
            }
        }
        let price = |v: Option<f64>, f: &str, problems: &mut Vec<Problem>| match v.map(Price::per_million_dollars) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => {
                problems.push(src.problem(
                    at(&format!("pricing.{f}")),
                    "must be a non-negative number of dollars per million tokens",
                ));
                None
            }
        };
        let input = price(Some(m.pricing.input), "input", problems).unwrap_or_default();
        let output = price(Some(m.pricing.output), "output", problems).unwrap_or_default();
        let cached_input = price(m.pricing.cached_input, "cached_input", problems).unwrap_or(input);
        let cache_write = price(m.pricing.cache_write, "cache_write", problems).unwrap_or(input);
        let image = match m.pricing.image.map(Money::from_dollars) {
            None => None,
            Some(Some(d)) => Some(d),
            Some(None) => {
                problems.push(src.problem(
                    at("pricing.image"),
                    "must be a non-negative number of dollars per image",
                ));
                None
            }
        };
        if m.pricing.image.is_none() && m.capabilities.iter().any(|c| c == "image_generation") {
            problems.push(src.problem(
                at("pricing.image"),
                "a model with the image_generation capability needs its price per image (dollars)",
            ));
        }
        if let Some(f) = m.quirks.max_tokens_field.as_deref() {
            if f != "max_tokens" && f != "max_completion_tokens" {
                problems.push(src.problem(
                    at("quirks.max_tokens_field"),
                    "must be max_tokens or max_completion_tokens",
                ));
            }
        }
        if let Some(b) = m.thinking_budget {
            if b.min > b.max {
                problems.push(src.problem(at("thinking_budget"), "min must not exceed max"));
            }
        }
        if m.context_window == 0 {
            problems.push(src.problem(at("context_window"), "must be greater than 0"));
        }
        if m.max_output == 0 || m.max_output > m.context_window {
            problems.push(src.problem(at("max_output"), "must be between 1 and context_window"));
        }
        for c in &m.capabilities {
            if !CAPABILITIES.contains(&c.as_str()) {
                problems.push(src.problem(
                    at("capabilities"),
                    format!("unknown capability {c:?}; known: {}", CAPABILITIES.join(", ")),
                ));
            }
        }
        for (task, q) in &m.quality {
            if !TASKS.contains(&task.as_str()) {
                problems.push(src.problem(
                    at(&format!("quality.{task}")),
                    format!("unknown task; known: {}", TASKS.join(", ")),
                ));
            } else if !(0.0..=1.0).contains(q) {
                problems.push(src.problem(at(&format!("quality.{task}")), "quality scores are between 0 and 1"));
            }
        }
        let price_tier = match m.price_tier {
            Some(t) if PRICE_TIERS.contains(&t.as_str()) => t,
            Some(t) => {
                problems.push(src.problem(
                    at("price_tier"),
                    format!("unknown tier {t:?}; known: {}", PRICE_TIERS.join(", ")),
                ));
                t
            }
            None => tier_from_price(output).to_string(),
        };
        models.push(Arc::new(Model {
            upstream_model: m.upstream_model.clone().unwrap_or_else(|| name.to_string()),
            provider: provider.clone(),
            id: m.id,
            aliases: m.aliases,
            description: m.description,
            pricing: Pricing {
                input,
                cached_input,
                cache_write,
                output,
                image,
            },
            context_window: m.context_window,
            max_output: m.max_output,
            capabilities: m.capabilities,
            quality: m.quality,
            price_tier,
            tags: m.tags,
            latency_prior_ms: m.latency_ms.unwrap_or(800),
            quirks: m.quirks,
            thinking_budget: m.thinking_budget,
        }));
    }
    Catalog::new(models)
}
/// Every model a policy names must be in the catalog (patterns ending in `*` must match one).
pub(crate) fn check_policy_models(
    routing: &routing::Routing,
    catalog: &Catalog,
    src: &Source,
    problems: &mut Vec<Problem>,
) {
    for (i, p) in routing.policies.iter().enumerate() {
        let named = p
            .chain
            .iter()
            .map(|m| ("chain", m))
            .chain(p.split.iter().map(|a| ("split", &a.model)))
            .chain(p.models.iter().map(|m| ("models", m)));
        for (field, m) in named {
            let known = match m.strip_suffix('*') {
                Some(prefix) => catalog.models.iter().any(|x| x.id.starts_with(prefix)),
                None => catalog.get(m).is_some(),
            };
            if !known {
                problems.push(src.problem(
                    format!("routing.policies[{i}].{field}"),
                    format!("{m:?} is not in the catalog"),
                ));
            }
        }
    }
}
