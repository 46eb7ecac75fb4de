//! Configuration: YAML files → raw serde structs (`raw`) → validation → immutable [`Snapshot`].
//! Every problem is reported with file, line and field path; `switchyard check` prints them all.

pub mod env;
pub mod locate;
pub mod raw;
pub mod routing;
pub mod snapshot;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use switchyard_sdk::{KeyLimits, Money, Price, Scopes};

pub use snapshot::*;

use raw::{RawCatalog, RawConfig, RawKey, RawModel, RawProvider};

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// All problems found; the config is valid when there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

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

pub const TASKS: &[&str] = &[
    "chat",
    "code",
    "math",
    "reasoning",
    "knowledge_qa",
    "creative_writing",
    "roleplay",
    "extraction",
    "summarization",
    "translation",
    "classification",
    "image_generation",
    "speech",
    "video",
    "music",
];

pub const PRICE_TIERS: &[&str] = &["free", "budget", "standard", "premium", "frontier"];

pub const ENDPOINT_SCOPES: &[&str] = &["*", "inference", "catalog", "health"];

/// A file's text plus its path-to-line index, for locating problems.
struct Source {
    path: PathBuf,
    text: String,
    lines: HashMap<String, usize>,
}

impl Source {
    fn read(path: &Path) -> Result<Source, Problems> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problems(vec![Problem {
                file: path.to_path_buf(),
                line: None,
                path: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        let lines = locate::line_index(&text);
        Ok(Source {
            path: path.to_path_buf(),
            text,
            lines,
        })
    }

    fn problem(&self, path: impl Into<String>, message: impl Into<String>) -> Problem {
        let path = path.into();
        Problem {
            file: self.path.clone(),
            line: locate::line_of(&self.lines, &path),
            path,
            message: message.into(),
        }
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, Problems> {
        let de = serde_yaml::Deserializer::from_str(&self.text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            // The field's own line when the path is in the index (serde_yaml's position can be off by
            // one for errors raised inside a Deserialize impl), else where the parser stopped.
            let line = self
                .lines
                .get(&path)
                .copied()
                .or(inner.location().map(|l| l.line()))
                .or_else(|| locate::line_of(&self.lines, &path));
            // serde_yaml appends " at line X column Y"; the line is reported in front instead.
            let msg = inner.to_string();
            let mut msg = match msg.find(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            // It also prefixes the enclosing path, which the problem already names.
            let mut prefix = path.as_str();
            loop {
                if let Some(rest) = msg.strip_prefix(prefix).and_then(|r| r.strip_prefix(": ")) {
                    msg = rest.to_string();
                    break;
                }
                match prefix.rfind(['.', '[']) {
                    Some(i) => prefix = &prefix[..i],
                    None => break,
                }
            }
            Problems(vec![Problem {
                file: self.path.clone(),
                line,
                path,
                message: msg,
            }])
        })
    }
}

/// Load and validate the configuration at `path` (and the catalog it names).
pub fn load(path: &Path, plugins: &crate::phases::PluginState) -> Result<Snapshot, Problems> {
    let src = Source::read(path)?;
    let raw: RawConfig = src.parse()?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let catalog_path = dir.join(&raw.catalog);
    let cat_src = Source::read(&catalog_path)?;
    let raw_catalog: RawCatalog = cat_src.parse()?;
    let mut problems = Vec::new();
    let server = validate_server(&raw, &src, &dir, &mut problems);
    let providers = validate_providers(&raw.providers, &src, &mut problems);
    let catalog = validate_catalog(raw_catalog.models, &providers, &cat_src, &mut problems);
    let keys = validate_keys(&raw.keys, &src, &mut problems);
    let mut routing_problems = Vec::new();
    let routing = routing::validate(&raw.routing, &raw.workspaces, &dir, &mut routing_problems);
    problems.extend(routing_problems.into_iter().map(|(path, msg)| src.problem(path, msg)));
    check_policy_models(&routing, &catalog, &src, &mut problems);
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let keys = Arc::new(keys);
    let phases = crate::phases::registry(&server, &keys, plugins);
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
    })
}

/// Every model a policy names must be in the catalog (patterns ending in `*` must match one).
fn check_policy_models(routing: &routing::Routing, catalog: &Catalog, src: &Source, problems: &mut Vec<Problem>) {
    for (i, p) in routing.policies.iter().enumerate() {
        let named = p
            .chain
            .iter()
            .map(|m| ("chain", m))
            .chain(p.split.iter().map(|a| ("split", &a.model)))
            .chain(p.models.iter().map(|m| ("models", m)));
        for (field, m) in named {
            let known = match m.strip_suffix('*') {
                Some(prefix) => catalog.models.iter().any(|x| x.id.starts_with(prefix)),
                None => catalog.get(m).is_some(),
            };
            if !known {
                problems.push(src.problem(
                    format!("routing.policies[{i}].{field}"),
                    format!("{m:?} is not in the catalog"),
                ));
            }
        }
    }
}

fn check_addr(src: &Source, problems: &mut Vec<Problem>, path: &str, addr: &str) {
    if addr.parse::<SocketAddr>().is_err() {
        problems.push(src.problem(path, format!("{addr:?} is not an IP:port address")));
    }
}

fn validate_server(raw: &RawConfig, src: &Source, dir: &Path, problems: &mut Vec<Problem>) -> ServerSettings {
    let s = &raw.server;
    check_addr(src, problems, "server.listen", &s.listen);
    check_addr(src, problems, "server.admin_listen", &s.admin_listen);
    check_addr(src, problems, "simulator.listen", &raw.simulator.listen);
    if !raw.simulator.listen.starts_with("127.") && !raw.simulator.listen.starts_with("[::1]") {
        problems.push(src.problem("simulator.listen", "the simulator must listen on a loopback address"));
    }
    let mut ranged = |path: &str, v: u64, lo: u64, hi: u64| {
        if v < lo || v > hi {
            problems.push(src.problem(path, format!("{v} is out of range {lo}..={hi}")));
        }
    };
    ranged("server.worker_threads", s.worker_threads as u64, 1, 256);
    ranged("server.max_body_bytes", s.max_body_bytes, 1024, 1 << 30);
    ranged("server.max_response_bytes", s.max_response_bytes, 1024, 1 << 31);
    ranged("server.max_attempts", s.max_attempts as u64, 1, 16);
    ranged("server.dns_ttl_seconds", s.dns_ttl_seconds, 1, 86_400);
    ranged("server.grace_period_seconds", s.grace_period_seconds, 0, 3_600);
    ranged("server.client_body_timeout_ms", s.client_body_timeout_ms, 100, 600_000);
    let tls = s.tls.as_ref().map(|t| {
        check_addr(src, problems, "server.tls.listen", &t.listen);
        let tl = TlsListener {
            listen: t.listen.clone(),
            cert: dir.join(&t.cert.0),
            key: dir.join(&t.key.0),
        };
        if let Err(e) = crate::tls::load_certified_key(&tl.cert, &tl.key) {
            problems.push(src.problem("server.tls", e));
        }
        tl
    });
    ServerSettings {
        listen: s.listen.clone(),
        admin_listen: s.admin_listen.clone(),
        h2c: s.h2c,
        tls,
        worker_threads: s.worker_threads,
        max_body_bytes: s.max_body_bytes,
        max_response_bytes: s.max_response_bytes,
        grace_period_seconds: s.grace_period_seconds,
        graceful_shutdown_timeout_seconds: s.graceful_shutdown_timeout_seconds,
        max_attempts: s.max_attempts,
        dns_ttl: Duration::from_secs(s.dns_ttl_seconds),
        upstream_keepalive_pool_size: s.upstream_keepalive_pool_size,
        upgrade_sock: s.upgrade_sock.clone(),
        pid_file: s.pid_file.clone(),
        access_log: s.access_log,
        client_body_timeout: Duration::from_millis(s.client_body_timeout_ms),
        simulator_listen: raw.simulator.listen.clone(),
    }
}

fn parse_origin(url: &str) -> Result<Origin, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url:?} must start with http:// or https://")),
    };
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    if uri.query().is_some() {
        return Err(format!("{url:?}: a base URL takes no query string"));
    }
    let base_path = uri.path().trim_end_matches('/').to_string();
    Ok(Origin::Remote {
        tls,
        host,
        port,
        base_path,
    })
}

