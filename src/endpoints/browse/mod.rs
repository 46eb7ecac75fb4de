//! Catalog browsing: `POST /v1/models/query` (filtered, paginated), `GET /v1/models/tags`,
//! `GET /v1/models/price-tiers`, `GET /v1/catalog/taxonomy`, `GET /v1/catalog/families[/{id}]`.
//! Every answer covers only the models the calling key may see.
//!
//! Families are derived from model ids (see [`family_of`]): the part after the provider, cut to its
//! name and its generation or product line, so `openai/gpt-4o` and `openai/gpt-4o-mini` are both
//! `gpt-4o`, `anthropic/claude-sonnet-4` and `anthropic/claude-sonnet-4-5` are `claude-sonnet`, and
//! `gemini/gemini-2.5-flash` and `gemini/gemini-2.5-pro` are `gemini-2.5`. A family may span
//! providers (the same open model served by two hosts).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Value};

use super::fields::{body_object, int_in, not_found, opt_str, round3, str_list, visible_models};
use super::models::model_json;
use super::Call;
use crate::config::routing::Mode;
use crate::config::{Model, PRICE_TIERS};
use crate::error::GatewayError;
use crate::router::classify::Task;
use crate::router::score::quality_for;

const QUERY_LIMIT_MAX: u64 = 500;
const QUERY_LIMIT_DEFAULT: u64 = 50;

/// How families are derived, as stated in the answers.
pub const FAMILY_RULE: &str = "the model name after the provider, lower-cased and split on '-': its first \
     segment, plus the next one when that is a version (starts with a digit, e.g. 4o, 2.5; consecutive \
     short numbers join with '.', so 3-5 is 3.5) or a product line (a word that is not a size or variant \
     word such as mini, nano, flash, pro, lite, turbo, chat, instruct, latest, preview); sizes (70b), \
     dates (20241022) and variant words never start a family";

/// Words that name a size, tier or variant inside a family rather than a family of their own.
const VARIANT_WORDS: &[&str] = &[
    "mini",
    "nano",
    "micro",
    "tiny",
    "small",
    "medium",
    "large",
    "xl",
    "max",
    "plus",
    "turbo",
    "flash",
    "lite",
    "pro",
    "ultra",
    "preview",
    "latest",
    "exp",
    "experimental",
    "chat",
    "instruct",
    "it",
    "reasoner",
    "coder",
    "vision",
    "fast",
    "versatile",
    "instant",
    "base",
    "online",
    "beta",
    "alpha",
    "free",
    "hd",
    "high",
    "low",
];

fn is_size(s: &str) -> bool {
    // 70b, 8x7b, 1.5b, 500m, 128k
    let Some(num) = s.strip_suffix(['b', 'm', 'k']) else {
        return false;
    };
    !num.is_empty() && num.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'x')
}

fn is_date(s: &str) -> bool {
    s.len() >= 4 && s.chars().all(|c| c.is_ascii_digit())
}

/// The family of a catalog id (see [`FAMILY_RULE`]).
pub fn family_of(id: &str) -> String {
    let name = id.rsplit('/').next().unwrap_or(id).to_lowercase();
    let segs: Vec<&str> = name.split('-').filter(|s| !s.is_empty()).collect();
    let Some((first, rest)) = segs.split_first() else {
        return name;
    };
    let mut family = (*first).to_string();
    match rest.first() {
        Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) && !is_size(next) && !is_date(next) => {
            family.push('-');
            family.push_str(next);
            // claude-3-5-haiku: "3" and "5" are one version, 3.5.
            if next.chars().all(|c| c.is_ascii_digit()) {
                for more in rest[1..]
                    .iter()
                    .take_while(|s| s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit()))
                {
                    family.push('.');
                    family.push_str(more);
                }
            }
        }
        Some(next)
            if next.chars().all(|c| c.is_ascii_alphabetic())
                && !VARIANT_WORDS.contains(next)
                && !first.chars().any(|c| c.is_ascii_digit()) =>
        {
            family.push('-');
            family.push_str(next);
        }
        _ => {}
    }
    family
}

