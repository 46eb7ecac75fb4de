//! Secrets with a documented shape: provider API keys and tokens (each has a fixed prefix), JWTs and
//! PEM private-key blocks. One regex covers them all, so a text is scanned once and the regex
//! engine's literal prefilter skips text that holds none of the prefixes; which secret matched
//! follows from the match's prefix. A token glued to more token characters is not reported (it is
//! part of a longer identifier, or longer than the format allows).

use std::sync::OnceLock;

use regex::Regex;

use super::{Detection, Detector, DetectorSet};

/// The longest key or token text (GitHub allows tokens of up to 255 characters).
pub(super) const TOKEN_MAX: usize = 255;

const ANTHROPIC: &str = r"(?-u:\b)sk-ant-[a-z]{2,12}[0-9]{2}-[A-Za-z0-9_\-]{32,200}";
const OPENAI: &str = r"(?-u:\b)sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{32,240}|(?-u:\b)sk-[A-Za-z0-9]{32,200}";
const AWS: &str = r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}";
const GITHUB: &str = r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,251}|(?-u:\b)github_pat_[A-Za-z0-9_]{36,244}";
const SLACK: &str = r"(?-u:\b)xox[abprs]-[A-Za-z0-9\-]{10,250}";
const GOOGLE: &str = r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}";
/// A JSON payload starts `eyJ` too: then the token counts from its second segment on (a stream can
/// mask it before it ends, however long it is); other payloads need all three segments.
const JWT: &str = concat!(
    r"(?-u:\b)eyJ[A-Za-z0-9_\-]{7,}\.eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)?",
    r"|(?-u:\b)eyJ[A-Za-z0-9_\-]{7,}\.[A-Za-z0-9_\-]{7,}\.[A-Za-z0-9_\-]*"
);
const PEM: &str =
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)";

/// The shape of one secret detector, for streaming hold-back.
pub(super) fn shape(d: Detector) -> &'static str {
    match d {
        Detector::AnthropicKey => ANTHROPIC,
        Detector::OpenAiKey => OPENAI,
        Detector::AwsAccessKeyId => AWS,
        Detector::GithubToken => GITHUB,
        Detector::SlackToken => SLACK,
        Detector::GoogleApiKey => GOOGLE,
        Detector::Jwt => JWT,
        _ => PEM,
    }
}

/// All secrets in one alternation; Anthropic before OpenAI, as both start `sk-`.
fn regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        let all = [ANTHROPIC, OPENAI, AWS, GITHUB, SLACK, GOOGLE, JWT, PEM].join("|");
        Regex::new(&all).ok()
    })
    .as_ref()
}

/// Whether the secrets regex compiled (it is a constant; a test asserts it).
#[cfg(test)]
pub(super) fn compiled() -> bool {
    regex().is_some()
}

fn kind(m: &str) -> Detector {
    if m.starts_with("sk-ant-") {
        Detector::AnthropicKey
    } else if m.starts_with("sk-") {
        Detector::OpenAiKey
    } else if m.starts_with("AKIA") || m.starts_with("ASIA") {
        Detector::AwsAccessKeyId
    } else if m.starts_with("gh") || m.starts_with("github_pat_") {
        Detector::GithubToken
    } else if m.starts_with("xox") {
        Detector::SlackToken
    } else if m.starts_with("AIza") {
        Detector::GoogleApiKey
    } else if m.starts_with("eyJ") {
        Detector::Jwt
    } else {
        Detector::PrivateKey
    }
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

pub(super) fn scan(text: &str, set: DetectorSet, out: &mut Vec<Detection>) {
    let Some(re) = regex() else { return };
    for m in re.find_iter(text) {
        let d = kind(m.as_str());
        if !set.contains(d) {
            continue;
        }
        if d != Detector::PrivateKey && text.as_bytes().get(m.end()).copied().is_some_and(is_token) {
            continue;
        }
        out.push(Detection {
            detector: d,
            range: m.range(),
        });
    }
}
