//! `Idempotency-Key` on the endpoints that reach a model: a repeat of a request (same key, same
//! workspace, within 24 h) gets the first answer again, byte for byte, with `idempotent-replayed: true`,
//! and no second upstream call; a repeat while the first is still in flight waits for it (up to
//! [`WAIT`], then 409); a repeat with another body is a 422. Keys are per workspace.
//!
//! Why a core step and not a phase: waiting for the first request is asynchronous, and phases are
//! synchronous by design (they run on the workers and must not block). And why the bytes the client got
//! rather than a canonical answer re-rendered through `Decision::Answer`: a replay must be exactly the
//! first answer, whatever the endpoint made of it (a composed `/v1/auto/route` envelope, an image, a
//! stream's events with their ids). The bytes are kept only for requests that carry the header (the
//! chunks are reference-counted, not copied), up to [`MAX_BYTES`].
//!
//! Answers are kept in memory (the in-flight table and the most recent answers) and in the store's
//! key-value with a 24 h expiry, so a replay also works after a restart. Only a complete 2xx answer is
//! kept: after a failure the key is free again, and a repeat is a fresh request.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use lru::LruCache;
use sha2::{Digest, Sha256};
use switchyard_sdk::KeyValue;
use tokio::sync::watch;

use crate::error::GatewayError;

/// How long a kept answer replays.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a repeat waits for the first request to finish.
pub const WAIT: Duration = Duration::from_secs(120);
/// The largest answer kept.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Answers kept in memory (the store keeps them all for 24 h).
const RECENT: usize = 2048;
const NAMESPACE: &str = "idempotency";

/// A kept answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Kept {
    /// SHA-256 of the method, path and body of the first request.
    pub fingerprint: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(with = "body_b64")]
    pub body: Vec<u8>,
}

mod body_b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

type Slot = (String, String);

struct InFlight {
    fingerprint: String,
    done: watch::Receiver<bool>,
}

struct Tables {
    in_flight: HashMap<Slot, InFlight>,
    recent: LruCache<Slot, Arc<Kept>>,
}

/// The gateway's idempotency state (it outlives reloads).
pub struct Idempotency {
    tables: Mutex<Tables>,
    kv: Option<Arc<dyn KeyValue>>,
}

/// What a request with a key does.
pub enum Begin {
    /// Go on: this request is the first; its answer is kept through the claim.
    Fresh(Claim),
    /// Answer with this.
    Replay(Arc<Kept>),
}

/// The first request's hold on its key. Dropped without [`Claim::finish`] keeping an answer, it frees
/// the key and wakes the repeats waiting for it.
pub struct Claim {
    owner: Arc<Idempotency>,
    slot: Slot,
    fingerprint: String,
    done: Option<watch::Sender<bool>>,
    /// The answer as the client got it, when it is one to keep.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Bytes>,
    pub size: usize,
    /// Too large or otherwise not keepable.
    pub spoiled: bool,
}

/// The fingerprint of a request: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The header's value, checked: 1–255 visible ASCII characters.
pub fn key_of(v: &str) -> Result<String, GatewayError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 255 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GatewayError::invalid(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(v.to_string())
}

fn mismatch() -> GatewayError {
    GatewayError::Rejected(
        switchyard_sdk::Reject::new(
            switchyard_sdk::RejectKind::Status { status: 422 },
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body; use a new key for a new request",
        )
        .with_param("Idempotency-Key"),
    )
}

fn still_running() -> GatewayError {
    GatewayError::Rejected(switchyard_sdk::Reject::new(
        switchyard_sdk::RejectKind::Conflict,
        "idempotency_key_in_use",
        "the first request with this Idempotency-Key is still running; retry later",
    ))
}

fn kv_key(slot: &Slot) -> String {
    format!("{}\u{1f}{}", slot.0, slot.1)
}

