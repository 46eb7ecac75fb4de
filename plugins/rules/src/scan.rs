//! The text index: every `input_contains` and `input_matches` of a rule set compiled into a few
//! automata, and the per-request answers to "does pattern N occur in the prompt?".
//!
//! Why it is shaped this way (measured in `benches/rules.rs`, on an ~8 KB prompt):
//! - Aho-Corasick is only fast (SIMD "Teddy", several GB/s) for leftmost searches over at most 64
//!   case-sensitive patterns; overlapping or ASCII-case-insensitive searches walk every byte through
//!   the automaton (~14 µs here). So case-insensitive texts are lowercased into one buffer and
//!   searched case-sensitively, patterns are split into shards of 64, and "which patterns occur" is
//!   answered with leftmost-longest searches restarted one byte after each match start, plus the
//!   patterns that are prefixes of the one reported (they match at the same place). That finds
//!   every pattern an overlapping search would, `voice` inside `invoice` included.
//! - A `RegexSet` of case-insensitive patterns has no literal prefilter either, so it too walks
//!   every byte (~15 µs). Each regex whose matches must begin with one of a few literals (most
//!   rule regexes: `(?i)\blegal advice`) is instead gated by those literals, lowercased, in the same
//!   shards: the regex itself runs only on a request that contains one of them. Regexes without
//!   such literals (`\d{16}`) go into one `RegexSet` that runs, whole, at most once per request.
//!
//! A shard is scanned at most once per request and only when a condition needs it; a gated regex
//! runs at most once per request.

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::literal::Extractor;
use switchyard_sdk::ir::ChatRequest;

/// The most patterns in one shard (the SIMD searcher's limit).
const SHARD: usize = 64;
/// A regex with more distinct gate literals than this is not worth gating (it would crowd shards).
const MAX_GATE_LITERALS: usize = 16;
/// Compiled size limit of one regex: a pattern like `(\w{100}){100}` is refused, not compiled.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled size limit of the ungated regexes together, and of their lazy DFA cache.
const SET_SIZE_LIMIT: usize = 16 << 20;
const SET_DFA_LIMIT: usize = 8 << 20;

/// Distinct byte patterns, each with its id.
#[derive(Default)]
struct Patterns {
    list: Vec<Vec<u8>>,
    ids: std::collections::HashMap<Vec<u8>, usize>,
}

impl Patterns {
    fn id(&mut self, pattern: Vec<u8>) -> usize {
        let next = self.list.len();
        let id = *self.ids.entry(pattern.clone()).or_insert(next);
        if id == next {
            self.list.push(pattern);
        }
        id
    }
}

/// Collects the text conditions of a rule set while it compiles.
#[derive(Default)]
pub(crate) struct IndexBuilder {
    lower: Patterns,
    exact: Patterns,
    regexes: Vec<(String, Option<Vec<usize>>)>,
    regex_ids: std::collections::HashMap<String, usize>,
}

/// A pattern of the index: which list (lowercased or exact) and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextId {
    pub lower: bool,
    pub id: usize,
}

impl IndexBuilder {
    /// The id of substring `text` (ASCII case-insensitive unless `case_sensitive`).
    pub fn substring(&mut self, text: &str, case_sensitive: bool) -> TextId {
        if case_sensitive {
            TextId {
                lower: false,
                id: self.exact.id(text.as_bytes().to_vec()),
            }
        } else {
            TextId {
                lower: true,
                id: self.lower.id(text.as_bytes().to_ascii_lowercase()),
            }
        }
    }

    /// The id of regex `pattern`, already validated with [`REGEX_SIZE_LIMIT`].
    pub fn regex(&mut self, pattern: &str) -> usize {
        if let Some(id) = self.regex_ids.get(pattern) {
            return *id;
        }
        let gate = gate_literals(pattern).map(|lits| lits.into_iter().map(|l| self.lower.id(l)).collect());
        let id = self.regexes.len();
        self.regexes.push((pattern.to_string(), gate));
        self.regex_ids.insert(pattern.to_string(), id);
        id
    }

    pub fn build(self) -> Result<TextIndex, String> {
        let lower_shards = self.lower.list.len().div_ceil(SHARD);
        let mut shards = Vec::new();
        for (lower, list) in [(true, &self.lower.list), (false, &self.exact.list)] {
            for chunk in list.chunks(SHARD) {
                shards.push(Shard::new(chunk, lower)?);
            }
        }
        let mut ungated = Vec::new();
        let mut plans = Vec::with_capacity(self.regexes.len());
        for (pattern, gate) in self.regexes {
            plans.push(match gate {
                Some(ids) => RegexPlan::Gated {
                    regex: RegexBuilder::new(&pattern)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| e.to_string())?,
                    gate: ids.into_iter().map(|id| locate(lower_shards, true, id)).collect(),
                },
                None => {
                    ungated.push(pattern);
                    RegexPlan::Ungated(ungated.len() - 1)
                }
            });
        }
        let ungated = if ungated.is_empty() {
            None
        } else {
            let set = RegexSetBuilder::new(&ungated)
                .size_limit(SET_SIZE_LIMIT)
                .dfa_size_limit(SET_DFA_LIMIT)
                .build()
                .map_err(|e| format!("the input_matches patterns together are too large to compile: {e}"))?;
            Some(set)
        };
        Ok(TextIndex {
            shards,
            lower_shards,
            regexes: plans,
            ungated,
        })
    }
}

