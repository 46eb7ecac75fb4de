//! Prompt classification for automatic routing: what kind of request this is (task), how demanding
//! (complexity tier and score), its language, a token estimate, and a strong/weak score.
//!
//! Deterministic and explainable: task rules are hand-written from what each task means (see
//! `rules`), every decision carries the names of the rules that made it, and the only learned part
//! is the small strong/weak logistic model, whose weights are a JSON file loaded once (see
//! `Classifier::load`). It reads at most 4 KiB of any text (see `WINDOW`) and allocates little
//! beyond one token vector, so a classification takes tens of microseconds whatever the prompt's
//! length.

mod ascii_run;
mod complexity;
mod hits;
mod lang;
mod lexicon;
mod rules;
mod script;
pub mod sdk;
mod text;
mod token_hash;

#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, Part, Role};

pub use complexity::{Features, StrongModel, FEATURE_NAMES, N_FEATURES};

/// What the request asks for. `Speech`, `Video` and `Music` are other output modalities, classified
/// now so that a provider for them can be routed to without code changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    Chat,
    Code,
    Math,
    Reasoning,
    KnowledgeQa,
    CreativeWriting,
    Roleplay,
    Extraction,
    Summarization,
    Translation,
    Classification,
    ImageGeneration,
    Speech,
    Video,
    Music,
}

impl Task {
    pub const ALL: [Task; rules::N_TASKS] = [
        Task::Chat,
        Task::Code,
        Task::Math,
        Task::Reasoning,
        Task::KnowledgeQa,
        Task::CreativeWriting,
        Task::Roleplay,
        Task::Extraction,
        Task::Summarization,
        Task::Translation,
        Task::Classification,
        Task::ImageGeneration,
        Task::Speech,
        Task::Video,
        Task::Music,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::Chat => "chat",
            Task::Code => "code",
            Task::Math => "math",
            Task::Reasoning => "reasoning",
            Task::KnowledgeQa => "knowledge_qa",
            Task::CreativeWriting => "creative_writing",
            Task::Roleplay => "roleplay",
            Task::Extraction => "extraction",
            Task::Summarization => "summarization",
            Task::Translation => "translation",
            Task::Classification => "classification",
            Task::ImageGeneration => "image_generation",
            Task::Speech => "speech",
            Task::Video => "video",
            Task::Music => "music",
        }
    }

    pub fn parse(s: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The output modality a model must offer for this task.
    pub fn modality(self) -> &'static str {
        match self {
            Task::ImageGeneration => "image",
            Task::Speech => "audio",
            Task::Music => "music",
            Task::Video => "video",
            _ => "text",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Simple,
    Medium,
    Complex,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Simple => "SIMPLE",
            Tier::Medium => "MEDIUM",
            Tier::Complex => "COMPLEX",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub task: Task,
    /// Share of the task's softmax over rule scores, 0..1.
    pub confidence: f32,
    /// The second most likely task, for callers that want a fallback or a tie-breaker.
    pub runner_up: Task,
    pub complexity_tier: Tier,
    pub complexity_score: f32,
    /// ISO 639-1 code where identifiable, else the script name ("latin", "cyrillic"), "und" if none.
    pub language: &'static str,
    pub tokens: u32,
    /// 0..1: how much this prompt needs the strong model.
    pub strong: f32,
    /// The rules that decided the task, largest contribution first.
    pub reasons: Vec<&'static str>,
}

impl Classification {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// As the `router` object and the route endpoints show it. Serialized straight from the struct: an
/// `auto` answer writes it once, and building a `Value` map first cost more than writing it.
impl serde::Serialize for Classification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Classification", 9)?;
        m.serialize_field("task", self.task.as_str())?;
        m.serialize_field("confidence", &round3(self.confidence))?;
        m.serialize_field("runner_up", self.runner_up.as_str())?;
        m.serialize_field("complexity_tier", self.complexity_tier.as_str())?;
        m.serialize_field("complexity_score", &round3(self.complexity_score))?;
        m.serialize_field("language", self.language)?;
        m.serialize_field("tokens", &self.tokens)?;
        m.serialize_field("strong", &round3(self.strong))?;
        m.serialize_field("reasons", &self.reasons)?;
        m.end()
    }
}

fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

