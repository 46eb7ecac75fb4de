//! One pass over a prompt: word tokens (hashed, lower-cased) and the cheap structural counts the
//! rules and the complexity estimate read (code syntax, math notation, lists, scripts).
//!
//! Everything is computed from bytes and chars without allocation beyond the token vector, so a
//! 2,000-token prompt scans in a few microseconds. Words are runs of letters/digits; Han, kana,
//! Hangul and Thai characters are one token each, because those scripts do not separate words with
//! spaces and their keywords (翻译, 要約, 번역) are short character sequences matched as n-grams.

/// Combines the hashes of consecutive tokens into an n-gram key (order-sensitive).
pub fn mix(prev: u64, next: u64) -> u64 {
    (prev.rotate_left(23) ^ next).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1
}

use super::ascii_run::{is_word_byte, word_run, Run};
use super::script::{is_plain_punct, mark_of, script_of, Script, N_SCRIPTS};
use super::token_hash::hash_token;

/// Scripts written without spaces between words: each character is its own token.
fn char_token(s: Script) -> bool {
    matches!(s, Script::Han | Script::Kana | Script::Hangul | Script::Thai)
}

/// Token flags.
pub const T_SENT_START: u8 = 1;
pub const T_LINE_START: u8 = 2;
pub const T_NUMBER: u8 = 4;
pub const T_CHAR: u8 = 8;
pub const T_SNAKE: u8 = 16;
pub const T_CAMEL: u8 = 32;
pub const T_CALL: u8 = 64;
pub const T_ASCII: u8 = 128;

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub start: u32,
    pub end: u32,
    /// Hash of the lower-cased token (see `hash_token`).
    pub hash: u64,
    pub flags: u8,
}

/// Structural counts over the whole text.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub bytes: usize,
    pub lines: u32,
    pub nonblank_lines: u32,
    pub fences: u32,
    pub backticks: u32,
    pub code_punct: u32,
    pub code_line_ends: u32,
    pub indented_lines: u32,
    pub list_lines: u32,
    pub option_lines: u32,
    pub questions: u32,
    pub ends_with_question: bool,
    pub equals: u32,
    pub double_eq: u32,
    pub arrows: u32,
    pub arith_ops: u32,
    pub math_symbols: u32,
    pub logic_symbols: u32,
    pub latex: u32,
    pub dollars: u32,
    pub percents: u32,
    pub numbers: u32,
    /// Numbers that look like years (1000–2099): dates, not quantities.
    pub years: u32,
    /// Numbers on multiple-choice option lines, and option lines holding a number.
    pub option_numbers: u32,
    pub numeric_options: u32,
    pub algebra: u32,
    pub func_notation: u32,
    pub calls: u32,
    pub snake: u32,
    pub camel: u32,
    pub dotted: u32,
    pub emoji: u32,
    pub urls: u32,
    pub quotes: u32,
    pub colons: u32,
    pub exclaims: u32,
    pub answer_suffix: bool,
    pub words: u32,
    pub script_chars: [u32; N_SCRIPTS],
    pub cjk_chars: u32,
    pub other_non_ascii: u32,
    /// `MARK_*` bits: letters that belong to one language only (ß, ñ, ư, і…).
    pub marks: u32,
}

pub struct Scan {
    pub toks: Vec<Tok>,
    pub stats: Stats,
}

fn is_logic_symbol(c: char) -> bool {
    matches!(c, '≡' | '⊃' | '∨' | '∧' | '¬' | '→' | '↔' | '∀' | '∃' | '⊢' | '⊨' | '•')
}

fn is_math_symbol(c: char) -> bool {
    matches!(
        c,
        '×' | '÷'
            | '√'
            | '∫'
            | '∑'
            | '∏'
            | 'π'
            | '≤'
            | '≥'
            | '≠'
            | '≈'
            | '∞'
            | '∈'
            | '∉'
            | '∪'
            | '∩'
            | '⊂'
            | '⊆'
            | '²'
            | '³'
            | '½'
            | '¼'
            | '¾'
            | '°'
            | 'θ'
            | 'Δ'
            | '∂'
            | '∇'
            | '−'
            | '±'
            | '⁄'
            | 'ℝ'
            | 'ℤ'
            | 'ℕ'
            | 'ℚ'
    )
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1f300..=0x1faff | 0x2600..=0x27bf | 0x1f000..=0x1f2ff)
}

/// Per-line state while scanning.
struct Line {
    numbers: u32,
    first: Option<u8>,
    first_two: [u8; 3],
    nfirst: usize,
    leading_ws: usize,
    last: u8,
    nonblank: bool,
}

