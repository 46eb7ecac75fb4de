//! Streamed answers, delta by delta. The core hands the phase its unreleased text with the new delta
//! appended; the phase masks what is settled and releases a prefix, keeping back only what could
//! still turn out to be (part of) a match:
//!
//! - a match is *settled* once the text runs `LOOKAHEAD` bytes past the longest it could grow to
//!   (its detector's or regex's maximum length, capped at `max_holdback_bytes`);
//! - the unsettled matches, and the earliest tail position from which the text could still grow
//!   into a match ([`crate::prefix`]), are held back; everything before them is released at once,
//!   so plain text streams without delay and a match split across events is masked whole;
//! - a settled match that an unsettled one overlaps is held with it while that fits the declared
//!   hold-back, and masked and released otherwise;
//! - a match longer than the cap (a PEM block, a long JWT) is masked up to the end of the text seen
//!   so far, and the next events' continuation of it is swallowed until it ends.
//!
//! The phase keeps the last bytes it released as context, so the scan sees the same word and number
//! boundaries a scan of the whole answer would. Release counts are byte offsets on character
//! boundaries (all positions come from matches or character-aligned windows).

use crate::detectors::Detector;
use crate::mask::{self, sample};
use crate::matcher::{RuleHit, Scratch};
use crate::policy::{Action, Firewall, RuleBits, Scope};
use crate::prefix::earliest_viable;
use crate::report::Report;

/// Bytes of text after a match that decide whether it is one (`\b`, a digit group's separator).
const LOOKAHEAD: usize = 4;
/// Bytes of released text kept as the scan's left context.
const CONTEXT: usize = 16;

/// The hold-back to declare for a stream whose longest possible match is `window` bytes.
pub(crate) fn holdback(window: usize) -> usize {
    window + LOOKAHEAD + 4
}

/// A match longer than the cap that runs on into the next events.
#[derive(Debug, Clone, Copy)]
struct Continuation {
    detector: Detector,
    dots: u8,
}

/// Per-stream state.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    ctx: String,
    buf: String,
    hits: Vec<RuleHit>,
    scratch: Scratch,
    cont: Option<Continuation>,
    reported: RuleBits,
}

/// What one delta decided.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub release: usize,
    pub reports: Vec<Report>,
    pub block: Option<Report>,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl StreamState {
    /// Process `held` (the unreleased text plus the new delta) for the rules `want`.
    pub(crate) fn delta(
        &mut self,
        fw: &Firewall,
        want: &RuleBits,
        window: usize,
        held: &mut String,
        last: bool,
    ) -> Delta {
        let mut out = Delta::default();
        if let Some(c) = self.cont {
            let (eat, done, dots) = continuation(c, held, last);
            if eat > 0 {
                self.set_context(&held[..eat]);
                held.replace_range(..eat, "");
            }
            if !done {
                self.cont = Some(Continuation { dots, ..c });
                return out;
            }
            self.cont = None;
        }
        self.buf.clear();
        self.buf.push_str(&self.ctx);
        self.buf.push_str(held);
        let (base, len) = (self.ctx.len(), self.buf.len());
        self.hits.clear();
        fw.scanner.scan(&self.buf, want, &mut self.hits, &mut self.scratch);
        // A match inside the released context was dealt with; one reaching into it is cut there.
        self.hits.retain(|h| h.end > base);
        self.hits.iter_mut().for_each(|h| h.start = h.start.max(base));
        mask::sort(&mut self.hits);
        let buf = &self.buf;
        // Settled: the text runs past the longest the match could grow to, or past a byte its
        // matcher never contains (plus the lookahead either way).
        let settled = |h: &RuleHit| {
            last || h.start + fw.hit_window(h) + LOOKAHEAD <= len
                || fw.hit_bytes(h).is_some_and(|set| {
                    buf.as_bytes()[h.end..]
                        .iter()
                        .position(|b| !set.contains(*b))
                        .is_some_and(|q| h.end + q + LOOKAHEAD <= len)
                })
        };
        let action = |h: &RuleHit| fw.rule(h.rule).action;

        for h in self.hits.iter().filter(|h| settled(h)) {
            match action(h) {
                Action::Block => {
                    out.block = Some(self.report(h));
                    return out;
                }
                Action::Warn if !self.reported.contains(h.rule) => {
                    self.reported.insert(h.rule);
                    out.reports.push(self.report(h));
                }
                _ => {}
            }
        }

        let clusters = mask::clusters(&self.hits, |h| action(h) == Action::Mask && settled(h));
        let mut p = len;
        if !last {
            let w = floor_boundary(&self.buf, len.saturating_sub(window)).max(base);
            let pending = |from: usize| {
                let unsettled = self
                    .hits
                    .iter()
                    .filter(|h| action(h) != Action::Warn && !settled(h) && h.start >= from);
                let viable = earliest_viable(fw.viability.as_ref(), &self.buf, w.max(from));
                unsettled.map(|h| h.start).fold(viable, usize::min)
            };
            p = pending(base);
            for c in &clusters {
                if c.start < p && c.end > p {
                    if len - c.start <= holdback(window) {
                        p = c.start;
                        break;
                    }
                    p = pending(c.end).max(c.end);
                }
            }
        }

        let applied: Vec<mask::Cluster> = clusters.iter().copied().filter(|c| c.end <= p).collect();
        for c in &applied {
            let rules: Vec<usize> = (c.first..self.hits.len())
                .take_while(|&i| self.hits[i].start < c.end)
                .filter(|&i| action(&self.hits[i]) == Action::Mask && settled(&self.hits[i]))
                .collect();
            for i in rules {
                let h = self.hits[i];
                if !self.reported.contains(h.rule) {
                    self.reported.insert(h.rule);
                    out.reports.push(self.report(&h));
                }
                if !last && c.end == len && p == len && fw.hit_capped(&h) {
                    if let Some(d) = h.detector.filter(|d| continues(*d)) {
                        let dots = self.buf[h.start..h.end].bytes().filter(|b| *b == b'.').count();
                        self.cont = Some(Continuation {
                            detector: d,
                            dots: dots.min(255) as u8,
                        });
                    }
                }
            }
        }
        if applied.is_empty() {
            out.release = p - base;
        } else {
            let hits = &self.hits;
            let masked = mask::apply(&self.buf, base, p, &applied, |i| fw.replacement(&hits[i]));
            held.replace_range(..p - base, &masked);
            out.release = masked.len();
        }
        if p > base {
            let from = floor_boundary(&self.buf, p.saturating_sub(CONTEXT));
            self.ctx.clear();
            self.ctx.push_str(&self.buf[from..p]);
        }
        out
    }

    fn report(&self, h: &RuleHit) -> Report {
        Report {
            rule: h.rule,
            scope: Scope::Response,
            location: "answer".into(),
            sample: sample(&self.buf[h.start..h.end], h.detector),
        }
    }

    fn set_context(&mut self, eaten: &str) {
        let mut joined = std::mem::take(&mut self.ctx);
        joined.push_str(eaten);
        let from = floor_boundary(&joined, joined.len().saturating_sub(CONTEXT));
        self.ctx = joined[from..].to_string();
    }
}

