//! Unit tests of the scan.

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
