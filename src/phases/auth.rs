//! Authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`, checked against stored SHA-256
//! hashes: the YAML keys, then the keys made at runtime (the store's in-memory map, lock-free; a
//! rotated-out secret only inside its grace window). The key itself is never stored or logged; only
//! the key's id and name travel on. An address that fails too often is throttled (`throttle`) before
//! its key is looked at.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use switchyard_sdk::{Decision, Exchange, Identity, Phase, Reject, RejectKind};

use super::throttle::AuthThrottle;
use crate::config::{KeyEntry, KeyStore};
use crate::metrics::m;
use crate::store::keys::RuntimeKeys;

pub const LIVE_PREFIX: &str = "sy_live_";
pub const TEST_PREFIX: &str = "sy_test_";

pub struct Auth {
    keys: Arc<KeyStore>,
    runtime: Option<Arc<RuntimeKeys>>,
    throttle: Arc<AuthThrottle>,
    /// Failures per address per minute before 429 (0: no throttle).
    max_failures: u32,
}

impl Auth {
    pub fn new(keys: Arc<KeyStore>, throttle: Arc<AuthThrottle>, max_failures: u32) -> Self {
        Auth {
            keys,
            runtime: None,
            throttle,
            max_failures,
        }
    }

    /// Also accept the keys made at runtime.
    pub fn with_runtime(mut self, runtime: Option<Arc<RuntimeKeys>>) -> Self {
        self.runtime = runtime;
        self
    }

    fn find(&self, digest: &[u8; 32], now_ms: i64) -> Option<Arc<KeyEntry>> {
        if let Some(e) = self.keys.find(digest) {
            return Some(e.clone());
        }
        self.runtime.as_ref()?.find(digest, now_ms)
    }

    /// A failed authentication: 401, counted against the client's address.
    fn fail(&self, ex: &Exchange, code: &'static str, msg: &str) -> Decision {
        if let Some(ip) = ex.client_ip {
            self.throttle.failed(ip, self.max_failures);
        }
        unauthenticated(code, msg)
    }
}

