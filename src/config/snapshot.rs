//! The validated, immutable configuration a request runs against. Built off the request path and
//! swapped atomically on reload; a request keeps the `Arc<Snapshot>` it started with.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchyard_sdk::{Classify, KeyLimits, Money, Phase, Price, Scopes};

use super::raw::RawSimulate;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    pub admin_listen: String,
    pub h2c: bool,
    pub tls: Option<TlsListener>,
    pub worker_threads: usize,
    pub max_body_bytes: u64,
    pub max_response_bytes: u64,
    pub grace_period_seconds: u64,
    pub graceful_shutdown_timeout_seconds: u64,
    pub max_attempts: usize,
    pub dns_ttl: Duration,
    pub upstream_keepalive_pool_size: usize,
    pub upgrade_sock: String,
    pub pid_file: String,
    pub access_log: bool,
    pub client_body_timeout: Duration,
    pub client_idle_timeout: Duration,
    pub client_header_timeout: Duration,
    pub max_header_bytes: usize,
    /// Open client connections at most (resolved from the open-file limit when the config says 0).
    pub max_client_connections: usize,
    /// Bytes of request bodies held across the gateway at most.
    pub max_body_bytes_in_flight: u64,
    /// The admin listener's token (from the config, else `SWITCHYARD_ADMIN_TOKEN`), if any.
    pub admin_token: Option<AdminToken>,
    /// `GET /metrics` needs no token.
    pub metrics_open: bool,
    /// Failed authentications per client address per minute before 429 (0: no throttle).
    pub max_auth_failures_per_minute: u32,
    pub simulator_listen: String,
}

/// The admin token, kept as its SHA-256 only (compared in constant time, never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(pub [u8; 32]);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListener {
    pub listen: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    OpenAi,
    OpenAiCompatible,
    Anthropic,
    Gemini,
    Mock,
}

impl ProviderKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "openai" => ProviderKind::OpenAi,
            "openai_compatible" => ProviderKind::OpenAiCompatible,
            "anthropic" => ProviderKind::Anthropic,
            "gemini" => ProviderKind::Gemini,
            "mock" => ProviderKind::Mock,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &["openai", "openai_compatible", "anthropic", "gemini", "mock"];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::OpenAiCompatible => "openai_compatible",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Mock => "mock",
        }
    }
}

/// Where a provider lives. Mock providers have no address of their own: they are served by the
/// built-in simulator, whose address is known only once it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Remote {
        tls: bool,
        host: String,
        port: u16,
        base_path: String,
    },
    Simulator {
        base_path: String,
    },
}

