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
use crate::store::{self, Store};

/// The plugins, in the order their phases run (after the core's own): limits first (a refused
/// request costs nothing more), then the firewall (it blocks or masks what the rules, the cache and
/// the provider will see), the rules (they steer the routing of what is left), the cost caps and the
/// wallet (they reserve once the route is known), and the cache last (it keys the request as edited above).
pub fn plugins() -> Vec<Arc<dyn Plugin>> {
    vec![
        Arc::new(switchyard_ratelimit::RateLimitPlugin),
        Arc::new(switchyard_firewall::FirewallPlugin),
        Arc::new(switchyard_rules::RulesPlugin),
        Arc::new(switchyard_caps::CapsPlugin),
        Arc::new(switchyard_wallet::WalletPlugin),
        Arc::new(switchyard_cache::CachePlugin),
    ]
}

/// Builds snapshots' classifiers and phases; keeps plugin state, and each plugin's last built phase
/// with the section it came from, so a reload that leaves a section unchanged keeps the phase. It also
/// opens the store (once, with the first snapshot's `store` settings) whose handles the plugins get.
pub struct Registry {
    plugins: Vec<Arc<dyn Plugin>>,
    pub(crate) state: Arc<PluginState>,
    /// Failed authentications per address: survives reloads like plugin state.
    auth_throttle: Arc<AuthThrottle>,
    built: Mutex<Vec<Built>>,
    /// `true`: a command that only reads the config (`check`, `route`): the store is opened in memory,
    /// so no database file is created or touched.
    offline: bool,
    store: Mutex<Option<(store::Settings, Arc<Store>)>>,
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
            offline: false,
            store: Mutex::new(None),
        }
    }

    /// For commands that validate or explain a config without serving it: the store is in memory.
    pub fn offline() -> Self {
        Registry {
            offline: true,
            ..Registry::with(plugins())
        }
    }

    /// The open store, once a snapshot was built with one.
    pub fn store(&self) -> Option<Arc<Store>> {
        let s = self.store.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref().map(|(_, st)| st.clone())
    }

    /// The store for a snapshot with these settings: the one already open (the database is chosen at
    /// start; another path takes effect on restart), or opened now.
    fn store_for(&self, settings: Option<&store::Settings>, dir: &Path) -> Result<Option<Arc<Store>>, Problem> {
        let mut slot = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((open, st)) = slot.as_ref() {
            if settings.is_some_and(|s| s.location != open.location) || settings.is_none() {
                tracing::warn!("store settings changed in the config; the database in use stays until restart");
            }
            return Ok(Some(st.clone()));
        }
        let Some(settings) = settings else {
            return Ok(None);
        };
        let mut settings = settings.clone();
        if self.offline {
            settings.location = store::Location::Memory;
        }
        match store::open(&settings) {
            Ok(st) => {
                *slot = Some((settings, st.clone()));
                Ok(Some(st))
            }
            Err(e) => Err(Problem {
                file: dir.to_path_buf(),
                line: None,
                path: "store.path".into(),
                message: e,
            }),
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
        store: Option<&store::Settings>,
        dir: &Path,
        names: &dyn switchyard_sdk::Names,
    ) -> Result<Vec<Arc<dyn Phase>>, Vec<Problem>> {
        let mut problems = Vec::new();
        let store = self.store_for(store, dir).map_err(|p| vec![p])?;
        // A reload also takes the keys `switchyard keys` changed in the database file.
        if let Some(Err(e)) = store.as_ref().map(|s| s.refresh_keys_blocking()) {
            tracing::warn!(error = %e, "cannot read the stored keys; the previous ones stay");
        }
        for s in sections {
            if !self.plugins.iter().any(|p| p.name() == s.name) {
                problems.push(s.problem(
                    "",
                    format!("unknown plugin {:?}; known: {}", s.name, self.names().join(", ")),
                ));
            }
        }
        let mut phases: Vec<Arc<dyn Phase>> = vec![
            Arc::new(
                auth::Auth::new(
                    keys.clone(),
                    self.auth_throttle.clone(),
                    server.max_auth_failures_per_minute,
                )
                .with_runtime(store.as_ref().map(|s| s.keys.clone())),
            ),
            Arc::new(body_limit::BodyLimit {
                max_body_bytes: server.max_body_bytes,
            }),
            Arc::new(validate::Validate),
            Arc::new(costly::CostlyFeatures),
        ];
        let env = BuildEnv {
            state: &self.state,
            config_dir: dir,
            kv: store.as_ref().map(|s| s.kv_handle()),
            ledger: store.as_ref().map(|s| s.ledger_handle()),
            counters: store
                .as_ref()
                .map(|s| s.counters.clone() as Arc<dyn switchyard_sdk::state::counters::SpendCounters>),
            names: Some(names),
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
