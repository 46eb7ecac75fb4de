//! Built-in detectors of personal data and secrets. Each family is a hand-written scanner behind a
//! cheap prefilter (a byte the match must contain, a minimum count of digits), and each candidate is
//! confirmed with the format's own check (Luhn for cards, mod-97 for IBANs, the SSA's SSN ranges, the
//! IPv6 grammar) before it counts, so a detector costs one pass over a text and stays quiet on
//! ordinary numbers. The secret formats share one regex whose literal prefixes (`sk-`, `AKIA`, `ghp_`,
//! `eyJ`, ...) let the regex engine skip text that cannot hold a key.
//!
//! Why not regexes for everything: a card or a phone number is a *grouping* of digits (4-4-4-4, 3-3-4
//! with parentheses) whose edges depend on what surrounds it; a regex can only approximate that and
//! still needs a confirmation step, while one tokenizer of digit groups serves cards, SSNs, IPv4,
//! phones and IBANs in one pass.

use std::ops::Range;

mod contact;
mod digits;
mod financial;
mod network;
mod secrets;
#[cfg(test)]
pub(crate) mod tests;

/// A built-in detector. Its [`name`](Detector::name) is what a rule's `detector:` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    /// `local@domain.tld`: ASCII local part (letters, digits, `._%+-`, at most 64), a domain of at
    /// least two labels and an alphabetic top-level domain of two letters or more.
    Email,
    /// Phone numbers written as phone numbers: `+` and 8 to 15 digits in groups (`+44 20 7946 0958`,
    /// `+1 (415) 555-2671`, `+14155552671`); North American `(555) 123-4567`, `555-123-4567`,
    /// `555.123.4567`, `1-800-555-0199`; national numbers with a leading trunk `0` in consistent groups
    /// (`020 7946 0958`, `01 23 45 67 89`). Never a bare run of digits.
    Phone,
    /// 13 to 19 digits, bare or in groups split by one kind of separator (space or dash, first group of
    /// four), starting with 2-6 (the card networks' ranges) and passing the Luhn check.
    PaymentCard,
    /// An IBAN of a country in the IBAN registry, at that country's exact length, in electronic form or
    /// printed in groups of four, passing the mod-97 check.
    Iban,
    /// A US social security number `AAA-GG-SSSS` (dashes or spaces) outside the never-issued ranges:
    /// area 000, 666 or 900-999, group 00, serial 0000.
    UsSsn,
    /// A dotted quad of four decimal octets of at most 255 without leading zeros, not part of a longer
    /// dotted number (`1.2.3.4.5`) or a word (`v1.2.3.4`).
    Ipv4,
    /// An IPv6 address (full, compressed or with an embedded IPv4) with at least four hex digits, not
    /// part of an identifier (`std::io` is not one).
    Ipv6,
    /// OpenAI keys: `sk-proj-`, `sk-svcacct-` and `sk-admin-` keys, and `sk-` followed by 32 or more
    /// letters and digits (the legacy 48-character keys and look-alikes of other providers).
    OpenAiKey,
    /// Anthropic keys: `sk-ant-api03-...`, `sk-ant-admin01-...` (a kind, two digits, then 32 or more
    /// base64url characters).
    AnthropicKey,
    /// AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary) and 16 upper-case letters or digits.
    AwsAccessKeyId,
    /// GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36 or more letters and digits, and
    /// fine-grained `github_pat_` tokens.
    GithubToken,
    /// Slack tokens: `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-` and 10 or more letters, digits, dashes.
    SlackToken,
    /// Google API keys: `AIza` and exactly 35 base64url characters.
    GoogleApiKey,
    /// JSON Web Tokens: base64url segments split by dots, the header starting `eyJ` (`{"`): three
    /// segments, or from the second on when the payload is JSON too (`eyJ...`, as in every JWS).
    Jwt,
    /// PEM private-key blocks, `-----BEGIN ... PRIVATE KEY-----` through the matching END line (to the
    /// end of the text when the END line is missing: a truncated key is still a key).
    PrivateKey,
}

use Detector::*;

impl Detector {
    /// Every detector, in the order of their names in error messages.
    pub const ALL: [Detector; 15] = [
        Email,
        Phone,
        PaymentCard,
        Iban,
        UsSsn,
        Ipv4,
        Ipv6,
        OpenAiKey,
        AnthropicKey,
        AwsAccessKeyId,
        GithubToken,
        SlackToken,
        GoogleApiKey,
        Jwt,
        PrivateKey,
    ];

