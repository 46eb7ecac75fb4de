//! The response cache: a client asks for it per request with `X-GR-Cache-TTL: <seconds>` (1–3600); an
//! identical canonical request from the same workspace within that time (same endpoint, requested model
//! or route, messages, tools, sampling parameters, response format) is answered from the cache through
//! [`Decision::Answer`]: the core renders the stored canonical answer in the client's schema, as a
//! stream when the client streams, at cost 0, with the original `router` object marked `cached: true`
//! and `x-jt-cache: hit`. Every other answer to a request that asked carries `x-jt-cache: miss`, and a
//! successful one is stored (the core collects it for [`Phase::on_complete`]).
//!
//! Entries live in memory, in an LRU bounded by bytes, kept in the plugin state across reloads;
//! with `persist: true` they are also written to the store's key-value (queued, never waited for) and
//! loaded back at start. Nothing is shared across workspaces: the workspace is part of the key. A
//! request with `temperature > 0` is cached only because its caller asked for it with the header.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lru::LruCache;
use sha2::{Digest, Sha256};
use switchyard_sdk::ir::{ChatRequest, ChatResponse};
use switchyard_sdk::{
    AnswerKind, AnswerWatch, BuildEnv, Built, Decision, Exchange, KeyValue, Outcome, Phase, PhaseAnswer, Plugin, Reject,
};

/// The request header that asks for caching.
pub const HEADER: &str = "x-gr-cache-ttl";
/// The longest TTL a client may ask for.
pub const MAX_TTL_SECONDS: u64 = 3600;
/// The key-value namespace of persisted entries.
pub const NAMESPACE: &str = "cache";

const NAME: &str = "cache";

#[derive(serde::Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Bytes of answers kept in memory at most (least recently used go first).
    max_bytes: u64,
    /// An answer larger than this is not cached.
    max_entry_bytes: u64,
    /// Also write entries to the store, so they survive a restart.
    persist: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_bytes: 64 * 1024 * 1024,
            max_entry_bytes: 1024 * 1024,
            persist: false,
        }
    }
}

/// One cached answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Entry {
    response: ChatResponse,
    model: String,
    router: Option<String>,
    /// Unix milliseconds.
    expires_ms: u64,
    #[serde(skip)]
    size: usize,
}

type Key = [u8; 32];

/// The cache's memory: an LRU of entries and the bytes they hold.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Lru>,
}

#[derive(Debug)]
struct Lru {
    entries: LruCache<Key, Arc<Entry>>,
    bytes: usize,
    loaded: bool,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            inner: Mutex::new(Lru {
                entries: LruCache::unbounded(),
                bytes: 0,
                loaded: false,
            }),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &Key, now: u64) -> Option<Arc<Entry>> {
        let mut lru = self.lock();
        let e = lru.entries.get(key)?.clone();
        if e.expires_ms <= now {
            lru.entries.pop(key);
            lru.bytes = lru.bytes.saturating_sub(e.size);
            return None;
        }
        Some(e)
    }

    fn insert(&self, key: Key, entry: Arc<Entry>, max_bytes: usize) {
        let mut lru = self.lock();
        lru.bytes += entry.size;
        if let Some(old) = lru.entries.put(key, entry) {
            lru.bytes = lru.bytes.saturating_sub(old.size);
        }
        while lru.bytes > max_bytes {
            match lru.entries.pop_lru() {
                Some((_, e)) => lru.bytes = lru.bytes.saturating_sub(e.size),
                None => break,
            }
        }
    }

    /// Entries and bytes held now.
    pub fn usage(&self) -> (usize, usize) {
        let lru = self.lock();
        (lru.entries.len(), lru.bytes)
    }
}

/// What the header stage learned, for the later stages of the same request.
#[derive(Debug, Clone, Copy)]
enum Asked {
    Ttl(Duration),
    /// Looked up and missed: store the answer under this key.
    Miss {
        ttl: Duration,
        key: Key,
    },
}

fn ttl_of(v: &str) -> Option<Duration> {
    let n: u64 = v.trim().parse().ok()?;
    (1..=MAX_TTL_SECONDS).contains(&n).then(|| Duration::from_secs(n))
}

/// `fmt::Write` into a hash, so the key is computed without building the text.
struct Hashing(Sha256);