/// The lowercased literals one of which begins every match of `pattern`, when there are a few
/// non-empty ones (`None`: the regex cannot be gated and must always run).
pub(crate) fn gate_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    // The parser's defaults are `Regex::new`'s, so the literals are those of the regex that runs.
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut seq = Extractor::new().extract(&hir);
    seq.optimize_for_prefix_by_preference();
    let lits = seq.literals()?;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(lits.len());
    for l in lits {
        if l.is_empty() {
            return None;
        }
        let low = l.as_bytes().to_ascii_lowercase();
        if !out.contains(&low) {
            out.push(low);
        }
    }
    (out.len() <= MAX_GATE_LITERALS).then_some(out)
}

/// Where pattern `id` of a list lives: (shard, index in the shard).
fn locate(lower_shards: usize, lower: bool, id: usize) -> (usize, usize) {
    let base = if lower { 0 } else { lower_shards };
    (base + id / SHARD, id % SHARD)
}

/// Up to [`SHARD`] patterns searched together.
#[derive(Debug)]
struct Shard {
    ac: AhoCorasick,
    /// Search the lowercased text (the patterns are lowercased) rather than the text as sent.
    lower: bool,
    /// For each pattern, the other patterns of the shard that are proper prefixes of it.
    prefixes: Vec<Vec<usize>>,
}

impl Shard {
    fn new(patterns: &[Vec<u8>], lower: bool) -> Result<Shard, String> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .map_err(|e| format!("the input_contains texts do not compile together: {e}"))?;
        let prefixes = patterns
            .iter()
            .map(|p| {
                (0..patterns.len())
                    .filter(|&q| patterns[q].len() < p.len() && p.starts_with(&patterns[q]))
                    .collect()
            })
            .collect();
        Ok(Shard { ac, lower, prefixes })
    }

    /// Which of the shard's patterns occur in some text of `req`.
    fn scan(&self, req: &ChatRequest, buf: &mut Vec<u8>) -> Vec<bool> {
        let n = self.prefixes.len();
        let mut found = vec![false; n];
        let mut left = n;
        for text in req.texts() {
            let hay: &[u8] = if self.lower {
                buf.clear();
                buf.extend_from_slice(text.as_bytes());
                buf.make_ascii_lowercase();
                buf
            } else {
                text.as_bytes()
            };
            let mut at = 0;
            while let Some(m) = self.ac.find(Input::new(hay).range(at..)) {
                let p = m.pattern().as_usize();
                for q in std::iter::once(p).chain(self.prefixes[p].iter().copied()) {
                    if !std::mem::replace(&mut found[q], true) {
                        left -= 1;
                    }
                }
                if left == 0 {
                    return found;
                }
                at = m.start() + 1;
            }
        }
        found
    }
}

#[derive(Debug)]
enum RegexPlan {
    /// Runs only when one of its gate patterns (shard, index) occurs.
    Gated { regex: Regex, gate: Vec<(usize, usize)> },
    /// Index in the ungated set.
    Ungated(usize),
}

/// The compiled text conditions of a rule set.
#[derive(Debug)]
pub(crate) struct TextIndex {
    shards: Vec<Shard>,
    lower_shards: usize,
    regexes: Vec<RegexPlan>,
    ungated: Option<RegexSet>,
}

/// What one request's evaluation learnt about its text so far.
#[derive(Default)]
pub(crate) struct TextState {
    /// Per shard, once scanned: which of its patterns occur.
    shards: Vec<Option<Vec<bool>>>,
    /// Per regex: 0 unknown, 1 no match, 2 match.
    regexes: Vec<u8>,
    ungated: Option<Vec<bool>>,
    /// The lowercased text being searched.
    buf: Vec<u8>,
}

impl TextState {
    fn found(&mut self, index: &TextIndex, req: &ChatRequest, (shard, local): (usize, usize)) -> bool {
        if self.shards.is_empty() {
            self.shards.resize(index.shards.len(), None);
        }
        let (Some(slot), Some(s)) = (self.shards.get_mut(shard), index.shards.get(shard)) else {
            return false;
        };
        let buf = &mut self.buf;
        let found = slot.get_or_insert_with(|| s.scan(req, buf));
        found.get(local).copied().unwrap_or(false)
    }

    /// Whether substring `t` occurs in some text of the request.
    pub fn contains(&mut self, index: &TextIndex, req: &ChatRequest, t: TextId) -> bool {
        self.found(index, req, locate(index.lower_shards, t.lower, t.id))
    }

    /// Whether regex `id` matches some text of the request.
    pub fn matches(&mut self, index: &TextIndex, req: &ChatRequest, id: usize) -> bool {
        let Some(plan) = index.regexes.get(id) else {
            return false;
        };
        match plan {
            RegexPlan::Gated { regex, gate } => {
                if self.regexes.is_empty() {
                    self.regexes.resize(index.regexes.len(), 0);
                }
                match self.regexes.get(id) {
                    Some(1) => return false,
                    Some(2) => return true,
                    _ => {}
                }
                let open = gate.iter().any(|g| self.found(index, req, *g));
                let hit = open && req.texts().any(|t| regex.is_match(t));
                if let Some(r) = self.regexes.get_mut(id) {
                    *r = if hit { 2 } else { 1 };
                }
                hit
            }
            RegexPlan::Ungated(k) => {
                let Some(set) = &index.ungated else {
                    return false;
                };
                let found = self.ungated.get_or_insert_with(|| {
                    let mut found = vec![false; set.len()];
                    for text in req.texts() {
                        for i in set.matches(text).iter() {
                            found[i] = true;
                        }
                        if found.iter().all(|f| *f) {
                            break;
                        }
                    }
                    found
                });
                found.get(*k).copied().unwrap_or(false)
            }
        }
    }
}