/// `POST /v1/models/query {price_tier?, tags?, text?, capabilities?, provider?, task_type?, limit, offset}`.
/// Lists take an array or a comma-separated string; tags and capabilities must all be present, a
/// model matches any of the price tiers and providers given; every word of `text` must occur
/// (case-insensitively) in the model's id, aliases, description, tags, capabilities or provider.
pub fn query(call: &Call) -> Result<Value, GatewayError> {
    let o = body_object(call)?;
    let limit = int_in(&o, "limit", 1, QUERY_LIMIT_MAX, QUERY_LIMIT_DEFAULT)? as usize;
    let offset = int_in(&o, "offset", 0, 1_000_000_000, 0)? as usize;
    let tiers = str_list(&o, "price_tier")?;
    if let Some(t) = tiers.iter().find(|t| !PRICE_TIERS.contains(&t.as_str())) {
        return Err(GatewayError::invalid(
            "price_tier",
            format!("unknown price tier {t:?}; known: {}", PRICE_TIERS.join(", ")),
        ));
    }
    let tags = str_list(&o, "tags")?;
    let caps = str_list(&o, "capabilities")?;
    let providers = str_list(&o, "provider")?;
    let task = super::fields::opt_task(&o, "task_type")?;
    let words: Vec<String> = opt_str(&o, "text")?
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let matches: Vec<&Arc<Model>> = visible_models(call)
        .filter(|m| tiers.is_empty() || tiers.contains(&m.price_tier))
        .filter(|m| tags.iter().all(|t| m.tags.contains(t)))
        .filter(|m| caps.iter().all(|c| m.has(c)))
        .filter(|m| providers.is_empty() || providers.iter().any(|p| **p == *m.provider.name))
        .filter(|m| task.is_none_or(|t| m.quality.contains_key(t.as_str())))
        .filter(|m| {
            if words.is_empty() {
                return true;
            }
            let hay = format!(
                "{} {} {} {} {} {} {}",
                m.id,
                m.aliases.join(" "),
                m.description,
                m.tags.join(" "),
                m.capabilities.join(" "),
                m.provider.name,
                m.upstream_model
            )
            .to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .collect();
    let total = matches.len();
    let data: Vec<Value> = matches.iter().skip(offset).take(limit).map(|m| model_json(m)).collect();
    let end = offset.saturating_add(data.len());
    Ok(json!({
        "object": "list",
        "data": data,
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": end < total,
        "next_offset": if end < total { Some(end) } else { None },
    }))
}

/// `GET /v1/models/tags`: each tag with how many models carry it and which; most used first.
pub fn tags(call: &Call) -> Result<Value, GatewayError> {
    Ok(tags_json(call))
}

fn tags_json(call: &Call) -> Value {
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in visible_models(call) {
        for t in &m.tags {
            by.entry(t.as_str()).or_default().push(m.id.as_str());
        }
    }
    let mut rows: Vec<(&str, Vec<&str>)> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let data: Vec<Value> = rows
        .into_iter()
        .map(|(t, ms)| json!({"tag": t, "count": ms.len(), "models": ms}))
        .collect();
    json!({"object": "list", "data": data})
}

/// What each tier means, and the output-price band (USD per million tokens) a model without an
/// explicit `price_tier` is placed in by (the catalog loader's rule).
fn tier_info(t: &str) -> (&'static str, Value) {
    match t {
        "free" => ("no charge", json!({"equals": 0.0})),
        "budget" => (
            "cheap models for high volume and simple tasks",
            json!({"above": 0.0, "below": 1.0}),
        ),
        "standard" => ("mid-priced general models", json!({"from": 1.0, "below": 10.0})),
        "premium" => ("strong models at a premium", json!({"from": 10.0, "below": 40.0})),
        "frontier" => ("the most capable and most expensive models", json!({"from": 40.0})),
        _ => ("", Value::Null),
    }
}

fn range(values: impl Iterator<Item = f64>) -> Value {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        return Value::Null;
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({"min": min, "max": max})
}

/// `GET /v1/models/price-tiers`: every tier (cheapest first) with its models and their price ranges.
pub fn price_tiers(call: &Call) -> Result<Value, GatewayError> {
    Ok(price_tiers_json(call))
}

fn price_tiers_json(call: &Call) -> Value {
    let models: Vec<&Arc<Model>> = visible_models(call).collect();
    let mut names: Vec<&str> = PRICE_TIERS.to_vec();
    for m in &models {
        if !names.contains(&m.price_tier.as_str()) {
            names.push(m.price_tier.as_str());
        }
    }
    let data: Vec<Value> = names
        .into_iter()
        .map(|t| {
            let ms: Vec<&&Arc<Model>> = models.iter().filter(|m| m.price_tier == t).collect();
            let (description, band) = tier_info(t);
            json!({
                "tier": t,
                "description": description,
                "derived_output_price": band,
                "count": ms.len(),
                "models": ms.iter().map(|m| json!({
                    "id": m.id,
                    "input": m.pricing.input.per_million_as_f64(),
                    "output": m.pricing.output.per_million_as_f64(),
                })).collect::<Vec<_>>(),
                "input_price_range": range(ms.iter().map(|m| m.pricing.input.per_million_as_f64())),
                "output_price_range": range(ms.iter().map(|m| m.pricing.output.per_million_as_f64())),
            })
        })
        .collect();
    json!({"object": "list", "unit": "usd_per_million_tokens", "data": data})
}

fn task_description(t: Task) -> &'static str {
    match t {
        Task::Chat => "general conversation and assistance",
        Task::Code => "writing, reviewing, explaining and debugging code",
        Task::Math => "calculation, algebra, proofs and word problems",
        Task::Reasoning => "multi-step analysis, planning, logic and trade-offs",
        Task::KnowledgeQa => "factual questions about the world",
        Task::CreativeWriting => "stories, poems, marketing copy and other original prose",
        Task::Roleplay => "staying in a character or persona over a conversation",
        Task::Extraction => "pulling structured fields out of text",
        Task::Summarization => "condensing documents, threads or transcripts",
        Task::Translation => "turning text from one language into another",
        Task::Classification => "assigning labels, sentiment or categories",
        Task::ImageGeneration => "producing images from a description",
        Task::Speech => "producing spoken audio from text",
        Task::Video => "producing video",
        Task::Music => "producing music",
    }
}

fn capability_description(c: &str) -> &'static str {
    match c {
        "chat" => "text chat completions",
        "tools" => "function calling (tools, tool_choice)",
        "parallel_tool_calls" => "several tool calls in one turn",
        "vision" => "image inputs",
        "json_mode" => "response_format json_object",
        "json_schema" => "structured outputs (response_format json_schema)",
        "streaming" => "server-sent event streams",
        "reasoning" => "reasoning models (reasoning_effort, thinking budgets)",
        "image_generation" => "image outputs (/v1/images/generations)",
        "speech" | "audio_output" => "audio outputs",
        "music" => "music outputs",
        "video" => "video outputs",
        _ => "",
    }
}

