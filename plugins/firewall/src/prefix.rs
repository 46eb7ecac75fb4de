//! Which tail of unreleased stream text could still grow into a match. From a matcher's regex `R`
//! we derive `P(R)`, the language of every prefix of every match of `R` (`P(abc)` = `(?:a(?:bc?)?)?`,
//! `P(xy)` = `P(x) | x P(y)`, `P(x{m,n})` = `x{0,n-1} P(x)`), drop look-arounds (a superset is safe:
//! it only holds back a little more), and search `(?:P(R1)|P(R2)|...)\z`: the leftmost match is the
//! earliest position from which the text up to its end is still a possible start of a match. Text
//! before it can go to the client at once; that is what lets plain text stream without delay.

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind, Look, Repetition};

/// The viability regex may be larger than one rule's: it unites every response matcher.
const SIZE_LIMIT: usize = 16 << 20;

/// `P(h)`: every prefix of every string `h` matches, the empty one included.
pub(crate) fn prefixes(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
            // Nested optionals, innermost last: a(b(c)?)? — linear in the literal's length.
            Ok(s) => s.chars().rev().fold(Hir::empty(), |inner, c| {
                let mut buf = [0u8; 4];
                let ch = Hir::literal(c.encode_utf8(&mut buf).as_bytes());
                optional(Hir::concat(vec![ch, inner]))
            }),
            // Not reachable from a `&str` pattern; matching anything is the safe superset.
            Err(_) => Hir::repetition(Repetition {
                min: 0,
                max: None,
                greedy: true,
                sub: Box::new(Hir::class(regex_syntax::hir::Class::Unicode(
                    regex_syntax::hir::ClassUnicode::new([regex_syntax::hir::ClassUnicodeRange::new('\0', char::MAX)]),
                ))),
            }),
        },
        HirKind::Class(_) => optional(h.clone()),
        HirKind::Capture(c) => prefixes(&c.sub),
        HirKind::Repetition(r) => match r.max {
            Some(0) => Hir::empty(),
            max => Hir::concat(vec![
                Hir::repetition(Repetition {
                    min: 0,
                    max: max.map(|m| m - 1),
                    greedy: true,
                    sub: Box::new(without_looks(&r.sub)),
                }),
                prefixes(&r.sub),
            ]),
        },
        HirKind::Concat(subs) => concat_prefixes(subs),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(prefixes).collect()),
    }
}

/// `P(x1 x2 ... xn)` = `P(x1) | x1 P(x2 ... xn)`.
fn concat_prefixes(subs: &[Hir]) -> Hir {
    match subs {
        [] => Hir::empty(),
        [only] => prefixes(only),
        [first, rest @ ..] => Hir::alternation(vec![
            prefixes(first),
            Hir::concat(vec![without_looks(first), concat_prefixes(rest)]),
        ]),
    }
}

fn optional(h: Hir) -> Hir {
    Hir::repetition(Repetition {
        min: 0,
        max: Some(1),
        greedy: true,
        sub: Box::new(h),
    })
}

/// `h` with its look-arounds (`\b`, `^`, `$`) taken as always true: a superset of `h`.
fn without_looks(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => h.clone(),
        HirKind::Capture(c) => without_looks(&c.sub),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(without_looks(&r.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(without_looks).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(without_looks).collect()),
    }
}

/// `(?:P(h1)|P(h2)|...)\z`, or `None` when there is nothing to watch or it would be too large (the
/// caller then holds back its whole window, which is safe, only slower to release).
pub(crate) fn viability(hirs: &[Hir]) -> Option<Regex> {
    if hirs.is_empty() {
        return None;
    }
    let all = Hir::alternation(hirs.iter().map(prefixes).collect());
    let anchored = Hir::concat(vec![all, Hir::look(Look::End)]);
    RegexBuilder::new(&anchored.to_string())
        .size_limit(SIZE_LIMIT)
        .build()
        .ok()
}

/// The earliest position in `text[from..]` from which the rest of `text` could still grow into a
/// match; `text.len()` when none could. `from` must be a character boundary.
pub(crate) fn earliest_viable(re: Option<&Regex>, text: &str, from: usize) -> usize {
    match re {
        Some(re) => match re.find(&text[from..]) {
            Some(m) if m.start() + from < text.len() => m.start() + from,
            _ => text.len(),
        },
        None => from,
    }
}

