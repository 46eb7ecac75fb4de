//! The one background writer: a thread that owns the database connection, takes what is queued, and
//! applies it in one transaction per batch (a commit per request would cost a WAL append and a lock
//! each; a batch costs one). A call (a read, or a write whose caller waits for it) runs after the
//! batch before it is committed, so it sees every write queued before it. Between batches, every
//! `maintenance_every`, it applies retention: log rows and feedback past their age, the oldest log
//! rows while the database is over its size, and expired key-value entries.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction};

use super::feedback::FeedbackRow;
use super::ledger::{Balances, Debit};
use super::log::LogRow;
use super::{now_ms, Queue, Settings};
use crate::metrics::m;

/// What the writer is asked to do.
pub(crate) enum Op {
    Log(Box<LogRow>),
    KvPut {
        ns: String,
        key: String,
        value: Vec<u8>,
        expires_ms: Option<i64>,
    },
    KvDelete {
        ns: String,
        key: String,
    },
    Debit(Box<Debit>),
    Feedback(Box<FeedbackRow>),
    /// Run on the writer's thread after the writes queued before it are committed.
    Call(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Commit what is queued, then answer.
    Flush(mpsc::SyncSender<()>),
    /// Commit what is queued and stop.
    Stop,
}

impl Op {
    /// Counted against the queue's capacity (and dropped beyond it).
    fn droppable(&self) -> bool {
        matches!(self, Op::Log(_) | Op::KvPut { .. })
    }

    fn kind(&self) -> &'static str {
        match self {
            Op::Log(_) => "log",
            Op::KvPut { .. } | Op::KvDelete { .. } => "kv",
            Op::Debit(_) => "ledger",
            Op::Feedback(_) => "feedback",
            Op::Call(_) | Op::Flush(_) | Op::Stop => "call",
        }
    }
}

/// What the writer shares with the senders: the queue's accounting and the ledger's memory.
struct Shared {
    queue: Arc<Queue>,
    balances: Balances,
    keys: Arc<super::keys::RuntimeKeys>,
    counters: Arc<super::counters::StoreCounters>,
}

