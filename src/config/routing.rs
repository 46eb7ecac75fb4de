//! The `routing` and `workspaces` sections: how `model: "auto"` chooses (modes and their weights, the
//! quality floor, the circuit breaker, session stickiness, the classifier's weights file), policies that
//! match keys, workspaces, request metadata or the requested model (a mode, a floor, a candidate set, a
//! fixed chain, an A/B split), and per-workspace preferences.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;

/// What `auto` optimizes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Quality,
    Cost,
    Latency,
    Balanced,
}

impl Mode {
    /// Mode words of API.md: `quality|cost|latency|balance(d)`, and `optimization` values
    /// `output-optimized` (quality) and `price-optimized` (cost).
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match switchyard_sdk::mode_word(s)? {
            "quality" => Mode::Quality,
            "cost" => Mode::Cost,
            "latency" => Mode::Latency,
            _ => Mode::Balanced,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Quality => "quality",
            Mode::Cost => "cost",
            Mode::Latency => "latency",
            Mode::Balanced => "balanced",
        }
    }

    pub const ALL: [Mode; 4] = [Mode::Quality, Mode::Cost, Mode::Latency, Mode::Balanced];
}

/// Weights of the score's terms, each term in 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub quality: f64,
    pub cost: f64,
    pub latency: f64,
    pub context: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRouting {
    pub default_mode: String,
    /// Models scoring below this for the prompt's task are not eligible for `auto`.
    pub quality_floor: f64,
    pub weights: BTreeMap<String, Weights>,
    /// Consecutive failures that open a model's circuit, and how long it stays open before a probe.
    pub breaker_failures: u32,
    pub breaker_open_seconds: u64,
    /// How long a `session_id` stays on the model that served it.
    pub session_ttl_seconds: u64,
    /// The session table's bounds: sessions kept at most, and bytes they may take.
    pub session_max_entries: u64,
    pub session_max_bytes: u64,
    /// The classifier's weights file, relative to the config file; the built-in weights when absent.
    pub classifier: Option<String>,
    /// What happens to built-in tools (`web_search`, ...) on a provider that does not run them:
    /// `drop` (the default) or `reject`.
    pub builtin_tools: String,
    pub policies: Vec<RawPolicy>,
}

impl Default for RawRouting {
    fn default() -> Self {
        RawRouting {
            default_mode: "balanced".into(),
            quality_floor: 0.0,
            weights: BTreeMap::new(),
            breaker_failures: 5,
            breaker_open_seconds: 30,
            session_ttl_seconds: 3600,
            session_max_entries: 100_000,
            session_max_bytes: 16 << 20,
            classifier: None,
            builtin_tools: "drop".into(),
            policies: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    #[serde(default, rename = "match")]
    pub when: RawMatch,
    pub mode: Option<String>,
    pub quality_floor: Option<f64>,
    /// `auto` chooses only among these (ids, aliases, `provider/*`).
    #[serde(default)]
    pub models: Vec<String>,
    /// A fixed chain: tried in order instead of scoring (for `auto`), or after a pinned model.
    #[serde(default)]
    pub chain: Vec<String>,
    /// An A/B split: the first candidate is drawn by weight, sticky per session (or key).
    #[serde(default)]
    pub split: Vec<RawArm>,
    /// `drop` or `reject`: overrides `routing.builtin_tools` for the requests this policy matches.
    pub builtin_tools: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMatch {
    pub keys: Vec<String>,
    pub workspaces: Vec<String>,
    /// Requested model names (`auto`, `auto:cost`, an alias ...).
    pub models: Vec<String>,
    /// Request `metadata` entries that must all equal these.
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArm {
    pub model: String,
    pub weight: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWorkspace {
    pub quality_floor: Option<f64>,
    pub default_optimization: Option<String>,
    pub excluded_providers: Vec<String>,
    pub excluded_models: Vec<String>,
    pub preferred_providers: Vec<String>,
    /// The task assumed when a request names none and the classifier is unsure.
    pub default_task: Option<String>,
    /// `metadata` (the default: the request log keeps no prompt or answer text) or `full`.
    pub content_mode_default: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    pub keys: Vec<String>,
    pub workspaces: Vec<String>,
    pub models: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub model: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub when: Match,
    pub mode: Option<Mode>,
    pub quality_floor: Option<f64>,
    pub models: Vec<String>,
    pub chain: Vec<String>,
    pub split: Vec<Arm>,
    pub builtin_tools: Option<BuiltinTools>,
}

/// What happens to a request's built-in tools (`web_search`, `file_search`, ...) when the provider
/// that serves it does not run them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuiltinTools {
    /// Removed from the request, named in the `router` object's `lossy` notes and the
    /// `x-jt-dropped-tools` header: an agent routed elsewhere keeps working without them.
    #[default]
    Drop,
    /// 400 `unsupported_tool`, naming the tool.
    Reject,
}

impl BuiltinTools {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "drop" => Some(BuiltinTools::Drop),
            "reject" => Some(BuiltinTools::Reject),
            _ => None,
        }
    }
}

/// A workspace's routing defaults: the YAML's (`workspaces.<name>`), with what the workspace stored
/// through `PUT /v1/preferences/{key}` laid over them (`crate::store::prefs`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences {
    pub quality_floor: Option<f64>,
    pub default_optimization: Option<Mode>,
    pub excluded_providers: Vec<String>,
    pub excluded_models: Vec<String>,
    pub preferred_providers: Vec<String>,
    /// A task name (`code`, ...): the task `auto` assumes when the request names none and the
    /// classifier's confidence is under [`DEFAULT_TASK_BELOW`].
    pub default_task: Option<String>,
    pub content_mode: ContentMode,
}

/// Under this classifier confidence, a workspace's `default_task` replaces the classifier's task.
pub const DEFAULT_TASK_BELOW: f32 = 0.5;

/// Whether the request log keeps prompt and answer text for a workspace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContentMode {
    /// Routing facts, tokens and cost only (the default).
    #[default]
    Metadata,
    /// Also the prompt and the answer text.
    Full,
}

