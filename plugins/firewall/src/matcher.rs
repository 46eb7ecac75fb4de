//! The compiled scanner of one configuration snapshot: every rule's matcher folded into as few passes
//! over a text as pay off. Substring rules share one Aho-Corasick search (see [`Substrings`]);
//! detector rules share one run of each detector family; regex rules are split by what makes them
//! fast:
//!
//! - a regex whose every match starts with one of a few literals (`host-`, `PRJ-`, `(?i)secret`) is
//!   searched alone: the regex engine jumps between occurrences of those literals with a vectorized
//!   search and touches little of the text (measured: about 0.2-0.6 µs per 8 KB each);
//! - a case-insensitive regex (`(?i)under embargo`) has too many case variants of its literals for
//!   that, so it runs, without its upper-case letters, over the text lowered to ASCII lower case
//!   (which the substring search makes anyway), where its literal is plain again;
//! - the regexes without such literals share one `RegexSet` when there are several: one DFA pass
//!   over every byte tells which of them matched (about 1.5-2 ns per byte whatever their number),
//!   and only those are then located.
//!
//! One set over every regex was measured at twice the cost of the split on realistic rules, because
//! an overlapping set search cannot skip text with a literal prefilter. A scan reports, for the
//! rules a request wants, every match with its rule.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

use crate::detectors::{detect_into, Detection, Detector, DetectorSet};
use crate::policy::{RuleBits, RuleId};

/// The most memory one compiled rule regex may take: a pattern over it is refused at build time, so a
/// bad policy cannot stall a worker or exhaust memory.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The lazy DFA's cache per regex (beyond it the regex engine falls back to a slower engine).
const DFA_SIZE_LIMIT: usize = 2 << 20;
/// Longest accepted pattern text.
const PATTERN_MAX: usize = 4096;
/// From this many regexes without a literal prefix on, one set pass beats one search each.
const SET_MIN: usize = 4;
/// Between texts scanned as one: a word and number boundary to every detector, crossed by neither `.`
/// nor `\s`. A match that touches it anyway sends the caller back to one scan per text.
pub(crate) const JOIN: &str = "\n\0\n";

/// What a rule matches.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    Substring { text: String, case_sensitive: bool },
    Regex(CheckedRegex),
    Detectors(DetectorSet),
}

/// A validated rule regex.
#[derive(Debug, Clone)]
pub(crate) struct CheckedRegex {
    /// The pattern as compiled (word boundaries made ASCII, see [`check_regex`]).
    pub source: String,
    pub hir: Hir,
    /// The longest match in bytes (`None`: unbounded).
    pub max_len: Option<usize>,
}

/// One rule's match in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuleHit {
    pub rule: RuleId,
    pub start: usize,
    pub end: usize,
    /// The detector that matched, for detector rules.
    pub detector: Option<Detector>,
}

/// Validate a rule's regex: it parses, cannot match the empty string (it would match everywhere),
/// can match something, and compiles within the size limit. `\b` and friends are compiled as their
/// ASCII forms: a Unicode word boundary makes the DFA give up on any non-ASCII byte (curly quotes,
/// dashes, emoji are in most prompts) and fall back to an engine many times slower.
pub(crate) fn check_regex(pattern: &str) -> Result<CheckedRegex, String> {
    if pattern.len() > PATTERN_MAX {
        return Err(format!("longer than {PATTERN_MAX} bytes"));
    }
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).map_err(|e| {
        let (kind, offset) = match &e {
            regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.span().start.offset),
            regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.span().start.offset),
            _ => (e.to_string(), 0),
        };
        format!("invalid regex: {kind} (at byte {offset})")
    })?;
    match hir.properties().minimum_len() {
        Some(0) => return Err("can match the empty string, so it would match everywhere".into()),
        None => return Err("can never match".into()),
        Some(_) => {}
    }
    let hir = ascii_word_boundaries(&hir);
    let source = hir.to_string();
    RegexBuilder::new(&source)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("compiles to more than {limit} bytes (the limit of one firewall regex); simplify it")
            }
            other => format!("invalid regex: {other}"),
        })?;
    let max_len = hir.properties().maximum_len();
    Ok(CheckedRegex { source, hir, max_len })
}

