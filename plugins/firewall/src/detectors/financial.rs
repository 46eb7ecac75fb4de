//! Financial identifiers: payment cards (Luhn), IBANs (registry length and mod-97) and US social
//! security numbers (issued ranges). All three are found in the digit spans; the check digit or range
//! test is what keeps order numbers, tracking numbers and timestamps out.

use super::digits::{left_ok, Span};
use super::{Detection, Detector};

/// 19 digits in up to six groups with one-byte separators.
pub(super) const CARD_MAX: usize = 24;
/// 34 characters printed in groups of four.
pub(super) const IBAN_MAX: usize = 42;

/// The Luhn check over the digits of groups `i..=j`.
fn luhn(sp: &Span, i: usize, j: usize) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for k in (i..=j).rev() {
        for &c in sp.digits(k).iter().rev() {
            let mut d = u32::from(c - b'0');
            if double {
                d *= 2;
                if d > 9 {
                    d -= 9;
                }
            }
            sum += d;
            double = !double;
        }
    }
    sum % 10 == 0
}

/// Card numbers start with 2-6 (Mastercard 2-series, Amex/Diners/JCB 3, Visa 4, Mastercard and
/// Maestro 5, Discover/UnionPay 6); ids and timestamps that start with 1, 7, 8, 9 or 0 are not cards.
fn issuer_ok(sp: &Span, i: usize) -> bool {
    sp.digits(i).first().is_some_and(|c| (b'2'..=b'6').contains(c))
}

pub(super) fn cards(sp: &Span, out: &mut Vec<Detection>) {
    let mut i = 0;
    while i < sp.count() {
        match card_at(sp, i) {
            Some(j) => {
                out.push(Detection {
                    detector: Detector::PaymentCard,
                    range: sp.start(i)..sp.end(j),
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// The last group of a card starting at group `i`: 13-19 digits bare, or a first group of four and
/// groups of 3-6 split by one kind of separator (4-4-4-4, 4-6-5, 4-4-4-4-3).
fn card_at(sp: &Span, i: usize) -> Option<usize> {
    let first = sp.len(i);
    if !issuer_ok(sp, i) {
        return None;
    }
    if (13..=19).contains(&first) {
        return (sp.bounded(sp.start(i), i, i, false, false) && luhn(sp, i, i)).then_some(i);
    }
    if first != 4 || i + 1 >= sp.count() {
        return None;
    }
    let sep = sp.gap(i);
    if sep != b" " && sep != b"-" {
        return None;
    }
    let mut total = first;
    for j in i + 1..sp.count() {
        if sp.gap(j - 1) != sep || !(3..=6).contains(&sp.len(j)) {
            return None;
        }
        total += sp.len(j);
        if total > 19 {
            return None;
        }
        if total >= 13 && sp.bounded(sp.start(i), i, j, sep == b" ", false) && luhn(sp, i, j) {
            return Some(j);
        }
    }
    None
}

/// `AAA-GG-SSSS` (or with spaces) outside the never-issued ranges.
pub(super) fn ssns(sp: &Span, out: &mut Vec<Detection>) {
    for i in 0..sp.count().saturating_sub(2) {
        if sp.len(i) != 3 || sp.len(i + 1) != 2 || sp.len(i + 2) != 4 {
            continue;
        }
        let sep = sp.gap(i);
        if (sep != b"-" && sep != b" ") || sp.gap(i + 1) != sep {
            continue;
        }
        let (area, group, serial) = (sp.digits(i), sp.digits(i + 1), sp.digits(i + 2));
        if area == b"000" || area == b"666" || area[0] == b'9' || group == b"00" || serial == b"0000" {
            continue;
        }
        if sp.bounded(sp.start(i), i, i + 2, sep == b" ", false) {
            out.push(Detection {
                detector: Detector::UsSsn,
                range: sp.start(i)..sp.end(i + 2),
            });
        }
    }
}

/// An IBAN whose country code sits right before the span (`DE89 3704 ...`, `GB82WEST1234...`).
pub(super) fn iban_before(sp: &Span, out: &mut Vec<Detection>) {
    let at = sp.start(0);
    if at < 2 || sp.len(0) < 2 {
        return;
    }
    let (c1, c2) = (sp.b[at - 2], sp.b[at - 1]);
    let same_case =
        (c1.is_ascii_uppercase() && c2.is_ascii_uppercase()) || (c1.is_ascii_lowercase() && c2.is_ascii_lowercase());
    if !same_case || !left_ok(sp.text, at - 2) {
        return;
    }
    if let Some(end) = iban_at(sp.b, at - 2) {
        out.push(Detection {
            detector: Detector::Iban,
            range: at - 2..end,
        });
    }
}

/// The end of an IBAN starting at `start`, if one does: the registry length of its country, spaces
/// only between groups of four, nothing alphanumeric right after, and the mod-97 check.
fn iban_at(b: &[u8], start: usize) -> Option<usize> {
    let country = [b[start].to_ascii_uppercase(), b[start + 1].to_ascii_uppercase()];
    let want = iban_length(country)?;
    let mut chars = [0u8; 34];
    let mut n = 0;
    let mut pos = start;
    while n < want {
        let c = *b.get(pos)?;
        if c.is_ascii_alphanumeric() {
            chars[n] = c.to_ascii_uppercase();
            n += 1;
            pos += 1;
        } else if c == b' ' && n % 4 == 0 && b.get(pos + 1).is_some_and(u8::is_ascii_alphanumeric) {
            pos += 1;
        } else {
            return None;
        }
    }
    if b.get(pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    if !chars[2].is_ascii_digit() || !chars[3].is_ascii_digit() {
        return None;
    }
    // Move the country and check digits to the end, read letters as 10..35, and take it mod 97.
    let mut rem = 0u32;
    for &c in chars[4..want].iter().chain(&chars[..4]) {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c - b'A') + 10) % 97
        };
    }
    (rem == 1).then_some(pos)
}

/// IBAN lengths by country, from the SWIFT IBAN registry.
fn iban_length(country: [u8; 2]) -> Option<usize> {
    Some(match &country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FK" | b"FO" | b"GL" | b"NL" | b"SD" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"MN" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"OM" | b"SO" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"BI" | b"DJ" | b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HN" | b"HU" | b"LB" | b"NI" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    })
}
