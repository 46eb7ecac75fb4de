//! Configuration: YAML files → raw serde structs (`raw`) → validation → immutable [`Snapshot`].
//! Every problem is reported with file, line and field path; `switchyard check` prints them all.
//! The classifier and the phases are built through the [`Assemble`] seam by the modules that own them.

mod catalog;
pub mod env;
pub mod locate;
mod plugins;
pub mod raw;
pub mod routing;
pub mod snapshot;
mod source;
pub mod store;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use plugins::{Assemble, PluginSection};
pub use snapshot::*;
pub use source::{Problem, Problems};

use raw::{RawCatalog, RawConfig};
use source::Source;

static GENERATION: AtomicU64 = AtomicU64::new(0);

pub const CAPABILITIES: &[&str] = &[
    "chat",
    "tools",
    "parallel_tool_calls",
    "vision",
    "json_mode",
    "json_schema",
    "streaming",
    "reasoning",
    "image_generation",
    "embeddings",
    "audio_input",
    "audio_output",
    "speech",
    "video",
    "music",
];

/// The task names (quality scores, `task` fields): the SDK's list.
pub use switchyard_sdk::TASKS;

pub const PRICE_TIERS: &[&str] = &["free", "budget", "standard", "premium", "frontier"];

/// Scope words a key may carry: endpoint groups (`*` is every group), and `costly_features` and
/// `byok` (bring your own provider keys), which `*` does not include (they must be named).
pub const ENDPOINT_SCOPES: &[&str] = &[
    "*",
    "inference",
    "catalog",
    "health",
    "logs",
    "wallet",
    "preferences",
    switchyard_sdk::COSTLY_FEATURES,
    "byok",
];

/// Load and validate the configuration at `path` (and the catalog it names); `assemble` builds the
/// classifier and the phases.
pub fn load(path: &Path, assemble: &dyn Assemble) -> Result<Snapshot, Problems> {
    let src = Source::read(path)?;
    let raw: RawConfig = src.parse()?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let catalog_path = dir.join(&raw.catalog);
    let cat_src = Source::read(&catalog_path)?;
    let raw_catalog: RawCatalog = cat_src.parse()?;
    let mut problems = Vec::new();
    let server = validate::validate_server(&raw, &src, &dir, &mut problems);
    let providers = validate::validate_providers(&raw.providers, &src, &mut problems);
    let catalog = catalog::validate_catalog(raw_catalog.models, &providers, &cat_src, &mut problems);
    let catalog = catalog::validate_aliases(catalog, raw_catalog.aliases, &cat_src, &mut problems);
    let keys = validate::validate_keys(&raw.keys, &src, &mut problems);
    let store = store::validate_store(&raw.store, &src, &dir, &mut problems);
    let webhooks = store::validate_webhooks(&raw.webhooks, &src, &mut problems);
    let mut routing_problems = Vec::new();
    let routing = routing::validate(&raw.routing, &raw.workspaces, &dir, &mut routing_problems);
    problems.extend(routing_problems.into_iter().map(|(path, msg)| src.problem(path, msg)));
    catalog::check_policy_models(&routing, &catalog, &src, &mut problems);
    let classifier = match assemble.classifier(routing.classifier_weights.as_deref()) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(src.problem("routing.classifier", e));
            None
        }
    };
    let sections = plugins::plugin_sections(&raw.plugins, &src, &dir).unwrap_or_else(|p| {
        problems.extend(p);
        Vec::new()
    });
    let keys = Arc::new(keys);
    let names = plugins::ConfigNames {
        catalog: &catalog,
        providers: &providers,
        routing: &routing,
    };
    let phases = if problems.is_empty() {
        assemble
            .phases(&sections, &server, &keys, store.as_ref(), &dir, &names)
            .unwrap_or_else(|p| {
                problems.extend(p);
                Vec::new()
            })
    } else {
        Vec::new()
    };
    let (true, Some(classifier)) = (problems.is_empty(), classifier) else {
        return Err(Problems(problems));
    };
    Ok(Snapshot {
        generation: GENERATION.fetch_add(1, Ordering::Relaxed) + 1,
        config_path: path.to_path_buf(),
        catalog_path,
        server,
        providers,
        catalog,
        keys,
        phases,
        routing,
        classifier,
        store,
        webhooks,
    })
}