/// Whether every match starts with one of a finite set of literals of two bytes or more: then the
/// regex engine searches for those literals first and skips the rest of the text.
fn literal_prefix(hir: &Hir) -> bool {
    let seq = regex_syntax::hir::literal::Extractor::new().extract(hir);
    seq.is_finite() && seq.min_literal_len().is_some_and(|l| l >= 2)
}

/// How many literals the regex engine's prefilter would search for (`usize::MAX`: none usable).
fn literal_count(hir: &Hir) -> usize {
    let seq = regex_syntax::hir::literal::Extractor::new().extract(hir);
    match (seq.len(), seq.min_literal_len()) {
        (Some(n), Some(l)) if l >= 2 => n,
        _ => usize::MAX,
    }
}

/// `h` without upper-case ASCII letters, for ASCII-lowered text: when every class is closed under
/// ASCII case (each letter with its other case, as `(?i)` makes them) and some class holds a letter,
/// it matches the lowered text exactly where `h` matches the text. `None` otherwise.
fn lowered(h: &Hir) -> Option<Hir> {
    let mut letters = false;
    let low = lower_rec(h, &mut letters)?;
    letters.then_some(low)
}

fn lower_rec(h: &Hir, letters: &mut bool) -> Option<Hir> {
    let closed = |has: &dyn Fn(u8) -> bool, letters: &mut bool| {
        for up in b'A'..=b'Z' {
            let (u, l) = (has(up), has(up.to_ascii_lowercase()));
            if u != l {
                return false;
            }
            *letters |= u;
        }
        true
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(h.clone()),
        HirKind::Literal(lit) => (!lit.0.iter().any(u8::is_ascii_alphabetic)).then(|| h.clone()),
        HirKind::Class(Class::Unicode(c)) => {
            let has = |b: u8| {
                c.ranges()
                    .iter()
                    .any(|r| r.start() <= char::from(b) && char::from(b) <= r.end())
            };
            if !closed(&has, letters) {
                return None;
            }
            let mut low = c.clone();
            low.difference(&ClassUnicode::new([ClassUnicodeRange::new('A', 'Z')]));
            Some(Hir::class(Class::Unicode(low)))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let has = |b: u8| c.ranges().iter().any(|r| r.start() <= b && b <= r.end());
            if !closed(&has, letters) {
                return None;
            }
            let mut low = c.clone();
            low.difference(&ClassBytes::new([ClassBytesRange::new(b'A', b'Z')]));
            Some(Hir::class(Class::Bytes(low)))
        }
        HirKind::Repetition(r) => {
            let mut r = r.clone();
            r.sub = Box::new(lower_rec(&r.sub, letters)?);
            Some(Hir::repetition(r))
        }
        HirKind::Capture(c) => lower_rec(&c.sub, letters),
        HirKind::Concat(subs) => Some(Hir::concat(
            subs.iter().map(|s| lower_rec(s, letters)).collect::<Option<_>>()?,
        )),
        HirKind::Alternation(subs) => Some(Hir::alternation(
            subs.iter().map(|s| lower_rec(s, letters)).collect::<Option<_>>()?,
        )),
    }
}

fn ascii_word_boundaries(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => *other,
        }),
        HirKind::Repetition(r) => {
            let mut r = r.clone();
            r.sub = Box::new(ascii_word_boundaries(&r.sub));
            Hir::repetition(r)
        }
        HirKind::Capture(c) => {
            let mut c = c.clone();
            c.sub = Box::new(ascii_word_boundaries(&c.sub));
            Hir::capture(c)
        }
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_word_boundaries).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(ascii_word_boundaries).collect()),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => h.clone(),
    }
}

/// Buffers a scan reuses from one text to the next (a request scans many texts, a stream many deltas).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    lower: Vec<u8>,
    found: Vec<Detection>,
}