/// The bytes that can occur in a match: once a byte outside the set follows a match, the match
/// cannot grow any further.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b / 64)] |= 1 << (b % 64);
    }

    pub(crate) fn contains(&self, b: u8) -> bool {
        (self.0[usize::from(b / 64)] >> (b % 64)) & 1 == 1
    }

    pub(crate) fn union(mut self, other: &ByteSet) -> ByteSet {
        self.0.iter_mut().zip(other.0).for_each(|(a, b)| *a |= b);
        self
    }

    /// The bytes of `text`, with both ASCII cases when `fold`.
    pub(crate) fn of_text(text: &str, fold: bool) -> ByteSet {
        let mut set = ByteSet::default();
        for b in text.bytes() {
            set.insert(b);
            if fold {
                set.insert(b.to_ascii_lowercase());
                set.insert(b.to_ascii_uppercase());
            }
        }
        set
    }

    /// The bytes a match of `h` can contain (every non-ASCII byte when a class reaches past ASCII).
    pub(crate) fn of_hir(h: &Hir) -> ByteSet {
        let mut set = ByteSet::default();
        collect(h, &mut set);
        set
    }
}

fn collect(h: &Hir, set: &mut ByteSet) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => lit.0.iter().for_each(|b| set.insert(*b)),
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                (lo..=hi.min(127)).for_each(|b| set.insert(b as u8));
                if hi >= 128 {
                    (0x80..=0xFF).for_each(|b| set.insert(b));
                }
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                (r.start()..=r.end()).for_each(|b| set.insert(b));
            }
        }
        HirKind::Repetition(r) => collect(&r.sub, set),
        HirKind::Capture(c) => collect(&c.sub, set),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().for_each(|s| collect(s, set)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn viable_from(patterns: &[&str], text: &str) -> usize {
        let hirs: Vec<Hir> = patterns.iter().map(|p| regex_syntax::parse(p).unwrap()).collect();
        let re = viability(&hirs).unwrap();
        earliest_viable(Some(&re), text, 0)
    }

    #[test]
    fn prefixes_of_literals_classes_and_repetitions() {
        let p = r"\bhost-[0-9]{3}\.corp\b";
        assert_eq!(viable_from(&[p], "see ho"), 4, "`ho` may become host-...");
        assert_eq!(viable_from(&[p], "see host-12"), 4);
        assert_eq!(
            viable_from(&[p], "see host-123.corp"),
            4,
            "a whole match may still grow"
        );
        assert_eq!(
            viable_from(&[p], "see host-1234"),
            13,
            "too many digits: nothing in progress"
        );
        assert_eq!(viable_from(&[p], "plain text."), 11);
        assert_eq!(viable_from(&["Project Falcon"], "the Project Fal"), 4);
        assert_eq!(viable_from(&["(?i)Project Falcon"], "the PROJECT f"), 4);
        assert_eq!(
            viable_from(&["abc", "xyz"], "..xy"),
            2,
            "the earliest of several matchers"
        );
        assert_eq!(
            viable_from(&["é€x"], "aé€"),
            1,
            "multibyte literals are cut at characters"
        );
    }

    #[test]
    fn byte_sets() {
        let set = ByteSet::of_hir(&regex_syntax::parse(r"\bhost-[0-9]{3}\.corp\b").unwrap());
        assert!(set.contains(b'h') && set.contains(b'7') && set.contains(b'.'));
        assert!(!set.contains(b' ') && !set.contains(b'x') && !set.contains(0xC3));
        let any = ByteSet::of_hir(&regex_syntax::parse(r"\w+").unwrap());
        assert!(any.contains(0xC3), "a Unicode class reaches non-ASCII bytes");
        let folded = ByteSet::of_text("Ab", true);
        assert!(folded.contains(b'a') && folded.contains(b'B') && !folded.contains(b'c'));
    }

    #[test]
    fn unbounded_and_alternations() {
        assert_eq!(viable_from(&["a+b"], "xaaaa"), 1);
        assert_eq!(viable_from(&["cat|dog"], "hot do"), 4);
        assert_eq!(
            viable_from(&["y"], "zzy"),
            2,
            "a whole match may still grow (for all P knows)"
        );
        assert_eq!(viable_from(&["x{0}y"], "zzyz"), 4);
    }
}
