//! Contact details: e-mail addresses (found from each `@`) and phone numbers (found in the digit
//! spans). A phone number must be written like one: a `+` and a country code, North American grouping
//! (`(555) 123-4567`), or a national number with a trunk `0` in consistent groups; a bare run of
//! digits never is, whatever its length (order ids, timestamps, amounts).

use super::digits::{left_ok, right_ok, Span};
use super::{Detection, Detector};

/// The longest phone number text: 15 digits, two-byte separators and a leading `+(`.
pub(super) const PHONE_MAX: usize = 48;

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

/// Two or more labels of 1-63 letters, digits and inner dashes; an alphabetic TLD of 2+ letters.
fn domain_ok(domain: &str) -> bool {
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.bytes().all(|c| c.is_ascii_alphabetic())
}

pub(super) fn emails(text: &str, out: &mut Vec<Detection>) {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find('@') {
        let at = from + off;
        from = at + 1;
        let mut s = at;
        while s > 0 && at - s < 64 && is_local(b[s - 1]) {
            s -= 1;
        }
        if s > 0 && is_local(b[s - 1]) {
            continue; // a local part longer than 64 bytes is not an address
        }
        while s < at && b[s] == b'.' {
            s += 1;
        }
        if s == at || b[at - 1] == b'.' || text[s..at].contains("..") {
            continue;
        }
        let mut e = at + 1;
        while e < b.len() && e - s <= 254 && is_domain(b[e]) {
            e += 1;
        }
        if e < b.len() && is_domain(b[e]) {
            continue; // longer than an address can be
        }
        // A sentence may end right after the address.
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        if e - s > 254 || !domain_ok(&text[at + 1..e]) || b.get(e) == Some(&b'@') {
            continue;
        }
        out.push(Detection {
            detector: Detector::Email,
            range: s..e,
        });
        from = e;
    }
}

/// Phone numbers in one digit span.
pub(super) fn phones(sp: &Span, out: &mut Vec<Detection>) {
    if let Some(r) = international(sp) {
        out.push(Detection {
            detector: Detector::Phone,
            range: r,
        });
        return;
    }
    let mut found = false;
    let mut i = 0;
    while i < sp.count() {
        match north_american(sp, i) {
            Some((start, j)) => {
                out.push(Detection {
                    detector: Detector::Phone,
                    range: start..sp.end(j),
                });
                found = true;
                i = j + 1;
            }
            None => i += 1,
        }
    }
    if !found {
        if let Some(r) = national_trunk(sp) {
            out.push(Detection {
                detector: Detector::Phone,
                range: r,
            });
        }
    }
}

/// `+` right before the span, then up to 15 digits in any grouping; 8 at least.
fn international(sp: &Span) -> Option<std::ops::Range<usize>> {
    let first = sp.start(0);
    if first == 0 || sp.b[first - 1] != b'+' || !left_ok(sp.text, first - 1) {
        return None;
    }
    let mut total = 0;
    let mut last = None;
    for k in 0..sp.count() {
        if total + sp.len(k) > 15 {
            break;
        }
        total += sp.len(k);
        last = Some(k);
    }
    let j = last?;
    let end_ok = if j + 1 == sp.count() {
        right_ok(sp.text, sp.end(j), false)
    } else {
        sp.gap(j) == b" "
    };
    (total >= 8 && end_ok).then(|| first - 1..sp.end(j))
}

/// `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `555 123 4567`, `555 123-4567`, optionally after
/// a `1` (`1-800-555-0199`, `1 (800) 555-0199`). Returns the start byte and the last group.
fn north_american(sp: &Span, i: usize) -> Option<(usize, usize)> {
    let lead = sp.digits(i) == b"1";
    let a = if lead { i + 1 } else { i };
    if a + 2 >= sp.count() || sp.len(a) != 3 || sp.len(a + 1) != 3 || sp.len(a + 2) != 4 {
        return None;
    }
    let area = sp.start(a);
    let paren = area > 0 && sp.b[area - 1] == b'(';
    let (g1, g2) = (sp.gap(a), sp.gap(a + 1));
    if paren {
        if !matches!(g1, b")" | b") " | b")-") || !matches!(g2, b"-" | b" " | b".") {
            return None;
        }
        if lead && !matches!(sp.gap(i), b"(" | b" (" | b"-(") {
            return None;
        }
    } else {
        let same = g1 == g2 && matches!(g1, b"-" | b"." | b" ");
        if !(same || (g1 == b" " && g2 == b"-")) {
            return None;
        }
        if lead && sp.gap(i) != g1 && sp.gap(i) != b" " {
            return None;
        }
    }
    let start = if lead {
        sp.start(i)
    } else if paren {
        area - 1
    } else {
        area
    };
    if start > 0 && sp.b[start - 1] == b'+' {
        return None; // `+1 555 ...` is an international number, checked as one
    }
    let spaced = [g1, g2].iter().any(|g| g.contains(&b' ')) || (lead && sp.gap(i).contains(&b' '));
    sp.bounded(start, i, a + 2, spaced, false).then_some((start, a + 2))
}

/// A whole span starting with a trunk `0` (`020 7946 0958`, `(030) 1234567`, `01 23 45 67 89`):
/// 9 to 11 digits in two or more groups with one kind of separator.
fn national_trunk(sp: &Span) -> Option<std::ops::Range<usize>> {
    let n = sp.count();
    if n < 2 || sp.digits(0).first() != Some(&b'0') || !(2..=5).contains(&sp.len(0)) {
        return None;
    }
    let total: usize = (0..n).map(|k| sp.len(k)).sum();
    if !(9..=11).contains(&total) || (1..n).any(|k| !(2..=8).contains(&sp.len(k))) {
        return None;
    }
    let first = sp.start(0);
    let paren = first > 0 && sp.b[first - 1] == b'(' && matches!(sp.gap(0), b")" | b") ");
    let rest = if paren { 1 } else { 0 };
    let sep = if rest < n - 1 { sp.gap(rest) } else { b" " };
    if !matches!(sep, b" " | b"-" | b".") || (rest..n - 1).any(|k| sp.gap(k) != sep) {
        return None;
    }
    let start = if paren { first - 1 } else { first };
    if start > 0 && sp.b[start - 1] == b'+' {
        return None;
    }
    (left_ok(sp.text, start) && right_ok(sp.text, sp.end(n - 1), false)).then(|| start..sp.end(n - 1))
}