impl std::fmt::Write for Hashing {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// The cache key: the workspace and endpoint, then everything of the canonical request that changes the
/// answer (not the stream flag: a stored answer replays as a stream, and not the client's metadata).
fn key_of(ex: &Exchange, r: &ChatRequest) -> Key {
    let ws = ex.identity.as_ref().map_or("", |i| &*i.workspace);
    let mut h = Hashing(Sha256::new());
    // Lengths first, so that no two different inputs run together into the same text.
    let _ = write!(
        h,
        "{}:{ws}|{}|{}:{}|",
        ws.len(),
        ex.endpoint.as_str(),
        r.model.len(),
        r.model
    );
    let _ =
        write!(
        h,
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        r.messages,
        r.tools,
        r.tool_choice,
        r.parallel_tool_calls,
        r.temperature,
        r.top_p,
        r.max_tokens,
        r.stop,
        r.seed,
        r.presence_penalty,
        r.frequency_penalty,
        r.n,
        r.response_format,
        r.reasoning_effort,
        r.reasoning_budget,
        r.top_k,
        r.logprobs,
        r.top_logprobs,
        r.routing.mode,
        r.routing.task,
        r.routing.fallback,
        (r.routing.provider.as_deref(), &r.routing.exclude_providers, r.routing.budget, r.routing.quality_floor),
    );
    h.0.finalize().into()
}

fn hex(k: &Key) -> String {
    k.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Key> {
    let mut k = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}

/// The phase.
pub struct Cache {
    store: Arc<Store>,
    max_bytes: usize,
    max_entry_bytes: usize,
    kv: Option<Arc<dyn KeyValue>>,
}

impl Cache {
    /// The shared memory this phase uses (tests and the core's figures).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

impl Phase for Cache {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A preview (`POST /v1/rules/preview`) shows the policies and the route, not stored answers or
    /// balances, and must not touch them.
    fn in_preview(&self) -> bool {
        false
    }

    fn on_headers(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some(v) = head.headers.get(HEADER) else {
            return Decision::Continue;
        };
        match v.to_str().ok().and_then(ttl_of) {
            Some(ttl) => {
                ex.put_data(NAME, Asked::Ttl(ttl));
                Decision::Continue
            }
            None => Decision::Respond(Reject::invalid(
                "X-GR-Cache-TTL",
                format!("X-GR-Cache-TTL must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}"),
            )),
        }
    }

    fn on_request(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some(&Asked::Ttl(ttl)) = ex.data::<Asked>(NAME) else {
            return Decision::Continue;
        };
        let Some(req) = ex.request() else {
            return Decision::Continue;
        };
        let key = key_of(ex, req);
        if let Some(e) = self.store.get(&key, now_ms()) {
            return Decision::Answer(Box::new(PhaseAnswer {
                response: e.response.clone(),
                model: e.model.clone(),
                router: e.router.clone(),
                headers: vec![("x-jt-cache", "hit".into())],
                kind: AnswerKind::Cached,
            }));
        }
        ex.response_headers.push(("x-jt-cache", "miss".into()));
        ex.put_data(NAME, Asked::Miss { ttl, key });
        Decision::Continue
    }

    fn watch_answer(&self, ex: &Exchange) -> Option<AnswerWatch> {
        matches!(ex.data::<Asked>(NAME), Some(Asked::Miss { .. })).then_some(AnswerWatch {
            collect: true,
            ..AnswerWatch::default()
        })
    }

    fn on_complete(&self, ex: &Exchange, outcome: &Outcome) {
        let Some(&Asked::Miss { ttl, key }) = ex.data::<Asked>(NAME) else {
            return;
        };
        let (200, Some(answer), Some(model)) = (outcome.status, outcome.answer, outcome.model) else {
            return;
        };
        let router = outcome
            .router
            .and_then(|r| std::str::from_utf8(r).ok())
            .map(str::to_string);
        let mut entry = Entry {
            response: answer.clone(),
            model: model.to_string(),
            router,
            expires_ms: now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            size: 0,
        };
        let text = serde_json::to_vec(&entry).unwrap_or_default();
        if text.is_empty() || text.len() > self.max_entry_bytes {
            return;
        }
        entry.size = text.len() + 96;
        self.store.insert(key, Arc::new(entry), self.max_bytes);
        if let Some(kv) = &self.kv {
            // Queued to the store's writer; a full queue drops it (counted there): a cache may forget.
            kv.put(NAMESPACE, &hex(&key), text, Some(ttl));
        }
    }
}

/// The plugin: `plugins.cache: {max_bytes, max_entry_bytes, persist}` (all optional). The cache is on
/// whenever the section is present (even empty); requests opt in with the header.
pub struct CachePlugin;

impl Plugin for CachePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        let Some(section) = section else {
            return Ok(None);
        };
        let cfg: Config = if section.is_null() {
            Config::default()
        } else {
            switchyard_sdk::typed(section).map_err(|e| vec![e])?
        };
        if cfg.max_bytes < 1024 {
            return Err(vec![switchyard_sdk::ConfigError::new("max_bytes", "at least 1024")]);
        }
        if cfg.persist && env.kv.is_none() {
            return Err(vec![switchyard_sdk::ConfigError::new(
                "persist",
                "persisting the cache needs the store (store.enabled is false)",
            )]);
        }
        let store = env.state.get_or_init(NAME, Store::default);
        let kv = if cfg.persist { env.kv.clone() } else { None };
        let max_bytes = usize::try_from(cfg.max_bytes).unwrap_or(usize::MAX);
        if let Some(kv) = &kv {
            load(&store, kv.as_ref(), max_bytes);
        }
        Ok(Some(Arc::new(Cache {
            store,
            max_bytes,
            max_entry_bytes: usize::try_from(cfg.max_entry_bytes).unwrap_or(usize::MAX),
            kv,
        })))
    }
}

/// Fill the memory from the persisted entries, once per process (at start; a reload keeps the memory).
fn load(store: &Store, kv: &dyn KeyValue, max_bytes: usize) {
    {
        let mut lru = store.lock();
        if lru.loaded {
            return;
        }
        lru.loaded = true;
    }
    let Ok(entries) = kv.load(NAMESPACE) else {
        return;
    };
    let now = now_ms();
    for e in entries {
        let (Some(key), Ok(mut entry)) = (unhex(&e.key), serde_json::from_slice::<Entry>(&e.value)) else {
            continue;
        };
        if entry.expires_ms <= now {
            continue;
        }
        entry.size = e.value.len() + 96;
        store.insert(key, Arc::new(entry), max_bytes);
    }
}

#[cfg(test)]
mod tests;