fn validate_providers(
    raw: &BTreeMap<String, RawProvider>,
    src: &Source,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, Arc<Provider>> {
    let mut out = BTreeMap::new();
    for (name, p) in raw {
        let at = |f: &str| format!("providers.{name}.{f}");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            problems.push(src.problem(
                format!("providers.{name}"),
                "provider names use letters, digits, '-' and '_'",
            ));
        }
        let Some(kind) = ProviderKind::parse(&p.kind) else {
            problems.push(src.problem(
                at("kind"),
                format!(
                    "unknown kind {:?}; expected one of {}",
                    p.kind,
                    ProviderKind::NAMES.join(", ")
                ),
            ));
            continue;
        };
        let origin = match (kind, &p.base_url) {
            (ProviderKind::Mock, None) => Origin::Simulator {
                base_path: format!("/sim/{name}/v1"),
            },
            (ProviderKind::Mock, Some(_)) => {
                problems.push(src.problem(
                    at("base_url"),
                    "a mock provider is served by the built-in simulator and takes no base_url",
                ));
                continue;
            }
            (_, None) => {
                problems.push(src.problem(at("base_url"), "missing; every provider but `mock` needs a base_url"));
                continue;
            }
            (_, Some(u)) => match parse_origin(&u.0) {
                Ok(o) => o,
                Err(e) => {
                    problems.push(src.problem(at("base_url"), e));
                    continue;
                }
            },
        };
        if p.simulate.is_some() && kind != ProviderKind::Mock {
            problems.push(src.problem(at("simulate"), "only a mock provider takes `simulate`"));
        }
        if let Some(s) = &p.simulate {
            for (f, v) in [
                ("fail_rate", s.fail_rate),
                ("reset_rate", s.reset_rate),
                ("hang_rate", s.hang_rate),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    problems.push(src.problem(
                        at(&format!("simulate.{f}")),
                        format!("{v} is not a share between 0 and 1"),
                    ));
                }
            }
            if !(400..=599).contains(&s.fail_status) {
                problems.push(src.problem(at("simulate.fail_status"), "must be an HTTP error status (400-599)"));
            }
        }
        let api_key = match (&p.api_key_env, &p.api_key) {
            (Some(_), Some(_)) => {
                problems.push(src.problem(at("api_key"), "set either api_key_env or api_key, not both"));
                None
            }
            (Some(var), None) => std::env::var(var).ok().filter(|v| !v.is_empty()),
            (None, Some(k)) => Some(k.0.clone()).filter(|v| !v.is_empty()),
            (None, None) => None,
        };
        let mut headers = Vec::new();
        for (k, v) in &p.headers {
            if http::HeaderName::from_bytes(k.as_bytes()).is_err() || http::HeaderValue::from_str(&v.0).is_err() {
                problems.push(src.problem(at(&format!("headers.{k}")), "not a valid HTTP header"));
            }
            headers.push((k.to_ascii_lowercase(), v.0.clone()));
        }
        let ms = |v: Option<u64>, default: u64, f: &str, problems: &mut Vec<Problem>| {
            let v = v.unwrap_or(default);
            if v == 0 {
                problems.push(src.problem(at(f), "must be greater than 0"));
            }
            Duration::from_millis(v.max(1))
        };
        let timeouts = Timeouts {
            connect: ms(p.connect_timeout_ms, 5_000, "connect_timeout_ms", problems),
            read: ms(p.read_timeout_ms, 120_000, "read_timeout_ms", problems),
            write: ms(p.write_timeout_ms, 30_000, "write_timeout_ms", problems),
            idle: ms(p.idle_timeout_ms, 60_000, "idle_timeout_ms", problems),
        };
        let simulate = (kind == ProviderKind::Mock).then(|| p.simulate.clone().unwrap_or_default());
        out.insert(
            name.clone(),
            Arc::new(Provider {
                name: Arc::from(name.as_str()),
                kind,
                origin,
                key_required: p.api_key_env.is_some() || p.api_key.is_some(),
                api_key,
                headers,
                timeouts,
                simulate,
            }),
        );
    }
    out
}

