//! Masking and redaction: overlapping matches of several rules merge into one span that gets one
//! replacement (the earliest, longest match's), and what a report shows of a match is a redacted
//! sample that never contains the matched text itself.

use std::cmp::Reverse;

use crate::detectors::Detector;
use crate::matcher::RuleHit;

/// Merged masked spans over `hits[..]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cluster {
    pub start: usize,
    pub end: usize,
    /// The hit whose replacement the span gets.
    pub first: usize,
}

/// Sort hits by start, longer first (the order every consumer expects).
pub(crate) fn sort(hits: &mut [RuleHit]) {
    hits.sort_by_key(|h| (h.start, Reverse(h.end), h.rule));
}

/// Disjoint spans covering the hits `is_mask` selects; `hits` must be [`sort`]ed.
pub(crate) fn clusters(hits: &[RuleHit], is_mask: impl Fn(&RuleHit) -> bool) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = Vec::new();
    for (i, h) in hits.iter().enumerate().filter(|(_, h)| is_mask(h)) {
        match out.last_mut() {
            Some(c) if h.start < c.end => c.end = c.end.max(h.end),
            _ => out.push(Cluster {
                start: h.start,
                end: h.end,
                first: i,
            }),
        }
    }
    out
}

/// `text[from..to]` with each cluster inside it replaced by `replacement(cluster.first)`.
pub(crate) fn apply<'r>(
    text: &str,
    from: usize,
    to: usize,
    clusters: &[Cluster],
    replacement: impl Fn(usize) -> &'r str,
) -> String {
    let mut out = String::with_capacity(to - from);
    let mut at = from;
    for c in clusters.iter().filter(|c| c.start >= from && c.end <= to) {
        out.push_str(&text[at..c.start]);
        out.push_str(replacement(c.first));
        at = c.end;
    }
    out.push_str(&text[at..to]);
    out
}

/// What a report shows of a match: `j***@e***.com`, `sk-p…(164 chars)`, `4***1`; never the match.
pub(crate) fn sample(matched: &str, detector: Option<Detector>) -> String {
    let n = matched.chars().count();
    let mut out = String::with_capacity(24);
    let first = |out: &mut String, s: &str| out.extend(s.chars().next());
    match detector {
        Some(Detector::Email) => match matched.split_once('@') {
            Some((local, domain)) => {
                first(&mut out, local);
                out.push_str("***@");
                first(&mut out, domain);
                out.push_str("***.");
                out.push_str(domain.rsplit('.').next().unwrap_or_default());
            }
            None => out.push_str("***"),
        },
        Some(d) if d.is_secret() => {
            match d {
                Detector::PrivateKey => out.push_str("-----BEGIN"),
                _ => out.extend(matched.chars().take(4)),
            }
            out.push_str("…(");
            out.push_str(&n.to_string());
            out.push_str(" chars)");
        }
        _ if n <= 4 => out.extend(std::iter::repeat_n('*', n)),
        _ => {
            first(&mut out, matched);
            out.push_str("***");
            out.extend(matched.chars().next_back());
        }
    }
    if out.contains(matched) {
        out.clear();
        out.extend(std::iter::repeat_n('*', n.min(8)));
    }
    out
}