    /// The secret detectors (what `detector: secrets` and [`crate::redact_secrets`] cover).
    pub const SECRETS: [Detector; 8] = [
        OpenAiKey,
        AnthropicKey,
        AwsAccessKeyId,
        GithubToken,
        SlackToken,
        GoogleApiKey,
        Jwt,
        PrivateKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Email => "email",
            Phone => "phone",
            PaymentCard => "payment_card",
            Iban => "iban",
            UsSsn => "us_ssn",
            Ipv4 => "ipv4",
            Ipv6 => "ipv6",
            OpenAiKey => "openai_key",
            AnthropicKey => "anthropic_key",
            AwsAccessKeyId => "aws_access_key_id",
            GithubToken => "github_token",
            SlackToken => "slack_token",
            GoogleApiKey => "google_api_key",
            Jwt => "jwt",
            PrivateKey => "private_key",
        }
    }

    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn is_secret(self) -> bool {
        Detector::SECRETS.contains(&self)
    }

    /// What a `mask` rule writes in place of a match when the rule names no `replacement`.
    pub fn default_replacement(self) -> &'static str {
        match self {
            Email => "[EMAIL]",
            Phone => "[PHONE]",
            PaymentCard => "[CARD]",
            Iban => "[IBAN]",
            UsSsn => "[SSN]",
            Ipv4 | Ipv6 => "[IP]",
            _ => "[SECRET]",
        }
    }

    /// The longest text one match can span, in bytes; `None` when there is no bound (JWTs, PEM
    /// blocks). Streaming holds back at most this much (capped by `max_holdback_bytes`).
    pub fn max_len(self) -> Option<usize> {
        match self {
            Email => Some(254),
            Phone => Some(contact::PHONE_MAX),
            PaymentCard => Some(financial::CARD_MAX),
            Iban => Some(financial::IBAN_MAX),
            UsSsn => Some(11),
            Ipv4 => Some(15),
            Ipv6 => Some(network::IPV6_MAX),
            Jwt | PrivateKey => None,
            _ => Some(secrets::TOKEN_MAX),
        }
    }

    /// A regex that matches every text this detector can match (and more): streaming derives from it
    /// which tail of the unreleased text could still be the start of a match.
    pub(crate) fn shape(self) -> &'static str {
        match self {
            Email => r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+",
            Phone => r"[+(]{0,2}[0-9][0-9 ().\-]*",
            PaymentCard | UsSsn | Ipv4 => r"[0-9][0-9 .\-]*",
            Iban => r"[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]*",
            Ipv6 => r"[0-9A-Fa-f:][0-9A-Fa-f:.]*",
            _ => secrets::shape(self),
        }
    }

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl std::fmt::Display for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of detectors (one bit each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DetectorSet(u32);

impl DetectorSet {
    pub(crate) fn of(list: &[Detector]) -> Self {
        DetectorSet(list.iter().fold(0, |acc, d| acc | d.bit()))
    }

    /// A detector name, or `secrets` for every secret detector.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        if name == "secrets" {
            return Some(DetectorSet::of(&Detector::SECRETS));
        }
        Detector::from_name(name).map(|d| DetectorSet(d.bit()))
    }

    pub(crate) fn contains(self, d: Detector) -> bool {
        self.0 & d.bit() != 0
    }

    pub(crate) fn union(self, other: DetectorSet) -> Self {
        DetectorSet(self.0 | other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn intersects(self, other: DetectorSet) -> bool {
        self.0 & other.0 != 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Detector> {
        Detector::ALL.into_iter().filter(move |d| self.contains(*d))
    }
}

/// One match of a detector: which detector, and the byte range of the text it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub detector: Detector,
    pub range: Range<usize>,
}

/// Every match of `detectors` in `text`, ordered by position. Matches of different detectors may
/// overlap (an IBAN's digits are not also reported as a card only by luck of the checks).
pub fn detect(text: &str, detectors: &[Detector]) -> Vec<Detection> {
    let mut out = Vec::new();
    detect_into(text, DetectorSet::of(detectors), &mut out);
    out.sort_by_key(|d| (d.range.start, std::cmp::Reverse(d.range.end)));
    out
}

/// Append every match of `set` in `text` to `out` (unordered).
pub(crate) fn detect_into(text: &str, set: DetectorSet, out: &mut Vec<Detection>) {
    if set.intersects(DetectorSet::of(&Detector::SECRETS)) {
        secrets::scan(text, set, out);
    }
    if set.contains(Email) {
        contact::emails(text, out);
    }
    if set.intersects(DetectorSet::of(&[Phone, PaymentCard, Iban, UsSsn, Ipv4])) {
        digits::scan(text, set, out);
    }
    if set.contains(Ipv6) {
        network::ipv6s(text, out);
    }
}
