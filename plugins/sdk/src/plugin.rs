//! How a plugin is configured and built. A [`Plugin`] is a factory registered once in the core's
//! registry; for every configuration snapshot (start and each reload) the core hands it its own
//! section of the YAML (`plugins.<name>`, or a file that section names) and it builds the
//! [`Phase`](crate::Phase) that runs for that snapshot. Config is typed: the plugin deserializes its
//! section into its own serde struct (`deny_unknown_fields`) with [`typed`], and errors name the field
//! path, which the core turns into `file:line: plugins.<name>.<path>: message`.
//!
//! State that must outlive a reload (counters, caches) is kept in [`PluginState`], keyed by plugin:
//! the core passes the same one to every build, so a rebuilt phase picks up where the old one was.

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::phase::Phase;
use crate::state::{KeyValue, Ledger};

/// A configuration problem in a plugin's section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The field path inside the section, e.g. `policies[0].rules[2].pattern` (empty: the section).
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Deserialize a plugin's section into its typed config. The error names the field that failed.
pub fn typed<T: DeserializeOwned>(section: &Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(section).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::new(path, e.into_inner().to_string())
    })
}

/// The names a configuration defines (catalog models and aliases, providers, routing policies), so a
/// section naming one that does not exist fails `switchyard check` with its field, rather than every
/// request it would apply to.
pub trait Names {
    /// A catalog id or alias, a name the catalog's `aliases` section maps, or a routing word (`auto`,
    /// `router`, `auto:<mode>`).
    fn is_model(&self, name: &str) -> bool;
    fn is_provider(&self, name: &str) -> bool;
    fn is_policy(&self, name: &str) -> bool;
}

/// `"x" is not in the catalog` and the like, for a [`ConfigError`].
pub fn unknown(what: &str, name: &str) -> String {
    format!("{name:?} is not a configured {what}")
}

/// What a plugin may use while it builds its phase.
pub struct BuildEnv<'a> {
    /// State that survives reloads, keyed by plugin.
    pub state: &'a PluginState,
    /// The directory of the main config file (relative paths in a section are relative to it).
    pub config_dir: &'a Path,
    /// The store's key-value with expiry (`None`: the store is off).
    pub kv: Option<Arc<dyn KeyValue>>,
    /// The store's money ledger (`None`: the store is off).
    pub ledger: Option<Arc<dyn Ledger>>,
    /// The spend counters, checkpointed to the store (`None`: the store is off; a plugin keeps its own
    /// in memory).
    pub counters: Option<Arc<dyn crate::state::counters::SpendCounters>>,
    /// The configuration's names (`None`: not known here, as in unit tests and benches; names are
    /// then not checked).
    pub names: Option<&'a dyn Names>,
}

impl<'a> BuildEnv<'a> {
    /// An environment without a store (tests, benches, and a gateway whose store is off).
    pub fn new(state: &'a PluginState, config_dir: &'a Path) -> Self {
        BuildEnv {
            state,
            config_dir,
            kv: None,
            ledger: None,
            counters: None,
            names: None,
        }
    }
}

/// What a plugin's build gives: its phase (`None`: off for this snapshot), or every problem found.
pub type Built = Result<Option<Arc<dyn Phase>>, Vec<ConfigError>>;

/// A plugin: a named config section and the phase built from it.
pub trait Plugin: Send + Sync {
    /// The section name under `plugins:` and the phase's name.
    fn name(&self) -> &'static str;

    /// Build the phase for one configuration snapshot. `section` is the plugin's config (`None` when
    /// the config has no section for it). `Ok(None)`: the plugin is off for this snapshot.
    fn build(&self, section: Option<&Value>, env: &BuildEnv) -> Built;
}

/// Plugin state that outlives configuration reloads, one value per (plugin, type).
#[derive(Default)]
pub struct PluginState {
    slots: Mutex<HashMap<SlotKey, Arc<dyn Any + Send + Sync>>>,
}

/// A slot: the plugin's name and the type of its value.
type SlotKey = (&'static str, std::any::TypeId);

impl std::fmt::Debug for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginState").finish_non_exhaustive()
    }
}

impl PluginState {
    pub fn new() -> Arc<Self> {
        Arc::new(PluginState::default())
    }

    /// The plugin's value of type `T`, made with `init` the first time.
    pub fn get_or_init<T: Any + Send + Sync>(&self, plugin: &'static str, init: impl FnOnce() -> T) -> Arc<T> {
        let key = (plugin, std::any::TypeId::of::<T>());
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = slots.get(&key).and_then(|s| s.clone().downcast::<T>().ok()) {
            return t;
        }
        let t = Arc::new(init());
        slots.insert(key, t.clone());
        t
    }
}