/// The key a request presents, if any: a bearer token wins over `x-api-key`.
pub fn presented_key(head: &http::request::Parts) -> Option<&str> {
    if let Some(v) = head
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    head.headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn unauthenticated(code: &'static str, msg: &str) -> Decision {
    Decision::Respond(Reject::new(RejectKind::Unauthenticated, code, msg))
}

impl Phase for Auth {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn on_headers(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        if ex.endpoint.is_open() {
            return Decision::Continue;
        }
        if let Some(wait) = ex.client_ip.and_then(|ip| self.throttle.blocked(ip, self.max_failures)) {
            m().auth_throttled.with_label_values(&["refused"]).inc();
            let secs = wait.as_secs().max(1);
            return Decision::Respond(Reject::new(
                RejectKind::RateLimited { retry_after_secs: secs },
                "auth_throttled",
                format!("too many failed authentications from this address; retry in {secs} s"),
            ));
        }
        let Some(key) = presented_key(head).filter(|k| !k.is_empty()) else {
            return self.fail(
                ex,
                "missing_api_key",
                "no API key: send Authorization: Bearer <key> or x-api-key: <key>",
            );
        };
        let test_key = key.starts_with(TEST_PREFIX);
        if !test_key && !key.starts_with(LIVE_PREFIX) {
            return self.fail(ex, "invalid_api_key", "invalid API key");
        }
        let now = crate::store::now_ms();
        let Some(entry) = self.find(&digest(key), now) else {
            return self.fail(ex, "invalid_api_key", "invalid API key");
        };
        if entry.revoked {
            return self.fail(ex, "revoked_api_key", "this API key has been revoked");
        }
        if !entry.scopes.allows_endpoint(ex.endpoint) {
            return Decision::Respond(Reject::new(
                RejectKind::Forbidden,
                "scope_denied",
                format!(
                    "this key lacks the {:?} scope needed for this endpoint",
                    ex.endpoint.scope()
                ),
            ));
        }
        // At most one write a second per key: a hot key's cache line is not written by every request.
        if entry.last_used_ms.load(std::sync::atomic::Ordering::Relaxed) < now - 1000 {
            entry.last_used_ms.store(now, std::sync::atomic::Ordering::Relaxed);
        }
        ex.identity = Some(Identity {
            key_id: entry.id.clone(),
            key_name: entry.name.clone(),
            workspace: entry.workspace.clone(),
            test_key,
            scopes: entry.scopes.clone(),
            limits: entry.limits.clone(),
        });
        Decision::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeyEntry;
    use switchyard_sdk::{Endpoint, KeyLimits, Scopes};

    fn store(revoked: bool, endpoints: &[&str]) -> Arc<KeyStore> {
        Arc::new(KeyStore::new(vec![KeyEntry {
            id: "k1".into(),
            name: "k1".into(),
            digest: digest("sy_test_abc"),
            not_after_ms: None,
            source: crate::config::KeySource::Config,
            last_used_ms: Arc::default(),
            workspace: "w".into(),
            scopes: Arc::new(Scopes {
                endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
                models: vec!["*".into()],
            }),
            limits: Arc::new(KeyLimits::default()),
            revoked,
        }]))
    }

    fn head(h: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().uri("/v1/chat/completions");
        for (k, v) in h {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn run(store: Arc<KeyStore>, h: &[(&str, &str)]) -> (Decision, Exchange) {
        let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
        let d = Auth::new(store, Arc::default(), 30).on_headers(&head(h), &mut ex);
        (d, ex)
    }

    fn code(d: Decision) -> &'static str {
        match d {
            Decision::Respond(r) => r.code,
            Decision::Continue => "continue",
            Decision::Answer(_) => "answer",
        }
    }

    #[test]
    fn accepts_bearer_and_x_api_key() {
        let (d, ex) = run(store(false, &["*"]), &[("authorization", "Bearer sy_test_abc")]);
        assert_eq!(code(d), "continue");
        let id = ex.identity.unwrap();
        assert_eq!((&*id.key_name, id.test_key), ("k1", true));
        let (d, _) = run(store(false, &["*"]), &[("x-api-key", "sy_test_abc")]);
        assert_eq!(code(d), "continue");
        let (d, _) = run(store(false, &["*"]), &[("authorization", "bearer   sy_test_abc ")]);
        assert_eq!(code(d), "continue");
    }

    #[test]
    fn refuses_missing_unknown_revoked_and_unscoped() {
        assert_eq!(code(run(store(false, &["*"]), &[]).0), "missing_api_key");
        assert_eq!(
            code(run(store(false, &["*"]), &[("authorization", "Bearer sy_test_abd")]).0),
            "invalid_api_key"
        );
        assert_eq!(
            code(run(store(false, &["*"]), &[("authorization", "Bearer sk-abc")]).0),
            "invalid_api_key"
        );
        assert_eq!(
            code(run(store(true, &["*"]), &[("authorization", "Bearer sy_test_abc")]).0),
            "revoked_api_key"
        );
        assert_eq!(
            code(run(store(false, &["catalog"]), &[("authorization", "Bearer sy_test_abc")]).0),
            "scope_denied"
        );
    }

    #[test]
    fn an_address_that_keeps_failing_is_throttled_before_its_key_is_checked() {
        let auth = Auth::new(store(false, &["*"]), Arc::default(), 3);
        let attempt = |ip: &str, h: &[(&str, &str)]| {
            let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
            ex.client_ip = Some(ip.parse().unwrap());
            code(auth.on_headers(&head(h), &mut ex))
        };
        for _ in 0..3 {
            assert_eq!(
                attempt("192.0.2.9", &[("authorization", "Bearer sy_test_bad")]),
                "invalid_api_key"
            );
        }
        assert_eq!(
            attempt("192.0.2.9", &[("authorization", "Bearer sy_test_abc")]),
            "auth_throttled",
            "even the right key waits"
        );
        assert_eq!(
            attempt("192.0.2.10", &[("authorization", "Bearer sy_test_abc")]),
            "continue"
        );
    }
}
