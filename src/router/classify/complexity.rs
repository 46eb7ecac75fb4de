//! Complexity and the strong/weak signal, from cheap features: length, constraints and steps,
//! code/math structure, asked-for difficulty, conversation depth, requested output length.
//!
//! The complexity score is a fixed, explainable blend. The strong score ("this prompt needs the
//! strong model") is a logistic model over the same named features; its weights come from the
//! weights file (fitted on RouterBench-style correctness data by `load-tests/classifier/train.py`)
//! and default to a blend that mirrors the complexity score.

use super::hits::Hits;
use super::lexicon::*;
use super::text::Scan;
use super::{Task, Tier};

/// Names of the strong-model features, in `Features::values()` order (the weights file uses them).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "len",
    "constraints",
    "structure",
    "hard",
    "easy",
    "depth",
    "output",
    "numbers",
    "options",
    "math",
    "code",
    "reasoning",
    "knowledge",
    "creative",
    "confidence",
    "wordlen",
];

pub const N_FEATURES: usize = 16;

#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub len: f32,
    pub constraints: f32,
    pub structure: f32,
    pub hard: f32,
    pub easy: f32,
    pub depth: f32,
    pub output: f32,
    pub numbers: f32,
    pub options: f32,
    /// Mean word length (bytes a word, scaled): technical vocabulary reads as longer words.
    pub wordlen: f32,
    pub task: Option<Task>,
    /// The classifier's confidence in the task: ambiguous prompts tend to need the stronger model.
    pub confidence: f32,
}

fn sat(x: f32, k: f32) -> f32 {
    1.0 - (-x / k).exp()
}

impl Features {
    pub fn new(scan: &Scan, h: &Hits, tokens: u32, turns: u32, max_tokens: Option<u32>) -> Features {
        let st = &scan.stats;
        let len = ((1.0 + tokens as f32).ln() / (1.0 + 3000f32).ln()).clamp(0.0, 1.0);
        let extra_q = st.questions.saturating_sub(1) as f32;
        let constraints = sat(st.list_lines as f32 + extra_q + h.n(STEP), 6.0);
        let code = (st.code_line_ends + st.indented_lines + st.snake + st.camel + st.calls + st.fences) as f32;
        let math = (st.arith_ops + st.algebra + st.func_notation + st.math_symbols + st.latex + st.logic_symbols)
            as f32
            + if st.equals > 0 { 1.0 } else { 0.0 };
        let structure = sat(code + math, 8.0);
        let hard = sat(h.n(HARD), 2.0);
        let easy = sat(h.n(EASY), 1.0);
        let depth = sat(turns.saturating_sub(1) as f32, 4.0);
        let asked = max_tokens.map_or(0.0, |m| sat(m as f32, 2000.0));
        let output = sat(h.n(LENGTH), 2.0).max(asked);
        let numbers = sat(st.numbers as f32, 6.0);
        let options = if st.option_lines >= 2 { 1.0 } else { 0.0 };
        let wordlen = (st.bytes as f32 / st.words.max(1) as f32 / 10.0).min(1.0);
        Features {
            len,
            constraints,
            structure,
            hard,
            easy,
            depth,
            output,
            numbers,
            options,
            wordlen,
            task: None,
            confidence: 0.0,
        }
    }

    pub fn values(&self) -> [f32; N_FEATURES] {
        let is = |t: Task| if self.task == Some(t) { 1.0 } else { 0.0 };
        [
            self.len,
            self.constraints,
            self.structure,
            self.hard,
            self.easy,
            self.depth,
            self.output,
            self.numbers,
            self.options,
            is(Task::Math),
            is(Task::Code),
            is(Task::Reasoning),
            is(Task::KnowledgeQa),
            is(Task::CreativeWriting),
            self.confidence,
            self.wordlen,
        ]
    }
}

/// How demanding each task is on its own (the floor of its complexity).
fn task_prior(t: Task) -> f32 {
    match t {
        Task::Reasoning => 0.65,
        Task::Code | Task::Math => 0.6,
        Task::CreativeWriting => 0.45,
        Task::KnowledgeQa | Task::Extraction | Task::Summarization => 0.4,
        Task::Roleplay => 0.35,
        Task::Translation => 0.3,
        Task::Classification => 0.25,
        Task::ImageGeneration | Task::Speech | Task::Video | Task::Music => 0.2,
        Task::Chat => 0.1,
    }
}

/// Complexity score in 0..1 and its tier.
pub fn complexity(f: &Features, task: Task) -> (f32, Tier) {
    let s = 0.30 * f.len
        + 0.16 * f.constraints
        + 0.14 * f.structure
        + 0.12 * f.hard
        + 0.08 * f.depth
        + 0.06 * f.output
        + 0.16 * task_prior(task)
        - 0.08 * f.easy;
    let s = s.clamp(0.0, 1.0);
    let tier = if s < 0.3 {
        Tier::Simple
    } else if s < 0.5 {
        Tier::Medium
    } else {
        Tier::Complex
    };
    (s, tier)
}

/// Logistic strong/weak model over `Features::values()`.
#[derive(Debug, Clone, PartialEq)]
pub struct StrongModel {
    pub bias: f32,
    pub weights: [f32; N_FEATURES],
}

impl StrongModel {
    /// Without fitted weights: lean on length, structure and constraints, as the complexity score
    /// does.
    pub fn builtin() -> StrongModel {
        StrongModel {
            bias: -2.0,
            weights: [
                2.5, 1.0, 1.0, 0.8, -0.5, 0.5, 0.4, 0.5, 0.0, 0.5, 0.4, 0.5, 0.0, 0.0, 0.0, 0.0,
            ],
        }
    }

    pub fn score(&self, f: &Features) -> f32 {
        let z = self.bias + self.weights.iter().zip(f.values()).map(|(w, x)| w * x).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}