/// What the conversation around the prompt tells (all optional for a bare prompt).
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// System/developer instructions: hints such as a persona or "you are a translator".
    pub system: Option<&'a str>,
    /// Earlier user turns, most recent last (follow-ups like "make it shorter" inherit their task).
    pub earlier: Vec<&'a str>,
    /// Number of user turns including the current one (conversation depth).
    pub turns: u32,
    pub has_images: bool,
    pub has_audio: bool,
    pub max_tokens: Option<u32>,
}

/// The classifier reads at most `WINDOW` bytes of a text. Past that it reads the first `HEAD_BYTES`
/// and the last `TAIL_BYTES`, cut at whitespace: instructions sit at the start or the end of a
/// prompt, the keyword windows (`hits::HEAD` and `hits::TAIL` tokens) fall inside these bytes, and
/// the structural counts (code, math, lists) are read from them as a sample of the whole. So the
/// cost of a classification is bounded, about that of a 1,000-token prompt, however long the
/// prompt; the token estimate still covers the whole text.
const WINDOW: usize = 4 * 1024;
const HEAD_BYTES: usize = 3 * 1024;
const TAIL_BYTES: usize = 1024;
/// How far a cut may move to fall on whitespace rather than inside a word.
const CUT_SLACK: usize = 128;

/// The classifier: rules are built in; the strong/weak weights may come from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    strong: StrongModel,
    /// Added to each task's rule score (a calibration knob in the weights file; zero by default).
    task_bias: [f32; rules::N_TASKS],
}

/// Weights shipped with the gateway, used when no file is given.
const BUILTIN_WEIGHTS: &str = include_str!("../../../conf/classifier.json");

impl Classifier {
    /// The built-in weights (the shipped `conf/classifier.json`); rules only, with the default
    /// strong model, if they could not be read.
    pub fn builtin() -> Classifier {
        Classifier::from_json(BUILTIN_WEIGHTS).unwrap_or_else(|_| Classifier::rules_only())
    }

    /// Rules with the unfitted strong model.
    pub fn rules_only() -> Classifier {
        Classifier {
            strong: StrongModel::builtin(),
            task_bias: [0.0; rules::N_TASKS],
        }
    }