impl Line {
    fn new() -> Self {
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

fn close_line(st: &mut Stats, l: &Line) {
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
struct TokBuf {
    toks: Vec<Tok>,
    head: usize,
    ring: Vec<Tok>,
    tail: usize,
    next: usize,
}

impl TokBuf {
    #[inline]
    fn push(&mut self, t: Tok) {
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
    fn finish(mut self, text: &str) -> Vec<Tok> {
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
fn finish(toks: &mut TokBuf, st: &mut Stats, bytes: &[u8], end: usize, next: char, w: &mut WordState) {
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
fn end_word(
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

/// Scans `text`, keeping the first `head` and the last `tail` tokens.
pub fn scan(text: &str, head: usize, tail: usize) -> Scan {
    let bytes = text.as_bytes();
    let mut st = Stats {
        bytes: bytes.len(),
        ..Stats::default()
    };
    let mut toks = TokBuf {
        toks: Vec::with_capacity(head.min(bytes.len() / 3 + 4)),
        head,
        ring: Vec::with_capacity(tail.min(bytes.len() / 3 + 4)),
        tail,
        next: 0,
    };
    let mut line = Line::new();
    let mut sent_start = true;
    let mut line_start = true;
    // Current word.
    let mut in_word = false;
    let mut prev_char = ' ';
    let mut prev_nonspace = ' ';
    let mut last_tok_number = false;
    let mut last_single = false;

    let mut ws = WordState::default();
    let mut ahead = (usize::MAX, ' ');
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if is_word_byte(b) {
            // Fast path, most bytes of a prompt: a run of ASCII letters and digits. Same effect
            // as the general path below, without its punctuation and per-char line cases.
            if !in_word {
                in_word = true;
                ws = WordState::new(i, prev_nonspace, sent_start, line_start);
                sent_start = false;
                line_start = false;
                line.nonblank = true;
                if line.first.is_none() {
                    line.first = Some(b);
                }
            }
            let (j, has_letter) = word_run(bytes, i, &mut ws.run);
            ws.has_alpha |= has_letter;
            for &b in &bytes[i..j] {
                if line.nfirst >= 3 {
                    break;
                }
                line.first_two[line.nfirst] = b;
                line.nfirst += 1;
            }
            line.last = bytes[j - 1];
            prev_nonspace = line.last as char;
            if bytes.get(j) == Some(&b' ') {
                // The word ends at a plain space (most do): take both here rather than dispatch the
                // space on its own. The line is not blank, so the space is not indentation.
                (last_tok_number, last_single) = end_word(&mut toks, &mut st, &mut line, bytes, &mut ws, j, ' ');
                in_word = false;
                prev_char = ' ';
                i = j + 1;
            } else {
                prev_char = prev_nonspace;
                i = j;
            }
            continue;
        }
        if b == b' ' {
            // Fast path for a plain space: it ends a word and otherwise only counts as indentation.
            if in_word {
                (last_tok_number, last_single) = end_word(&mut toks, &mut st, &mut line, bytes, &mut ws, i, ' ');
                in_word = false;
            }
            if !line.nonblank {
                line.leading_ws += 1;
            }
            prev_char = ' ';
            i += 1;
            continue;
        }
        // The char here was often decoded as the previous char's `next`.
        let (c, clen) = if ahead.0 == i {
            (ahead.1, ahead.1.len_utf8())
        } else {
            char_at(text, i)
        };
        let next = if i + clen < bytes.len() {
            char_at(text, i + clen).0
        } else {
            ' '
        };
        ahead = (i + clen, next);
        let script = if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                Some(Script::Latin)
            } else {
                None
            }
        } else {
            script_of(c)
        };
        if let Some(s) = script {
            // ASCII letters are counted in one pass after the scan.
            if !c.is_ascii() {
                st.script_chars[s as usize] += 1;
                st.marks |= mark_of(c);
                if char_token(s) {
                    st.cjk_chars += 1;
                } else {
                    st.other_non_ascii += 1;
                }
            }
        } else if !c.is_ascii() {
            st.other_non_ascii += 1;
        }
        // Unicode property lookups are costly: a char with a known script is a letter, and only
        // the rest (punctuation, digits of other scripts) needs `is_numeric`.
        let wordish = if c.is_ascii() {
            is_word_byte(c as u8)
        } else {
            script.is_some() || (!is_plain_punct(c) && c.is_numeric())
        };
        let apostrophe_inside = (c == '\'' || c == '’') && in_word && next.is_alphabetic();
        let cjk = script.is_some_and(char_token);
        if in_word && (cjk || !(wordish || apostrophe_inside)) {
            // "c++", "c#", "f#": keep the language name whole.
            let mut end = i;
            if i - ws.start == 1 && (c == '+' || c == '#') {
                let b0 = bytes[ws.start].to_ascii_lowercase();
                if b0 == b'c' || b0 == b'f' {
                    if c == '+' && next == '+' {
                        end = i + 2;
                    } else {
                        end = i + 1;
                    }
                }
            }
            (last_tok_number, last_single) = end_word(&mut toks, &mut st, &mut line, bytes, &mut ws, end, c);
            in_word = false;
        }
        if cjk {
            let flags = T_CHAR | if sent_start { T_SENT_START } else { 0 } | if line_start { T_LINE_START } else { 0 };
            st.words += 1;
            toks.push(Tok {
                start: i as u32,
                end: (i + c.len_utf8()) as u32,
                hash: 0,
                flags,
            });
            sent_start = false;
            line_start = false;
        } else if wordish || apostrophe_inside {
            if !in_word {
                in_word = true;
                ws = WordState::new(i, prev_nonspace, sent_start, line_start);
                sent_start = false;
                line_start = false;
            }
            let lc = if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(c)
            };
            let letter = script.is_some();
            if letter || !(c.is_ascii_digit() || c == '.' || (!c.is_ascii() && c.is_numeric())) {
                ws.run.digits_only = false;
            } else if ws.run.digits_only && c.is_ascii_digit() {
                ws.run.lead_digits += 1;
            }
            if letter {
                ws.has_alpha = true;
                // Lower-casing changed it: it was upper case (no second table lookup).
                let upper = lc != c;
                if upper && ws.run.prev_lower {
                    ws.run.humps = ws.run.humps.saturating_add(1);
                }
                ws.run.prev_lower = !upper;
            }
            if c == '_' {
                ws.run.underscore = true;
            }
            if !c.is_ascii() {
                ws.ascii = false;
            }
        } else {
            // Punctuation and whitespace.
            match c {
                '\n' => {}
                '?' | '？' => st.questions += 1,
                '!' | '！' => st.exclaims += 1,
                '`' => st.backticks += 1,
                '{' | '}' | ';' | '[' | ']' | '<' | '>' | '|' | '&' => st.code_punct += 1,
                '=' => {
                    st.equals += 1;
                    if next == '=' || prev_char == '=' || prev_char == '!' {
                        st.double_eq += 1;
                    }
                    if next == '>' {
                        st.arrows += 1;
                    }
                }
                '$' => st.dollars += 1,
                ':' | '：' => st.colons += 1,
                '%' => st.percents += 1,
                '\\' if next.is_ascii_alphabetic() => st.latex += 1,
                '"' | '“' | '”' | '«' | '»' | '「' | '」' => st.quotes += 1,
                _ => {}
            }
            if last_single && is_operator(c) {
                // A single-letter variable before an operator: "x + 1", "y=2".
                st.algebra += 1;
                last_single = false;
            }
            let between_digits = prev_nonspace.is_ascii_digit() && (next.is_ascii_digit() || next == ' ');
            if matches!(c, '–' | '•' | '·') && between_digits {
                st.arith_ops += 1;
            } else if matches!(c, '+' | '*' | '/' | '^' | '-' | '×' | '÷' | '−')
                && (prev_nonspace.is_ascii_digit() || prev_nonspace == ')' || last_tok_number)
                && (next.is_ascii_digit() || next == ' ' || next == '(')
            {
                // Arithmetic between operands ("16 - 3", "2^3", "4*5"), not hyphenated words.
                let glued_hyphen = c == '-' && prev_char.is_ascii_digit() && next.is_ascii_digit();
                if !glued_hyphen && (prev_nonspace.is_ascii_digit() || prev_nonspace == ')' || next.is_ascii_digit()) {
                    st.arith_ops += 1;
                }
            }
            if c == '-' && next == '>' {
                st.arrows += 1;
            }
            if c == '.' && prev_char.is_ascii_alphabetic() && next.is_ascii_lowercase() && in_word_before(bytes, i) {
                st.dotted += 1;
            }
            // Math, logic and emoji symbols are all outside ASCII.
            if !c.is_ascii() {
                if is_math_symbol(c) {
                    st.math_symbols += 1;
                }
                if is_logic_symbol(c) && !between_digits {
                    st.logic_symbols += 1;
                }
                if is_emoji(c) {
                    st.emoji += 1;
                }
            }
            if matches!(c, '.' | '!' | '?' | '。' | '？' | '！' | ':' | '\n') && !(c == '.' && next.is_alphanumeric())
            {
                sent_start = true;
            }
        }
        // Line bookkeeping.
        if c == '\n' {
            last_single = false;
            st.lines += 1;
            close_line(&mut st, &line);
            line = Line::new();
            line_start = true;
            sent_start = true;
        } else if c == ' ' || c == '\t' {
            if !line.nonblank {
                line.leading_ws += if c == '\t' { 4 } else { 1 };
            }
        } else {
            line.nonblank = true;
            if line.nfirst < 3 && c.is_ascii() {
                line.first_two[line.nfirst] = c as u8;
                line.nfirst += 1;
            } else if line.nfirst < 3 {
                line.nfirst = 3;
            }
            if line.first.is_none() {
                line.first = Some(if c.is_ascii() { c as u8 } else { 0 });
            }
            line.last = if c.is_ascii() { c as u8 } else { 0 };
        }
        if c == '`' && next == '`' && prev_char != '`' {
            // Count a ``` fence once at its first backtick.
            if text.get(i..i + 3) == Some("```") {
                st.fences += 1;
            }
        }
        if wordish || !(c.is_ascii_whitespace() || (!c.is_ascii() && c.is_whitespace())) {
            prev_nonspace = c;
        }
        prev_char = c;
        i += clen;
    }
    if in_word {
        finish(&mut toks, &mut st, bytes, bytes.len(), ' ', &mut ws);
    }
    st.lines += 1;
    close_line(&mut st, &line);
    let trimmed = text.trim_end();
    st.ends_with_question = trimmed.ends_with('?') || trimmed.ends_with('？');
    st.answer_suffix = trimmed.ends_with("Answer:");
    st.urls = memchr::memmem::find_iter(bytes, b"://").count() as u32;
    st.script_chars[Script::Latin as usize] += ascii_letters(bytes);
    Scan {
        toks: toks.finish(text),
        stats: st,
    }
}

/// How many ASCII letters `bytes` holds: one vectorisable pass instead of a count per word.
fn ascii_letters(bytes: &[u8]) -> u32 {
    // Counted in u8 lanes over 255-byte blocks (no lane can overflow), which vectorises sixteen
    // bytes per instruction rather than four.
    bytes
        .chunks(255)
        .map(|block| {
            let n = block.iter().fold(0u8, |n, &b| {
                n.wrapping_add(u8::from((b | 0x20).wrapping_sub(b'a') < 26))
            });
            u32::from(n)
        })
        .sum()
}

/// Whether `c` is an arithmetic or comparison operator (a single letter after one is a variable).
fn is_operator(c: char) -> bool {
    matches!(c, '+' | '-' | '*' | '/' | '=' | '^' | '<' | '>' | '−' | '×')
}

/// The char starting at byte `i` (a char boundary) and its length.
#[inline]
fn char_at(text: &str, i: usize) -> (char, usize) {
    let bytes = text.as_bytes();
    let b = bytes[i];
    if b < 0x80 {
        return (b as char, 1);
    }
    // `text` is valid UTF-8 and `i` a char boundary, so a plain decode is enough; anything else
    // degrades to a space rather than panicking.
    let cont = |k: usize| u32::from(bytes.get(i + k).copied().unwrap_or(0x80) & 0x3f);
    let (u, n) = if b < 0xe0 {
        ((u32::from(b & 0x1f) << 6) | cont(1), 2)
    } else if b < 0xf0 {
        ((u32::from(b & 0x0f) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (
            (u32::from(b & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        )
    };
    (char::from_u32(u).unwrap_or(' '), n)
}

/// True if the byte before `i` ends an identifier-like run (for `obj.method` detection).
fn in_word_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1].is_ascii_alphanumeric()
}

#[derive(Default)]
struct WordState {
    /// What the word's bytes so far say (digits, humps, underscores), shared with `word_run`.
    run: Run,
    /// The last non-space char before the word.
    before: char,
    start: usize,
    has_alpha: bool,
    ascii: bool,
    sent: bool,
    line: bool,
}

impl WordState {
    /// A word starting at byte `start`, after the non-space char `before`.
    fn new(start: usize, before: char, sent: bool, line: bool) -> WordState {
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

/// Hash of `key` tokenised as the scanner would (used to build the lexicon): the n-gram key of
/// its tokens, or `None` for an empty key.
pub fn key_hash(key: &str) -> Option<u64> {
    let s = scan(key, 16, 0);
    let mut it = s.toks.iter();
    let first = it.next()?.hash;
    Some(it.fold(first, |h, t| mix(h, t.hash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_counts_read_from_the_text() {
        // Years (ASCII and from a word that starts in the general path), coefficients glued to a
        // variable, single-letter variables after an operator, camelCase, and the Latin letters of
        // both paths (ASCII letters and é).
        let s = scan(
            "In 2024 and «2019» we saw 3x growth; x + y = 2p. fooBar Barfoo café ٢٠٢٤",
            64,
            0,
        )
        .stats;
        assert_eq!(s.years, 2, "{s:?}");
        assert_eq!(s.algebra, 5, "3x, x before +, y after + and before =, 2p: {s:?}");
        assert_eq!(s.camel, 1, "{s:?}");
        let latin = "Inandwesawxgrowthxyp".len() + "fooBarBarfoocafé".chars().count();
        assert_eq!(s.script_chars[Script::Latin as usize] as usize, latin, "{s:?}");
        assert_eq!((s.words, s.numbers), (15, 2), "{s:?}");
    }
}