fn tier_from_price(output: Price) -> &'static str {
    match output.per_million_as_f64() {
        x if x <= 0.0 => "free",
        x if x < 1.0 => "budget",
        x if x < 10.0 => "standard",
        x if x < 40.0 => "premium",
        _ => "frontier",
    }
}

fn validate_catalog(
    raw: Vec<RawModel>,
    providers: &BTreeMap<String, Arc<Provider>>,
    src: &Source,
    problems: &mut Vec<Problem>,
) -> Catalog {
    let mut seen: HashSet<String> = HashSet::new();
    let mut models = Vec::new();
    for (i, m) in raw.into_iter().enumerate() {
        let at = |f: &str| format!("models[{i}].{f}");
        let Some((prov, name)) = m.id.split_once('/').filter(|(p, n)| !p.is_empty() && !n.is_empty()) else {
            problems.push(src.problem(at("id"), format!("{:?} must be provider/model", m.id)));
            continue;
        };
        let Some(provider) = providers.get(prov) else {
            problems.push(src.problem(
                at("id"),
                format!("provider {prov:?} is not defined in the config's `providers`"),
            ));
            continue;
        };
        for n in std::iter::once(&m.id).chain(&m.aliases) {
            if !seen.insert(n.clone()) {
                problems.push(src.problem(at("aliases"), format!("{n:?} names more than one model")));
            }
        }
        let price = |v: Option<f64>, f: &str, problems: &mut Vec<Problem>| match v.map(Price::per_million_dollars) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => {
                problems.push(src.problem(
                    at(&format!("pricing.{f}")),
                    "must be a non-negative number of dollars per million tokens",
                ));
                None
            }
        };
        let input = price(Some(m.pricing.input), "input", problems).unwrap_or_default();
        let output = price(Some(m.pricing.output), "output", problems).unwrap_or_default();
        let cached_input = price(m.pricing.cached_input, "cached_input", problems).unwrap_or(input);
        let cache_write = price(m.pricing.cache_write, "cache_write", problems).unwrap_or(input);
        let image = match m.pricing.image.map(Money::from_dollars) {
            None => None,
            Some(Some(d)) => Some(d),
            Some(None) => {
                problems.push(src.problem(at("pricing.image"), "must be a non-negative number of dollars per image"));
                None
            }
        };
        if m.pricing.image.is_none() && m.capabilities.iter().any(|c| c == "image_generation") {
            problems.push(src.problem(
                at("pricing.image"),
                "a model with the image_generation capability needs its price per image (dollars)",
            ));
        }
        if let Some(f) = m.quirks.max_tokens_field.as_deref() {
            if f != "max_tokens" && f != "max_completion_tokens" {
                problems.push(src.problem(
                    at("quirks.max_tokens_field"),
                    "must be max_tokens or max_completion_tokens",
                ));
            }
        }
        if m.context_window == 0 {
            problems.push(src.problem(at("context_window"), "must be greater than 0"));
        }
        if m.max_output == 0 || m.max_output > m.context_window {
            problems.push(src.problem(at("max_output"), "must be between 1 and context_window"));
        }
        for c in &m.capabilities {
            if !CAPABILITIES.contains(&c.as_str()) {
                problems.push(src.problem(
                    at("capabilities"),
                    format!("unknown capability {c:?}; known: {}", CAPABILITIES.join(", ")),
                ));
            }
        }
        for (task, q) in &m.quality {
            if !TASKS.contains(&task.as_str()) {
                problems.push(src.problem(
                    at(&format!("quality.{task}")),
                    format!("unknown task; known: {}", TASKS.join(", ")),
                ));
            } else if !(0.0..=1.0).contains(q) {
                problems.push(src.problem(at(&format!("quality.{task}")), "quality scores are between 0 and 1"));
            }
        }
        let price_tier = match m.price_tier {
            Some(t) if PRICE_TIERS.contains(&t.as_str()) => t,
            Some(t) => {
                problems.push(src.problem(
                    at("price_tier"),
                    format!("unknown tier {t:?}; known: {}", PRICE_TIERS.join(", ")),
                ));
                t
            }
            None => tier_from_price(output).to_string(),
        };
        models.push(Arc::new(Model {
            upstream_model: m.upstream_model.clone().unwrap_or_else(|| name.to_string()),
            provider: provider.clone(),
            id: m.id,
            aliases: m.aliases,
            description: m.description,
            pricing: Pricing {
                input,
                cached_input,
                cache_write,
                output,
                image,
            },
            context_window: m.context_window,
            max_output: m.max_output,
            capabilities: m.capabilities,
            quality: m.quality,
            price_tier,
            tags: m.tags,
            latency_prior_ms: m.latency_ms.unwrap_or(800),
            quirks: m.quirks,
        }));
    }
    Catalog::new(models)
}