/// `GET /v1/catalog/taxonomy`: the tasks the classifier knows (with their output modality, what they
/// cover and the best model the key may use for each), the capabilities in the catalog, the price
/// tiers and the routing modes.
pub fn taxonomy(call: &Call) -> Result<Value, GatewayError> {
    Ok(taxonomy_json(call))
}

fn taxonomy_json(call: &Call) -> Value {
    let models: Vec<&Arc<Model>> = visible_models(call).collect();
    let tasks: Vec<Value> = Task::ALL
        .iter()
        .map(|t| {
            let serving: Vec<&&Arc<Model>> = models.iter().filter(|m| super::suggest::offers(m, *t)).collect();
            let best = serving
                .iter()
                .map(|m| (quality_for(m, t.as_str()), m))
                .reduce(|a, b| if b.0 > a.0 { b } else { a });
            json!({
                "id": t.as_str(),
                "modality": t.modality(),
                "description": task_description(*t),
                "models": serving.len(),
                "scored_models": serving.iter().filter(|m| m.quality.contains_key(t.as_str())).count(),
                "best_model": best.map(|(q, m)| json!({"model": m.id, "quality": round3(q)})),
            })
        })
        .collect();
    let mut caps: BTreeSet<&str> = ["chat", "tools", "vision", "json_mode", "json_schema", "streaming"]
        .into_iter()
        .collect();
    for m in &models {
        caps.extend(m.capabilities.iter().map(String::as_str));
    }
    let capabilities: Vec<Value> = caps
        .into_iter()
        .map(|c| {
            json!({
                "id": c,
                "description": capability_description(c),
                "models": models.iter().filter(|m| m.has(c)).count(),
            })
        })
        .collect();
    let tiers: Vec<Value> = PRICE_TIERS
        .iter()
        .map(|t| {
            let (description, band) = tier_info(t);
            json!({"id": t, "description": description, "derived_output_price": band,
                   "models": models.iter().filter(|m| m.price_tier == *t).count()})
        })
        .collect();
    let modes: Vec<Value> = Mode::ALL
        .iter()
        .map(|m| {
            let w = call.snap.routing.weights(*m);
            json!({"id": m.as_str(), "weights": {"quality": w.quality, "cost": w.cost, "latency": w.latency, "context": w.context}})
        })
        .collect();
    json!({
        "object": "taxonomy",
        "tasks": tasks,
        "modalities": ["text", "image", "audio", "music", "video"],
        "capabilities": capabilities,
        "price_tiers": tiers,
        "modes": modes,
        "default_mode": call.snap.routing.default_mode.as_str(),
    })
}