    /// Loads a weights file (JSON: `{"strong": {"bias": b, "weights": {"len": w, …}}, "task_bias":
    /// {"chat": x, …}}`); every part is optional. Call once at startup or config reload.
    pub fn load(path: &std::path::Path) -> Result<Classifier, String> {
        let s = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Classifier::from_json(&s).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_json(s: &str) -> Result<Classifier, String> {
        let v: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
        let mut c = Classifier::rules_only();
        if let Some(m) = v.get("strong") {
            c.strong.bias = num(m, "bias")?.unwrap_or(c.strong.bias);
            if let Some(w) = m.get("weights").and_then(Value::as_object) {
                c.strong.weights = [0.0; N_FEATURES];
                for (k, x) in w {
                    let i = FEATURE_NAMES
                        .iter()
                        .position(|n| n == k)
                        .ok_or_else(|| format!("strong.weights: unknown feature {k:?}"))?;
                    c.strong.weights[i] = x.as_f64().ok_or_else(|| format!("strong.weights.{k}: not a number"))? as f32;
                }
            }
        }
        if let Some(b) = v.get("task_bias").and_then(Value::as_object) {
            for (k, x) in b {
                let t = Task::parse(k).ok_or_else(|| format!("task_bias: unknown task {k:?}"))?;
                c.task_bias[t as usize] = x.as_f64().ok_or_else(|| format!("task_bias.{k}: not a number"))? as f32;
            }
        }
        Ok(c)
    }

    /// Classifies a prompt (the last user turn) with its conversation context.
    pub fn classify(&self, prompt: &str, ctx: &Context) -> Classification {
        self.run(prompt, ctx).0
    }

    /// As `classify`, plus the strong-model feature values (for fitting the weights offline).
    pub fn classify_with_features(&self, prompt: &str, ctx: &Context) -> (Classification, [f32; N_FEATURES]) {
        let (c, f) = self.run(prompt, ctx);
        (c, f.values())
    }

    fn run(&self, prompt: &str, ctx: &Context) -> (Classification, Features) {
        let bounded = bounded(prompt);
        let text: &str = bounded.as_deref().unwrap_or(prompt);
        let scan = text::scan(text, hits::HEAD, hits::TAIL);
        let hits = hits::hits(text, &scan);
        let mut sc = rules::score(&scan, &hits);
        if let Some(sys) = ctx.system.filter(|s| !s.trim().is_empty()) {
            sc.blend(&side_scores(sys), 0.5);
        }
        for (i, e) in ctx.earlier.iter().rev().take(2).enumerate() {
            sc.blend(&side_scores(e), if i == 0 { 0.4 } else { 0.2 });
        }
        if ctx.has_images {
            // An attached image is to be looked at, not drawn.
            sc.add(Task::ImageGeneration, -3.0, "");
            sc.add(Task::KnowledgeQa, 1.0, "image attached (vision question)");
        }
        if ctx.has_audio {
            sc.add(Task::Speech, 2.0, "audio attached");
        }
        for (s, b) in sc.s.iter_mut().zip(self.task_bias) {
            *s += b;
        }
        let (task, runner_up, confidence) = decide(&sc.s);
        let tokens = estimate_tokens(prompt, &scan, text.len());
        let mut f = Features::new(&scan, &hits, tokens, ctx.turns.max(1), ctx.max_tokens);
        f.task = Some(task);
        f.confidence = confidence;
        let (complexity_score, complexity_tier) = complexity::complexity(&f, task);
        let strong = self.strong.score(&f);
        let c = Classification {
            task,
            confidence,
            runner_up,
            complexity_tier,
            complexity_score,
            language: lang::detect(&scan),
            tokens,
            strong,
            reasons: sc.reasons(task).collect(),
        };
        (c, f)
    }

    /// Classifies a canonical request: the last user turn, with system prompts, earlier user turns,
    /// conversation depth and attachments as context.
    pub fn classify_request(&self, req: &ChatRequest) -> Classification {
        let texts = RequestTexts::new(req);
        let ctx = texts.context(req.max_tokens);
        self.classify(&texts.last, &ctx)
    }
}

/// The texts of a request, split by role.
pub struct RequestTexts {
    pub last: String,
    pub system: String,
    pub earlier: Vec<String>,
    pub turns: u32,
    pub has_images: bool,
    pub has_audio: bool,
}

impl RequestTexts {
    pub fn new(req: &ChatRequest) -> RequestTexts {
        let mut users: Vec<String> = Vec::new();
        let mut system = String::new();
        let (mut has_images, mut has_audio) = (false, false);
        for m in &req.messages {
            let mut t = String::new();
            for p in &m.content {
                match p {
                    Part::Text(s) => {
                        if !t.is_empty() {
                            t.push('\n');
                        }
                        t.push_str(s);
                    }
                    Part::Image { .. } if m.role == Role::User => has_images = true,
                    Part::Other { kind, .. } if m.role == Role::User && kind.contains("audio") => has_audio = true,
                    _ => {}
                }
            }
            match m.role {
                Role::System | Role::Developer => {
                    if !system.is_empty() {
                        system.push('\n');
                    }
                    system.push_str(&t);
                }
                Role::User => users.push(t),
                Role::Assistant | Role::Tool => {}
            }
        }
        let turns = users.len() as u32;
        let last = users.pop().unwrap_or_default();
        let keep = users.len().saturating_sub(2);
        RequestTexts {
            last,
            system,
            earlier: users.split_off(keep),
            turns,
            has_images,
            has_audio,
        }
    }

    pub fn context(&self, max_tokens: Option<u32>) -> Context<'_> {
        Context {
            system: Some(self.system.as_str()).filter(|s| !s.is_empty()),
            earlier: self.earlier.iter().map(String::as_str).collect(),
            turns: self.turns.max(1),
            has_images: self.has_images,
            has_audio: self.has_audio,
            max_tokens,
        }
    }
}

/// Rule scores of a side text (system prompt, earlier turn), keeping only clear evidence so that
/// their defaults do not add up. Read through the same window as the prompt.
fn side_scores(text: &str) -> rules::Scores {
    let bounded = bounded(text);
    let text: &str = bounded.as_deref().unwrap_or(text);
    let scan = text::scan(text, hits::HEAD, hits::TAIL);
    let hits = hits::hits(text, &scan);
    let mut s = rules::score(&scan, &hits);
    for v in s.s.iter_mut() {
        if *v < 1.5 {
            *v = 0.0;
        }
    }
    s
}