impl Origin {
    pub fn base_path(&self) -> &str {
        match self {
            Origin::Remote { base_path, .. } | Origin::Simulator { base_path } => base_path,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
    pub write: Duration,
    pub idle: Duration,
}

pub struct Provider {
    pub name: Arc<str>,
    pub kind: ProviderKind,
    pub origin: Origin,
    /// `None` when the configured key variable is unset: listed, not routable.
    pub api_key: Option<String>,
    /// A key variable was configured: without its value the provider is not routable.
    pub key_required: bool,
    /// The environment variable the key is read from, when the config names one.
    pub key_env: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeouts: Timeouts,
    pub simulate: Option<RawSimulate>,
    /// Translated requests carry Anthropic's automatic prompt caching (`auto_cache`).
    pub auto_cache: bool,
    /// Speaks the Responses API too (`POST {base}/responses`).
    pub responses_api: bool,
    /// The header a client brings its own key for this provider in (`x-openai-key`, `x-<name>-key`
    /// for an OpenAI-compatible one), made once here rather than on every request.
    pub byok_header: Option<http::HeaderName>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// The bring-your-own-key header for a provider of `kind` named `name`: `None` for a mock, or a
    /// name that cannot be a header.
    pub fn byok_header_for(kind: ProviderKind, name: &str) -> Option<http::HeaderName> {
        match kind {
            ProviderKind::OpenAi => Some(http::HeaderName::from_static("x-openai-key")),
            ProviderKind::Anthropic => Some(http::HeaderName::from_static("x-anthropic-key")),
            ProviderKind::Gemini => Some(http::HeaderName::from_static("x-gemini-key")),
            ProviderKind::OpenAiCompatible => {
                http::HeaderName::from_bytes(format!("x-{}-key", name.to_ascii_lowercase()).as_bytes()).ok()
            }
            ProviderKind::Mock => None,
        }
    }

    /// Usable for requests: mock providers always, others once they have a key (or need none, like a
    /// local OpenAI-compatible server configured without `api_key_env`).
    pub fn available(&self) -> bool {
        self.kind == ProviderKind::Mock || self.api_key.is_some() || !self.key_required
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub input: Price,
    pub cached_input: Price,
    pub cache_write: Price,
    pub output: Price,
    /// Per generated image (image models).
    pub image: Option<Money>,
}

impl Pricing {
    /// Exact cost of `u`: cached input at the cached price, the rest of the input and all output
    /// (reasoning included) at their prices.
    pub fn cost(&self, u: &switchyard_sdk::ir::Usage) -> Money {
        let cached = u.cached_input_tokens.min(u.input_tokens);
        let written = u.cache_write_tokens.min(u.input_tokens - cached);
        self.input
            .cost(u.input_tokens - cached - written)
            .saturating_add(self.cached_input.cost(cached))
            .saturating_add(self.cache_write.cost(written))
            .saturating_add(self.output.cost(u.output_tokens))
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub id: String,
    pub provider: Arc<Provider>,
    pub upstream_model: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub pricing: Pricing,
    pub context_window: u64,
    pub max_output: u64,
    pub capabilities: Vec<String>,
    pub quality: BTreeMap<String, f64>,
    pub price_tier: String,
    pub tags: Vec<String>,
    pub latency_prior_ms: u64,
    pub quirks: super::raw::Quirks,
    /// The thinking budgets the model accepts, when the catalog says.
    pub thinking_budget: Option<super::raw::ThinkingBudget>,
}

impl Model {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub models: Vec<Arc<Model>>,
    /// Ids and aliases to models.
    index: HashMap<String, Arc<Model>>,
    /// The catalog's `aliases` section: exact names first, then patterns, longest first.
    rules: Vec<AliasRule>,
}

/// A name clients send, mapped by the catalog's `aliases` section.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRule {
    /// An exact name, or a pattern where `*` stands for any run of characters.
    pub pattern: String,
    pub target: AliasTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AliasTarget {
    /// A model id or alias, then its fallback chain.
    Models(Vec<String>),
    /// `auto` or `auto:<mode>`.
    Auto(String),
}

/// Whether `name` matches `pattern` (`*`: any run of characters, possibly empty).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl Catalog {
    pub fn new(models: Vec<Arc<Model>>) -> Self {
        let mut index = HashMap::new();
        for m in &models {
            index.insert(m.id.clone(), m.clone());
            for a in &m.aliases {
                index.insert(a.clone(), m.clone());
            }
        }
        Catalog {
            models,
            index,
            rules: Vec::new(),
        }
    }

    /// With the `aliases` section's rules: exact names first, then patterns by length, so that
    /// the most specific pattern wins (`claude-opus-*` over `claude-*`).
    pub fn with_rules(mut self, mut rules: Vec<AliasRule>) -> Self {
        rules.sort_by_key(|r| (r.pattern.contains('*'), std::cmp::Reverse(r.pattern.len())));
        self.rules = rules;
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Model>> {
        self.index.get(name)
    }

    /// The `aliases` rule for a name that is no model's id or alias.
    pub fn alias_rule(&self, name: &str) -> Option<&AliasRule> {
        self.rules.iter().find(|r| glob_match(&r.pattern, name))
    }

    /// Up to `n` ids and aliases closest to `name` (for an unknown model's error), closest first.
    pub fn closest(&self, name: &str, n: usize) -> Vec<&str> {
        let mut scored: Vec<(f64, &str)> = self
            .index
            .keys()
            .map(|k| {
                (
                    strsim::jaro_winkler(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                    k.as_str(),
                )
            })
            .filter(|(s, _)| *s > 0.6)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.into_iter().take(n).map(|(_, k)| k).collect()
    }
}

/// One key's secret (a YAML key, or a runtime key's current or previous secret); the key itself is
/// never stored, only its SHA-256.
#[derive(Debug)]
pub struct KeyEntry {
    /// The key's stable identity (a YAML key's name; a runtime key's `key_…` id): counters and spend
    /// belong to it, so rotating the secret keeps them.
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub digest: [u8; 32],
    /// A rotated-out secret works until this time (Unix ms); `None`: no end.
    pub not_after_ms: Option<i64>,
    /// Whether the key is a `sy_test_` key (runtime keys record it; YAML keys tell by the prefix).
    pub source: KeySource,
    /// When the key was last used (Unix ms, 0: never), shared by all of a key's secrets.
    pub last_used_ms: Arc<std::sync::atomic::AtomicI64>,
    pub workspace: Arc<str>,
    pub scopes: Arc<Scopes>,
    pub limits: Arc<KeyLimits>,
    pub revoked: bool,
}

/// Where a key is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The YAML config (read-only through the admin API).
    Config,
    /// The store (made through the admin API or `switchyard keys create`).
    Store,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Config => "config",
            KeySource::Store => "store",
        }
    }
}

#[derive(Debug, Default)]
pub struct KeyStore {
    /// Buckets by the first 8 bytes of the digest; the full digest is compared in constant time.
    buckets: HashMap<u64, Vec<Arc<KeyEntry>>>,
    pub len: usize,
}

impl KeyStore {
    pub fn new(entries: Vec<KeyEntry>) -> Self {
        let mut buckets: HashMap<u64, Vec<Arc<KeyEntry>>> = HashMap::new();
        let len = entries.len();
        for e in entries {
            buckets.entry(bucket_of(&e.digest)).or_default().push(Arc::new(e));
        }
        KeyStore { buckets, len }
    }

    /// The entry whose digest equals `digest`. The bucket lookup can only reveal whether the first
    /// 8 bytes of a guess's SHA-256 match a stored one, which says nothing useful about any key; the
    /// comparison that decides is constant-time.
    pub fn find(&self, digest: &[u8; 32]) -> Option<&Arc<KeyEntry>> {
        self.find_at(digest, i64::MIN)
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<KeyEntry>> {
        self.buckets.values().flatten()
    }

    /// Like [`KeyStore::find`], leaving out a rotated-out secret whose grace window ended before `now_ms`.
    pub fn find_at(&self, digest: &[u8; 32], now_ms: i64) -> Option<&Arc<KeyEntry>> {
        use subtle::ConstantTimeEq;
        self.buckets
            .get(&bucket_of(digest))?
            .iter()
            .find(|e| bool::from(e.digest.ct_eq(digest)) && e.not_after_ms.is_none_or(|t| now_ms < t))
    }
}

fn bucket_of(d: &[u8; 32]) -> u64 {
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

pub struct Snapshot {
    pub generation: u64,
    pub config_path: PathBuf,
    pub catalog_path: PathBuf,
    pub server: ServerSettings,
    pub providers: BTreeMap<String, Arc<Provider>>,
    pub catalog: Catalog,
    pub keys: Arc<KeyStore>,
    /// The request filters, in the order they run (built by the registry from the plugin sections).
    pub phases: Vec<Arc<dyn Phase>>,
    pub routing: super::routing::Routing,
    /// The prompt classifier (built by the router from `routing.classifier`).
    pub classifier: Arc<dyn Classify>,
    /// The embedded database's settings (`None`: `store.enabled: false`). Read at start only: a
    /// changed path takes effect on restart.
    pub store: Option<crate::store::Settings>,
    pub webhooks: super::store::Webhooks,
}

impl Snapshot {
    /// What is valid but will not work as the operator probably expects: a provider whose key
    /// variable is unset (its models answer 503), printed by `check` and logged at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for p in self.providers.values() {
            if p.available() {
                continue;
            }
            let models = self.catalog.models.iter().filter(|m| m.provider.name == p.name).count();
            let why = match &p.key_env {
                Some(var) => format!("its key variable {var} is not set"),
                None => "it has no API key".to_string(),
            };
            w.push(format!(
                "provider {}: {why}, so its {models} model(s) cannot be served (503) until it is set and the config reloaded",
                p.name
            ));
        }
        if self.server.admin_token.is_none() {
            w.push(
                "server.admin_token is not set (nor SWITCHYARD_ADMIN_TOKEN): POST /admin/reload is refused; reload with SIGHUP"
                    .to_string(),
            );
        }
        w
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation)
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("models", &self.catalog.models.len())
            .field("keys", &self.keys.len)
            .finish_non_exhaustive()
    }
}

/// A model for unit tests: provider `p` of `kind`, prices $1/$0.5/$2 per million tokens.
#[cfg(test)]
pub fn test_model(kind: ProviderKind, quirks: super::raw::Quirks) -> Arc<Model> {
    let origin = match kind {
        ProviderKind::Mock => Origin::Simulator {
            base_path: "/sim/p/v1".into(),
        },
        _ => Origin::Remote {
            tls: true,
            host: "api.example.com".into(),
            port: 443,
            base_path: "/v1".into(),
        },
    };
    let provider = Arc::new(Provider {
        name: "p".into(),
        kind,
        origin,
        api_key: Some("k".into()),
        key_required: true,
        key_env: None,
        responses_api: false,
        byok_header: Provider::byok_header_for(kind, "p"),
        headers: Vec::new(),
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(1),
            write: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        },
        simulate: None,
        auto_cache: false,
    });
    let p = |d: f64| Price::per_million_dollars(d).unwrap_or_default();
    Arc::new(Model {
        id: "p/m".into(),
        provider,
        upstream_model: "up-m".into(),
        aliases: Vec::new(),
        description: String::new(),
        pricing: Pricing {
            input: p(1.0),
            cached_input: p(0.5),
            cache_write: p(1.25),
            output: p(2.0),
            image: None,
        },
        context_window: 100_000,
        max_output: 4096,
        capabilities: vec!["chat".into(), "tools".into(), "vision".into(), "streaming".into()],
        quality: BTreeMap::new(),
        price_tier: "standard".into(),
        tags: Vec::new(),
        latency_prior_ms: 100,
        thinking_budget: None,
        quirks,
    })
}
