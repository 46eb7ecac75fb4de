//! Bring your own key: `X-OpenAI-Key`, `X-Anthropic-Key`, `X-Gemini-Key`, and `X-<Name>-Key` for each
//! OpenAI-compatible provider (its configured name: `X-DeepSeek-Key` for a provider named `deepseek`).
//! A key given this way replaces the configured key for that provider only, for this request only:
//! it lives in the request's context, is never stored, never logged (its `Debug` is redacted), and is
//! redacted from provider errors by value. Using it needs the key's `byok` scope word (`*` does not
//! grant it), so a leaked gateway key cannot run arbitrary provider keys through the gateway.

use std::sync::Arc;

use crate::config::Snapshot;
use crate::error::GatewayError;

/// The scope word that allows a key to bring provider keys.
pub const SCOPE: &str = "byok";

/// The provider keys a request brought, by provider name.
#[derive(Default)]
pub struct ProviderKeys {
    keys: Vec<(Arc<str>, String)>,
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|(p, _)| format!("{p}: [redacted]")))
            .finish()
    }
}

impl ProviderKeys {
    /// The keys in `headers` for the snapshot's providers.
    pub fn read(headers: &http::HeaderMap, snap: &Snapshot) -> ProviderKeys {
        let mut keys = Vec::new();
        for p in snap.providers.values() {
            let Some(name) = &p.byok_header else { continue };
            if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
                let v = v.trim();
                if !v.is_empty() {
                    keys.push((p.name.clone(), v.to_string()));
                }
            }
        }
        ProviderKeys { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key brought for provider `name`.
    pub fn key_for(&self, name: &str) -> Option<&str> {
        self.keys.iter().find(|(p, _)| &**p == name).map(|(_, k)| k.as_str())
    }

    /// The providers a key was brought for.
    pub fn providers(&self) -> Vec<Arc<str>> {
        self.keys.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Every key brought (for redaction by value).
    pub fn values(&self) -> Vec<&str> {
        self.keys.iter().map(|(_, k)| k.as_str()).collect()
    }
}

/// Whether the caller may bring provider keys; the refusal names the scope.
pub fn check_scope(keys: &ProviderKeys, ex: &switchyard_sdk::Exchange) -> Result<(), GatewayError> {
    if keys.is_empty() || ex.identity.as_ref().is_none_or(|id| id.scopes.grants(SCOPE)) {
        return Ok(());
    }
    Err(GatewayError::Rejected(switchyard_sdk::Reject::new(
        switchyard_sdk::RejectKind::Forbidden,
        "byok_not_allowed",
        "this key may not bring provider keys (X-OpenAI-Key and the like): it lacks the \"byok\" scope",
    )))
}