/// Where to end the head: the last whitespace within `CUT_SLACK` before `n`, else the char boundary
/// at or before `n`.
fn head_cut(s: &str, n: usize) -> usize {
    let b = s.as_bytes();
    let from = n.saturating_sub(CUT_SLACK);
    if let Some(i) = b[from..n].iter().rposition(u8::is_ascii_whitespace) {
        return from + i;
    }
    (0..=n).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Where to start the tail: just past the first whitespace within `CUT_SLACK` after `n`, else the
/// char boundary at or after `n`.
fn tail_cut(s: &str, n: usize) -> usize {
    let b = s.as_bytes();
    if let Some(i) = b[n..(n + CUT_SLACK).min(b.len())]
        .iter()
        .position(u8::is_ascii_whitespace)
    {
        return n + i + 1;
    }
    (n..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len())
}

/// For a text longer than `WINDOW`, its head and tail joined by a line break.
fn bounded(text: &str) -> Option<String> {
    if text.len() <= WINDOW {
        return None;
    }
    let head = &text[..head_cut(text, HEAD_BYTES)];
    let tail = &text[tail_cut(text, text.len() - TAIL_BYTES)..];
    let mut s = String::with_capacity(head.len() + 1 + tail.len());
    s.push_str(head);
    s.push('\n');
    s.push_str(tail);
    Some(s)
}

/// About four bytes a token for ASCII, one token per CJK character, two characters a token for
/// other scripts; scaled up to the whole text when only its window was scanned.
fn estimate_tokens(prompt: &str, scan: &text::Scan, scanned: usize) -> u32 {
    let st = &scan.stats;
    let non_ascii_bytes = 3 * st.cjk_chars as usize + 2 * st.other_non_ascii as usize;
    let ascii = st.bytes.saturating_sub(non_ascii_bytes);
    let est = ascii as f64 / 4.0 + f64::from(st.cjk_chars) + f64::from(st.other_non_ascii) / 2.0;
    let scale = if scanned > 0 {
        prompt.len() as f64 / scanned as f64
    } else {
        1.0
    };
    let t = (est * scale).ceil();
    if prompt.trim().is_empty() {
        0
    } else {
        (t as u32).max(1)
    }
}

/// The winning task, the runner-up, and the winner's softmax share.
fn decide(s: &[f32; rules::N_TASKS]) -> (Task, Task, f32) {
    let mut order: [usize; rules::N_TASKS] = std::array::from_fn(|i| i);
    // Ties go to the earlier task in `Task::ALL` (stable sort): deterministic.
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let top = s[order[0]];
    let z: f32 = s.iter().map(|&x| (x - top).exp()).sum();
    (Task::ALL[order[0]], Task::ALL[order[1]], 1.0 / z)
}

/// Parses one `classify` input line: `{"prompt": "…"}` or `{"messages": [OpenAI chat messages]}`
/// (optionally with `max_tokens`), into the request the gateway would see.
pub fn request_from_line(line: &str) -> Result<ChatRequest, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("each line must be a JSON object")?;
    let mut body = Map::new();
    body.insert("model".into(), Value::from("auto"));
    if let Some(p) = obj.get("prompt") {
        let p = p.as_str().ok_or("prompt must be a string")?;
        body.insert("messages".into(), json!([{"role": "user", "content": p}]));
    } else if let Some(m) = obj.get("messages") {
        body.insert("messages".into(), m.clone());
    } else {
        return Err("each line needs \"prompt\" or \"messages\"".into());
    }
    if let Some(m) = obj.get("max_tokens") {
        body.insert("max_tokens".into(), m.clone());
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| e.to_string())?;
    crate::api::openai_chat::parse(&bytes)
        .map(|p| p.request)
        .map_err(|e| format!("invalid messages: {e}"))
}

fn num(v: &Value, k: &str) -> Result<Option<f32>, String> {
    match v.get(k) {
        None => Ok(None),
        Some(x) => x
            .as_f64()
            .map(|f| Some(f as f32))
            .ok_or_else(|| format!("strong.{k}: not a number")),
    }
}
