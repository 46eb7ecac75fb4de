//! The `store` and `webhooks` sections: where the embedded database lives, its writer's queue and
//! retention; and the signed top-up webhook's secret.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use super::env::EnvString;
use super::source::{Problem, Source};
use crate::store::{Location, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    /// `false`: no database (no request log, wallet, stored preferences or idempotency).
    pub enabled: bool,
    /// The database file, relative to the config file; `:memory:` keeps it in memory only.
    pub path: EnvString,
    pub queue_capacity: usize,
    pub batch_max: usize,
    pub retention: RawRetention,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            enabled: true,
            path: EnvString("switchyard.db".into()),
            queue_capacity: 65_536,
            batch_max: 1024,
            retention: RawRetention::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetention {
    /// Log rows and feedback older than this are deleted (0: kept until the size limit).
    pub max_age_days: u64,
    /// The oldest log rows go while the database's used pages are over this (0: no limit).
    pub max_megabytes: u64,
    /// How often retention and expiry run.
    pub interval_seconds: u64,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            max_age_days: 30,
            max_megabytes: 1024,
            interval_seconds: 60,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWebhooks {
    pub polar: Option<RawPolar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolar {
    /// The endpoint's signing secret: `whsec_<base64>` (Standard Webhooks), or the secret as Polar's
    /// dashboard shows it (used as the key's bytes, as Polar's SDKs do).
    pub secret: EnvString,
    /// How far a delivery's `webhook-timestamp` may be from now.
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u64,
}

fn default_tolerance() -> u64 {
    300
}

/// A validated webhook signing setup.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    pub key: Vec<u8>,
    pub tolerance: Duration,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

/// The webhooks the gateway verifies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Webhooks {
    pub polar: Option<WebhookSecret>,
}

pub(crate) fn validate_store(
    raw: &RawStore,
    src: &Source,
    dir: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Settings> {
    if !raw.enabled {
        return None;
    }
    let path = raw.path.0.trim();
    let location = match path {
        "" => {
            problems.push(src.problem("store.path", "a file path, or :memory:"));
            Location::Memory
        }
        ":memory:" => Location::Memory,
        p => Location::File(dir.join(p)),
    };
    if !(16..=10_000_000).contains(&raw.queue_capacity) {
        problems.push(src.problem("store.queue_capacity", "out of range 16..=10000000"));
    }
    if !(1..=100_000).contains(&raw.batch_max) {
        problems.push(src.problem("store.batch_max", "out of range 1..=100000"));
    }
    if !(1..=86_400).contains(&raw.retention.interval_seconds) {
        problems.push(src.problem("store.retention.interval_seconds", "out of range 1..=86400"));
    }
    let r = &raw.retention;
    Some(Settings {
        location,
        queue_capacity: raw.queue_capacity,
        batch_max: raw.batch_max,
        max_age: (r.max_age_days > 0).then(|| Duration::from_secs(r.max_age_days.saturating_mul(86_400))),
        max_bytes: (r.max_megabytes > 0).then(|| r.max_megabytes.saturating_mul(1024 * 1024)),
        maintenance_every: Duration::from_secs(r.interval_seconds.max(1)),
    })
}

pub(crate) fn validate_webhooks(raw: &RawWebhooks, src: &Source, problems: &mut Vec<Problem>) -> Webhooks {
    let polar = raw.polar.as_ref().and_then(|p| {
        let secret = p.secret.0.trim();
        let key = match secret.strip_prefix("whsec_") {
            Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(k) => k,
                Err(e) => {
                    problems.push(src.problem("webhooks.polar.secret", format!("whsec_ secret is not base64: {e}")));
                    return None;
                }
            },
            None => secret.as_bytes().to_vec(),
        };
        if key.len() < 16 {
            problems.push(src.problem("webhooks.polar.secret", "a signing secret of at least 16 bytes"));
            return None;
        }
        if !(1..=86_400).contains(&p.tolerance_seconds) {
            problems.push(src.problem("webhooks.polar.tolerance_seconds", "out of range 1..=86400"));
        }
        Some(WebhookSecret {
            key,
            tolerance: Duration::from_secs(p.tolerance_seconds),
        })
    });
    Webhooks { polar }
}