pub(crate) fn spawn(
    conn: Connection,
    rx: mpsc::Receiver<Op>,
    queue: Arc<Queue>,
    balances: Balances,
    keys: Arc<super::keys::RuntimeKeys>,
    counters: Arc<super::counters::StoreCounters>,
    settings: Settings,
) -> Result<std::thread::JoinHandle<()>, String> {
    let shared = Shared {
        queue,
        balances,
        keys,
        counters,
    };
    std::thread::Builder::new()
        .name("switchyard-store".into())
        .spawn(move || run(conn, rx, &shared, &settings))
        .map_err(|e| format!("cannot start the store's writer thread: {e}"))
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Op>, shared: &Shared, settings: &Settings) {
    let mut last_maintenance = Instant::now();
    let mut batch: Vec<Op> = Vec::with_capacity(settings.batch_max.max(1));
    loop {
        let wait = settings
            .maintenance_every
            .saturating_sub(last_maintenance.elapsed())
            .max(Duration::from_millis(1));
        match rx.recv_timeout(wait) {
            Ok(op) => batch.push(op),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < settings.batch_max.max(1) {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        linger(&rx, &mut batch, settings.batch_max.max(1));
        let stop = apply(&mut conn, &mut batch, shared);
        if last_maintenance.elapsed() >= settings.maintenance_every {
            maintain(&conn, settings);
            // Balances as the database has them (another process may have written some).
            if let Ok(durable) = super::ledger::load_balances(&conn) {
                shared
                    .balances
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .refresh(durable);
            }
            // Keys: record last uses; take what another process (`switchyard keys`) changed.
            shared.keys.checkpoint(&conn);
            shared.counters.checkpoint(&conn, now_ms());
            if let Err(e) = shared.keys.refresh(&conn) {
                tracing::warn!(error = %e, "store: cannot read the stored keys");
            }
            last_maintenance = Instant::now();
        }
        if stop {
            shared.keys.checkpoint(&conn);
            shared.counters.checkpoint(&conn, now_ms());
            break;
        }
    }
}

/// How long a batch of log rows and cache entries waits for company before it is committed.
const LINGER: Duration = Duration::from_millis(5);

/// Group commit: a transaction costs far more than a row (BEGIN, COMMIT, the WAL frames), so under a
/// steady trickle of requests one row per transaction spent most of the writer's time on the
/// transaction (callgrind: about 54k instructions a request at c4, half of them in BEGIN/COMMIT). A
/// batch that holds only droppable writes (log rows, cache entries) sleeps [`LINGER`], then takes what
/// has queued meanwhile. It sleeps rather than waits on the channel: a sender wakes a receiver blocked
/// on the channel with a system call (`futex`) on the worker's thread, about once per request under
/// load, while a sleeping writer costs the workers nothing. Anything else queued (a read an endpoint
/// awaits, money, a flush) waits at most that long too.
fn linger(rx: &mpsc::Receiver<Op>, batch: &mut Vec<Op>, max: usize) {
    if batch.is_empty() || batch.len() >= max || !batch.iter().all(Op::droppable) {
        return;
    }
    std::thread::sleep(LINGER);
    while batch.len() < max {
        match rx.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => return,
        }
    }
}

/// Apply a batch in order; returns whether the writer was asked to stop.
fn apply(conn: &mut Connection, batch: &mut Vec<Op>, shared: &Shared) -> bool {
    let mut pending: Vec<Op> = Vec::new();
    let mut stop = false;
    for op in batch.drain(..) {
        if op.droppable() {
            shared.queue.depth.fetch_sub(1, Ordering::Relaxed);
        }
        match op {
            Op::Call(f) => {
                commit(conn, &mut pending, &shared.balances);
                f(conn);
            }
            Op::Flush(reply) => {
                commit(conn, &mut pending, &shared.balances);
                let _ = reply.send(());
            }
            Op::Stop => {
                stop = true;
            }
            other => pending.push(other),
        }
    }
    commit(conn, &mut pending, &shared.balances);
    stop
}

/// Write `ops` in one transaction. A row that fails is counted and skipped; a commit that fails loses
/// the batch (counted, logged): the request path never learns of it.
fn commit(conn: &mut Connection, ops: &mut Vec<Op>, balances: &Balances) {
    if ops.is_empty() {
        return;
    }
    let n = ops.len();
    let metrics = m();
    // Debits in this batch: (account, amount, durable balance after it once written).
    let mut debits: Vec<(String, i64, Option<i64>)> = Vec::new();
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            metrics.store_errors.with_label_values(&["begin"]).inc_by(n as u64);
            tracing::error!(error = %e, lost = n, "store: cannot begin a transaction");
            settle_debits(balances, ops.drain(..).filter_map(debit_of).collect());
            return;
        }
    };
    let mut written: [(&str, u64); 4] = [("log", 0), ("kv", 0), ("ledger", 0), ("feedback", 0)];
    for op in ops.drain(..) {
        let kind = op.kind();
        let result = match op {
            Op::Debit(d) => {
                let r = super::ledger::write_debit(&tx, &d);
                debits.push((d.account, d.amount, r.as_ref().ok().copied()));
                r.map(|_| ())
            }
            other => write(&tx, other),
        };
        match result {
            Ok(()) => {
                if let Some(w) = written.iter_mut().find(|(k, _)| *k == kind) {
                    w.1 += 1;
                }
            }
            Err(e) => {
                metrics.store_errors.with_label_values(&[kind]).inc();
                tracing::error!(error = %e, kind, "store: a write failed");
            }
        }
    }
    match tx.commit() {
        Ok(()) => {
            for (kind, count) in written {
                if count > 0 {
                    metrics.store_written.with_label_values(&[kind]).inc_by(count);
                }
            }
        }
        Err(e) => {
            metrics.store_errors.with_label_values(&["commit"]).inc_by(n as u64);
            tracing::error!(error = %e, lost = n, "store: a commit failed");
            for d in &mut debits {
                d.2 = None;
            }
        }
    }
    settle_debits(balances, debits);
}

