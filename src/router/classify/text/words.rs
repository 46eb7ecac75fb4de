//! What the scan keeps while it reads: the current line's counts (closed into `Stats` at its end),
//! the current word (its flags and counts, added when it ends), and the token buffer that keeps the
//! first and last tokens of a long text.

use super::chars::is_operator;
use super::{Stats, Tok, T_ASCII, T_CALL, T_CAMEL, T_LINE_START, T_NUMBER, T_SENT_START, T_SNAKE};
use crate::router::classify::ascii_run::Run;
use crate::router::classify::token_hash::hash_token;

/// Per-line state while scanning.
pub(super) struct Line {
    pub(super) numbers: u32,
    pub(super) first: Option<u8>,
    pub(super) first_two: [u8; 3],
    pub(super) nfirst: usize,
    pub(super) leading_ws: usize,
    pub(super) last: u8,
    pub(super) nonblank: bool,
}

impl Line {
    pub(super) fn new() -> Self {
        Line {
            numbers: 0,
            first: None,
            first_two: [0; 3],
            nfirst: 0,
            leading_ws: 0,
            last: 0,
            nonblank: false,
        }
    }
}

pub(super) fn close_line(st: &mut Stats, l: &Line) {
    if !l.nonblank {
        return;
    }
    st.nonblank_lines += 1;
    if matches!(l.last, b';' | b'{' | b'}' | b')' | b':') && l.first != Some(b'#') {
        // `:` ends Python blocks, but also prose lead-ins ("as follows:"); indentation disambiguates.
        if l.last != b':' || l.leading_ws >= 2 {
            st.code_line_ends += 1;
        }
    }
    if l.leading_ws >= 4 {
        st.indented_lines += 1;
    }
    let f = l.first_two;
    let bullet = matches!(f[0], b'-' | b'*' | b'+') && f[1] == b' ';
    let numbered = f[0].is_ascii_digit() && matches!(f[1], b'.' | b')');
    if bullet || numbered {
        st.list_lines += 1;
    }
    // Multiple-choice options: "A. ...", "B) ...", "(c) ...".
    let opt = (f[0].is_ascii_alphabetic() && matches!(f[1], b'.' | b')') && f[0].to_ascii_uppercase() <= b'H')
        || (f[0] == b'(' && f[1].is_ascii_alphabetic() && f[2] == b')');
    if opt {
        st.option_lines += 1;
        st.option_numbers += l.numbers;
        if l.numbers > 0 {
            st.numeric_options += 1;
        }
    }
}

/// Keeps the first `head` tokens and the last `tail` ones (where instructions sit); the structural
/// counts cover everything. Memory stays bounded and cost linear on very long inputs.
pub(super) struct TokBuf {
    pub(super) toks: Vec<Tok>,
    pub(super) head: usize,
    pub(super) ring: Vec<Tok>,
    pub(super) tail: usize,
    pub(super) next: usize,
}

impl TokBuf {
    #[inline]
    pub(super) fn push(&mut self, t: Tok) {
        if self.toks.len() < self.head {
            self.toks.push(t);
        } else if self.tail > 0 {
            if self.ring.len() < self.tail {
                self.ring.push(t);
            } else {
                self.ring[self.next] = t;
                self.next = if self.next + 1 == self.tail { 0 } else { self.next + 1 };
            }
        }
    }

    /// The kept tokens in order, hashed: only these need a hash, so the scan's per-byte loop does
    /// not compute one for the tokens of a long middle that are dropped.
    pub(super) fn finish(mut self, text: &str) -> Vec<Tok> {
        self.ring.rotate_left(self.next);
        self.toks.extend_from_slice(&self.ring);
        for t in &mut self.toks {
            t.hash = hash_token(text, t.start as usize, t.end as usize, t.flags & T_ASCII != 0);
        }
        self.toks
    }
}

/// A word ends at `end` (before `next`): its flags and counts, and its token kept if in the windows.
#[inline(always)]
pub(super) fn finish(toks: &mut TokBuf, st: &mut Stats, bytes: &[u8], end: usize, next: char, w: &mut WordState) {
    let mut flags = 0u8;
    if w.sent {
        flags |= T_SENT_START;
    }
    if w.line {
        flags |= T_LINE_START;
    }
    let len = end - w.start;
    if w.run.digits_only {
        flags |= T_NUMBER;
        st.numbers += 1;
        // A word of digits has an ASCII first byte unless it starts with another script's digit.
        let year_like = bytes[w.start] == b'1' || (bytes[w.start] == b'2' && bytes.get(w.start + 1) == Some(&b'0'));
        if len == 4 && year_like {
            st.years += 1;
        }
    } else if w.run.lead_digits > 0
        && w.run.lead_digits + 1 == len
        // Leading ASCII digits and one more byte: that byte is an ASCII char, the word's last.
        && matches!(
            bytes[end - 1].to_ascii_lowercase(),
            b'x' | b'y' | b'z' | b'n' | b'p' | b'q' | b'a' | b'b' | b'c' | b't'
        )
    {
        // A coefficient glued to a variable: "3x", "2p".
        st.algebra += 1;
    } else if len == 1 && w.ascii && w.has_alpha && is_operator(w.before) {
        // A single-letter variable right after an operator: "x + y", "p = 4".
        st.algebra += 1;
    }
    if w.ascii {
        flags |= T_ASCII;
    }
    if w.run.underscore && w.has_alpha {
        flags |= T_SNAKE;
        st.snake += 1;
    }
    if w.run.humps >= 1 && end - w.start >= 5 && w.ascii && bytes[w.start].is_ascii_lowercase() {
        flags |= T_CAMEL;
        st.camel += 1;
    }
    if next == '(' && w.has_alpha {
        flags |= T_CALL;
        if end - w.start == 1 {
            st.func_notation += 1;
        } else {
            st.calls += 1;
        }
    }
    st.words += 1;
    toks.push(Tok {
        start: w.start as u32,
        end: end as u32,
        hash: 0,
        flags,
    });
}

/// A word ends at `end` before `next`: `finish` it, count a number on its line, and return what
/// the scan carries to the next char (the word was a number; it was a single ASCII letter).
#[inline(always)]
pub(super) fn end_word(
    toks: &mut TokBuf,
    st: &mut Stats,
    line: &mut Line,
    bytes: &[u8],
    ws: &mut WordState,
    end: usize,
    next: char,
) -> (bool, bool) {
    finish(toks, st, bytes, end, next, ws);
    if ws.run.digits_only {
        line.numbers += 1;
    }
    (ws.run.digits_only, end - ws.start == 1 && ws.has_alpha && ws.ascii)
}

#[derive(Default)]
pub(super) struct WordState {
    /// What the word's bytes so far say (digits, humps, underscores), shared with `word_run`.
    pub(super) run: Run,
    /// The last non-space char before the word.
    pub(super) before: char,
    pub(super) start: usize,
    pub(super) has_alpha: bool,
    pub(super) ascii: bool,
    pub(super) sent: bool,
    pub(super) line: bool,
}

impl WordState {
    /// A word starting at byte `start`, after the non-space char `before`.
    pub(super) fn new(start: usize, before: char, sent: bool, line: bool) -> WordState {
        WordState {
            run: Run::start(),
            before,
            start,
            has_alpha: false,
            ascii: true,
            sent,
            line,
        }
    }
}