/// The visible models grouped by family, families in name order.
fn grouped<'a>(call: &'a Call) -> BTreeMap<String, Vec<&'a Arc<Model>>> {
    let mut by: BTreeMap<String, Vec<&Arc<Model>>> = BTreeMap::new();
    for m in visible_models(call) {
        by.entry(family_of(&m.id)).or_default().push(m);
    }
    by
}

fn family_json(id: &str, ms: &[&Arc<Model>]) -> Value {
    let providers: BTreeSet<&str> = ms.iter().map(|m| &*m.provider.name).collect();
    let caps: BTreeSet<&str> = ms
        .iter()
        .flat_map(|m| m.capabilities.iter().map(String::as_str))
        .collect();
    let tiers: BTreeSet<&str> = ms.iter().map(|m| m.price_tier.as_str()).collect();
    let tasks: BTreeSet<&str> = ms.iter().flat_map(|m| m.quality.keys().map(String::as_str)).collect();
    let best: BTreeMap<&str, Value> = tasks
        .into_iter()
        .filter_map(|t| {
            ms.iter()
                .filter_map(|m| m.quality.get(t).map(|q| (*q, m)))
                .reduce(|a, b| if b.0 > a.0 { b } else { a })
                .map(|(q, m)| (t, json!({"model": m.id, "quality": q})))
        })
        .collect();
    json!({
        "id": id,
        "object": "model.family",
        "count": ms.len(),
        "models": ms.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        "providers": providers,
        "capabilities": caps,
        "price_tiers": tiers,
        "context_window_max": ms.iter().map(|m| m.context_window).max(),
        "input_price_range": range(ms.iter().map(|m| m.pricing.input.per_million_as_f64())),
        "output_price_range": range(ms.iter().map(|m| m.pricing.output.per_million_as_f64())),
        "best_by_task": best,
    })
}

/// `GET /v1/catalog/families`.
pub fn families(call: &Call) -> Result<Value, GatewayError> {
    Ok(families_json(call))
}

fn families_json(call: &Call) -> Value {
    let data: Vec<Value> = grouped(call).iter().map(|(id, ms)| family_json(id, ms)).collect();
    json!({"object": "list", "rule": FAMILY_RULE, "data": data})
}

/// `GET /v1/catalog/families/{id}`: the family's summary with each model in full.
/// `GET /v1/catalog/families/{id}`.
pub fn family(call: &Call) -> Result<Value, GatewayError> {
    let id = super::fields::percent_decode(call.path.trim_start_matches("/v1/catalog/families/"));
    family_of_id(call, &id)
}

fn family_of_id(call: &Call, id: &str) -> Result<Value, GatewayError> {
    let by = grouped(call);
    let wanted = id.to_lowercase();
    let Some(ms) = by.get(&wanted) else {
        return Err(not_found(
            "family_not_found",
            "family",
            format!("no model family {id:?} among the models this key may use; see GET /v1/catalog/families"),
        ));
    };
    let mut v = family_json(&wanted, ms);
    v["rule"] = json!(FAMILY_RULE);
    v["data"] = Value::Array(ms.iter().map(|m| model_json(m)).collect());
    Ok(v)
}

#[cfg(test)]
mod tests;
