//! `X-GR-Guardrails: off|moderate|strict`: built-in rules a client can add to one request on top of
//! the configured policies (never instead of them). `moderate` blocks payment cards, SSNs, IBANs and
//! secrets in the prompt and masks e-mail addresses and phone numbers there; `strict` also masks
//! those in the answer. Guardrail actions report as policy `guardrails`, rule `<level>/<detector>`.

use http::HeaderMap;
use switchyard_sdk::Reject;

use crate::detectors::Detector;
use crate::policy::{Action, Scope};

pub(crate) const HEADER: &str = "x-gr-guardrails";
/// The policy name guardrail actions report (reserved: no configured policy may take it).
pub(crate) const POLICY: &str = "guardrails";

/// The guardrail level a request asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Guardrails {
    /// Nothing beyond the configured policies (the default).
    #[default]
    Off,
    Moderate,
    Strict,
}

impl Guardrails {
    /// A header value, case-insensitively.
    pub fn parse(value: &str) -> Option<Guardrails> {
        let v = value.trim();
        [Guardrails::Off, Guardrails::Moderate, Guardrails::Strict]
            .into_iter()
            .find(|g| v.eq_ignore_ascii_case(g.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Guardrails::Off => "off",
            Guardrails::Moderate => "moderate",
            Guardrails::Strict => "strict",
        }
    }
}

/// The level from the request headers; several values: the strictest. An unknown value is a 400
/// naming the header.
pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Guardrails, Reject> {
    let mut level = Guardrails::Off;
    for v in headers.get_all(HEADER) {
        let parsed = v.to_str().ok().and_then(Guardrails::parse);
        let Some(l) = parsed else {
            let shown: String = String::from_utf8_lossy(v.as_bytes()).chars().take(40).collect();
            return Err(Reject::invalid(
                "X-GR-Guardrails",
                format!("X-GR-Guardrails must be `off`, `moderate` or `strict`, not `{shown}`"),
            ));
        };
        level = level.max(l);
    }
    Ok(level)
}

/// The rules of one level: (detector, action, scopes).
pub(crate) fn rules(level: Guardrails) -> Vec<(Detector, Action, u8)> {
    let blocked = [Detector::PaymentCard, Detector::UsSsn, Detector::Iban]
        .into_iter()
        .chain(Detector::SECRETS)
        .map(|d| (d, Action::Block, Scope::Prompt.bit()));
    let masked_scopes = match level {
        Guardrails::Strict => Scope::Prompt.bit() | Scope::Response.bit(),
        _ => Scope::Prompt.bit(),
    };
    let masked = [Detector::Email, Detector::Phone]
        .into_iter()
        .map(|d| (d, Action::Mask, masked_scopes));
    match level {
        Guardrails::Off => Vec::new(),
        _ => blocked.chain(masked).collect(),
    }
}
