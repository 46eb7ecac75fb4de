//! Durable state a phase may use, behind small traits so that the core's embedded SQLite store (or, later,
//! a shared Redis or PostgreSQL one) can back them without a phase knowing which: a key-value store with
//! expiry ([`KeyValue`]) and a money ledger ([`Ledger`]: balances and entries, credited once per external
//! event id). A plugin gets handles through [`BuildEnv`](crate::BuildEnv).
//!
//! The hot-path rule holds here too: what a phase calls while handling a request never waits on a disk.
//! Writes are queued to the store's background writer (`put`, `debit`); reads a phase needs on the request
//! path come from memory (`Ledger::balance`); everything else returns a [`StoreFuture`] that the core's
//! async endpoints await, or runs while a phase is built (`KeyValue::load`), which is off the request path.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::money::Money;

pub mod counters;
pub mod reserve;

/// A map for the request path's in-process state (health, counters, limits): keys are catalog ids,
/// key and workspace names, never a client's text, so foldhash's seeded fast hash serves; std's
/// SipHash was most of a lookup's cost (about 50 lookups a request).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A store operation that completes later (on the store's own thread); the core awaits it.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Why a store operation failed (the database is unavailable, full, or the store is shutting down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// One live entry of a key-value namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    pub key: String,
    pub value: Vec<u8>,
    /// Unix milliseconds after which the entry is gone (`None`: kept until deleted).
    pub expires_unix_ms: Option<u64>,
}

/// A key-value store with expiry, in namespaces (one per user: `cache`, `idempotency`, ...).
pub trait KeyValue: Send + Sync {
    /// Store `value` under `key` for `ttl` (`None`: until deleted). Queued, never waits; returns
    /// `false` when the write was dropped because the writer's queue is full (counted by the store).
    fn put(&self, namespace: &str, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> bool;

    /// Remove `key` (queued).
    fn delete(&self, namespace: &str, key: &str);

    /// The value under `key`, if it is there and has not expired.
    fn get(&self, namespace: &str, key: &str) -> StoreFuture<Option<Vec<u8>>>;

    /// Every live entry of `namespace`, read now: blocks the caller, so only for building a phase
    /// (start, reload), never on a request's path.
    fn load(&self, namespace: &str) -> Result<Vec<KvEntry>, StoreError>;
}

/// A credit to record once: the external event it comes from names it, so a repeated delivery of
/// the same event changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub account: String,
    pub amount: Money,
    /// Unique per real payment (e.g. `polar:checkout:<id>`): the ledger credits it at most once.
    pub reference: String,
    /// Where it came from, for the entry (`polar order.paid`).
    pub note: String,
}

/// What a credit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credited {
    /// Recorded now; the account's balance after it (pico-dollars, may be negative).
    Applied { balance: i64 },
    /// The reference was credited before: nothing changed.
    Duplicate,
}

/// One ledger entry, newest first when listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Unix milliseconds.
    pub at_unix_ms: u64,
    /// Signed pico-dollars: positive credits, negative debits.
    pub amount: i64,
    /// `credit` or `debit`.
    pub kind: &'static str,
    /// The request id of a debit, the payment reference of a credit.
    pub reference: String,
    pub note: String,
    /// The balance right after this entry.
    pub balance_after: i64,
}

/// Prepaid balances and their entries. Balances are signed pico-dollars: an answer that cost more than
/// its reserved estimate can take a balance below zero, and the next request is refused.
pub trait Ledger: Send + Sync {
    /// The account's balance now, from memory (no I/O): safe on the request path.
    fn balance(&self, account: &str) -> i64;

    /// Take `amount` from the account for request `reference`. The balance changes now; the entry
    /// is queued to the writer and is never dropped.
    fn debit(&self, account: &str, amount: Money, reference: &str, note: &str);

    /// Credit once per [`Credit::reference`]; completes when the entry is durable. Concurrent
    /// deliveries of the same reference credit once.
    fn credit(&self, credit: Credit) -> StoreFuture<Credited>;

    /// The account's newest entries, at most `limit`.
    fn entries(&self, account: &str, limit: usize) -> StoreFuture<Vec<LedgerEntry>>;
}

/// Signed pico-dollars as exact decimal dollars (`-0.25`, `12`).
pub fn signed_dollars(pico: i64) -> String {
    let m = Money(pico.unsigned_abs());
    if pico < 0 {
        format!("-{m}")
    } else {
        m.to_string()
    }
}

/// Signed pico-dollars as a JSON number of dollars (display only, never summed).
pub fn signed_dollars_f64(pico: i64) -> f64 {
    pico as f64 / 1e12
}