fn parse_digest(s: &str) -> Option<[u8; 32]> {
    let hex = s.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn validate_keys(raw: &[RawKey], src: &Source, problems: &mut Vec<Problem>) -> KeyStore {
    let mut names = HashSet::new();
    let mut digests = HashSet::new();
    let mut entries = Vec::new();
    for (i, k) in raw.iter().enumerate() {
        let at = |f: &str| format!("keys[{i}].{f}");
        if !names.insert(k.name.clone()) {
            problems.push(src.problem(at("name"), format!("key name {:?} is used twice", k.name)));
        }
        if k.workspace.is_empty() {
            problems.push(src.problem(at("workspace"), "must not be empty"));
        }
        let Some(digest) = parse_digest(&k.hash.0) else {
            problems.push(src.problem(
                at("hash"),
                "must be sha256:<64 hex digits> (see `switchyard keys generate`)",
            ));
            continue;
        };
        if !digests.insert(digest) {
            problems.push(src.problem(at("hash"), "the same key hash is configured twice"));
        }
        for e in &k.scopes.endpoints {
            if !ENDPOINT_SCOPES.contains(&e.as_str()) {
                problems.push(src.problem(
                    at("scopes.endpoints"),
                    format!("unknown scope {e:?}; known: {}", ENDPOINT_SCOPES.join(", ")),
                ));
            }
        }
        for m in &k.scopes.models {
            if m.is_empty() || m[..m.len() - 1].contains('*') {
                problems.push(src.problem(at("scopes.models"), format!("{m:?}: `*` may only end a pattern")));
            }
        }
        let cost_cap = match k.limits.cost_cap_dollars {
            None => None,
            Some(d) => match Money::from_dollars(d) {
                Some(m) => Some(m),
                None => {
                    problems.push(src.problem(
                        at("limits.cost_cap_dollars"),
                        "must be a non-negative amount of dollars",
                    ));
                    None
                }
            },
        };
        entries.push(KeyEntry {
            name: Arc::from(k.name.as_str()),
            digest,
            workspace: Arc::from(k.workspace.as_str()),
            scopes: Arc::new(Scopes {
                endpoints: k.scopes.endpoints.clone(),
                models: k.scopes.models.clone(),
            }),
            limits: Arc::new(KeyLimits {
                requests_per_minute: k.limits.requests_per_minute,
                tokens_per_minute: k.limits.tokens_per_minute,
                cost_cap,
            }),
            revoked: k.revoked,
        });
    }
    KeyStore::new(entries)
}
