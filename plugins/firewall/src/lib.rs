//! Switchyard's firewall plugin: policies of rules that block, mask or flag text in prompts,
//! metadata and answers (whole or streamed), built-in detectors of personal data and secrets, and the
//! per-request `X-GR-Guardrails` header.
//!
//! # Configuration (`plugins.firewall`)
//! ```yaml
//! plugins:
//!   firewall:
//!     max_holdback_bytes: 256          # optional, 256..=65536: the most a streamed match holds back
//!     policies:
//!       - name: pii
//!         applies_to: {workspaces: [team-a]}           # optional: workspaces, keys, models
//!         rules:
//!           - {name: cards, detector: payment_card, scope: prompt, action: block}
//!           - {name: emails, detector: email, scope: [prompt, response], action: mask, replacement: "[EMAIL]"}
//!           - {name: codename, substring: "Project Falcon", case_sensitive: false, scope: prompt, action: warn}
//!           - {name: internal-host, regex: '\bhost-[0-9]{3}\.corp\b', scope: response, action: mask}
//!           - {name: keys, detector: secrets, scope: [prompt, metadata], action: block,
//!              applies_to: {models: ["openai/*", fast]}}
//! ```
//! - A rule has exactly one matcher: `substring` (with `case_sensitive`, default `true`; `false` is
//!   ASCII case folding), `regex` (Rust `regex` syntax; `\b` is taken as the ASCII word boundary,
//!   which keeps the scan on the fast DFA; patterns that can match the empty string or exceed 1 MiB
//!   compiled are refused), or `detector` (one of [`Detector`]'s names, or `secrets` for all of them).
//! - `scope`: `prompt` (every message's text and reasoning, whatever its role, tool-call arguments,
//!   tool descriptions), `response` (the answer's text and tool-call arguments, whole or streamed) or
//!   `metadata` (`metadata` string values and `user`), or a list.
//! - `action`: `block` (403 `firewall_blocked`), `mask` (with `replacement`, by default the detector's
//!   token such as `[EMAIL]`, or `[REDACTED]`) or `warn` (reported only).
//! - `applies_to` on a policy and/or a rule: `workspaces`, `keys` (key names), `models` (catalog ids
//!   or aliases, `*` at the end as a wildcard); every list given must admit the request. A model
//!   filter matches the model the client asked for or, for response rules, the model that answered.
//!
//! # Streams
//! A streamed answer is held back only from where a match could still be in progress, so plain text
//! reaches the client at once and a match split across events is masked whole (see `stream.rs`).
//! A match longer than `max_holdback_bytes` cannot be held whole: a detector's (a PEM block, a long
//! JWT) is masked through to its end, a regex's only as far as the hold-back reaches. Streamed
//! tool-call arguments are not seen (the phase API hands over streamed text only); whole answers'
//! are.
//!
//! Every applied rule is reported in `ex.firewall` (policy, rule, action, scope, a redacted sample and
//! where it matched); a block also adds a `firewall` entry to `ex.trace`. `X-GR-Guardrails:
//! moderate|strict` adds the built-in [`Guardrails`] rules to the request (policy `guardrails`).

mod check;
mod config;
mod detectors;
mod guardrails;
mod mask;
mod matcher;
mod phase;
mod policy;
mod prefix;
mod redact;
mod report;
mod stream;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::{BuildEnv, ConfigError, Phase, Plugin};

pub use detectors::{detect, Detection, Detector};
pub use guardrails::Guardrails;
pub use redact::{find_secrets, redact_secrets};

/// The firewall plugin (section and phase name `firewall`).
#[derive(Debug, Default, Clone, Copy)]
pub struct FirewallPlugin;

impl FirewallPlugin {
    /// Validate a section and build its phase (what [`Plugin::build`] does, without a `BuildEnv`).
    /// `None` (no section) builds a phase without policies: `X-GR-Guardrails` works regardless.
    pub fn compile(section: Option<&Value>) -> Result<Arc<dyn Phase>, Vec<ConfigError>> {
        let fw = config::compile(section)?;
        Ok(Arc::new(phase::FirewallPhase { fw }))
    }
}

impl Plugin for FirewallPlugin {
    fn name(&self) -> &'static str {
        phase::NAME
    }

    fn build(&self, section: Option<&Value>, _env: &BuildEnv) -> Result<Option<Arc<dyn Phase>>, Vec<ConfigError>> {
        FirewallPlugin::compile(section).map(Some)
    }
}
