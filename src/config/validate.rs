//! Validation of the `server`, `providers` and `keys` sections: raw serde structs in, settings out,
//! every problem located.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::Digest;
use switchyard_sdk::{KeyLimits, Scopes};

use super::raw::{RawConfig, RawKey, RawProvider};
use super::source::{Problem, Source};
use super::*;

fn check_addr(src: &Source, problems: &mut Vec<Problem>, path: &str, addr: &str) {
    if addr.parse::<SocketAddr>().is_err() {
        problems.push(src.problem(path, format!("{addr:?} is not an IP:port address")));
    }
}

pub(crate) fn validate_server(
    raw: &RawConfig,
    src: &Source,
    dir: &Path,
    problems: &mut Vec<Problem>,
) -> ServerSettings {
    let s = &raw.server;
    check_addr(src, problems, "server.listen", &s.listen.0);
    check_addr(src, problems, "server.admin_listen", &s.admin_listen.0);
    let sim = &raw.simulator.listen.0;
    check_addr(src, problems, "simulator.listen", sim);
    if !sim.starts_with("127.") && !sim.starts_with("[::1]") {
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
    ranged(
        "server.client_idle_timeout_ms",
        s.client_idle_timeout_ms,
        100,
        3_600_000,
    );
    ranged(
        "server.client_header_timeout_ms",
        s.client_header_timeout_ms,
        100,
        600_000,
    );
    ranged("server.max_header_bytes", s.max_header_bytes, 1024, 1 << 20);
    ranged("server.max_client_connections", s.max_client_connections, 0, 10_000_000);
    ranged(
        "server.max_body_bytes_in_flight",
        s.max_body_bytes_in_flight,
        1 << 20,
        1 << 40,
    );
    if s.max_body_bytes_in_flight < s.max_body_bytes {
        problems.push(src.problem(
            "server.max_body_bytes_in_flight",
            "must be at least max_body_bytes, or no body of the largest size could be read",
        ));
    }
    let admin_token = match &s.admin_token {
        Some(t) => Some(t.0.clone()),
        None => std::env::var("SWITCHYARD_ADMIN_TOKEN").ok(),
    }
    .filter(|t| !t.is_empty());
    if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
        problems.push(src.problem(
            "server.admin_token",
            "the admin token (this, or SWITCHYARD_ADMIN_TOKEN) needs at least 16 characters; `switchyard keys generate` makes a good one",
        ));
    }
    let tls = s.tls.as_ref().map(|t| {
        check_addr(src, problems, "server.tls.listen", &t.listen.0);
        let tl = TlsListener {
            listen: t.listen.0.clone(),
            cert: dir.join(&t.cert.0),
            key: dir.join(&t.key.0),
        };
        if let Err(e) = crate::tls::load_certified_key(&tl.cert, &tl.key) {
            problems.push(src.problem("server.tls", e));
        }
        tl
    });
    ServerSettings {
        listen: s.listen.0.clone(),
        admin_listen: s.admin_listen.0.clone(),
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
        upgrade_sock: s.upgrade_sock.0.clone(),
        pid_file: s.pid_file.0.clone(),
        access_log: s.access_log,
        client_body_timeout: Duration::from_millis(s.client_body_timeout_ms),
        client_idle_timeout: Duration::from_millis(s.client_idle_timeout_ms),
        client_header_timeout: Duration::from_millis(s.client_header_timeout_ms),
        max_header_bytes: s.max_header_bytes as usize,
        max_client_connections: match s.max_client_connections {
            0 => default_connection_cap(),
            n => n as usize,
        },
        max_body_bytes_in_flight: s.max_body_bytes_in_flight,
        admin_token: admin_token.map(|t| AdminToken(sha2::Sha256::digest(t.as_bytes()).into())),
        metrics_open: s.metrics_open,
        max_auth_failures_per_minute: s.max_auth_failures_per_minute,
        simulator_listen: sim.clone(),
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

pub(crate) fn validate_providers(
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
        if p.auto_cache && kind != ProviderKind::Anthropic {
            problems.push(src.problem(at("auto_cache"), "only an anthropic provider takes `auto_cache`"));
        }
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
        let responses_api = match (kind, p.responses_api) {
            (ProviderKind::OpenAi, r) => r.unwrap_or(true),
            (ProviderKind::OpenAiCompatible, r) => r.unwrap_or(false),
            (_, Some(true)) => {
                problems.push(src.problem(
                    at("responses_api"),
                    "only openai and openai_compatible providers speak the Responses API",
                ));
                false
            }
            (_, _) => false,
        };
        out.insert(
            name.clone(),
            Arc::new(Provider {
                name: Arc::from(name.as_str()),
                kind,
                origin,
                key_required: p.api_key_env.is_some() || p.api_key.is_some(),
                key_env: p.api_key_env.clone(),
                api_key,
                headers,
                timeouts,
                simulate,
                auto_cache: p.auto_cache,
                responses_api,
                byok_header: Provider::byok_header_for(kind, name),
            }),
        );
    }
    out
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

pub(crate) fn validate_keys(raw: &[RawKey], src: &Source, problems: &mut Vec<Problem>) -> KeyStore {
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
        let limits = crate::keys::manage::key_limits(&k.limits).unwrap_or_else(|(field, message)| {
            problems.push(src.problem(at(&format!("limits.{field}")), message));
            KeyLimits::default()
        });
        entries.push(KeyEntry {
            id: Arc::from(k.name.as_str()),
            name: Arc::from(k.name.as_str()),
            digest,
            not_after_ms: None,
            source: KeySource::Config,
            last_used_ms: Arc::default(),
            workspace: Arc::from(k.workspace.as_str()),
            scopes: Arc::new(Scopes {
                endpoints: k.scopes.endpoints.clone(),
                models: k.scopes.models.clone(),
            }),
            limits: Arc::new(limits),
            revoked: k.revoked,
        });
    }
    KeyStore::new(entries)
}

/// Three quarters of the process's open-file limit: the rest stays for upstream connections, the
/// admin listener and files.
fn default_connection_cap() -> usize {
    let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(1024, |n| usize::try_from(n).unwrap_or(usize::MAX));
    (files / 4 * 3).clamp(64, 1_000_000)
}
