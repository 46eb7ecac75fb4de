//! Character classes the scan counts: math, logic and emoji symbols, arithmetic operators, the
//! scripts written without spaces, and the byte-level helpers of its loop (decoding a char at a
//! byte offset, counting ASCII letters in one vectorisable pass).

use crate::router::classify::script::Script;

/// Scripts written without spaces between words: each character is its own token.
pub(super) fn char_token(s: Script) -> bool {
    matches!(s, Script::Han | Script::Kana | Script::Hangul | Script::Thai)
}

pub(super) fn is_logic_symbol(c: char) -> bool {
    matches!(c, '≡' | '⊃' | '∨' | '∧' | '¬' | '→' | '↔' | '∀' | '∃' | '⊢' | '⊨' | '•')
}

pub(super) fn is_math_symbol(c: char) -> bool {
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

pub(super) fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1f300..=0x1faff | 0x2600..=0x27bf | 0x1f000..=0x1f2ff)
}

/// How many ASCII letters `bytes` holds: one vectorisable pass instead of a count per word.
pub(super) fn ascii_letters(bytes: &[u8]) -> u32 {
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
pub(super) fn is_operator(c: char) -> bool {
    matches!(c, '+' | '-' | '*' | '/' | '=' | '^' | '<' | '>' | '−' | '×')
}

/// The char starting at byte `i` (a char boundary) and its length.
#[inline]
pub(super) fn char_at(text: &str, i: usize) -> (char, usize) {
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
pub(super) fn in_word_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1].is_ascii_alphanumeric()
}
