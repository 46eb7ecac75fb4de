//! The plugin registry: every phase a snapshot runs, in order, and how each is built. The core's own
//! phases (authentication, body size, validation) come first; plugins follow, each built from its own
//! typed section of the config (`plugins.<name>`), with state that survives reloads. This is the one
//! place that decides which phases exist; `server` hands it to the config loader through
//! [`config::Assemble`], so the config knows neither the phases nor the router.

use std::path::Path;
use std::sync::{Arc, Mutex};

use switchyard_sdk::{BuildEnv, Classify, Phase, Plugin, PluginState};

use crate::config::{self, KeyStore, PluginSection, Problem, ServerSettings};
use crate::phases::throttle::AuthThrottle;
use crate::phases::{auth, body_limit, costly, validate};
use crate::router::classify;

/// The plugins, in the order their phases run (after the core's own): limits first (a refused
/// request costs nothing more), then the firewall (it blocks or masks what the rules and the
/// provider will see), then the rules (they steer the routing of what is left).
pub fn plugins() -> Vec<Arc<dyn Plugin>> {
    vec![
        Arc::new(switchyard_ratelimit::RateLimitPlugin),
        Arc::new(switchyard_firewall::FirewallPlugin),
        Arc::new(switchyard_rules::RulesPlugin),
    ]
}

/// Builds snapshots' classifiers and phases; keeps plugin state, and each plugin's last built phase
/// with the section it came from, so a reload that leaves a section unchanged keeps the phase.
pub struct Registry {
    plugins: Vec<Arc<dyn Plugin>>,
    pub(crate) state: Arc<PluginState>,
    /// Failed authentications per address: survives reloads like plugin state.
    auth_throttle: Arc<AuthThrottle>,
    built: Mutex<Vec<Built>>,
}

/// A plugin's last build: its name, the section it was built from, and its phase.
type Built = (&'static str, Option<serde_json::Value>, Option<Arc<dyn Phase>>);

impl Registry {
    pub fn new() -> Self {
        Registry::with(plugins())
    }

    /// A registry of these plugins (tests register their own).
    pub fn with(plugins: Vec<Arc<dyn Plugin>>) -> Self {
        Registry {
            plugins,
            state: PluginState::new(),
            auth_throttle: Arc::default(),
            built: Mutex::new(Vec::new()),
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl config::Assemble for Registry {
    fn classifier(&self, weights: Option<&Path>) -> Result<Arc<dyn Classify>, String> {
        classify::sdk::build(weights)
    }

    fn phases(
        &self,
        sections: &[PluginSection],
        server: &ServerSettings,
        keys: &Arc<KeyStore>,
        dir: &Path,
    ) -> Result<Vec<Arc<dyn Phase>>, Vec<Problem>> {
        let mut problems = Vec::new();
        for s in sections {
            if !self.plugins.iter().any(|p| p.name() == s.name) {
                problems.push(s.problem(
                    "",
                    format!("unknown plugin {:?}; known: {}", s.name, self.names().join(", ")),
                ));
            }
        }
        let mut phases: Vec<Arc<dyn Phase>> = vec![
            Arc::new(auth::Auth::new(
                keys.clone(),
                self.auth_throttle.clone(),
                server.max_auth_failures_per_minute,
            )),
            Arc::new(body_limit::BodyLimit {
                max_body_bytes: server.max_body_bytes,
            }),
            Arc::new(validate::Validate),
            Arc::new(costly::CostlyFeatures),
        ];
        let env = BuildEnv {
            state: &self.state,
            config_dir: dir,
        };
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = Vec::new();
        for p in &self.plugins {
            let section = sections.iter().find(|s| s.name == p.name());
            let value = section.map(|s| s.value.clone());
            let reused = built
                .iter()
                .find(|(n, v, _)| *n == p.name() && *v == value)
                .map(|(_, _, phase)| phase.clone());
            let phase = match reused {
                Some(phase) => phase,
                None => match p.build(value.as_ref(), &env) {
                    Ok(phase) => phase,
                    Err(errs) => {
                        for e in errs {
                            problems.push(match section {
                                Some(s) => s.problem(&e.path, e.message),
                                None => Problem {
                                    file: dir.to_path_buf(),
                                    line: None,
                                    path: format!("plugins.{}", p.name()),
                                    message: e.message,
                                },
                            });
                        }
                        None
                    }
                },
            };
            next.push((p.name(), value, phase.clone()));
            phases.extend(phase);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        *built = next;
        Ok(phases)
    }
}

#[cfg(test)]
mod tests;
