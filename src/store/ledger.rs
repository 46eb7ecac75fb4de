//! The SDK's [`Ledger`] on SQLite. A phase reads balances on the request path, so they are kept in
//! memory: the last durable balance of each account, minus this process's debits still queued. Every
//! change is an entry in `ledger_entries` and a relative update of `ledger_accounts`, applied by the
//! writer in queue order; the writer then takes the balance the database returns, and re-reads every
//! balance at each maintenance pass, so a change written by another process on the same database (the
//! old process draining during a graceful upgrade) is seen too. Debits are queued and never dropped; a
//! credit is one writer transaction that checks its reference first, so concurrent deliveries of one
//! payment credit once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use switchyard_sdk::{Credit, Credited, Ledger, LedgerEntry, Money, StoreError, StoreFuture};

use super::writer::Op;
use super::{now_ms, Sender};

/// A queued debit.
#[derive(Debug, Clone)]
pub(crate) struct Debit {
    pub account: String,
    pub amount: i64,
    pub reference: String,
    pub note: String,
    pub at_ms: i64,
}

/// What the ledger knows in memory.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// The last balance read from or written to the database, per account.
    durable: HashMap<String, i64>,
    /// This process's debits queued but not committed yet, per account.
    pending: HashMap<String, i64>,
}

impl Known {
    fn balance(&self, account: &str) -> i64 {
        self.durable.get(account).copied().unwrap_or(0) - self.pending.get(account).copied().unwrap_or(0)
    }

    /// A debit was committed (or lost): it is no longer pending; `after` is the durable balance.
    pub(crate) fn settled(&mut self, account: &str, amount: i64, after: Option<i64>) {
        if let Some(p) = self.pending.get_mut(account) {
            *p -= amount;
            if *p == 0 {
                self.pending.remove(account);
            }
        }
        if let Some(a) = after {
            self.durable.insert(account.to_string(), a);
        }
    }

    /// Every durable balance, as the database has them now.
    pub(crate) fn refresh(&mut self, durable: HashMap<String, i64>) {
        self.durable = durable;
    }
}

pub(crate) type Balances = Arc<Mutex<Known>>;

pub(crate) fn balances(durable: HashMap<String, i64>) -> Balances {
    Arc::new(Mutex::new(Known {
        durable,
        pending: HashMap::new(),
    }))
}

pub struct SqliteLedger {
    sender: Sender,
    balances: Balances,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

fn pico(m: Money) -> i64 {
    i64::try_from(m.0).unwrap_or(i64::MAX)
}

pub(crate) fn load_balances(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut st = conn.prepare("SELECT account, balance FROM ledger_accounts")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Add `delta` to the account on disk; the balance after it.
fn add(tx: &Transaction, account: &str, delta: i64) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO ledger_accounts (account, balance) VALUES (?1, ?2) \
         ON CONFLICT(account) DO UPDATE SET balance = balance + ?2 RETURNING balance",
    )?
    .query_row(params![account, delta], |r| r.get(0))
}

/// One row of `ledger_entries`.
struct Entry<'a> {
    account: &'a str,
    at_ms: i64,
    amount: i64,
    kind: &'static str,
    reference: &'a str,
    note: &'a str,
    after: i64,
}

fn entry(tx: &Transaction, e: Entry) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ledger_entries (account, at_ms, amount, kind, reference, note, balance_after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.account,
        e.at_ms,
        e.amount,
        e.kind,
        e.reference,
        e.note,
        e.after
    ])?;
    Ok(())
}

/// Write a debit; the durable balance after it.
pub(crate) fn write_debit(tx: &Transaction, d: &Debit) -> rusqlite::Result<i64> {
    let after = add(tx, &d.account, -d.amount)?;
    entry(
        tx,
        Entry {
            account: &d.account,
            at_ms: d.at_ms,
            amount: -d.amount,
            kind: "debit",
            reference: &d.reference,
            note: &d.note,
            after,
        },
    )?;
    Ok(after)
}

