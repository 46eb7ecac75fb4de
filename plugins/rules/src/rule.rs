//! The compiled form of the rules: what `compile` produces from the raw config and `eval` walks on
//! every request. Everything a request needs is decided here once per config snapshot: patterns are
//! ids into shared automata, names are canonical, the readable trace text of every condition and
//! action is written out in advance so a request only copies it.

use switchyard_sdk::Money;

use crate::scan::TextId;
use crate::time::Window;

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub priority: i32,
    pub stop: bool,
    /// `None`: always fires.
    pub when: Option<Node>,
    pub actions: Vec<Action>,
    /// How many condition nodes `when` has (the most trace lines one evaluation can write).
    pub nodes: usize,
}

/// A condition with its trace text.
#[derive(Debug)]
pub(crate) struct Node {
    pub cond: Cond,
    pub desc: Box<str>,
}

#[derive(Debug)]
pub(crate) enum Cond {
    /// A substring of the text index occurs in some text of the request (ASCII case-insensitive
    /// unless written case-sensitive: `Invoice` finds `INVOICE`; non-ASCII letters match exactly).
    Contains(TextId),
    /// Regex `id` of the text index matches some text of the request.
    Matches(usize),
    Meta {
        field: Box<str>,
        test: MetaTest,
    },
    Mode(Mode),
    Model(ModelPattern),
    KeyName(Box<str>),
    Workspace(Box<str>),
    /// The request's `segment` metadata (the same lookup as `metadata: {field: segment}`).
    Segment(Box<str>),
    TokensAbove(u64),
    TokensBelow(u64),
    Task(&'static str),
    ClientSchema(&'static str),
    Time(Window),
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetaTest {
    /// The value, as text (numbers and booleans by their JSON spelling).
    Equals(Box<str>),
    Exists(bool),
}

/// A routing mode as rules name it; `Default` is "the request asked for none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Quality,
    Cost,
    Latency,
    Balanced,
    Default,
    /// A mode word the gateway does not know (the core refuses the request later); equals nothing.
    Other,
}

impl Mode {
    /// The mode words of API.md and their aliases, as the core's router reads them.
    pub fn parse(s: &str) -> Mode {
        match switchyard_sdk::mode_word(s) {
            Some("quality") => Mode::Quality,
            Some("cost") => Mode::Cost,
            Some("latency") => Mode::Latency,
            Some(_) => Mode::Balanced,
            None if s.trim().eq_ignore_ascii_case("default") => Mode::Default,
            None => Mode::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Quality => "quality",
            Mode::Cost => "cost",
            Mode::Latency => "latency",
            Mode::Balanced => "balanced",
            Mode::Default => "default",
            Mode::Other => "other",
        }
    }
}

/// A model name, or a prefix when written with a trailing `*` (`openai/*`; `*` alone: any model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelPattern {
    Exact(Box<str>),
    Prefix(Box<str>),
}

impl ModelPattern {
    pub fn matches(&self, model: &str) -> bool {
        match self {
            ModelPattern::Exact(m) => **m == *model,
            ModelPattern::Prefix(p) => model.starts_with(&**p),
        }
    }
}

/// A compiled action with its trace text.
#[derive(Debug)]
pub(crate) struct Action {
    pub kind: ActionKind,
    pub label: Box<str>,
}

#[derive(Debug)]
pub(crate) enum ActionKind {
    PinModel(String),
    PinProvider(String),
    /// A canonical mode word (`quality`, `cost`, `latency`, `balanced`).
    SetMode(&'static str),
    Fallback(Vec<String>),
    QualityFloor(f64),
    Budget(Money),
    ExcludeProviders(Vec<String>),
    /// One tag (from `add_metadata` or `tag`).
    Tag {
        key: String,
        value: String,
    },
    Reject {
        status: u16,
        message: String,
    },
}

/// The task names the core's classifier produces (`Classification::task`).
pub(crate) use switchyard_sdk::TASKS;

/// The client schemas `Exchange::client_schema` names.
pub(crate) const SCHEMAS: [&str; 3] = ["chat", "responses", "messages"];

/// Config text shown in a trace line, quoted and cut short: the trace names a condition, it does not
/// carry whole documents (a long pattern would otherwise reach every error body).
pub(crate) fn shown(s: &str) -> String {
    let (head, cut) = cut(s);
    format!("{head:?}{}", if cut { "…" } else { "" })
}

/// A regex for a trace line, between slashes and unescaped (so `\b` reads as written).
pub(crate) fn shown_regex(s: &str) -> String {
    let (head, cut) = cut(s);
    format!("/{head}{}/", if cut { "…" } else { "" })
}

fn cut(s: &str) -> (&str, bool) {
    const MAX: usize = 60;
    if s.len() <= MAX {
        return (s, false);
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}
