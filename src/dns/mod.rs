//! Upstream name resolution off the worker threads: Pingora's `HttpPeer::new(host)` would resolve
//! with a blocking call (and panic on failure), so providers' hosts are resolved here with tokio's
//! resolver, cached for a TTL, refreshed in the background, and handed to Pingora as addresses.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

struct Entry {
    addrs: Vec<SocketAddr>,
    fetched: Instant,
    next: AtomicUsize,
    refreshing: AtomicBool,
}

impl Entry {
    /// Round-robin over the resolved addresses.
    fn pick(&self) -> Option<SocketAddr> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.addrs.get(i % self.addrs.len().max(1)).copied()
    }
}

pub struct Resolver {
    ttl: RwLock<Duration>,
    cache: RwLock<HashMap<(String, u16), Arc<Entry>>>,
}

impl Resolver {
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(Resolver {
            ttl: RwLock::new(ttl),
            cache: RwLock::new(HashMap::new()),
        })
    }

    pub fn set_ttl(&self, ttl: Duration) {
        *self.ttl.write().unwrap_or_else(|e| e.into_inner()) = ttl;
    }

    fn ttl(&self) -> Duration {
        *self.ttl.read().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, host: &str, port: u16) -> Option<Arc<Entry>> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache.get(&(host.to_string(), port)).cloned()
    }

    async fn lookup(self: &Arc<Self>, host: &str, port: u16) -> Result<Arc<Entry>, String> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} resolved to no address"));
        }
        let entry = Arc::new(Entry {
            addrs,
            fetched: Instant::now(),
            next: AtomicUsize::new(0),
            refreshing: AtomicBool::new(false),
        });
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((host.to_string(), port), entry.clone());
        Ok(entry)
    }

    /// An address for `host:port`. A stale entry is served while one background refresh runs, so a
    /// slow or failing DNS server never stalls requests for a host that resolved before.
    pub async fn resolve(self: &Arc<Self>, host: &str, port: u16) -> Result<SocketAddr, String> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        if let Some(e) = self.cached(host, port) {
            if e.fetched.elapsed() > self.ttl() && !e.refreshing.swap(true, Ordering::AcqRel) {
                let (me, host) = (self.clone(), host.to_string());
                tokio::spawn(async move {
                    if let Err(err) = me.lookup(&host, port).await {
                        tracing::warn!(host, error = err, "dns refresh failed; serving the last known address");
                        if let Some(e) = me.cached(&host, port) {
                            e.refreshing.store(false, Ordering::Release);
                        }
                    }
                });
            }
            if let Some(a) = e.pick() {
                return Ok(a);
            }
        }
        self.lookup(host, port)
            .await?
            .pick()
            .ok_or_else(|| format!("{host} resolved to no address"))
    }
}

#[cfg(test)]
mod tests;