/// Every rule matcher of a snapshot, compiled for one pass per kind.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// Regexes searched one by one (each has a literal prefilter, or there are few).
    alone: Vec<(RuleId, Regex)>,
    /// Case-insensitive regexes, searched one by one over the ASCII-lowered text.
    lowered: Vec<(RuleId, regex::bytes::Regex)>,
    set: Option<RegexSet>,
    /// The set's regexes in set order, each compiled alone to locate its matches.
    in_set: Vec<(RuleId, Regex)>,
    regex_rules: RuleBits,
    substrings: Option<Substrings>,
    substring_rules: RuleBits,
    detectors: Vec<(RuleId, DetectorSet)>,
    /// Some regex anchors on the start or end of a text or line (`^`, `$`, `\A`, `\z`): texts must
    /// then be scanned one by one, not joined.
    anchored: bool,
}

impl Scanner {
    /// Whether several texts may be scanned as one, joined by [`JOIN`].
    pub(crate) fn joinable(&self) -> bool {
        !self.anchored
    }

    /// Compile the matchers of rules `0..n`. Fails only when the regexes together exceed the size
    /// limits (each was checked alone by [`check_regex`]).
    pub(crate) fn build(patterns: &[(RuleId, &Pattern)]) -> Result<Scanner, String> {
        let mut s = Scanner::default();
        let mut sources = Vec::new();
        let mut needles = Vec::new();
        for &(rule, p) in patterns {
            match p {
                Pattern::Regex(r) => {
                    let re = RegexBuilder::new(&r.source)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .dfa_size_limit(DFA_SIZE_LIMIT)
                        .build()
                        .map_err(|e| e.to_string())?;
                    let anchors = Look::Start as u32
                        | Look::End as u32
                        | Look::StartLF as u32
                        | Look::EndLF as u32
                        | Look::StartCRLF as u32
                        | Look::EndCRLF as u32;
                    s.anchored |= r.hir.properties().look_set().bits & anchors != 0;
                    if let Some(low) = lowered(&r.hir).filter(|l| literal_count(l) < literal_count(&r.hir)) {
                        let re = regex::bytes::RegexBuilder::new(&low.to_string())
                            .size_limit(REGEX_SIZE_LIMIT)
                            .dfa_size_limit(DFA_SIZE_LIMIT)
                            .build()
                            .map_err(|e| e.to_string())?;
                        s.lowered.push((rule, re));
                    } else if literal_prefix(&r.hir) {
                        s.alone.push((rule, re));
                    } else {
                        sources.push(r.source.as_str());
                        s.in_set.push((rule, re));
                    }
                    s.regex_rules.insert(rule);
                }
                Pattern::Substring { text, case_sensitive } => {
                    needles.push((rule, *case_sensitive, text.as_str()));
                    s.substring_rules.insert(rule);
                }
                Pattern::Detectors(set) => s.detectors.push((rule, *set)),
            }
        }
        if sources.len() < SET_MIN {
            s.alone.append(&mut s.in_set);
        } else {
            let limit = REGEX_SIZE_LIMIT.saturating_mul(sources.len());
            let set = RegexSetBuilder::new(&sources)
                .size_limit(limit)
                .dfa_size_limit(DFA_SIZE_LIMIT.saturating_mul(4))
                .build()
                .map_err(|e| format!("the regex rules together are too large: {e}"))?;
            s.set = Some(set);
        }
        if !needles.is_empty() {
            s.substrings = Some(Substrings::build(&needles)?);
        }
        Ok(s)
    }

    /// Every match in `text` of the rules in `want`, appended to `out` (unordered).
    pub(crate) fn scan(&self, text: &str, want: &RuleBits, out: &mut Vec<RuleHit>, scratch: &mut Scratch) {
        let lowered = self.lowered.iter().any(|(rule, _)| want.contains(*rule));
        let substrings = want.intersects(&self.substring_rules) && self.substrings.is_some();
        if lowered || substrings {
            scratch.lower.clear();
            scratch.lower.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        }
        if want.intersects(&self.regex_rules) {
            self.scan_regexes(text, want, out);
            for (rule, re) in self.lowered.iter().filter(|(rule, _)| want.contains(*rule)) {
                out.extend(re.find_iter(&scratch.lower).map(|m| RuleHit {
                    rule: *rule,
                    start: m.start(),
                    end: m.end(),
                    detector: None,
                }));
            }
        }
        if substrings {
            if let Some(subs) = &self.substrings {
                subs.scan(text, want, out, &scratch.lower);
            }
        }
        let kinds = self
            .detectors
            .iter()
            .filter(|(rule, _)| want.contains(*rule))
            .fold(DetectorSet::default(), |acc, (_, set)| acc.union(*set));
        if !kinds.is_empty() {
            let found = &mut scratch.found;
            found.clear();
            detect_into(text, kinds, found);
            for d in found.iter() {
                for (rule, set) in &self.detectors {
                    if want.contains(*rule) && set.contains(d.detector) {
                        out.push(RuleHit {
                            rule: *rule,
                            start: d.range.start,
                            end: d.range.end,
                            detector: Some(d.detector),
                        });
                    }
                }
            }
        }
    }