fn debit_of(op: Op) -> Option<(String, i64, Option<i64>)> {
    match op {
        Op::Debit(d) => Some((d.account, d.amount, None)),
        _ => None,
    }
}

/// The debits are no longer pending: written (the durable balance moves) or lost (counted above).
fn settle_debits(balances: &Balances, debits: Vec<(String, i64, Option<i64>)>) {
    if debits.is_empty() {
        return;
    }
    let mut b = balances.lock().unwrap_or_else(|e| e.into_inner());
    for (account, amount, after) in debits {
        b.settled(&account, amount, after);
    }
}

fn write(tx: &Transaction, op: Op) -> rusqlite::Result<()> {
    match op {
        Op::Log(row) => super::log::insert(tx, &row),
        Op::KvPut {
            ns,
            key,
            value,
            expires_ms,
        } => super::kv::put(tx, &ns, &key, &value, expires_ms),
        Op::KvDelete { ns, key } => super::kv::delete(tx, &ns, &key),
        Op::Debit(d) => super::ledger::write_debit(tx, &d).map(|_| ()),
        Op::Feedback(f) => super::feedback::insert(tx, &f),
        Op::Call(_) | Op::Flush(_) | Op::Stop => Ok(()),
    }
}

/// Rows deleted per statement, so retention never holds the write lock for long.
const CHUNK: i64 = 5000;

/// Retention and expiry.
fn maintain(conn: &Connection, settings: &Settings) {
    let now = now_ms();
    let mut removed = 0usize;
    let run = |sql: &str, arg: i64| conn.execute(sql, [arg]).unwrap_or(0);
    removed += run("DELETE FROM kv WHERE expires_ms IS NOT NULL AND expires_ms <= ?1", now);
    if let Some(age) = settings.max_age {
        let cutoff = now - i64::try_from(age.as_millis()).unwrap_or(i64::MAX / 2);
        for sql in [
            "DELETE FROM request_log WHERE seq IN (SELECT seq FROM request_log WHERE ts_ms < ?1 ORDER BY seq LIMIT 5000)",
            "DELETE FROM feedback WHERE seq IN (SELECT seq FROM feedback WHERE ts_ms < ?1 ORDER BY seq LIMIT 5000)",
        ] {
            loop {
                let n = run(sql, cutoff);
                removed += n;
                if (n as i64) < CHUNK {
                    break;
                }
            }
        }
    }
    if let Some(max) = settings.max_bytes {
        // Oldest log rows first, a twentieth of the log at a time, until the used pages fit.
        for _ in 0..40 {
            if used_bytes(conn).is_none_or(|u| u <= max) {
                break;
            }
            let rows: i64 = conn
                .query_row("SELECT count(*) FROM request_log", [], |r| r.get(0))
                .unwrap_or(0);
            if rows == 0 {
                break;
            }
            let n = run(
                "DELETE FROM request_log WHERE seq IN (SELECT seq FROM request_log ORDER BY seq LIMIT ?1)",
                (rows / 20).clamp(1, CHUNK),
            );
            removed += n;
            if n == 0 {
                break;
            }
        }
    }
    if removed > 0 {
        m().store_retention_deleted.inc_by(removed as u64);
        // Give freed pages back to the file system (the database is created with incremental
        // auto-vacuum), a bounded number per pass.
        let _ = conn.execute_batch("PRAGMA incremental_vacuum(4096)");
    }
}

/// Bytes of the database's pages in use (not counting free pages).
pub(crate) fn used_bytes(conn: &Connection) -> Option<u64> {
    let get = |p: &str| conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, i64>(0)).ok();
    let (pages, free, size) = (get("page_count")?, get("freelist_count")?, get("page_size")?);
    u64::try_from((pages - free) * size).ok()
}