impl ContentMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "metadata" => Some(ContentMode::Metadata),
            "full" => Some(ContentMode::Full),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContentMode::Metadata => "metadata",
            ContentMode::Full => "full",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Routing {
    pub default_mode: Mode,
    pub quality_floor: f64,
    weights: HashMap<Mode, Weights>,
    pub breaker_failures: u32,
    pub breaker_open: Duration,
    pub session_ttl: Duration,
    /// Sessions kept at most, and the bytes the session table may take (the smaller bound wins).
    pub session_max_entries: usize,
    pub session_max_bytes: usize,
    /// The classifier's weights file (absolute), when the config names one; the router builds the
    /// classifier from it.
    pub classifier_weights: Option<std::path::PathBuf>,
    pub builtin_tools: BuiltinTools,
    pub policies: Vec<Policy>,
    pub workspaces: HashMap<String, Preferences>,
}

/// Default weights per mode: quality first, cost first, speed first, and a blend.
pub fn default_weights(m: Mode) -> Weights {
    match m {
        Mode::Quality => Weights {
            quality: 0.75,
            cost: 0.05,
            latency: 0.10,
            context: 0.10,
        },
        Mode::Cost => Weights {
            quality: 0.25,
            cost: 0.60,
            latency: 0.05,
            context: 0.10,
        },
        Mode::Latency => Weights {
            quality: 0.25,
            cost: 0.05,
            latency: 0.60,
            context: 0.10,
        },
        Mode::Balanced => Weights {
            quality: 0.45,
            cost: 0.25,
            latency: 0.20,
            context: 0.10,
        },
    }
}

impl Routing {
    pub fn weights(&self, m: Mode) -> Weights {
        self.weights.get(&m).copied().unwrap_or_else(|| default_weights(m))
    }

    /// The first policy that matches the request.
    pub fn policy_for(
        &self,
        key: Option<&str>,
        workspace: Option<&str>,
        model: &str,
        metadata: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<&Policy> {
        self.policies.iter().find(|p| {
            let w = &p.when;
            (w.keys.is_empty() || key.is_some_and(|k| w.keys.iter().any(|x| x == k)))
                && (w.workspaces.is_empty() || workspace.is_some_and(|ws| w.workspaces.iter().any(|x| x == ws)))
                && (w.models.is_empty() || w.models.iter().any(|x| x == model))
                && w.metadata
                    .iter()
                    .all(|(k, v)| metadata.get(k).and_then(|m| m.as_str()) == Some(v.as_str()))
        })
    }
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            default_mode: Mode::Balanced,
            quality_floor: 0.0,
            weights: HashMap::new(),
            breaker_failures: 5,
            breaker_open: Duration::from_secs(30),
            session_ttl: Duration::from_secs(3600),
            session_max_entries: 100_000,
            session_max_bytes: 16 << 20,
            classifier_weights: None,
            builtin_tools: BuiltinTools::Drop,
            policies: Vec::new(),
            workspaces: HashMap::new(),
        }
    }
}

