//! One pass over a prompt: word tokens (hashed, lower-cased) and the cheap structural counts the
//! rules and the complexity estimate read (code syntax, math notation, lists, scripts).
//!
//! Everything is computed from bytes and chars without allocation beyond the token vector, so a
//! 2,000-token prompt scans in a few microseconds. Words are runs of letters/digits; Han, kana,
//! Hangul and Thai characters are one token each, because those scripts do not separate words with
//! spaces and their keywords (翻译, 要約, 번역) are short character sequences matched as n-grams.

mod chars;
mod words;

use super::ascii_run::{is_word_byte, word_run};
use super::script::{is_plain_punct, mark_of, script_of, Script, N_SCRIPTS};
use chars::{
    ascii_letters, char_at, char_token, in_word_before, is_emoji, is_logic_symbol, is_math_symbol, is_operator,
};
use words::{close_line, end_word, finish, Line, TokBuf, WordState};

/// Combines the hashes of consecutive tokens into an n-gram key (order-sensitive).
pub fn mix(prev: u64, next: u64) -> u64 {
    (prev.rotate_left(23) ^ next).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1
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

/// Hash of `key` tokenised as the scanner would (used to build the lexicon): the n-gram key of
/// its tokens, or `None` for an empty key.
pub fn key_hash(key: &str) -> Option<u64> {
    let s = scan(key, 16, 0);
    let mut it = s.toks.iter();
    let first = it.next()?.hash;
    Some(it.fold(first, |h, t| mix(h, t.hash)))
}

#[cfg(test)]
mod tests;