    fn scan_regexes(&self, text: &str, want: &RuleBits, out: &mut Vec<RuleHit>) {
        let mut locate = |(rule, re): &(RuleId, Regex)| {
            if want.contains(*rule) {
                out.extend(re.find_iter(text).map(|m| RuleHit {
                    rule: *rule,
                    start: m.start(),
                    end: m.end(),
                    detector: None,
                }));
            }
        };
        self.alone.iter().for_each(&mut locate);
        if let Some(set) = &self.set {
            if self.in_set.iter().any(|(rule, _)| want.contains(*rule)) {
                for i in set.matches(text).iter() {
                    if let Some(r) = self.in_set.get(i) {
                        locate(r);
                    }
                }
            }
        }
    }
}

/// Every substring rule in one search. Aho-Corasick's fast literal prefilter (Teddy) serves only
/// case-sensitive, leftmost searches, while rules need every occurrence of every pattern (one rule's
/// match must not hide another's) and may be ASCII case-insensitive. So: the text is lowered once
/// (ASCII lowering keeps byte offsets), a leftmost-longest search over the lowered patterns finds
/// where matches are, every occurrence is then collected from small windows around those places
/// with an overlapping search, and case-sensitive rules are confirmed against the original bytes.
/// Any occurrence starts inside some leftmost match (else the leftmost search would have reported a
/// match starting at or before it), so the windows miss none.
#[derive(Debug)]
struct Substrings {
    leftmost: AhoCorasick,
    overlapping: AhoCorasick,
    /// By pattern: rule, case-sensitive, original text.
    patterns: Vec<(RuleId, bool, Box<str>)>,
    longest: usize,
}

impl Substrings {
    fn build(needles: &[(RuleId, bool, &str)]) -> Result<Substrings, String> {
        let lowered: Vec<String> = needles.iter().map(|(_, _, t)| t.to_ascii_lowercase()).collect();
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(kind)
                .build(&lowered)
                .map_err(|e| format!("the substrings cannot be compiled: {e}"))
        };
        Ok(Substrings {
            leftmost: build(MatchKind::LeftmostLongest)?,
            overlapping: build(MatchKind::Standard)?,
            patterns: needles.iter().map(|(r, cs, t)| (*r, *cs, (*t).into())).collect(),
            longest: lowered.iter().map(String::len).max().unwrap_or(0),
        })
    }

    /// `lower` is `text` in ASCII lower case.
    fn scan(&self, text: &str, want: &RuleBits, out: &mut Vec<RuleHit>, lower: &[u8]) {
        let mut seen_to = 0;
        for m in self.leftmost.find_iter(lower) {
            // Occurrences starting inside this match; the window's tail lets the longest one end.
            let from = m.start().max(seen_to);
            let to = (m.end() + self.longest).min(lower.len());
            for o in self.overlapping.find_overlapping_iter(&lower[from..to]) {
                let (start, end) = (from + o.start(), from + o.end());
                if start >= m.end() {
                    continue;
                }
                let Some((rule, case_sensitive, needle)) = self.patterns.get(o.pattern().as_usize()) else {
                    continue;
                };
                if !want.contains(*rule) || (*case_sensitive && text.as_bytes()[start..end] != *needle.as_bytes()) {
                    continue;
                }
                out.push(RuleHit {
                    rule: *rule,
                    start,
                    end,
                    detector: None,
                });
            }
            seen_to = m.end();
        }
    }
}
