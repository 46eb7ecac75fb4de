//! The prompt's classification as phases see it. The core's classifier runs at most once per request
//! and only when something needs it: automatic routing, or a phase that asks
//! [`Exchange::classification`](crate::Exchange::classification) (a rule with a task condition). Both
//! then share the one result.

use crate::ir::ChatRequest;

/// The task names a classification can carry (`Classification::task`): the same words in the catalog's
/// quality scores, the rules' `task` condition and the API's `task` fields.
pub const TASKS: &[&str] = &[
    "chat",
    "code",
    "math",
    "reasoning",
    "knowledge_qa",
    "creative_writing",
    "roleplay",
    "extraction",
    "summarization",
    "translation",
    "classification",
    "image_generation",
    "speech",
    "video",
    "music",
];

/// A routing mode word of API.md, with its aliases (`balance`, `output-optimized`, `price-optimized`,
/// `price`, `speed`), as its canonical word: `quality`, `cost`, `latency` or `balanced`.
pub fn mode_word(s: &str) -> Option<&'static str> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "quality" | "output-optimized" => "quality",
        "cost" | "price-optimized" | "price" => "cost",
        "latency" | "speed" => "latency",
        "balanced" | "balance" => "balanced",
        _ => return None,
    })
}

/// What the classifier made of the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// `chat`, `code`, `math`, `reasoning`, `knowledge_qa`, `creative_writing`, `roleplay`,
    /// `extraction`, `summarization`, `translation`, `classification`, `image_generation`, ...
    pub task: &'static str,
    /// Share of the task's softmax over rule scores, 0..1.
    pub confidence: f32,
    pub runner_up: &'static str,
    /// `SIMPLE`, `MEDIUM` or `COMPLEX`.
    pub complexity_tier: &'static str,
    pub complexity_score: f32,
    /// ISO 639-1 code where identifiable, else the script's name, `und` if none.
    pub language: &'static str,
    /// Estimated prompt tokens.
    pub tokens: u32,
    /// 0..1: how much this prompt needs a strong model.
    pub strong: f32,
    /// The rules that decided the task, largest contribution first.
    pub reasons: Vec<&'static str>,
}

/// The core's classifier, as the exchange calls it.
pub trait Classify: Send + Sync {
    fn classify(&self, req: &ChatRequest) -> Classification;
}
