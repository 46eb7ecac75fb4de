//! The gateway's durable state: an embedded SQLite database (WAL, numbered migrations applied at
//! open) holding the request log, a key-value store with expiry (response cache, idempotent answers),
//! the wallet ledger, workspace preferences and feedback. Each concern is behind a small trait — the
//! request-log sink ([`LogSink`], here) and the SDK's [`KeyValue`] and [`Ledger`] that plugins use — so a
//! shared backend (PostgreSQL, Redis) can implement them later without touching the phases.
//!
//! A Pingora worker never waits on the disk: every write is an [`Op`] sent down one channel to one
//! background writer thread that owns the connection and applies what it finds queued in one
//! transaction. Writes that may be lost under overload (log rows, cache entries) are counted against a
//! bounded queue: beyond it they are dropped, counted and logged (rate-limited), never waited for.
//! Money and settings are never dropped. Reads the endpoints need run on the same thread through a
//! oneshot (they see every write queued before them), awaited by the async handler. Shutdown and
//! upgrade flush the queue ([`Store::flush`]).
//!
//! - `schema`: the migrations; `writer`: the thread; `log`: log rows, their insert and the export query;
//! - `kv`, `ledger`, `prefs`, `feedback`: the other concerns.

pub mod counters;
pub mod export;
pub mod feedback;
pub mod keys;
pub mod kv;
pub mod ledger;
pub mod log;
pub mod prefs;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use switchyard_sdk::{KeyValue, Ledger, StoreError};

pub use log::{LogQuery, LogRow};
use writer::Op;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// In this process's memory only (tests, operators who want no file): gone at exit.
    Memory,
}

/// The store's settings (`store:` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub location: Location,
    /// Log rows and cache entries queued at most; beyond, they are dropped and counted.
    pub queue_capacity: usize,
    /// Operations applied per transaction at most.
    pub batch_max: usize,
    /// Log rows (and feedback) older than this are deleted by the writer.
    pub max_age: Option<Duration>,
    /// When the database's used pages exceed this, the oldest log rows go first.
    pub max_bytes: Option<u64>,
    /// How often the writer applies retention and removes expired entries.
    pub maintenance_every: Duration,
}

impl Settings {
    pub fn memory() -> Self {
        Settings {
            location: Location::Memory,
            queue_capacity: 65_536,
            batch_max: 1024,
            max_age: None,
            max_bytes: None,
            maintenance_every: Duration::from_secs(60),
        }
    }
}

/// Where log rows go. The request path calls [`LogSink::record`] once per finished request: it must
/// queue, never wait.
pub trait LogSink: Send + Sync {
    /// Queue the row; `false` when it was dropped (queue full, counted).
    fn record(&self, row: LogRow) -> bool;
}

