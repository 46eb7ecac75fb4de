//! Unit tests of the ASCII word-run scanner against the plain per-byte reading.

use super::*;

#[test]
fn word_run_matches_the_bytewise_definition() {
    // Bytes around every class edge, plus non-ASCII bytes that must end a run.
    const ALPHABET: &[u8] = b"aAzZbYmM09195_ @[`{/:-.\x7f\x80\xc3\xff";
    let mut next = crate::router::classify::tests::xorshift(0x9e37_79b9_7f4a_7c15);
    for case in 0..20_000 {
        let len = (next() % 40) as usize;
        // Mostly word bytes, so runs cross several 8-byte chunks; every other case mostly
        // lower-case letters, so long runs take the sixteen-byte path.
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 8 == 0 {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                } else if case % 2 == 0 || r % 8 == 1 {
                    ALPHABET[(r >> 8) as usize % 14]
                } else {
                    b"azbm"[(r >> 8) as usize % 4]
                }
            })
            .collect();
        let start = Run {
            digits_only: next() % 2 == 0,
            lead_digits: (next() % 3) as usize,
            prev_lower: next() % 2 == 0,
            humps: if case % 50 == 0 { 254 } else { 0 },
            underscore: false,
        };
        for i in 0..bytes.len() {
            let (mut a, mut b) = (start, start);
            let ja = word_run(&bytes, i, &mut a);
            let jb = word_run_bytewise(&bytes, i, &mut b);
            assert_eq!((ja, a), (jb, b), "{:?} from {i}", String::from_utf8_lossy(&bytes));
        }
    }
}
