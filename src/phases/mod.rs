//! The core's request checks, written as SDK phases so they run through the same mechanism as the
//! firewall and rules plugins. `registry` is the one place that decides which phases run, in order.

pub mod auth;
pub mod body_limit;
pub mod validate;

use std::sync::Arc;

use switchyard_ratelimit::{Limiter, RateLimit};
use switchyard_sdk::Phase;

use crate::config::{KeyStore, ServerSettings};

/// Plugin state that outlives config reloads: every snapshot's phases share it.
#[derive(Debug, Default)]
pub struct PluginState {
    pub limiter: Arc<Limiter>,
}

impl PluginState {
    pub fn new() -> Arc<Self> {
        Arc::new(PluginState::default())
    }
}

/// The phases of a snapshot, in the order they run (in each stage).
pub fn registry(server: &ServerSettings, keys: &Arc<KeyStore>, state: &PluginState) -> Vec<Arc<dyn Phase>> {
    vec![
        Arc::new(auth::Auth::new(keys.clone())),
        Arc::new(body_limit::BodyLimit {
            max_body_bytes: server.max_body_bytes,
        }),
        Arc::new(validate::Validate),
        Arc::new(RateLimit::new(state.limiter.clone())),
    ]
}
