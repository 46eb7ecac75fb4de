//! The lexicon lookup: every token, and every 2..5-gram ending at it, in the instruction-bearing
//! windows of a prompt, weighted by where it sits. The task rules (`rules`) read the hits.
//!
//! Only the head (first `HEAD` tokens) and the tail (last `TAIL` tokens) are looked up: that is
//! where an instruction sits ("Summarize the following…", "…TL;DR"), and it bounds the cost on long
//! prompts; the middle contributes through the structural counts only.

use super::lexicon::*;
use super::text::{mix, Scan, Tok, T_CHAR, T_LINE_START, T_NUMBER, T_SENT_START};

pub const HEAD: usize = 320;
pub const TAIL: usize = 160;
/// Tokens in these zones weigh fully; the rest of the head/tail windows weigh `MID_WEIGHT`.
const ZONE_HEAD: usize = 60;
const ZONE_TAIL: usize = 40;
const MID_WEIGHT: f32 = 0.4;
/// A cue counts as the request's verb when at most this many tokens precede it in its sentence
/// ("Could you please write…").
const LEAD: u32 = 5;

#[derive(Debug, Clone)]
pub struct Hits {
    /// Weighted number of hits per category bit.
    pub w: [f32; 64],
    /// Categories hit near a sentence start (imperative position).
    pub start: u64,
    /// Categories hit within the first few tokens of the text.
    pub first: u64,
    /// Categories hit in imperative position in the text's first sentence or its last
    /// `ZONE_TAIL` tokens: where a request around a pasted document sits.
    pub directive: u64,
    /// Categories of the very first token.
    pub tok0: u64,
    /// Categories hit anywhere looked up.
    pub any: u64,
    /// Code keywords opening a line that carries code punctuation.
    pub code_line_starts: u32,
    pub n_tok: usize,
}

impl Default for Hits {
    fn default() -> Self {
        Hits {
            w: [0.0; 64],
            start: 0,
            first: 0,
            directive: 0,
            tok0: 0,
            any: 0,
            code_line_starts: 0,
            n_tok: 0,
        }
    }
}

impl Hits {
    #[inline]
    pub fn n(&self, cat: u64) -> f32 {
        self.w[cat.trailing_zeros() as usize]
    }
    #[inline]
    pub fn has(&self, cat: u64) -> bool {
        self.any & cat != 0
    }
    #[inline]
    pub fn at_start(&self, cat: u64) -> bool {
        self.start & cat != 0
    }
}

fn add_cats(h: &mut Hits, cats: u64, weight: f32, lead: u32, first: bool, zone: bool) {
    if cats == 0 {
        return;
    }
    h.any |= cats;
    if lead <= LEAD {
        h.start |= cats;
        if zone {
            h.directive |= cats;
        }
    }
    if first {
        h.first |= cats;
    }
    let mut c = cats;
    while c != 0 {
        let b = c.trailing_zeros() as usize;
        h.w[b] += weight;
        c &= c - 1;
    }
}

/// Looks up every token and every 2..5-gram ending at it in the head and tail windows.
pub fn hits(text: &str, scan: &Scan) -> Hits {
    let lex = Lexicon::get();
    let toks = &scan.toks;
    let n = toks.len();
    let mut h = Hits {
        n_tok: n,
        ..Hits::default()
    };
    let tail_from = n.saturating_sub(TAIL).max(HEAD.min(n));
    let windows = [(0, HEAD.min(n)), (tail_from, n)];
    let bytes = text.as_bytes();
    for (from, to) in windows {
        // Hashes of the n-grams ending at the previous token, and the lead of their first token.
        let mut grams = [0u64; 4];
        let mut leads = [0u32; 5];
        let mut lead = 0u32;
        // Still in the text's first sentence (the head window starts the text).
        let mut opening = from == 0;
        for (i, t) in toks.iter().enumerate().take(to).skip(from) {
            if t.flags & T_SENT_START != 0 {
                opening &= i == 0;
                lead = 0;
            } else {
                lead += 1;
            }
            if t.flags & T_NUMBER != 0 {
                grams = [0; 4];
                leads = [lead; 5];
                continue;
            }
            let (head_zone, tail_zone) = (i < ZONE_HEAD, i + ZONE_TAIL >= n);
            let zone = (opening && head_zone) || tail_zone;
            let weight = if head_zone || tail_zone { 1.0 } else { MID_WEIGHT };
            // Shift: leads[k] is the lead of the first token of the (k+1)-gram ending here.
            leads.copy_within(0..4, 1);
            leads[0] = lead;
            let uni = lex.lookup(t.hash);
            if i == 0 {
                h.tok0 = uni;
            }
            add_cats(&mut h, uni, weight, lead, i <= 3, zone);
            if uni & CODE_LINE != 0 && t.flags & T_LINE_START != 0 && line_has_code_punct(bytes, t) {
                h.code_line_starts += 1;
            }
            let mut next = [0u64; 4];
            next[0] = t.hash;
            for k in 0..3 {
                if grams[k] == 0 {
                    break;
                }
                let g = mix(grams[k], t.hash);
                next[k + 1] = g;
                let cats = lex.lookup(g);
                if cats != 0 {
                    let start_idx = i.saturating_sub(k + 1);
                    add_cats(&mut h, cats, weight, leads[k + 1], start_idx <= 3, zone);
                    if start_idx == 0 {
                        h.tok0 |= cats;
                    }
                }
            }
            // 5-grams ("which one of the following") from the 4-gram slot.
            if grams[3] != 0 {
                let g = mix(grams[3], t.hash);
                add_cats(&mut h, lex.lookup(g), weight, leads[4], i <= 7, zone);
            }
            grams = next;
        }
    }
    h
}

/// True if the line holding `t` has code punctuation after the keyword (`def f(`, `x = `, `{`).
fn line_has_code_punct(bytes: &[u8], t: &Tok) -> bool {
    if t.flags & T_CHAR != 0 {
        return false;
    }
    let rest = &bytes[t.end as usize..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len()).min(160);
    rest[..end]
        .iter()
        .any(|&b| matches!(b, b'(' | b'=' | b'{' | b';' | b'<' | b'[' | b'*'))
}
