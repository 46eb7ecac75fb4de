//! `POST /v1/models/recommend {task?, prompt?, limit?}`: models ranked by how well their catalog text
//! matches the query, with their quality for the task as a tie-breaker.
//!
//! Relevance is Okapi BM25 (k1 = 1.2, b = 0.75) over one document per model the caller may see:
//! its description, tags (twice: curated labels weigh more), capabilities, the tasks it scores at
//! least 0.75 on, its id, aliases, provider and price tier. Words are lower-cased, split on anything
//! not alphanumeric, stripped of common English stop words and of a few suffixes (a light stemmer, so
//! "summarize", "summary" and "summarization" meet). The query is the prompt's words, plus, when the
//! caller names a task, the task's name and a handful of words that describe it (`task_words`). The
//! score is
//! `0.8 × BM25 / best BM25 + 0.2 × quality for the task` (the task: the caller's, else the prompt's
//! classification); with no word in common with any model, models rank by quality alone.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use super::fields::{body_object, int_in, opt_str, opt_task, round3, visible_models};
use super::Call;
use crate::error::GatewayError;
use crate::router::classify::Task;
use crate::router::score::quality_for;

const K1: f64 = 1.2;
const B: f64 = 0.75;
const RELEVANCE_WEIGHT: f64 = 0.8;
/// Tasks a model scores at least this on are part of its text.
const STRONG_TASK: f64 = 0.75;
const LIMIT_MAX: u64 = 50;
const LIMIT_DEFAULT: u64 = 5;

const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does", "for",
    "from", "get", "give", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me",
    "my", "of", "on", "or", "our", "please", "she", "should", "so", "some", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your",
];

/// Suffixes the stemmer strips, longest first; a stem keeps at least three characters.
const SUFFIXES: &[&str] = &[
    "izations", "isations", "ization", "isation", "ations", "ation", "ating", "izing", "ising", "ities", "ates",
    "ated", "ized", "ised", "izes", "ises", "ings", "ness", "ate", "ity", "ize", "ise", "ing", "ies", "ers", "ed",
    "es", "er", "ly", "s", "y", "e",
];

fn stem(w: &str) -> String {
    for suf in SUFFIXES {
        if let Some(stem) = w.strip_suffix(suf) {
            // "ss" (class), "is" (analysis) and "us" (corpus) are not plurals.
            if *suf == "s" && (stem.ends_with('s') || stem.ends_with('i') || stem.ends_with('u')) {
                continue;
            }
            if stem.chars().count() >= 3 {
                return stem.to_string();
            }
        }
    }
    w.to_string()
}

/// The terms of a text: lower-cased alphanumeric words, stop words dropped, stemmed.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Words that describe a task, for the query side.
fn task_words(t: Task) -> &'static str {
    match t {
        Task::Chat => "chat conversation assistant general",
        Task::Code => "code coding programming software developer",
        Task::Math => "math mathematics calculation",
        Task::Reasoning => "reasoning analysis logic complex problems",
        Task::KnowledgeQa => "knowledge question answering facts",
        Task::CreativeWriting => "creative writing stories fiction",
        Task::Roleplay => "roleplay character persona",
        Task::Extraction => "extraction structured json",
        Task::Summarization => "summarization summary documents long",
        Task::Translation => "translation multilingual languages",
        Task::Classification => "classification labels",
        Task::ImageGeneration => "image generation pictures",
        Task::Speech => "speech audio voice",
        Task::Video => "video generation",
        Task::Music => "music audio generation",
    }
}

/// A model's document: each field's terms, repeated by the field's weight.
fn document(m: &crate::config::Model) -> Vec<String> {
    let mut d = terms(&m.description);
    for t in &m.tags {
        let t = terms(t);
        d.extend(t.iter().cloned());
        d.extend(t);
    }
    for c in &m.capabilities {
        d.extend(terms(c));
    }
    for (task, q) in &m.quality {
        if *q >= STRONG_TASK {
            d.extend(terms(task));
        }
    }
    d.extend(terms(&m.id));
    for a in &m.aliases {
        d.extend(terms(a));
    }
    d.extend(terms(&m.provider.name));
    d.extend(terms(&m.price_tier));
    d
}

