//! Secret redaction for any text, for the core's own use (provider error bodies, logs): the secret
//! detectors without any policy.

use std::borrow::Cow;

use crate::detectors::{detect, Detection, Detector};

/// Every secret (API keys and tokens, JWTs, PEM private keys) in `text`, ordered by position.
pub fn find_secrets(text: &str) -> Vec<Detection> {
    detect(text, &Detector::SECRETS)
}

/// `text` with every secret replaced by `[SECRET]`; borrowed unchanged when it holds none.
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let found = find_secrets(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for d in &found {
        if d.range.start < at {
            continue;
        }
        out.push_str(&text[at..d.range.start]);
        out.push_str(d.detector.default_replacement());
        at = d.range.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}
