//! Unit tests of the token hash: the fast paths agree with the plain lower-casing one.

use super::*;
use crate::router::classify::tests::xorshift;

#[test]
fn ascii_token_hash_matches_the_char_by_char_definition() {
    // Tokens of every length up to 40, at every offset, so the eight-byte reads cover partial
    // words, whole words and tokens ending within eight bytes of the text's end.
    const ALPHABET: &[u8] = b"aAzZqQ09_+#'-";
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..300 {
        let len = (next() % 48) as usize + 1;
        let text: String = (0..len).map(|_| ALPHABET[(next() % 13) as usize] as char).collect();
        for start in 0..len {
            for end in start + 1..=len {
                assert_eq!(
                    hash_token(&text, start, end, true),
                    hash_span(&text[start..end]),
                    "{:?}",
                    &text[start..end]
                );
            }
        }
    }
}

#[test]
fn token_hashes_ignore_case_and_read_the_curly_apostrophe_as_straight() {
    assert_eq!(hash_span("Don’t"), hash_token("don't", 0, 5, true));
    assert_eq!(hash_span("ÜBER"), hash_span("über"));
    assert_ne!(hash_token("ab", 0, 2, true), hash_token("ab\0", 0, 3, true));
    assert_ne!(hash_token("abcdefgh", 0, 8, true), hash_token("abcdefghi", 0, 9, true));
}