/// Validate; problems are (field path, message) pairs for the caller to locate.
pub fn validate(
    raw: &RawRouting,
    workspaces: &BTreeMap<String, RawWorkspace>,
    dir: &std::path::Path,
    problems: &mut Vec<(String, String)>,
) -> Routing {
    let mut mode = |path: String, s: &str| match Mode::parse(s) {
        Some(m) => Some(m),
        None => {
            problems.push((
                path,
                format!("unknown mode {s:?}; expected quality, cost, latency or balanced"),
            ));
            None
        }
    };
    let default_mode = mode("routing.default_mode".into(), &raw.default_mode).unwrap_or(Mode::Balanced);
    let mut weights = HashMap::new();
    let mut ws_problems = Vec::new();
    for (name, w) in &raw.weights {
        let Some(m) = Mode::parse(name) else {
            ws_problems.push((
                format!("routing.weights.{name}"),
                "not a mode (quality, cost, latency, balanced)".to_string(),
            ));
            continue;
        };
        let all = [w.quality, w.cost, w.latency, w.context];
        if all.iter().any(|x| !x.is_finite() || *x < 0.0) || all.iter().sum::<f64>() <= 0.0 {
            ws_problems.push((
                format!("routing.weights.{name}"),
                "weights are non-negative and not all zero".to_string(),
            ));
        }
        weights.insert(m, *w);
    }
    let floor_ok = |f: f64| (0.0..=1.0).contains(&f);
    if !floor_ok(raw.quality_floor) {
        ws_problems.push((
            "routing.quality_floor".into(),
            "a quality floor is between 0 and 1".into(),
        ));
    }
    if raw.session_max_entries == 0 || raw.session_max_entries > 100_000_000 {
        ws_problems.push(("routing.session_max_entries".into(), "must be 1..=100000000".into()));
    }
    if !(1024..=1 << 40).contains(&raw.session_max_bytes) {
        ws_problems.push((
            "routing.session_max_bytes".into(),
            "must be at least 1024 (and at most 1 TiB)".into(),
        ));
    }
    if raw.breaker_failures == 0 {
        ws_problems.push(("routing.breaker_failures".into(), "must be at least 1".into()));
    }
    let classifier_weights = raw.classifier.as_ref().map(|p| dir.join(p));
    let mut builtin = |field: String, v: &str| {
        BuiltinTools::parse(v).or_else(|| {
            ws_problems.push((field, format!("unknown builtin_tools {v:?}; use drop or reject")));
            None
        })
    };
    let builtin_tools = builtin("routing.builtin_tools".into(), &raw.builtin_tools).unwrap_or_default();
    let policy_builtin: Vec<Option<BuiltinTools>> = raw
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.builtin_tools
                .as_deref()
                .and_then(|v| builtin(format!("routing.policies[{i}].builtin_tools"), v))
        })
        .collect();
    let mut policies = Vec::new();
    for (i, p) in raw.policies.iter().enumerate() {
        let pm = p
            .mode
            .as_deref()
            .and_then(|m| mode(format!("routing.policies[{i}].mode"), m));
        if p.quality_floor.is_some_and(|f| !floor_ok(f)) {
            ws_problems.push((
                format!("routing.policies[{i}].quality_floor"),
                "a quality floor is between 0 and 1".into(),
            ));
        }
        if !p.split.is_empty() && p.split.iter().map(|a| u64::from(a.weight)).sum::<u64>() == 0 {
            ws_problems.push((
                format!("routing.policies[{i}].split"),
                "split weights must not all be zero".into(),
            ));
        }
        policies.push(Policy {
            name: p.name.clone(),
            when: Match {
                keys: p.when.keys.clone(),
                workspaces: p.when.workspaces.clone(),
                models: p.when.models.clone(),
                metadata: p.when.metadata.clone(),
            },
            mode: pm,
            quality_floor: p.quality_floor,
            models: p.models.clone(),
            chain: p.chain.clone(),
            split: p
                .split
                .iter()
                .map(|a| Arm {
                    model: a.model.clone(),
                    weight: a.weight,
                })
                .collect(),
            builtin_tools: policy_builtin.get(i).copied().flatten(),
        });
    }
    let mut prefs = HashMap::new();
    for (name, w) in workspaces {
        if w.quality_floor.is_some_and(|f| !floor_ok(f)) {
            ws_problems.push((
                format!("workspaces.{name}.quality_floor"),
                "a quality floor is between 0 and 1".into(),
            ));
        }
        let default_optimization = w
            .default_optimization
            .as_deref()
            .and_then(|m| mode(format!("workspaces.{name}.default_optimization"), m));
        if let Some(t) = w.default_task.as_deref().filter(|t| !super::TASKS.contains(t)) {
            ws_problems.push((
                format!("workspaces.{name}.default_task"),
                format!("unknown task {t:?}; known: {}", super::TASKS.join(", ")),
            ));
        }
        let content_mode = match w.content_mode_default.as_deref() {
            None => ContentMode::Metadata,
            Some(c) => ContentMode::parse(c).unwrap_or_else(|| {
                ws_problems.push((
                    format!("workspaces.{name}.content_mode_default"),
                    format!("unknown content mode {c:?}; use metadata or full"),
                ));
                ContentMode::Metadata
            }),
        };
        prefs.insert(
            name.clone(),
            Preferences {
                quality_floor: w.quality_floor,
                default_optimization,
                excluded_providers: w.excluded_providers.clone(),
                excluded_models: w.excluded_models.clone(),
                preferred_providers: w.preferred_providers.clone(),
                default_task: w.default_task.clone(),
                content_mode,
            },
        );
    }
    problems.extend(ws_problems);
    Routing {
        default_mode,
        quality_floor: raw.quality_floor,
        weights,
        breaker_failures: raw.breaker_failures.max(1),
        breaker_open: Duration::from_secs(raw.breaker_open_seconds),
        session_ttl: Duration::from_secs(raw.session_ttl_seconds),
        session_max_entries: usize::try_from(raw.session_max_entries).unwrap_or(usize::MAX),
        session_max_bytes: usize::try_from(raw.session_max_bytes).unwrap_or(usize::MAX),
        classifier_weights,
        builtin_tools,
        policies,
        workspaces: prefs,
    }
}
