//! Digit spans: one pass over a text cuts it into runs of digit groups joined by short separators
//! (`4111 1111 1111 1111`, `(555) 123-4567`, `10.0.0.1`), and the card, SSN, IPv4, phone and IBAN
//! checks each look for their grouping inside the spans. A window of groups inside a longer span only
//! counts when a lone space sets it apart and the window's own separator is not a space, so a list of
//! numbers (`2019 2020 2021 2022`) is never read as one card.

use super::{contact, financial, network, Detection, Detector, DetectorSet};

/// A run of ASCII digits, `[start, end)` in bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    pub start: usize,
    pub end: usize,
}

/// Spans longer than this are cut (no detector looks at more than six groups at once).
const MAX_GROUPS: usize = 64;

/// One span of digit groups of a text.
pub(super) struct Span<'a> {
    pub text: &'a str,
    pub b: &'a [u8],
    pub groups: &'a [Group],
}

impl Span<'_> {
    pub(super) fn count(&self) -> usize {
        self.groups.len()
    }

    /// The digits of group `k`.
    pub(super) fn digits(&self, k: usize) -> &[u8] {
        let g = self.groups[k];
        &self.b[g.start..g.end]
    }

    pub(super) fn len(&self, k: usize) -> usize {
        let g = self.groups[k];
        g.end - g.start
    }

    pub(super) fn start(&self, k: usize) -> usize {
        self.groups[k].start
    }

    pub(super) fn end(&self, k: usize) -> usize {
        self.groups[k].end
    }

    /// The separator between groups `k` and `k + 1`.
    pub(super) fn gap(&self, k: usize) -> &[u8] {
        &self.b[self.groups[k].end..self.groups[k + 1].start]
    }

    /// Whether the window of groups `i..=j`, starting at byte `start` (its first digit, or a `(` or
    /// `+` before it), stands apart from what surrounds it: at the span's edges the text's neighbours
    /// must not continue a word or a number; inside the span a lone space must separate it, and only
    /// when the window itself is not space-separated.
    pub(super) fn bounded(&self, start: usize, i: usize, j: usize, spaced: bool, port_ok: bool) -> bool {
        let left = if i == 0 {
            left_ok(self.text, start)
        } else {
            !spaced && &self.b[self.end(i - 1)..start] == b" "
        };
        let right = if j + 1 == self.count() {
            right_ok(self.text, self.end(j), port_ok)
        } else {
            !spaced && self.gap(j) == b" "
        };
        left && right
    }
}

fn is_gap(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'(' | b')')
}

/// The character before `pos` does not glue the number to a word, an amount or a longer number.
pub(super) fn left_ok(text: &str, pos: usize) -> bool {
    let mut before = text[..pos].chars().rev();
    let Some(c) = before.next() else {
        return true;
    };
    if c == ',' {
        return !before.next().is_some_and(|p| p.is_ascii_digit());
    }
    !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+' | '$' | '€' | '£' | '¥' | '#' | '%' | '&'))
}

/// The character after `pos` does not continue the number or a word; `port_ok` lets `:8080` and
/// `/24` follow (an address with a port or a prefix length).
pub(super) fn right_ok(text: &str, pos: usize, port_ok: bool) -> bool {
    let rest = &text[pos..];
    let mut chars = rest.chars();
    let Some(c) = chars.next() else {
        return true;
    };
    if c.is_alphanumeric() || matches!(c, '_' | '%' | '@' | '+' | '$' | '€' | '£') {
        return false;
    }
    if matches!(c, '.' | ',' | '-' | '/' | ':') && chars.next().is_some_and(|n| n.is_ascii_digit()) {
        return port_ok && matches!(c, ':' | '/');
    }
    true
}

/// The first ASCII digit at or after `i` (or `b.len()`), eight bytes at a time: XOR with `0x30`
/// maps exactly the digits to bytes below 10, and `((y & 0x7f) + 0x76) | y` sets a byte's top bit
/// exactly when it is 10 or more (no carry crosses bytes), so the lowest clear top bit is the first
/// digit. Prose and code have long stretches without digits.
pub(super) fn next_digit(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else { break };
        let y = u64::from_le_bytes(bytes) ^ (0x30 * ONES);
        let digits = !(((y & (0x7f * ONES)) + 0x76 * ONES) | y) & (0x80 * ONES);
        if digits != 0 {
            return i + (digits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Run the digit-based detectors of `set` over `text`.
pub(super) fn scan(text: &str, set: DetectorSet, out: &mut Vec<Detection>) {
    let b = text.as_bytes();
    let card = set.contains(Detector::PaymentCard);
    let ssn = set.contains(Detector::UsSsn);
    let ipv4 = set.contains(Detector::Ipv4);
    let phone = set.contains(Detector::Phone);
    let iban = set.contains(Detector::Iban);
    let mut groups: Vec<Group> = Vec::new();
    let mut i = next_digit(b, 0);
    while i < b.len() {
        groups.clear();
        let mut digits = 0;
        let mut j = i;
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            digits += j - start;
            groups.push(Group { start, end: j });
            let mut k = j;
            while k < b.len() && k - j < 2 && is_gap(b[k]) {
                k += 1;
            }
            if k > j && k < b.len() && b[k].is_ascii_digit() && groups.len() < MAX_GROUPS {
                j = k;
            } else {
                break;
            }
        }
        // Each format needs a minimum of digits and groups; most spans of prose (`4.2`, `14:30`,
        // `2024`) need no check at all.
        let span = Span {
            text,
            b,
            groups: &groups,
        };
        if iban && i >= 2 && b[i - 1].is_ascii_alphabetic() {
            financial::iban_before(&span, out);
        }
        if card && digits >= 13 {
            financial::cards(&span, out);
        }
        if ssn && digits >= 9 && groups.len() >= 3 {
            financial::ssns(&span, out);
        }
        if ipv4 && groups.len() >= 4 {
            network::ipv4s(&span, out);
        }
        if phone && digits >= 8 {
            contact::phones(&span, out);
        }
        i = next_digit(b, j);
    }
}
