//! Unit tests of the script tables: plain punctuation, uncased letters.

use super::*;

fn chars(ranges: &[std::ops::RangeInclusive<u32>]) -> impl Iterator<Item = char> + '_ {
    ranges.iter().flat_map(|r| r.clone()).filter_map(char::from_u32)
}

#[test]
fn plain_punctuation_has_no_letter_digit_or_space() {
    let ranges = [0x2000..=0x2070, 0x3000..=0x3030, 0xff00..=0xff30];
    for c in chars(&ranges) {
        if is_plain_punct(c) {
            assert!(
                !c.is_alphabetic() && !c.is_numeric() && !c.is_whitespace(),
                "{c:?} U+{:04X}",
                c as u32
            );
        }
    }
    assert!(is_plain_punct('，') && is_plain_punct('。') && is_plain_punct('—') && !is_plain_punct('々'));
}

#[test]
fn uncased_letters_lower_case_to_themselves() {
    for c in chars(&[0xe00..=0xe7f, 0x3040..=0x9fff, 0xac00..=0xd7af]) {
        assert!(uncased(c));
        assert_eq!(
            c.to_lowercase().collect::<String>(),
            c.to_string(),
            "U+{:04X}",
            c as u32
        );
    }
}