/// Detectors whose over-long matches run on into the next events in a recognisable way.
fn continues(d: Detector) -> bool {
    d == Detector::Email || d.is_secret()
}

/// How much of `held` continues a capped match: (bytes, whether it ended, dots seen so far).
fn continuation(c: Continuation, held: &str, last: bool) -> (usize, bool, u8) {
    if c.detector == Detector::PrivateKey {
        let (eat, done) = pem_tail(held, last);
        return (eat, done, c.dots);
    }
    let b = held.as_bytes();
    let token = |x: u8| {
        x.is_ascii_alphanumeric()
            || x == b'_'
            || x == b'-'
            || (c.detector == Detector::Email && matches!(x, b'%' | b'+' | b'@'))
    };
    let mut dots = c.dots;
    let mut i = 0;
    while i < b.len() {
        if token(b[i]) {
            i += 1;
            continue;
        }
        let dot_ok = match c.detector {
            Detector::Jwt => dots < 2,
            Detector::Email => true,
            _ => false,
        };
        if b[i] != b'.' || !dot_ok {
            return (i, true, dots);
        }
        match b.get(i + 1) {
            Some(n) if token(*n) => {
                dots = dots.saturating_add(1);
                i += 1;
            }
            Some(_) => return (i, true, dots),
            // A dot at the end: the next event tells whether the token goes on.
            None => return (i, last, dots),
        }
    }
    (i, last, dots)
}

const END: &str = "-----END";

/// The rest of a PEM block: through its END line; a possible start of one at the end waits.
fn pem_tail(held: &str, last: bool) -> (usize, bool) {
    let mut from = 0;
    while let Some(i) = held[from..].find(END) {
        let at = from + i;
        match footer(&held[at..]) {
            Some(Some(n)) => return (at + n, true),
            Some(None) if !last => return (at, false),
            Some(None) => return (held.len(), true),
            None => from = at + END.len(),
        }
    }
    if last {
        return (held.len(), true);
    }
    let keep = (1..END.len())
        .rev()
        .find(|&k| held.len() >= k && held.is_char_boundary(held.len() - k) && END.starts_with(&held[held.len() - k..]))
        .unwrap_or(0);
    (held.len() - keep, false)
}

/// `Some(Some(len))`: a whole END line of `len` bytes; `Some(None)`: it may still become one;
/// `None`: not an END line of a private key.
fn footer(s: &str) -> Option<Option<usize>> {
    let b = s.as_bytes();
    let mut i = END.len();
    while i < b.len() && (b[i] == b' ' || b[i].is_ascii_uppercase() || b[i].is_ascii_digit()) {
        i += 1;
    }
    if i == b.len() {
        return Some(None);
    }
    let head = &s[END.len()..i];
    if !head.ends_with("PRIVATE KEY") && !head.ends_with("PRIVATE KEY BLOCK") {
        return None;
    }
    let rest = &s[i..];
    if rest.starts_with("-----") {
        Some(Some(i + 5))
    } else if "-----".starts_with(rest) {
        Some(None)
    } else {
        None
    }
}
