//! Token hashes: a token's lower-cased bytes (ASCII lower case, the first char of a Unicode lower
//! case, `’` read as `'`) read as little-endian 64-bit words, the last one zero-padded, mixed one
//! multiply per word, with the length last. Only the classifier's own tables read them, and the
//! lexicon is hashed by the same scan (`text::key_hash`), so only consistency matters.

use super::ascii_run::ascii_lower;
use super::script::uncased;

const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;
const HASH_FINAL: u64 = 0xff51_afd7_ed55_8ccd;

#[inline]
fn hash_word(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(HASH_MUL).rotate_left(29)
}

/// The token's length goes in last, so a token lower-cased on the fly need not be measured first.
#[inline]
fn hash_end(h: u64, len: usize) -> u64 {
    let h = h ^ (len as u64).wrapping_mul(HASH_MUL);
    let h = (h ^ (h >> 32)).wrapping_mul(HASH_FINAL);
    h ^ (h >> 29)
}

/// Hash of the token `text[start..end]`. ASCII tokens, nearly all of them, are lower-cased eight
/// bytes at a time; others go through `hash_span`.
pub fn hash_token(text: &str, start: usize, end: usize, ascii: bool) -> u64 {
    if !ascii {
        return hash_span(&text[start..end]);
    }
    let bytes = text.as_bytes();
    let mut h = HASH_SEED;
    let mut i = start;
    while i < end {
        let Some(chunk) = bytes.get(i..i + 8) else { break };
        if i + 8 > end {
            // The last, partial word: mask off the bytes past the token.
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            let keep = (end - i) * 8;
            return hash_end(hash_word(h, ascii_lower(w & ((1u64 << keep) - 1))), end - start);
        }
        h = hash_word(h, ascii_lower(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))));
        i += 8;
    }
    // Within eight bytes of the text's end: assemble the rest byte by byte.
    let mut w = 0u64;
    for (k, &b) in bytes[i..end].iter().enumerate() {
        w |= u64::from(b.to_ascii_lowercase()) << (8 * k);
    }
    if i < end {
        h = hash_word(h, w);
    }
    hash_end(h, end - start)
}

/// Hash of a token as the scanner lower-cases it: ASCII lower case, the first char of a Unicode
/// lower case, and `’` read as `'`; the lower-cased bytes are hashed as `hash_token` does.
fn hash_span(s: &str) -> u64 {
    // The lower-cased bytes are gathered eight at a time into `w`, as `hash_token` reads them.
    let (mut h, mut w, mut n, mut len) = (HASH_SEED, 0u64, 0usize, 0usize);
    for c in s.chars() {
        let lc = if c.is_ascii() {
            c.to_ascii_lowercase()
        } else if uncased(c) {
            c
        } else {
            match c.to_lowercase().next().unwrap_or(c) {
                '’' => '\'',
                lc => lc,
            }
        };
        let mut buf = [0u8; 4];
        for &b in lc.encode_utf8(&mut buf).as_bytes() {
            w |= u64::from(b) << (8 * n);
            n += 1;
            if n == 8 {
                h = hash_word(h, w);
                (w, n) = (0, 0);
            }
        }
        len += lc.len_utf8();
    }
    if n > 0 {
        h = hash_word(h, w);
    }
    hash_end(h, len)
}

#[cfg(test)]
mod tests;