/// The open store: the writer's queue and the state kept in memory for the request path.
pub struct Store {
    sender: Sender,
    pub ledger: Arc<ledger::SqliteLedger>,
    pub kv: Arc<kv::SqliteKv>,
    /// Preferences as stored, per workspace (the router reads them on every request).
    pub prefs: Arc<prefs::Stored>,
    /// Keys made at runtime, as the request path reads them.
    pub keys: Arc<keys::RuntimeKeys>,
    /// Spend per key, workspace and route, per day and month (checkpointed by the writer).
    pub counters: Arc<counters::StoreCounters>,
    pub location: Location,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Open (or create) the database, apply the migrations, load what the request path keeps in memory,
/// and start the writer.
pub fn open(settings: &Settings) -> Result<Arc<Store>, String> {
    let mut conn = connect(&settings.location)?;
    schema::migrate(&mut conn)?;
    let balances = ledger::load_balances(&conn).map_err(|e| format!("reading the wallet balances: {e}"))?;
    let stored = prefs::load(&conn).map_err(|e| format!("reading the stored preferences: {e}"))?;
    let counters =
        Arc::new(counters::StoreCounters::load(&conn).map_err(|e| format!("reading the spend counters: {e}"))?);
    let runtime_keys = Arc::new(keys::RuntimeKeys::default());
    runtime_keys
        .refresh(&conn)
        .map_err(|e| format!("reading the stored keys: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Queue {
        depth: AtomicUsize::new(0),
        capacity: settings.queue_capacity,
        dropped: AtomicU64::new(0),
        last_drop_warning: AtomicI64::new(0),
    });
    let balances = ledger::balances(balances);
    let handle = writer::spawn(
        conn,
        rx,
        shared.clone(),
        balances.clone(),
        runtime_keys.clone(),
        counters.clone(),
        settings.clone(),
    )?;
    let sender = Sender { tx, queue: shared };
    let store = Arc::new(Store {
        ledger: Arc::new(ledger::SqliteLedger::new(sender.clone(), balances)),
        kv: Arc::new(kv::SqliteKv::new(sender.clone())),
        prefs: Arc::new(prefs::Stored::new(stored)),
        keys: runtime_keys,
        counters,
        sender,
        location: settings.location.clone(),
        writer: std::sync::Mutex::new(Some(handle)),
    });
    Ok(store)
}

/// A connection to the database at `location`, configured for this store (WAL, busy timeout).
pub fn connect(location: &Location) -> Result<Connection, String> {
    let conn = match location {
        Location::File(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            Connection::open(p).map_err(|e| format!("cannot open the store at {}: {e}", p.display()))?
        }
        Location::Memory => Connection::open_in_memory().map_err(|e| format!("cannot open a memory store: {e}"))?,
    };
    // WAL: readers (the `logs` command, a backup) never block the writer, and a commit is one append.
    // NORMAL sync in WAL mode is durable across a process crash (not a power cut), at a fraction of
    // FULL's fsyncs. The busy timeout covers a second process (a graceful upgrade's new one, or
    // `switchyard logs`) holding the write lock for a moment.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| format!("cannot set WAL mode: {e}"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| format!("cannot set synchronous: {e}"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| format!("cannot set the busy timeout: {e}"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| format!("cannot enable foreign keys: {e}"))?;
    Ok(conn)
}

/// A connection to the database at `location` with the migrations applied, for a command that
/// changes it offline (`switchyard keys create|rotate|revoke`).
pub fn open_migrated(location: &Location) -> Result<Connection, String> {
    let mut conn = connect(location)?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// Open an existing database file read-only, for the offline `logs` command.
pub fn open_read_only(path: &Path) -> Result<Connection, String> {
    use rusqlite::OpenFlags;
    if !path.exists() {
        return Err(format!("no database at {}", path.display()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    schema::check_version(&conn)?;
    Ok(conn)
}

/// The queue's accounting, shared by the senders and the writer.
pub(crate) struct Queue {
    /// Droppable operations queued now (the queue-depth metric).
    pub(crate) depth: AtomicUsize,
    capacity: usize,
    dropped: AtomicU64,
    /// Unix seconds of the last "dropped" warning, so a full queue logs once per interval.
    last_drop_warning: AtomicI64,
}

/// The queue's sending side, shared by the concerns.
#[derive(Clone)]
pub(crate) struct Sender {
    tx: mpsc::Sender<Op>,
    queue: Arc<Queue>,
}

impl Sender {
    /// Queue an operation that must not be lost (money, settings, replies): it always goes.
    pub(crate) fn send(&self, op: Op) -> bool {
        self.tx.send(op).is_ok()
    }

    /// Queue an operation that may be lost under overload (a log row, a cache entry): refused when
    /// the queue holds `capacity` such operations already; the drop is counted (metric, `kind`) and
    /// logged at most once per 10 seconds. Never waits.
    pub(crate) fn send_droppable(&self, op: Op, kind: &'static str) -> bool {
        let q = &self.queue;
        if q.depth.fetch_add(1, Ordering::Relaxed) >= q.capacity {
            q.depth.fetch_sub(1, Ordering::Relaxed);
            self.count_drop(kind);
            return false;
        }
        if self.tx.send(op).is_err() {
            q.depth.fetch_sub(1, Ordering::Relaxed);
            self.count_drop(kind);
            return false;
        }
        true
    }

    fn count_drop(&self, kind: &'static str) {
        let q = &self.queue;
        let n = q.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        crate::metrics::m().store_dropped.with_label_values(&[kind]).inc();
        let now = now_ms() / 1000;
        let last = q.last_drop_warning.load(Ordering::Relaxed);
        if now - last >= 10
            && q.last_drop_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = n,
                queue_capacity = q.capacity,
                "the store's writer is behind: writes are being dropped (store.queue_capacity)"
            );
        }
    }

    /// Run `f` on the writer's thread, in order with the writes queued before it, and await its result.
    pub(crate) fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> switchyard_sdk::StoreFuture<T> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let op = Op::Call(Box::new(move |conn: &mut Connection| {
            let _ = reply.send(f(conn));
        }));
        let sent = self.send(op);
        Box::pin(async move {
            if !sent {
                return Err(StoreError("the store is closed".into()));
            }
            rx.await
                .unwrap_or_else(|_| Err(StoreError("the store's writer stopped".into())))
        })
    }

    /// Like [`Sender::call`], for a caller off the request path that may block (building a phase).
    pub(crate) fn call_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        timeout: Duration,
    ) -> Result<T, StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        let op = Op::Call(Box::new(move |conn: &mut Connection| {
            let _ = reply.send(f(conn));
        }));
        if !self.send(op) {
            return Err(StoreError("the store is closed".into()));
        }
        rx.recv_timeout(timeout)
            .unwrap_or_else(|_| Err(StoreError("the store did not answer in time".into())))
    }
}

