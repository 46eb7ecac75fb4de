//! Session stickiness: a `session_id` stays on the model that last served it (while that model is
//! still eligible), so a conversation keeps hitting the provider's prompt cache. Bounded LRU with a TTL;
//! keys are scoped by workspace so two workspaces never share a session.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

const CAPACITY: usize = 100_000;

/// (workspace, session id) → (model id, expiry).
type SessionMap = LruCache<(Arc<str>, String), (Arc<str>, Instant)>;

pub struct Sessions {
    map: Mutex<SessionMap>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::new(LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN))),
        }
    }
}

impl Sessions {
    /// The model that served this session, if it did within the TTL.
    pub fn get(&self, workspace: &Arc<str>, session: &str) -> Option<Arc<str>> {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let key = (workspace.clone(), session.to_string());
        match m.get(&key) {
            Some((model, expires)) if *expires > Instant::now() => Some(model.clone()),
            Some(_) => {
                m.pop(&key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, workspace: &Arc<str>, session: &str, model: &str, ttl: Duration) {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.put(
            (workspace.clone(), session.to_string()),
            (Arc::from(model), Instant::now() + ttl),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_stick_per_workspace_and_expire() {
        let s = Sessions::default();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        s.put(&a, "s1", "m1", Duration::from_secs(60));
        assert_eq!(s.get(&a, "s1").as_deref(), Some("m1"));
        assert_eq!(s.get(&b, "s1"), None);
        s.put(&a, "s2", "m2", Duration::ZERO);
        assert_eq!(s.get(&a, "s2"), None);
    }
}
