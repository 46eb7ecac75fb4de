//! Raw configuration as written in YAML: serde structs with `deny_unknown_fields`, no logic. Validation
//! turns them into a [`super::Snapshot`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::env::EnvString;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    /// Path of the model catalog, relative to this file.
    #[serde(default = "default_catalog")]
    pub catalog: String,
    #[serde(default)]
    pub simulator: RawSimulator,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub keys: Vec<RawKey>,
    #[serde(default)]
    pub routing: super::routing::RawRouting,
    #[serde(default)]
    pub workspaces: BTreeMap<String, super::routing::RawWorkspace>,
    /// One section per plugin (its own typed config), or the name of a YAML file holding it.
    #[serde(default)]
    pub plugins: BTreeMap<String, serde_yaml::Value>,
    /// The embedded database.
    #[serde(default)]
    pub store: super::store::RawStore,
    /// Signed webhooks (wallet top-ups).
    #[serde(default)]
    pub webhooks: super::store::RawWebhooks,
}

fn default_catalog() -> String {
    "models.yaml".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: EnvString,
    pub admin_listen: EnvString,
    /// Serve cleartext HTTP/2 (prior knowledge) beside HTTP/1.1 on `listen`.
    pub h2c: bool,
    pub tls: Option<RawTls>,
    pub worker_threads: usize,
    pub max_body_bytes: u64,
    pub max_response_bytes: u64,
    pub grace_period_seconds: u64,
    pub graceful_shutdown_timeout_seconds: u64,
    pub max_attempts: usize,
    pub dns_ttl_seconds: u64,
    pub upstream_keepalive_pool_size: usize,
    pub upgrade_sock: EnvString,
    pub pid_file: EnvString,
    pub access_log: bool,
    /// How long a client may take to send the request body.
    pub client_body_timeout_ms: u64,
    /// How long a connection may wait for a request's first byte.
    pub client_idle_timeout_ms: u64,
    /// How long a request header may take from its first byte.
    pub client_header_timeout_ms: u64,
    /// Largest request header accepted (431 beyond).
    pub max_header_bytes: u64,
    /// Open client connections at most (0: three quarters of the open-file limit).
    pub max_client_connections: u64,
    /// Bytes of request bodies held across the gateway at most (503 beyond).
    pub max_body_bytes_in_flight: u64,
    /// The admin listener's token (else `SWITCHYARD_ADMIN_TOKEN`); mutating admin endpoints need it.
    pub admin_token: Option<EnvString>,
    /// Serve `GET /metrics` on the admin listener without the admin token.
    pub metrics_open: bool,
    /// Failed authentications per client address per minute before that address gets 429 (0: off).
    pub max_auth_failures_per_minute: u32,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: EnvString("127.0.0.1:8080".into()),
            admin_listen: EnvString("127.0.0.1:9090".into()),
            h2c: true,
            tls: None,
            worker_threads: 2,
            max_body_bytes: 8 * 1024 * 1024,
            max_response_bytes: 32 * 1024 * 1024,
            grace_period_seconds: 30,
            graceful_shutdown_timeout_seconds: 10,
            // One try plus at most three retries (API.md: "≤ 3 retries").
            max_attempts: 3,
            dns_ttl_seconds: 60,
            upstream_keepalive_pool_size: 256,
            upgrade_sock: EnvString("/tmp/switchyard_upgrade.sock".into()),
            pid_file: EnvString("/tmp/switchyard.pid".into()),
            access_log: true,
            client_body_timeout_ms: 30_000,
            client_idle_timeout_ms: 60_000,
            client_header_timeout_ms: 10_000,
            max_header_bytes: 64 * 1024,
            max_client_connections: 0,
            max_body_bytes_in_flight: 256 * 1024 * 1024,
            admin_token: None,
            metrics_open: false,
            max_auth_failures_per_minute: 30,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub listen: EnvString,
    pub cert: EnvString,
    pub key: EnvString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSimulator {
    /// Loopback address of the built-in provider simulator; port 0 picks a free one.
    pub listen: EnvString,
}

impl Default for RawSimulator {
    fn default() -> Self {
        RawSimulator {
            listen: EnvString("127.0.0.1:0".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub kind: String,
    /// Required for every kind but `mock`.
    pub base_url: Option<EnvString>,
    /// Environment variable holding the API key. A provider whose variable is unset is listed but not
    /// routable.
    pub api_key_env: Option<String>,
    /// The key itself (prefer `api_key_env`; `${VAR}` works here too).
    pub api_key: Option<EnvString>,
    #[serde(default)]
    pub headers: BTreeMap<String, EnvString>,
    pub connect_timeout_ms: Option<u64>,
    pub read_timeout_ms: Option<u64>,
    pub write_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    /// Behaviour of a `mock` provider.
    pub simulate: Option<RawSimulate>,
    /// Anthropic: requests translated from another schema carry Anthropic's automatic prompt
    /// caching (a top-level `cache_control`), so translated conversations hit the prompt cache.
    #[serde(default)]
    pub auto_cache: bool,
    /// The provider speaks the Responses API (`POST {base}/responses`): Responses clients' bodies
    /// pass through. Default: true for `openai`, false for the other kinds (only `openai_compatible`
    /// may set it).
    pub responses_api: Option<bool>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawSimulate {
    /// Time to the response headers (and the first event of a stream).
    pub latency_ms: u64,
    /// Stream pace.
    pub tokens_per_second: u64,
    /// Completion length when the request sets no `max_tokens`.
    pub output_tokens: u64,
    /// Tokens per stream chunk.
    pub tokens_per_chunk: u64,
    /// Share of requests answered with `fail_status` (0..1).
    pub fail_rate: f64,
    pub fail_status: u16,
    /// Share of streams cut off (connection reset) half-way.
    pub reset_rate: f64,
    /// Share of requests that never answer.
    pub hang_rate: f64,
    /// Cached prompt tokens reported in usage (capped at the prompt size).
    pub cached_tokens: u64,
}

impl Default for RawSimulate {
    fn default() -> Self {
        RawSimulate {
            latency_ms: 0,
            tokens_per_second: 0,
            output_tokens: 16,
            tokens_per_chunk: 1,
            fail_rate: 0.0,
            fail_status: 500,
            reset_rate: 0.0,
            hang_rate: 0.0,
            cached_tokens: 0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub name: String,
    /// `sha256:<64 hex digits>`, as printed by `switchyard keys generate`.
    pub hash: EnvString,
    pub workspace: String,
    #[serde(default)]
    pub scopes: RawScopes,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScopes {
    pub endpoints: Vec<String>,
    pub models: Vec<String>,
}

impl Default for RawScopes {
    fn default() -> Self {
        RawScopes {
            endpoints: vec!["*".into()],
            models: vec!["*".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub requests_per_minute: Option<u32>,
    pub catalog_requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub concurrent_requests: Option<u32>,
    pub cost_cap_dollars: Option<f64>,
    pub daily_cost_cap_dollars: Option<f64>,
    pub monthly_cost_cap_dollars: Option<f64>,
}

/// `conf/models.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    pub models: Vec<RawModel>,
    /// Names clients send (exact, or patterns with `*`) → a model, a fallback chain, or `auto`.
    #[serde(default)]
    pub aliases: BTreeMap<String, RawAliasTarget>,
}

/// An alias's target: one name (a model id or alias, `auto`, `auto:<mode>`) or a chain of models.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawAliasTarget {
    One(String),
    Chain(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// `provider/model`; the provider part names an entry of `providers`.
    pub id: String,
    /// The model name the provider expects; defaults to the part of `id` after the provider.
    pub upstream_model: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: String,
    pub pricing: RawPricing,
    pub context_window: u64,
    pub max_output: u64,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub quality: BTreeMap<String, f64>,
    pub price_tier: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Prior time to first token, used until live measurements exist.
    pub latency_ms: Option<u64>,
    /// How this model's OpenAI-compatible server departs from OpenAI's API.
    #[serde(default)]
    pub quirks: Quirks,
    /// The thinking budgets (tokens) the model accepts; budgets outside are clamped and named.
    pub thinking_budget: Option<ThinkingBudget>,
}

/// The thinking budgets a model accepts (Gemini 2.5 Pro: 128–32,768 and thinking cannot be turned
/// off; 2.5 Flash: 0–24,576; 2.5 Flash-Lite: 512–24,576 or 0).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ThinkingBudget {
    /// The smallest budget that thinks.
    pub min: u32,
    pub max: u32,
    /// A budget of 0 turns thinking off.
    #[serde(default)]
    pub can_disable: bool,
}

/// Departures of an OpenAI-compatible server from OpenAI's chat API, declared per model in the
/// catalog so that no provider's peculiarities are hard-coded.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Quirks {
    /// The name the server wants for the output limit: `max_tokens` or `max_completion_tokens`.
    pub max_tokens_field: Option<String>,
    /// The server accepts `stream_options.include_usage` (else streams carry no usage).
    pub stream_usage: bool,
    /// The server accepts the `developer` role (else it is sent as `system`).
    pub developer_role: bool,
    /// Request fields the server rejects; they are removed (and named as lossy).
    pub drop_fields: Vec<String>,
    /// The response field carrying reasoning text (DeepSeek: `reasoning_content`).
    pub reasoning_field: Option<String>,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            max_tokens_field: None,
            stream_usage: true,
            developer_role: true,
            drop_fields: Vec::new(),
            reasoning_field: None,
        }
    }
}

/// US dollars per million tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPricing {
    pub input: f64,
    pub cached_input: Option<f64>,
    /// Price of input tokens written to a prompt cache (Anthropic); defaults to `input`.
    pub cache_write: Option<f64>,
    pub output: f64,
    /// US dollars per generated image (image models; required with the `image_generation` capability).
    pub image: Option<f64>,
}
