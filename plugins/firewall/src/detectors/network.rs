//! Network addresses. IPv4 is an exact dotted quad found in the digit spans (a version string has
//! three parts, or a fifth, or a letter in front). IPv6 is found from each `:` and confirmed by the
//! standard library's address parser, with a floor of four hex digits so that `a::b` in code or a
//! time of day is not an address.

use std::net::Ipv6Addr;

use super::digits::Span;
use super::{Detection, Detector};

/// `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
pub(super) const IPV6_MAX: usize = 45;

fn octet_ok(d: &[u8]) -> bool {
    match d {
        [_] => true,
        [b'0', ..] => false,
        [_, _] => true,
        [a, b, c] => (u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0')) <= 255,
        _ => false,
    }
}

pub(super) fn ipv4s(sp: &Span, out: &mut Vec<Detection>) {
    let mut i = 0;
    while i + 3 < sp.count() {
        let quad = (0..4).all(|k| octet_ok(sp.digits(i + k))) && (0..3).all(|k| sp.gap(i + k) == b".");
        if quad && sp.bounded(sp.start(i), i, i + 3, false, true) {
            out.push(Detection {
                detector: Detector::Ipv4,
                range: sp.start(i)..sp.end(i + 3),
            });
            i += 4;
        } else {
            i += 1;
        }
    }
}

fn is_v6(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':'
}

fn glued(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
}

pub(super) fn ipv6s(text: &str, out: &mut Vec<Detection>) {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find(':') {
        let colon = from + off;
        let mut s = colon;
        while s > 0 && colon - s <= IPV6_MAX && is_v6(b[s - 1]) {
            s -= 1;
        }
        let mut e = colon + 1;
        while e < b.len() && e - s <= IPV6_MAX && (is_v6(b[e]) || b[e] == b'.') {
            e += 1;
        }
        from = e;
        if e - s > IPV6_MAX || glued(text[..s].chars().next_back()) {
            continue;
        }
        // A sentence may end right after the address.
        while e > s && b[e - 1] == b'.' {
            e -= 1;
        }
        if glued(text[e..].chars().next()) && !text[e..].starts_with('.') {
            continue;
        }
        let mut token = &text[s..e];
        if token.bytes().filter(|c| *c == b':').count() < 2 {
            continue; // times, `key:value`, `a:b`: an address has at least two colons
        }
        if token.parse::<Ipv6Addr>().is_err() {
            match token.strip_suffix(':') {
                Some(t) if !t.ends_with(':') && t.parse::<Ipv6Addr>().is_ok() => token = t,
                _ => continue,
            }
        }
        if token.bytes().filter(u8::is_ascii_hexdigit).count() >= 4 {
            out.push(Detection {
                detector: Detector::Ipv6,
                range: s..s + token.len(),
            });
        }
    }
}