/// Record `c` unless its reference was credited before.
fn write_credit(conn: &mut Connection, c: &Credit) -> rusqlite::Result<Option<i64>> {
    let tx = conn.transaction()?;
    let seen: Option<i64> = tx
        .prepare_cached("SELECT seq FROM ledger_entries WHERE kind = 'credit' AND reference = ?1")?
        .query_row([&c.reference], |r| r.get(0))
        .optional()?;
    if seen.is_some() {
        return Ok(None);
    }
    let amount = pico(c.amount);
    let after = add(&tx, &c.account, amount)?;
    entry(
        &tx,
        Entry {
            account: &c.account,
            at_ms: now_ms(),
            amount,
            kind: "credit",
            reference: &c.reference,
            note: &c.note,
            after,
        },
    )?;
    tx.commit()?;
    Ok(Some(after))
}

impl SqliteLedger {
    pub(crate) fn new(sender: Sender, balances: Balances) -> Self {
        SqliteLedger { sender, balances }
    }
}

impl Ledger for SqliteLedger {
    fn balance(&self, account: &str) -> i64 {
        self.balances.lock().unwrap_or_else(|e| e.into_inner()).balance(account)
    }

    fn debit(&self, account: &str, amount: Money, reference: &str, note: &str) {
        if amount == Money::ZERO {
            return;
        }
        let amount = pico(amount);
        {
            let mut b = self.balances.lock().unwrap_or_else(|e| e.into_inner());
            *b.pending.entry(account.to_string()).or_insert(0) += amount;
        }
        self.sender.send(Op::Debit(Box::new(Debit {
            account: account.to_string(),
            amount,
            reference: reference.to_string(),
            note: note.to_string(),
            at_ms: now_ms(),
        })));
    }

    fn credit(&self, credit: Credit) -> StoreFuture<Credited> {
        let balances = self.balances.clone();
        self.sender.call(move |conn| {
            match write_credit(conn, &credit).map_err(err)? {
                None => Ok(Credited::Duplicate),
                Some(after) => {
                    // The memory balance moves once the credit is durable, here on the writer's thread,
                    // whether or not the caller is still waiting.
                    let mut b = balances.lock().unwrap_or_else(|e| e.into_inner());
                    b.durable.insert(credit.account.clone(), after);
                    Ok(Credited::Applied {
                        balance: b.balance(&credit.account),
                    })
                }
            }
        })
    }

    fn entries(&self, account: &str, limit: usize) -> StoreFuture<Vec<LedgerEntry>> {
        let account = account.to_string();
        let limit = i64::try_from(limit).unwrap_or(100);
        self.sender.call(move |conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT at_ms, amount, kind, reference, note, balance_after FROM ledger_entries \
                     WHERE account = ?1 ORDER BY seq DESC LIMIT ?2",
                )
                .map_err(err)?;
            let rows = st
                .query_map(params![account, limit], |r| {
                    let kind: String = r.get(2)?;
                    Ok(LedgerEntry {
                        at_unix_ms: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        amount: r.get(1)?,
                        kind: if kind == "credit" { "credit" } else { "debit" },
                        reference: r.get(3)?,
                        note: r.get(4)?,
                        balance_after: r.get(5)?,
                    })
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
    }
}

impl super::Store {
    /// Whether a webhook delivery with this id was processed before.
    pub async fn webhook_seen(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.call(move |conn| {
            conn.prepare_cached("SELECT 1 FROM webhook_events WHERE id = ?1")
                .and_then(|mut st| st.exists([&id]))
                .map_err(err)
        })
        .await
    }

    /// Remember a processed delivery (after its effect is durable, so a crash between the two makes
    /// the sender's retry redo an idempotent credit rather than skip it).
    pub async fn webhook_record(&self, id: &str, source: &str, outcome: &str) -> Result<(), StoreError> {
        let (id, source, outcome) = (id.to_string(), source.to_string(), outcome.to_string());
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO webhook_events (id, source, received_ms, outcome) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute(params![id, source, now_ms(), outcome]))
            .map(|_| ())
            .map_err(err)
        })
        .await
    }
}
