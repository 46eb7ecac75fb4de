//! Session stickiness: a `session_id` stays on the model that last served it (while that model is
//! still eligible), so a conversation keeps hitting the provider's prompt cache. Bounded LRU with a TTL.
//!
//! The table is an attack surface (a client picks the ids and how many), so what it keeps per session
//! is fixed-size whatever the id: the key is a 128-bit digest of (workspace, key, session id), so one
//! key can neither read nor steer another key's session, and the model is kept as a 64-bit tag of its
//! catalog id, never a copy of a string. The table is bounded by entries and by bytes
//! (`routing.session_max_entries`, `routing.session_max_bytes`); ids longer than
//! [`MAX_SESSION_ID_BYTES`] are refused before routing (`phases::validate`).

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use sha2::{Digest, Sha256};
use switchyard_sdk::Identity;

use crate::metrics::m;

/// The longest `session_id` accepted (400 beyond).
pub const MAX_SESSION_ID_BYTES: usize = 256;

/// Digest of (workspace, key, session id).
type Key = [u8; 16];

#[derive(Clone, Copy)]
struct Entry {
    model: u64,
    expires: Instant,
}

/// What one entry costs, allocator rounding aside: the LRU node (key, value, two links) and the hash
/// table's slot (a pointer and a control byte).
pub const ENTRY_BYTES: usize =
    std::mem::size_of::<Key>() + std::mem::size_of::<Entry>() + 3 * std::mem::size_of::<usize>() + 1;

/// A session's place in the table: who asked, and for which session.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SessionKey(Key);

impl SessionKey {
    pub fn new(id: &Identity, session: &str) -> Self {
        let mut h = Sha256::new();
        for part in [id.workspace.as_bytes(), id.key_id.as_bytes(), session.as_bytes()] {
            // Length-prefixed, so that no two different triples hash the same bytes.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        SessionKey(k)
    }
}

/// The table's bounds: the smaller of the two wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Bounds {
    pub fn capacity(self) -> NonZeroUsize {
        NonZeroUsize::new(self.max_entries.min(self.max_bytes / ENTRY_BYTES)).unwrap_or(NonZeroUsize::MIN)
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_entries: 100_000,
            max_bytes: 16 << 20,
        }
    }
}

pub struct Sessions {
    map: Mutex<LruCache<Key, Entry>>,
    /// Model ids become tags with a per-process seed: a client cannot aim at a collision.
    tags: std::hash::RandomState,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::new(LruCache::new(Bounds::default().capacity())),
            tags: std::hash::RandomState::new(),
        }
    }
}

impl Sessions {
    /// The tag the table keeps for `model_id`.
    pub fn tag(&self, model_id: &str) -> u64 {
        self.tags.hash_one(model_id)
    }

    /// The tag of the model that served this session, if one did within the TTL.
    pub fn get(&self, key: SessionKey) -> Option<u64> {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&key.0) {
            Some(e) if e.expires > Instant::now() => Some(e.model),
            Some(_) => {
                m.pop(&key.0);
                None
            }
            None => None,
        }
    }

    /// Keep the session on `model_id` for `ttl`, within `bounds` (the least recently used session
    /// makes room).
    pub fn put(&self, key: SessionKey, model_id: &str, ttl: Duration, bounds: Bounds) {
        let entry = Entry {
            model: self.tag(model_id),
            expires: Instant::now() + ttl,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let cap = bounds.capacity();
        if map.cap() != cap {
            map.resize(cap);
        }
        map.put(key.0, entry);
        m().session_entries.set(map.len() as i64);
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn id(key: &str, ws: &str) -> Identity {
        Identity {
            key_id: key.into(),
            key_name: key.into(),
            workspace: ws.into(),
            test_key: false,
            scopes: Arc::default(),
            limits: Arc::default(),
        }
    }

    #[test]
    fn sessions_stick_per_workspace_and_key_and_expire() {
        let s = Sessions::default();
        let b = Bounds::default();
        let (a, other_ws, other_key) = (id("k", "a"), id("k", "b"), id("k2", "a"));
        s.put(SessionKey::new(&a, "s1"), "m1", Duration::from_secs(60), b);
        assert_eq!(s.get(SessionKey::new(&a, "s1")), Some(s.tag("m1")));
        assert_eq!(s.get(SessionKey::new(&other_ws, "s1")), None);
        assert_eq!(
            s.get(SessionKey::new(&other_key, "s1")),
            None,
            "another key cannot see it"
        );
        s.put(SessionKey::new(&a, "s2"), "m2", Duration::ZERO, b);
        assert_eq!(s.get(SessionKey::new(&a, "s2")), None);
        // Length-prefixed parts: moving bytes between parts changes the key.
        assert_ne!(
            SessionKey::new(&id("ab", "c"), "d"),
            SessionKey::new(&id("a", "bc"), "d")
        );
    }

    #[test]
    fn the_table_is_bounded_by_entries_and_bytes() {
        let s = Sessions::default();
        let a = id("k", "a");
        let by_entries = Bounds {
            max_entries: 10,
            max_bytes: 1 << 30,
        };
        for i in 0..100 {
            s.put(
                SessionKey::new(&a, &i.to_string()),
                "m",
                Duration::from_secs(60),
                by_entries,
            );
        }
        assert_eq!(s.len(), 10);
        let by_bytes = Bounds {
            max_entries: 1_000_000,
            max_bytes: 5 * ENTRY_BYTES,
        };
        let long = "x".repeat(MAX_SESSION_ID_BYTES);
        for i in 0..100 {
            s.put(
                SessionKey::new(&a, &format!("{long}{i}")),
                "m",
                Duration::from_secs(60),
                by_bytes,
            );
        }
        assert_eq!(s.len(), 5);
        const { assert!(ENTRY_BYTES < 100) };
    }
}
