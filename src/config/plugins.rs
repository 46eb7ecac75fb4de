//! Plugin sections of the config and the [`Assemble`] seam: the config hands each plugin its own
//! section (inline under `plugins:`, or a file the section names) and leaves building the phases and
//! the classifier to the modules that own them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::source::{Problem, Source};
use super::{locate, KeyStore, ServerSettings};

#[derive(Debug, Clone)]
pub struct PluginSection {
    pub name: String,
    pub value: serde_json::Value,
    file: PathBuf,
    lines: Arc<HashMap<String, usize>>,
    /// The section's own path in `file`: `plugins.<name>`, or empty when the section is a file of its own.
    prefix: String,
}

impl PluginSection {
    /// A problem at `path` inside the section.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        let full = match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) if path.starts_with('[') => format!("{}{path}", self.prefix),
            (false, false) => format!("{}.{path}", self.prefix),
        };
        Problem {
            file: self.file.clone(),
            line: locate::line_of(&self.lines, &full).or_else(|| locate::line_of(&self.lines, &self.prefix)),
            path: full,
            message: message.into(),
        }
    }
}

/// What the configuration cannot build itself, because it belongs to other modules: the prompt
/// classifier (the router's) and the phases (the plugin registry's). `server` supplies it, so this
/// module depends on neither.
pub trait Assemble {
    /// The classifier, from its weights file (`None`: the built-in weights).
    fn classifier(&self, weights: Option<&Path>) -> Result<Arc<dyn switchyard_sdk::Classify>, String>;

    /// The phases of a snapshot, from the plugin sections (problems located through the sections).
    /// `store`: the database the phases' durable state lives in (`None`: off).
    fn phases(
        &self,
        sections: &[PluginSection],
        server: &ServerSettings,
        keys: &Arc<KeyStore>,
        store: Option<&crate::store::Settings>,
        dir: &Path,
        names: &dyn switchyard_sdk::Names,
    ) -> Result<Vec<Arc<dyn switchyard_sdk::Phase>>, Vec<Problem>>;
}

/// The names a configuration being loaded defines, for the plugins' checks.
pub struct ConfigNames<'a> {
    pub catalog: &'a super::Catalog,
    pub providers: &'a std::collections::BTreeMap<String, Arc<super::Provider>>,
    pub routing: &'a super::routing::Routing,
}

impl switchyard_sdk::Names for ConfigNames<'_> {
    fn is_model(&self, name: &str) -> bool {
        self.catalog.get(name).is_some()
            || self.catalog.alias_rule(name).is_some()
            || crate::router::auto_mode(name).is_some()
    }

    fn is_provider(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    fn is_policy(&self, name: &str) -> bool {
        self.routing.policies.iter().any(|p| p.name == name)
    }
}

/// The plugin sections: a section written inline, or a file it names (relative to the config).
pub(crate) fn plugin_sections(
    raw: &BTreeMap<String, serde_yaml::Value>,
    src: &Source,
    dir: &Path,
) -> Result<Vec<PluginSection>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let lines = Arc::new(src.lines.clone());
    for (name, v) in raw {
        let prefix = format!("plugins.{name}");
        let (value, file, lines, prefix) = match v {
            serde_yaml::Value::String(f) => {
                let path = dir.join(f);
                let own = match Source::read(&path) {
                    Ok(s) => s,
                    Err(p) => {
                        problems.extend(p.0);
                        continue;
                    }
                };
                match own.parse::<serde_yaml::Value>() {
                    Ok(y) => (y, path, Arc::new(own.lines), String::new()),
                    Err(p) => {
                        problems.extend(p.0);
                        continue;
                    }
                }
            }
            other => (other.clone(), src.path.clone(), lines.clone(), prefix),
        };
        let mut value = value;
        if let Err((path, e)) = expand_strings(&mut value, String::new()) {
            let section = PluginSection {
                name: name.clone(),
                value: serde_json::Value::Null,
                file: file.clone(),
                lines: lines.clone(),
                prefix: prefix.clone(),
            };
            problems.push(section.problem(&path, e));
            continue;
        }
        match serde_json::to_value(&value) {
            Ok(value) => out.push(PluginSection {
                name: name.clone(),
                value,
                file,
                lines,
                prefix,
            }),
            Err(e) => problems.push(src.problem(format!("plugins.{name}"), format!("not a valid section: {e}"))),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// `${VAR}` expanded in every string of a section, as everywhere else in the config; the error names
/// the field.
fn expand_strings(v: &mut serde_yaml::Value, path: String) -> Result<(), (String, String)> {
    match v {
        serde_yaml::Value::String(s) => {
            *s = super::env::expand(s, |k| std::env::var(k).ok()).map_err(|e| (path, e))?;
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, x) in items.iter_mut().enumerate() {
                expand_strings(x, format!("{path}[{i}]"))?;
            }
        }
        serde_yaml::Value::Mapping(m) => {
            for (k, x) in m.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                let p = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                expand_strings(x, p)?;
            }
        }
        serde_yaml::Value::Tagged(t) => expand_strings(&mut t.value, path)?,
        _ => {}
    }
    Ok(())
}
