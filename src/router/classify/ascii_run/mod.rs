//! The classifier scan's fast path: a run of ASCII word bytes (`[A-Za-z0-9_]`, most of a prompt's
//! bytes) walked eight bytes at a time, with the per-word facts the scan needs (letters, leading
//! digits, camelCase humps, underscores) taken from byte masks instead of byte by byte.

/// What the scan learns from a run of ASCII word bytes (`[A-Za-z0-9_]`), carried across runs of
/// one word (a word can mix ASCII runs and other letters).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Every byte so far was a digit.
    pub digits_only: bool,
    /// Digits before the first non-digit.
    pub lead_digits: usize,
    /// The last letter so far was lower case.
    pub prev_lower: bool,
    /// Upper-case letters right after a lower-case one (camelCase humps), saturating.
    pub humps: u8,
    pub underscore: bool,
}

impl Run {
    /// A word's state before its first byte.
    pub fn start() -> Run {
        Run {
            digits_only: true,
            lead_digits: 0,
            prev_lower: false,
            humps: 0,
            underscore: false,
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` (every byte < 0x80) that lies in `lo..=hi`.
#[inline]
fn bytes_in(x: u64, lo: u8, hi: u8) -> u64 {
    let above_hi = x + ONES * u64::from(0x7f - hi);
    let from_lo = x + ONES * u64::from(0x80 - lo);
    from_lo & !above_hi & HIGHS
}

const HIGHS_16: u128 = (HIGHS as u128) << 64 | HIGHS as u128;

/// `bytes_in` over sixteen bytes: its two halves side by side.
#[inline]
fn bytes_in_16(x: u128, lo: u8, hi: u8) -> u128 {
    u128::from(bytes_in((x >> 64) as u64, lo, hi)) << 64 | u128::from(bytes_in(x as u64, lo, hi))
}

/// `w` (ASCII bytes) with its upper-case letters lower-cased: the 0x20 bit set on each.
#[inline]
pub fn ascii_lower(w: u64) -> u64 {
    w | (bytes_in(w, b'A', b'Z') >> 2)
}

/// Extends `r` over the run of ASCII word bytes starting at `bytes[i]`; returns where the run ends
/// and whether it has a letter. Eight bytes at a time: most of a prompt's bytes go through here.
#[inline]
pub fn word_run(bytes: &[u8], i: usize, r: &mut Run) -> (usize, bool) {
    // Most runs are lower-case letters, perhaps capitalised, ended by a space or punctuation:
    // those are settled from the lower-case mask alone (no digit, no underscore, a hump only at a
    // capital after a lower-case letter). Sixteen bytes at once, so that long words ("regression",
    // "infrastructure") stay on this path too: which path a word takes is then predictable.
    if let Some(chunk) = bytes.get(i..i + 16) {
        let w = u128::from_le_bytes(chunk.try_into().unwrap_or([0; 16]));
        let capital = chunk[0].is_ascii_uppercase();
        let lower = bytes_in_16(w & !HIGHS_16, b'a', b'z') & !w & HIGHS_16;
        let letters = lower | u128::from(capital) << 7;
        let n = (!letters & HIGHS_16).trailing_zeros() as usize / 8;
        if (1..16).contains(&n) && !is_word_byte(bytes[i + n]) {
            r.digits_only = false;
            r.humps = r.humps.saturating_add(u8::from(capital & r.prev_lower));
            r.prev_lower = !(capital & (n == 1));
            return (i + n, true);
        }
    }
    let mut j = i;
    let mut any_letter = false;
    while let Some(chunk) = bytes.get(j..j + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let ascii = !w & HIGHS;
        let x = w & !HIGHS;
        let lower = bytes_in(x, b'a', b'z') & ascii;
        let upper = bytes_in(x, b'A', b'Z') & ascii;
        let digit = bytes_in(x, b'0', b'9') & ascii;
        let under = bytes_in(x, b'_', b'_') & ascii;
        let word = lower | upper | digit | under;
        // The run's bytes in this chunk: those before the first non-word byte.
        let stop = !word & HIGHS;
        // Branch-free: with no stop byte, trailing_zeros is 64 and the mask covers every byte.
        let n = stop.trailing_zeros() as usize / 8;
        let m = HIGHS & stop.wrapping_sub(1) & !stop;
        let (lower, upper, digit) = (lower & m, upper & m, digit & m);
        let alpha = lower | upper;
        any_letter |= alpha != 0;
        if r.digits_only {
            let non_digit = m & !digit;
            r.lead_digits += if non_digit == 0 {
                n
            } else {
                non_digit.trailing_zeros() as usize / 8
            };
            r.digits_only = non_digit == 0;
        }
        r.underscore |= under & m != 0;
        // A hump is an upper-case letter whose last preceding letter is lower case.
        let mut ups = upper;
        while ups != 0 {
            let bit = ups.trailing_zeros();
            let before = alpha & ((1u64 << bit) - 1);
            let prev_lower = if before == 0 {
                r.prev_lower
            } else {
                lower & (1u64 << (63 - before.leading_zeros())) != 0
            };
            r.humps = r.humps.saturating_add(u8::from(prev_lower));
            ups &= ups - 1;
        }
        if alpha != 0 {
            r.prev_lower = lower & (1u64 << (63 - alpha.leading_zeros())) != 0;
        }
        j += n;
        if n < 8 {
            return (j, any_letter);
        }
    }
    let (end, tail_letters) = word_run_bytewise(bytes, j, r);
    (end, any_letter || tail_letters)
}

/// An ASCII word byte: a letter, a digit or `_`.
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `word_run` one byte at a time: its definition, and its last few bytes.
fn word_run_bytewise(bytes: &[u8], i: usize, r: &mut Run) -> (usize, bool) {
    let mut j = i;
    let mut any_letter = false;
    while let Some(&b) = bytes.get(j) {
        if !is_word_byte(b) {
            break;
        }
        let digit = b.is_ascii_digit();
        r.lead_digits += usize::from(digit && r.digits_only);
        r.digits_only &= digit;
        if b.is_ascii_alphabetic() {
            any_letter = true;
            let upper = b.is_ascii_uppercase();
            r.humps = r.humps.saturating_add(u8::from(upper && r.prev_lower));
            r.prev_lower = !upper;
        }
        r.underscore |= b == b'_';
        j += 1;
    }
    (j, any_letter)
}

#[cfg(test)]
mod tests;