impl Store {
    fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Droppable operations queued now.
    pub fn queue_depth(&self) -> usize {
        self.sender.queue.depth.load(Ordering::Relaxed)
    }

    /// Operations dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.sender.queue.dropped.load(Ordering::Relaxed)
    }

    /// Run `f` on the writer's thread (after every write queued before it) and await its result.
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> switchyard_sdk::StoreFuture<T> {
        self.sender().call(f)
    }

    /// Wait until everything queued so far is committed, at most `timeout`. Shutdown and upgrade
    /// call it so that no accepted row is lost; the export calls it so it sees every finished request.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (reply, rx) = mpsc::sync_channel(1);
        if !self.sender().send(Op::Flush(reply)) {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }

    /// Flush, asynchronously (for a handler that wants to read what was just written).
    pub async fn flushed(&self) -> bool {
        let (reply, rx) = tokio::sync::oneshot::channel::<()>();
        let op = Op::Call(Box::new(move |_conn: &mut Connection| {
            let _ = reply.send(());
        }));
        self.sender().send(op) && rx.await.is_ok()
    }

    /// Flush and stop the writer (at exit). Waits at most `timeout`.
    pub fn close(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        let flushed = self.flush(timeout);
        let _ = self.sender().send(Op::Stop);
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // The writer exits right after Stop; joining is bounded by what is left of the timeout.
            while !h.is_finished() && started.elapsed() < timeout {
                std::thread::sleep(Duration::from_millis(5));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
        flushed
    }

    /// Rebuild the runtime keys from the table (a reload: picks up what `switchyard keys` wrote).
    pub fn refresh_keys_blocking(&self) -> Result<(), StoreError> {
        let keys = self.keys.clone();
        self.sender.call_blocking(
            move |conn| keys.refresh(conn).map_err(|e| StoreError(e.to_string())),
            Duration::from_secs(5),
        )
    }

    pub fn kv_handle(&self) -> Arc<dyn KeyValue> {
        self.kv.clone()
    }

    pub fn ledger_handle(&self) -> Arc<dyn Ledger> {
        self.ledger.clone()
    }

    /// Queue a feedback entry (never dropped: there are few, and each is a person's time).
    pub fn feedback(&self, row: feedback::FeedbackRow) -> bool {
        self.sender().send(Op::Feedback(Box::new(row)))
    }
}

impl LogSink for Store {
    fn record(&self, row: LogRow) -> bool {
        self.sender.send_droppable(Op::Log(Box::new(row)), "log")
    }
}

#[cfg(test)]
mod tests;