impl Idempotency {
    pub fn new(kv: Option<Arc<dyn KeyValue>>) -> Arc<Self> {
        Arc::new(Idempotency {
            tables: Mutex::new(Tables {
                in_flight: HashMap::new(),
                recent: LruCache::new(NonZeroUsize::new(RECENT).unwrap_or(NonZeroUsize::MIN)),
            }),
            kv,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(kept: Arc<Kept>, fingerprint: &str) -> Result<Begin, GatewayError> {
        if kept.fingerprint == fingerprint {
            Ok(Begin::Replay(kept))
        } else {
            Err(mismatch())
        }
    }

    /// Start a request carrying `key` in `workspace`.
    pub async fn begin(
        self: &Arc<Self>,
        workspace: &str,
        key: String,
        fingerprint: String,
    ) -> Result<Begin, GatewayError> {
        let slot: Slot = (workspace.to_string(), key);
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut looked_up_store = false;
        loop {
            // In memory: running, or recently answered.
            let waiting = {
                let mut t = self.lock();
                if let Some(f) = t.in_flight.get(&slot) {
                    if f.fingerprint != fingerprint {
                        return Err(mismatch());
                    }
                    Some(f.done.clone())
                } else if let Some(k) = t.recent.get(&slot).cloned() {
                    return Self::check(k, &fingerprint);
                } else if looked_up_store || self.kv.is_none() {
                    // Nobody has it: this request is the first.
                    let (tx, rx) = watch::channel(false);
                    t.in_flight.insert(
                        slot.clone(),
                        InFlight {
                            fingerprint: fingerprint.clone(),
                            done: rx,
                        },
                    );
                    return Ok(Begin::Fresh(Claim {
                        owner: self.clone(),
                        slot,
                        fingerprint,
                        done: Some(tx),
                        status: 0,
                        headers: Vec::new(),
                        chunks: Vec::new(),
                        size: 0,
                        spoiled: false,
                    }));
                } else {
                    None
                }
            };
            if let Some(mut rx) = waiting {
                // Wait for the first to finish (or give up its claim), then look again.
                match tokio::time::timeout_at(deadline, rx.changed()).await {
                    Ok(_) => continue,
                    Err(_) => return Err(still_running()),
                }
            }
            // Not in memory: kept before a restart, or evicted?
            if let Some(kv) = &self.kv {
                if let Ok(Some(bytes)) = kv.get(NAMESPACE, &kv_key(&slot)).await {
                    if let Ok(k) = serde_json::from_slice::<Kept>(&bytes) {
                        let k = Arc::new(k);
                        self.lock().recent.put(slot.clone(), k.clone());
                        return Self::check(k, &fingerprint);
                    }
                }
            }
            looked_up_store = true;
        }
    }
}

impl Claim {
    /// The response header the client got.
    pub fn header(&mut self, status: u16, headers: Vec<(String, String)>) {
        self.status = status;
        self.headers = headers;
    }

    /// A body chunk the client got.
    pub fn chunk(&mut self, b: &Bytes) {
        if self.spoiled {
            return;
        }
        self.size += b.len();
        if self.size > MAX_BYTES {
            self.spoiled = true;
            self.chunks.clear();
            return;
        }
        self.chunks.push(b.clone());
    }

    /// The request is over: keep the answer when it is a complete success, and free the key either way.
    pub fn finish(mut self, complete: bool) {
        if complete && !self.spoiled && (200..300).contains(&self.status) {
            let mut body = Vec::with_capacity(self.size);
            for c in &self.chunks {
                body.extend_from_slice(c);
            }
            let kept = Arc::new(Kept {
                fingerprint: std::mem::take(&mut self.fingerprint),
                status: self.status,
                headers: std::mem::take(&mut self.headers),
                body,
            });
            if let Some(kv) = &self.owner.kv {
                if let Ok(text) = serde_json::to_vec(&*kept) {
                    kv.put(NAMESPACE, &kv_key(&self.slot), text, Some(TTL));
                }
            }
            self.owner.lock().recent.put(self.slot.clone(), kept);
        }
        // Drop frees the in-flight slot and wakes the waiters.
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.owner.lock().in_flight.remove(&self.slot);
        if let Some(tx) = self.done.take() {
            let _ = tx.send(true);
        }
    }
}

/// Response headers worth replaying (not framing, not the request id: the replay has its own).
pub fn keep_header(name: &str) -> bool {
    !matches!(
        name,
        "content-length" | "transfer-encoding" | "connection" | "date" | "x-request-id" | "keep-alive" | "server"
    )
}

#[cfg(test)]
mod tests;
