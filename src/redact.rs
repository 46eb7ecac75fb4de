//! What a provider's text may carry that must not reach a client: secrets (the gateway's own provider
//! key echoed back in a 401, bearer tokens, AWS key ids, Google API keys, organisation ids) and the
//! operator's internal addresses and host names. Provider error messages pass through
//! [`for_client`] before a client sees them, and through [`secrets`] before they are logged.
//!
//! Secrets are found by the firewall plugin's detectors first (`switchyard_firewall::redact_secrets`:
//! whole keys, tokens, JWTs, PEM blocks, the one list of secret shapes the firewall also enforces), then
//! by the patterns below for what only a provider's error text carries: credentials with their scheme,
//! the elided key forms providers echo (`sk-abc...wxyz`), our own keys, organisation ids, `token=…`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a redacted secret becomes.
pub const SECRET: &str = "[redacted]";
/// What a hidden address or host name becomes.
pub const ADDRESS: &str = "[address]";

/// Secret shapes: provider keys, our own keys, bearer tokens, cloud key ids, `key=value` credentials.
static SECRETS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        // Bearer and Basic credentials, with the scheme.
        r"\b(?i:bearer|basic)\s+[A-Za-z0-9._~+/=\-]{5,}[A-Za-z0-9_~+/=\-]",
        // OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-) and Anthropic (sk-ant-) keys; `sk-` then
        // something key-like, with a dot for the elided forms providers echo (`sk-abc...wxyz`).
        r"|\bsk-[A-Za-z0-9_\-]{3,}(?:[.*…]+[A-Za-z0-9_\-]*)?",
        // Switchyard's own keys.
        r"|\bsy_(?:live|test)_[A-Za-z0-9]{4,}",
        // AWS access key ids, Google API keys, GitHub and Slack tokens.
        r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
        r"|\bAIza[0-9A-Za-z_\-]{30,}",
        r"|\bgh[pousr]_[A-Za-z0-9]{20,}",
        r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}",
        // OpenAI organisation and project ids.
        r"|\b(?:org|proj)[-_][A-Za-z0-9]{12,}\b",
        // `api_key=…`, `"token": "…"` and the like.
        r#"|\b(?i:api[_-]?key|access[_-]?token|secret|password|token)\b["']?\s*[:=]\s*["']?[^\s"',;}]{4,}"#,
    ))
    .ok()
});

/// Internal addresses: URLs, IP addresses (with a port), `host:port`, and host names under the
/// suffixes private networks use.
static ADDRESSES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'<>()\[\]]+",
        r"|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?",
        r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b",
        r"|\b(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?",
        r"|(?:^|[\s(])::(?:[0-9A-Fa-f]{1,4})(?::[0-9A-Fa-f]{1,4})*",
        r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b",
        // `host:port` where the host has a dot or a hyphen (`status:503` is not an address).
        r"|\b[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)+:\d{2,5}\b",
        r"|\b(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62})\.)+",
        r"(?:internal|corp|local|lan|home|intranet|private|invalid|localdomain|svc|cluster)\b",
        r"|\blocalhost\b",
    ))
    .ok()
});

fn replace<'a>(re: &LazyLock<Option<Regex>>, text: Cow<'a, str>, with: &str) -> Cow<'a, str> {
    // The patterns are constants; if one failed to compile, nothing is passed on rather than
    // something unredacted.
    let Some(re) = re.as_ref() else {
        return Cow::Borrowed("");
    };
    match re.replace_all(&text, with) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// `text` with anything that looks like a secret replaced by `[redacted]` (for logs).
pub fn secrets(text: &str) -> Cow<'_, str> {
    let found = switchyard_firewall::find_secrets(text);
    let text = if found.is_empty() {
        Cow::Borrowed(text)
    } else {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for d in &found {
            if d.range.start < at {
                continue;
            }
            out.push_str(&text[at..d.range.start]);
            out.push_str(SECRET);
            at = d.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    };
    replace(&SECRETS, text, SECRET)
}

/// `text` with each of `values` (secrets known by value: the provider keys a client brought) replaced
/// by `[redacted]`.
pub fn values<'a>(text: &'a str, values: &[&str]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for v in values.iter().filter(|v| v.len() >= 4) {
        if out.contains(*v) {
            out = Cow::Owned(out.replace(*v, SECRET));
        }
    }
    out
}

/// `text` as a client may see it: secrets redacted, and internal addresses and host names (and the
/// given `hosts`, e.g. the provider's configured host) replaced by `[address]`.
pub fn for_client<'a>(text: &'a str, hosts: &[&str]) -> Cow<'a, str> {
    let mut out = replace(&ADDRESSES, secrets(text), ADDRESS);
    for h in hosts.iter().filter(|h| h.len() > 2) {
        if out.contains(*h) {
            out = Cow::Owned(out.replace(*h, ADDRESS));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let cases = [
            (
                "Incorrect API key provided: Bearer sk-proj-abcdEFGH1234ijkl5678. You can find your API key",
                "Incorrect API key provided: [redacted]. You can find your API key",
            ),
            (
                "Incorrect API key provided: sk-upstre*********cret.",
                "Incorrect API key provided: [redacted].",
            ),
            (
                "invalid x-api-key sk-ant-api03-AbCdEf_123-xyz",
                "invalid x-api-key [redacted]",
            ),
            ("key AKIAIOSFODNN7EXAMPLE denied", "key [redacted] denied"),
            (
                "API key not valid: AIzaSyA1234567890abcdefghijklmnopqrstuv",
                "API key not valid: [redacted]",
            ),
            (
                "organization org-AbCdEfGhIjKlMnOpQrSt is over quota",
                "organization [redacted] is over quota",
            ),
            ("bad request: api_key=hunter2hunter2", "bad request: [redacted]"),
            ("client key sy_live_abcdef123456", "client key [redacted]"),
        ];
        for (input, want) in cases {
            assert_eq!(secrets(input), want, "{input}");
        }
        let plain = "max_tokens must be at most 4096";
        assert!(matches!(secrets(plain), Cow::Borrowed(_)));
        assert!(matches!(for_client(plain, &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn internal_addresses_and_hosts_are_hidden_from_clients() {
        let cases = [
            ("cannot resolve internal-vllm.corp.invalid", "cannot resolve [address]"),
            (
                "Fail to connect to addr: 127.0.0.1:1",
                "Fail to connect to addr: [address]",
            ),
            (
                "upstream http://10.1.2.3:8000/v1/chat failed",
                "upstream [address] failed",
            ),
            ("backend gpu-7.cluster.local timed out", "backend [address] timed out"),
            ("connect to [fd00::1]:8080 refused", "connect to [address] refused"),
            ("connect to fd00::1 refused", "connect to [address] refused"),
            ("proxy vllm-a:8000 is down", "proxy [address] is down"),
        ];
        for (input, want) in cases {
            assert_eq!(for_client(input, &[]), want, "{input}");
        }
        assert_eq!(
            for_client("model gpu-node-7 overloaded", &["gpu-node-7"]),
            "model [address] overloaded"
        );
        // Ordinary provider messages survive.
        let msg = "This model's maximum context length is 128000 tokens. However, you requested 130000 tokens.";
        assert_eq!(for_client(msg, &[]), msg);
        assert_eq!(
            for_client("at 12:30:45 the request failed", &[]),
            "at 12:30:45 the request failed"
        );
    }
}