/// BM25 of `query` against each document (one score per document, in order), and the query terms
/// each matched.
pub fn bm25(docs: &[Vec<String>], query: &[String]) -> Vec<(f64, Vec<String>)> {
    let n = docs.len() as f64;
    let avg = docs.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1.0);
    let q: BTreeSet<&String> = query.iter().collect();
    let counts: Vec<HashMap<&str, usize>> = docs
        .iter()
        .map(|d| {
            let mut c = HashMap::new();
            for t in d {
                *c.entry(t.as_str()).or_insert(0) += 1;
            }
            c
        })
        .collect();
    let idf: HashMap<&str, f64> = q
        .iter()
        .map(|t| {
            let df = counts.iter().filter(|c| c.contains_key(t.as_str())).count() as f64;
            (t.as_str(), (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    docs.iter()
        .zip(&counts)
        .map(|(d, c)| {
            let len_norm = 1.0 - B + B * d.len() as f64 / avg.max(1.0);
            let mut matched = Vec::new();
            let score = q
                .iter()
                .filter_map(|t| {
                    let tf = *c.get(t.as_str())? as f64;
                    matched.push((*t).clone());
                    Some(idf.get(t.as_str()).copied().unwrap_or(0.0) * tf * (K1 + 1.0) / (tf + K1 * len_norm))
                })
                .sum::<f64>()
                + 0.0; // an empty sum is -0.0
            (score, matched)
        })
        .collect()
}

pub fn recommend(call: &Call) -> Result<Value, GatewayError> {
    let o = body_object(call)?;
    let limit = int_in(&o, "limit", 1, LIMIT_MAX, LIMIT_DEFAULT)? as usize;
    let task = opt_task(&o, "task")?;
    let prompt = match opt_str(&o, "prompt")? {
        Some(p) => Some(p),
        None => opt_str(&o, "query")?,
    }
    .filter(|p| !p.trim().is_empty());
    let class = prompt.map(|p| crate::router::classify::sdk::classify_prompt(&*call.snap.classifier, p));
    let used = match (task, &class) {
        (Some(t), _) => t,
        (None, Some(c)) => c.task,
        (None, None) => {
            return Err(GatewayError::InvalidRequest {
                code: "missing_field",
                message: "send a task or a prompt to recommend models for".into(),
                param: Some("prompt".into()),
            })
        }
    };
    // The caller's task adds its words to the query; a task only inferred from the prompt weighs
    // through quality alone (the classifier's guess should not put words in the caller's mouth).
    let mut query = terms(prompt.unwrap_or(""));
    if task.is_some() {
        query.extend(terms(used.as_str()));
        query.extend(terms(task_words(used)));
    }

    let models: Vec<_> = visible_models(call).collect();
    let docs: Vec<Vec<String>> = models.iter().map(|m| document(m)).collect();
    let scores = bm25(&docs, &query);
    let best = scores.iter().map(|(s, _)| *s).fold(0.0f64, f64::max);
    // (score, relevance, raw BM25, matched terms, model)
    type Row<'a> = (f64, f64, f64, &'a Vec<String>, &'a std::sync::Arc<crate::config::Model>);
    let mut ranked: Vec<Row> = models
        .iter()
        .zip(&scores)
        .map(|(m, (s, matched))| {
            let relevance = if best > 0.0 { s / best } else { 0.0 };
            let quality = quality_for(m, used.as_str());
            let score = RELEVANCE_WEIGHT * relevance + (1.0 - RELEVANCE_WEIGHT) * quality;
            (score, relevance, *s, matched, *m)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.4.id.cmp(&b.4.id)));
    let data: Vec<Value> = ranked
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, (score, relevance, raw, matched, m))| {
            json!({
                "rank": i + 1,
                "model": m.id,
                "provider": &*m.provider.name,
                "score": round3(*score),
                "relevance": round3(*relevance),
                "bm25": round3(*raw),
                "quality": round3(quality_for(m, used.as_str())),
                "matched_terms": matched,
                "description": m.description,
                "tags": m.tags,
                "capabilities": m.capabilities,
                "price_tier": m.price_tier,
            })
        })
        .collect();
    Ok(json!({
        "object": "list",
        "task": used.as_str(),
        "task_source": if task.is_some() { "request" } else { "classifier" },
        "classification": class.map(|c| c.to_json()),
        "query_terms": query.iter().collect::<BTreeSet<_>>(),
        "scoring": "0.8 x BM25 relevance (normalized to the best match) + 0.2 x quality for the task",
        "data": data,
    }))
}

#[cfg(test)]
mod tests;
