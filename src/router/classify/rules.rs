//! The task rules: lexicon hits over the instruction-bearing parts of a prompt (`hits`) plus
//! structural counts, turned into one additive score per task. Each rule is named, so the winning
//! task comes with the reasons that decided it.

use super::hits::Hits;
use super::lexicon::*;
use super::text::{Scan, Stats};
use super::Task;

pub const N_TASKS: usize = 15;

/// Additive score per task and the largest named contributions to each.
#[derive(Debug, Clone)]
pub struct Scores {
    pub s: [f32; N_TASKS],
    reasons: [[(f32, &'static str); 3]; N_TASKS],
}

impl Default for Scores {
    fn default() -> Self {
        Scores {
            s: [0.0; N_TASKS],
            reasons: [[(0.0, ""); 3]; N_TASKS],
        }
    }
}

impl Scores {
    pub fn add(&mut self, t: Task, v: f32, why: &'static str) {
        if v == 0.0 {
            return;
        }
        let i = t as usize;
        self.s[i] += v;
        let r = &mut self.reasons[i];
        // Keep the three largest contributions, largest first.
        if v > r[2].0 {
            r[2] = (v, why);
            if r[2].0 > r[1].0 {
                r.swap(1, 2);
            }
            if r[1].0 > r[0].0 {
                r.swap(0, 1);
            }
        }
    }

    /// Adds `other` scaled by `k` (context from system prompts and earlier turns).
    pub fn blend(&mut self, other: &Scores, k: f32) {
        for t in Task::ALL {
            let i = t as usize;
            if other.s[i] > 0.0 {
                self.add(t, other.s[i] * k, other.reasons[i][0].1);
            }
        }
    }

    pub fn reasons(&self, t: Task) -> impl Iterator<Item = &'static str> + '_ {
        self.reasons[t as usize].iter().filter(|r| r.0 > 0.0).map(|r| r.1)
    }
}

fn cap(x: f32, c: f32) -> f32 {
    x.min(c)
}

/// The rule scores for one text.
pub fn score(scan: &Scan, h: &Hits) -> Scores {
    let st = &scan.stats;
    let mut sc = Scores::default();
    let words = st.words.max(1) as f32;
    let short = st.words <= 8;
    let options = st.option_lines >= 2;

    // --- code ---
    if st.fences >= 2 {
        sc.add(Task::Code, 3.0, "fenced code block");
    } else if st.fences == 1 {
        sc.add(Task::Code, 1.5, "code fence");
    }
    sc.add(
        Task::Code,
        2.5 * cap(h.n(CODE_STRONG), 2.0),
        "error trace or code identifiers",
    );
    let syntax = (st.code_line_ends
        + st.indented_lines
        + 2 * h.code_line_starts
        + st.snake
        + st.camel
        + st.calls
        + st.dotted
        + st.double_eq
        + st.arrows) as f32;
    let syntax = if st.fences == 0 && st.nonblank_lines <= 1 {
        syntax * 0.5
    } else {
        syntax
    };
    sc.add(Task::Code, 0.35 * cap(syntax, 12.0), "code syntax");
    if h.code_line_starts >= 1 && st.indented_lines >= 1 && st.fences == 0 {
        sc.add(Task::Code, 1.0, "unfenced code block");
    }
    sc.add(
        Task::Code,
        1.4 * cap(h.n(CODE_LANG), 2.0),
        "programming language or tool named",
    );
    sc.add(Task::Code, 0.6 * cap(h.n(CODE_NOUN), 4.0), "programming terms");
    if h.has(CODE_VERB) {
        let v = if h.at_start(CODE_VERB) { 3.5 } else { 0.8 };
        sc.add(Task::Code, v, "programming request");
    }

    // "Write a Rust function that ...": a writing request whose object is a programming artefact
    // (and no literary form) is a programming request, whatever language it names.
    let writes = h.at_start(WRITE) || h.first & WRITE != 0;
    if writes && h.has(CODE_NOUN) && !h.has(CREATIVE_FORM) {
        sc.add(Task::Code, 2.0, "write + programming artefact");
    }

    // "Write a script for a YouTube video": programming words alone, next to a prose form.
    let code_words_only = !h.has(CODE_LANG | CODE_STRONG) && syntax < 1.0 && st.fences == 0;
    if code_words_only && h.has(CREATIVE_FORM) && h.has(CODE_VERB | CODE_NOUN) {
        sc.add(Task::Code, -1.5, "");
    }

    // --- math ---
    let mathy_numbers = st.numbers >= 1 || st.algebra > 0;
    sc.add(Task::Math, 0.5 * cap(st.arith_ops as f32, 6.0), "arithmetic expression");
    if st.equals > 0 && st.double_eq == 0 && mathy_numbers && syntax < 4.0 {
        sc.add(Task::Math, 1.0, "equation");
    }
    sc.add(Task::Math, 0.6 * cap(st.algebra as f32, 4.0), "algebraic term");
    sc.add(Task::Math, 0.6 * cap(st.func_notation as f32, 3.0), "function notation");
    sc.add(Task::Math, 0.6 * cap(st.math_symbols as f32, 5.0), "math symbols");
    sc.add(Task::Math, 0.8 * cap(st.latex as f32, 4.0), "LaTeX");
    sc.add(Task::Math, 0.8 * cap(h.n(MATH_NOUN), 4.0), "math vocabulary");
    let solve = 1.2 * cap(h.n(MATH_VERB), 2.0) + if h.at_start(MATH_VERB) { 0.5 } else { 0.0 };
    sc.add(Task::Math, solve, "solve/calculate request");
    // Quantities: digits that are not years or answer options, plus number words ("twice").
    let stem_numbers = st.numbers.saturating_sub(st.years + st.option_numbers) as f32;
    let qty = stem_numbers + h.n(NUMWORD);
    if h.has(MATH_Q) {
        if qty >= 2.0 {
            sc.add(Task::Math, 1.5, "quantity question over given numbers");
        } else {
            sc.add(Task::Math, 0.4, "quantity question");
        }
    }
    if qty >= 2.0 && h.has(UNIT) && (st.questions > 0 || h.has(MATH_Q)) {
        sc.add(Task::Math, 1.0, "word problem with quantities");
    }
    if stem_numbers >= 2.0 && st.questions > 0 {
        sc.add(Task::Math, 0.6, "question over numbers");
    }
    let math_stem = stem_numbers >= 1.0 || h.has(MATH_NOUN | MATH_VERB) || st.arith_ops > 0;
    if st.numeric_options >= 3 && math_stem {
        sc.add(Task::Math, 0.8, "numeric answer options");
    }
    let plain_numbers = stem_numbers;
    if plain_numbers / words > 0.15 && plain_numbers >= 3.0 {
        sc.add(Task::Math, 1.0, "dense numbers");
    } else if plain_numbers / words > 0.08 && plain_numbers >= 2.0 {
        sc.add(Task::Math, 0.5, "dense numbers");
    }
    if st.numbers >= 1 {
        sc.add(
            Task::Math,
            0.3 * cap((st.dollars + st.percents) as f32, 3.0),
            "money or percentages",
        );
    }

    // --- reasoning ---
    sc.add(Task::Reasoning, 1.0 * cap(h.n(REASON), 4.0), "logic vocabulary");
    sc.add(
        Task::Reasoning,
        1.8 * cap(h.n(REASON_STRONG), 2.0),
        "asks for step-by-step reasoning",
    );
    sc.add(Task::Reasoning, 1.8 * cap(h.n(LOGIC), 2.0), "formal logic");
    sc.add(Task::Reasoning, 2.0 * cap(h.n(FALLACY), 2.0), "fallacies");
    sc.add(
        Task::Reasoning,
        0.8 * cap(st.logic_symbols as f32, 5.0),
        "logic symbols",
    );
    sc.add(
        Task::Reasoning,
        1.4 * cap(h.n(JUDGE), 2.0),
        "judgement or inference question",
    );

    // --- knowledge ---
    sc.add(Task::KnowledgeQa, 0.5, "default for requests");
    if st.questions > 0 || h.tok0 & WH != 0 {
        sc.add(Task::KnowledgeQa, 0.5, "question");
    }
    sc.add(
        Task::KnowledgeQa,
        1.0 * cap(h.n(EXPLAIN), 2.0),
        "asks for an explanation",
    );
    sc.add(Task::KnowledgeQa, 0.3 * cap(h.n(WHAT_IS), 2.0), "asks what/who/how");
    sc.add(
        Task::KnowledgeQa,
        0.4 * cap(h.n(DISCUSS), 3.0),
        "discussion of effects/factors",
    );
    sc.add(
        Task::KnowledgeQa,
        0.4 * cap(h.n(DOMAIN), 3.0),
        "subject-matter vocabulary",
    );
    if options || h.has(MCQ) {
        sc.add(Task::KnowledgeQa, 0.5, "multiple choice");
    }

    // --- creative writing ---
    let write_start = h.at_start(WRITE) || h.first & WRITE != 0;
    let make_start = write_start || h.at_start(GEN) || h.first & GEN != 0;
    if make_start && h.has(CREATIVE_FORM) {
        sc.add(Task::CreativeWriting, 3.0, "write + literary/prose form");
    } else {
        sc.add(
            Task::CreativeWriting,
            0.8 * cap(h.n(CREATIVE_FORM), 2.0),
            "literary/prose form named",
        );
        if write_start {
            sc.add(Task::CreativeWriting, 0.8, "writing request");
        }
    }
    if h.first & COUNTERFACTUAL != 0 {
        sc.add(Task::CreativeWriting, 2.5, "counterfactual what-if");
    }

    // --- roleplay ---
    let role_w = if h.at_start(ROLE) { 3.0 } else { 1.5 };
    sc.add(
        Task::Roleplay,
        role_w * cap(h.n(ROLE), 2.0).min(1.5),
        "act as / pretend / in character",
    );
    let generic = h.n(GENERIC_ROLE);
    if h.at_start(YOU_ARE) && h.n(YOU_ARE) > generic {
        sc.add(Task::Roleplay, 2.0, "addresses the model as a persona");
    }
    if h.tok0 & AS_A != 0 {
        let v = if h.has(PRON2 | ROLE_NOUN) { 2.5 } else { 1.5 };
        sc.add(Task::Roleplay, v, "as a <role>, …");
    }
    if h.has(ROLE_NOUN) && h.has(PRON2) {
        sc.add(Task::Roleplay, 0.5, "character noun addressed to the model");
    }

    // --- extraction ---
    let ctx = h.has(CONTEXT_REF) || st.words > 80;
    if h.has(EXTRACT) {
        let v = if h.at_start(EXTRACT) { 3.0 } else { 1.5 };
        sc.add(Task::Extraction, v, "extract/list-all request");
    }
    if h.has(EXTRACT_OBJ) && (ctx || h.has(FORMAT)) {
        sc.add(Task::Extraction, 0.7, "entities or fields from given text");
    }
    if h.has(FORMAT) {
        let v = if ctx { 1.0 } else { 0.4 };
        sc.add(Task::Extraction, v, "structured output format");
    }
    if h.has(CONTEXT_REF) && !options && st.words > 60 && (h.tok0 & WH != 0 || h.at_start(EXPLAIN)) {
        sc.add(Task::Extraction, 0.6, "question over provided text");
    }

    // --- summarization ---
    if h.has(SUMMARY) {
        let v = if h.at_start(SUMMARY) { 3.5 } else { 2.0 };
        sc.add(Task::Summarization, v, "summarize/TL;DR");
        if h.has(TEXT_OBJ) || st.words > 150 {
            sc.add(Task::Summarization, 0.5, "text to condense");
        }
    }

    // --- translation ---
    if h.has(TRANSLATE) && !h.has(LOGIC) && st.logic_symbols < 2 {
        let v = if h.at_start(TRANSLATE) { 3.5 } else { 2.5 };
        sc.add(Task::Translation, v, "translate request");
        if h.has(LANG_NAME) {
            sc.add(Task::Translation, 1.5, "target language named");
        }
    } else if h.n(LANG_NAME) >= 2.0 && st.colons > 0 && st.words <= 120 {
        sc.add(Task::Translation, 2.5, "language pair (\"English to French:\")");
    } else if h.has(LANG_NAME) {
        sc.add(Task::Translation, 0.3, "language named");
    }

    // --- classification ---
    if h.has(CLASSIFY) {
        let v = if h.at_start(CLASSIFY) { 3.0 } else { 2.0 };
        sc.add(Task::Classification, v, "classify/categorize/sentiment");
    }
    sc.add(Task::Classification, 0.5 * cap(h.n(LABELS), 3.0), "label set");

    // --- image generation ---
    let img_verb = h.has(IMAGE_VERB);
    let img_noun = h.has(IMAGE_NOUN);
    if img_verb {
        let v = if h.at_start(IMAGE_VERB) { 3.0 } else { 1.0 };
        sc.add(Task::ImageGeneration, v, "draw/paint request");
    }
    if img_noun && (h.at_start(GEN) || h.first & GEN != 0) {
        sc.add(Task::ImageGeneration, 3.0, "generate + image");
    } else if img_noun {
        sc.add(Task::ImageGeneration, 0.7, "image noun");
    }
    sc.add(
        Task::ImageGeneration,
        0.9 * cap(h.n(IMAGE_STYLE), 4.0),
        "image style terms",
    );
    let clean = st.questions == 0
        && !options
        && st.numbers <= 2
        && st.words <= 80
        && syntax < 2.0
        && st.arith_ops == 0
        && !h.has(PRON1 | PRON2 | GREETING | SMALLTALK | EXPLAIN | WRITE | MATH_VERB | MATH_Q | CODE_VERB)
        && h.tok0 & (WH | GEN | IMAGE_VERB) == 0;
    if clean {
        let det = h.tok0 & DETERMINER != 0;
        let visual = h.n(VISUAL);
        // Without a leading article, a colon or few visual words mean an instruction, not a scene.
        if det || (visual >= 2.0 && st.colons == 0) {
            sc.add(
                Task::ImageGeneration,
                if det { 1.8 } else { 1.0 },
                "bare visual description",
            );
        } else if st.words <= 10 {
            sc.add(Task::ImageGeneration, 0.6, "short noun phrase");
        }
        sc.add(Task::ImageGeneration, 0.4 * cap(visual, 4.0), "visual vocabulary");
    }

    // --- chat ---
    sc.add(Task::Chat, 0.3, "default for conversation");
    if h.tok0 & GREETING != 0 {
        sc.add(Task::Chat, if st.words <= 12 { 2.5 } else { 1.0 }, "greeting");
    }
    let small = cap(h.n(SMALLTALK), 2.0);
    sc.add(
        Task::Chat,
        if st.words <= 25 { 2.0 * small } else { 0.6 * small },
        "small talk",
    );
    let asks = st.questions > 0 || h.tok0 & WH != 0;
    let instruction =
        GEN | WRITE | EXPLAIN | IMAGE_VERB | MATH_VERB | CODE_VERB | SUMMARY | TRANSLATE | CLASSIFY | EXTRACT;
    if short && !clean && !asks && h.tok0 & instruction == 0 {
        sc.add(Task::Chat, 0.8, "short utterance");
    }
    if h.tok0 & ACK != 0 && st.words <= 6 {
        sc.add(Task::Chat, 2.0, "acknowledgement");
    }
    sc.add(Task::Chat, 0.5 * cap(st.emoji as f32, 2.0), "emoji");
    if h.has(EMOTION) && h.has(PRON1) && st.words <= 40 {
        sc.add(Task::Chat, 1.5, "personal feelings");
    }

    // --- other modalities ---
    let make = h.at_start(GEN) || h.first & (GEN | WRITE | IMAGE_VERB) != 0 || h.at_start(WRITE);
    if h.has(SPEECH) {
        sc.add(Task::Speech, 2.5 + if make { 1.0 } else { 0.0 }, "speech/audio request");
    }
    let not_media = h.has(NOT_MEDIA | CREATIVE_FORM);
    let music = h.has(MUSIC) || h.n(MUSIC_CUE) >= 2.0;
    if h.has(VIDEO) {
        // "a voiceover for my video", "a track for a workout video": the video is the occasion.
        if make && !not_media && !h.has(SPEECH) && !music {
            sc.add(Task::Video, 4.0, "generate a video");
        } else {
            sc.add(Task::Video, 0.6, "video named");
        }
    }
    if music {
        if make && !h.has(LYRICS | NOT_MEDIA) {
            sc.add(Task::Music, 3.0, "compose/generate music");
        } else {
            sc.add(Task::Music, 0.5, "music named");
        }
        sc.add(Task::Music, 0.5 * cap(h.n(MUSIC_CUE), 3.0), "tempo/genre/instrument");
    }
    request_around_long_text(st, h, &mut sc);
    sc
}

/// Past this many words a prompt is mostly pasted material: a document, a log, a file.
const LONG_TEXT_WORDS: u32 = 250;

/// "Summarize the following: <10 KB of a licence>": the material's own vocabulary and structure
/// (code syntax, programming terms) are not the request. A summarize, translate, extract or
/// classify request in the opening sentence or the closing lines is, so it is put ahead of every
/// other task. Not when that same place also asks for programming ("extract the parser and fix
/// it"): the scores decide those.
fn request_around_long_text(st: &Stats, h: &Hits, sc: &mut Scores) {
    const REQUESTS: [(u64, Task); 4] = [
        (SUMMARY, Task::Summarization),
        (TRANSLATE, Task::Translation),
        (EXTRACT, Task::Extraction),
        (CLASSIFY, Task::Classification),
    ];
    if st.words <= LONG_TEXT_WORDS || h.directive & CODE_VERB != 0 {
        return;
    }
    let asked = REQUESTS
        .iter()
        .filter(|(cat, _)| h.directive & cat != 0)
        .map(|&(_, t)| t)
        .max_by(|&a, &b| sc.s[a as usize].total_cmp(&sc.s[b as usize]));
    if let Some(t) = asked {
        let best_other = (0..N_TASKS)
            .filter(|&i| i != t as usize)
            .map(|i| sc.s[i])
            .fold(f32::MIN, f32::max);
        sc.add(
            t,
            (best_other - sc.s[t as usize] + 1.0).max(0.0),
            "request around a long text",
        );
    }
}
