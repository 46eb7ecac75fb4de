//! Switchyard's rules plugin: operator rules, ordered by priority, that look at a request (its text,
//! metadata, routing mode, model, key, size, task, schema, time of day) and steer its routing (pin a
//! model or provider, set the mode, a fallback chain, a quality floor or budget, exclude providers),
//! label it (metadata and A/B tags), or refuse it. Every evaluated rule leaves a trace entry saying
//! which conditions held and what it did.
//!
//! Config (the `plugins.rules` section) is compiled once per snapshot into a [`RuleSet`]; evaluating
//! it on a request scans the prompt at most once per automaton, and only if a rule reaches a text
//! condition. See the crate README for the config format and the firing semantics.

mod action;
mod compile;
mod config;
mod eval;
mod phase;
mod rule;
mod scan;
mod time;

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::{BuildEnv, ConfigError, Phase, Plugin};

pub use action::REJECT_CODE;
pub use compile::RuleSet;
pub use phase::RulesPhase;
pub use time::{Clock, FixedClock, SystemClock};

/// The plugin: the `rules` config section and the phase built from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesPlugin;

impl Plugin for RulesPlugin {
    fn name(&self) -> &'static str {
        eval::PHASE
    }

    /// No section, or a section without rules: no phase (nothing runs per request).
    fn build(&self, section: Option<&Value>, env: &BuildEnv) -> Result<Option<Arc<dyn Phase>>, Vec<ConfigError>> {
        let Some(section) = section else {
            return Ok(None);
        };
        let rules = RuleSet::from_section_with(section, env.names)?;
        if rules.is_empty() {
            return Ok(None);
        }
        Ok(Some(Arc::new(RulesPhase::new(rules))))
    }
}

#[cfg(test)]
mod tests;
