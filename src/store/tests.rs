//! The store on real SQLite databases (in memory and in files): migrations, the writer's batching and
//! its bounded queue, the export's filters, cursor and CSV, the ledger's once-only credits, the
//! key-value's expiry, retention, and a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_sdk::{Credit, Credited, KeyValue, Ledger, Money};

use super::export::{self, LogQuery, StatusFilter};
use super::*;

fn row(id: &str, ws: &str, status: u16, at_ms: i64) -> LogRow {
    LogRow {
        id: id.into(),
        at_ms,
        key_name: Some(format!("{ws}-key").into()),
        workspace: Some(ws.into()),
        endpoint: "chat_completions",
        client_schema: "chat",
        requested_model: Some("auto".into()),
        mode: Some("balanced"),
        reason: Some("best balanced score".into()),
        status,
        latency_ms: 12.5,
        cost_basis: "actual",
        cost: Some(Money(1_500_000)),
        ..LogRow::default()
    }
}

fn settings(location: Location) -> Settings {
    Settings {
        location,
        ..Settings::memory()
    }
}

fn query_all(store: &Store, q: LogQuery) -> (Vec<export::LogRecord>, Option<i64>) {
    assert!(store.flush(Duration::from_secs(5)));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(store.call(move |c| export::query(c, &q).map_err(|e| StoreError(e.to_string()))))
        .unwrap()
}

#[test]
fn rows_round_trip_with_filters_and_a_cursor() {
    let store = open(&settings(Location::Memory)).unwrap();
    let now = now_ms();
    for i in 0..25 {
        let ws = if i % 2 == 0 { "a" } else { "b" };
        let status = if i % 5 == 0 { 502 } else { 200 };
        assert!(store.record(row(&format!("r{i}"), ws, status, now + i)));
    }
    let all = |q: LogQuery| query_all(&store, q);
    let (rows, next) = all(LogQuery {
        workspace: Some("a".into()),
        limit: 5,
        ..LogQuery::default()
    });
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.workspace == "a"));
    assert_eq!(rows[0].id, "r24", "newest first");
    let (page2, _) = all(LogQuery {
        workspace: Some("a".into()),
        limit: 100,
        cursor: next,
        ..LogQuery::default()
    });
    assert_eq!(page2.len(), 8, "13 rows of workspace a, 5 on the first page");
    assert!(page2.iter().all(|r| rows.iter().all(|p| p.seq > r.seq)));
    let (errors, _) = all(LogQuery {
        limit: 100,
        status: StatusFilter::parse("5xx"),
        ..LogQuery::default()
    });
    assert_eq!(errors.len(), 5);
    let (since, _) = all(LogQuery {
        limit: 100,
        since_ms: Some(now + 20),
        ..LogQuery::default()
    });
    assert_eq!(since.len(), 5);
    assert_eq!(rows[0].cost_pico, Some(1_500_000));
    assert_eq!(rows[0].to_json()["cost_usd"], "0.0000015");
}

#[test]
fn csv_is_rfc4180_and_neutralises_formulas() {
    let store = open(&settings(Location::Memory)).unwrap();
    let mut r = row("r1", "a", 200, now_ms());
    r.reason = Some("=HYPERLINK(\"http://x\",\"click\"), and \"quotes\"\nnewline".into());
    r.requested_model = Some("@SUM(A1)".into());
    r.rules = Some("-1+2".into());
    r.firewall = Some("+cmd".into());
    store.record(r);
    let (rows, _) = query_all(
        &store,
        LogQuery {
            limit: 10,
            ..LogQuery::default()
        },
    );
    let text = export::to_csv(&rows).unwrap();
    let mut rd = csv::Reader::from_reader(text.as_slice());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, export::CSV_HEADER);
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 1);
    let cell = |name: &str| recs[0][header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(
        cell("routing_reason"),
        "'=HYPERLINK(\"http://x\",\"click\"), and \"quotes\"\nnewline"
    );
    assert_eq!(cell("requested_model"), "'@SUM(A1)");
    assert_eq!(cell("rules"), "'-1+2");
    assert_eq!(cell("firewall"), "'+cmd");
    assert_eq!(cell("status"), "200");
    assert!(text.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
}

#[test]
fn a_full_queue_drops_and_counts_without_waiting() {
    let s = Settings {
        queue_capacity: 16,
        ..Settings::memory()
    };
    let store = open(&s).unwrap();
    // Hold the writer for a while, as a slow disk would.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let blocked = store.call(|_c| {
        std::thread::sleep(Duration::from_millis(400));
        Ok(())
    });
    let started = Instant::now();
    let accepted = (0..200)
        .filter(|i| store.record(row(&format!("q{i}"), "a", 200, now_ms())))
        .count();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(200), "recording waited: {took:?}");
    assert!(accepted <= 16 + 1, "accepted {accepted}");
    assert_eq!(store.dropped() as usize, 200 - accepted);
    assert!(store.queue_depth() > 0);
    rt.block_on(blocked).unwrap();
    let (rows, _) = query_all(
        &store,
        LogQuery {
            limit: 1000,
            ..LogQuery::default()
        },
    );
    assert_eq!(rows.len(), accepted, "every accepted row is written");
    assert_eq!(store.queue_depth(), 0);
}

#[test]
fn credits_apply_once_per_reference_even_concurrently() {
    let store = open(&settings(Location::Memory)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ledger: Arc<dyn Ledger> = store.ledger.clone();
    let credit = |r: &str| Credit {
        account: "w".into(),
        amount: Money(5_000_000_000_000),
        reference: r.into(),
        note: "test".into(),
    };
    let results: Vec<Credited> = rt.block_on(async {
        let futs: Vec<_> = (0..8).map(|_| ledger.credit(credit("pay_1"))).collect();
        let mut out = Vec::new();
        for f in futs {
            out.push(f.await.unwrap());
        }
        out
    });
    assert_eq!(
        results.iter().filter(|r| matches!(r, Credited::Applied { .. })).count(),
        1
    );
    assert_eq!(ledger.balance("w"), 5_000_000_000_000);
    ledger.debit("w", Money(1_000_000_000_000), "req_1", "p/m");
    assert_eq!(ledger.balance("w"), 4_000_000_000_000);
    let entries = rt.block_on(ledger.entries("w", 10)).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0].kind, entries[0].amount, entries[0].balance_after),
        ("debit", -1_000_000_000_000, 4_000_000_000_000)
    );
    assert_eq!(entries[1].kind, "credit");
}

#[test]
fn key_values_expire() {
    let store = open(&settings(Location::Memory)).unwrap();
    let kv: Arc<dyn KeyValue> = store.kv.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert!(kv.put("ns", "a", b"1".to_vec(), None));
    assert!(kv.put("ns", "b", b"2".to_vec(), Some(Duration::from_millis(50))));
    assert_eq!(rt.block_on(kv.get("ns", "b")).unwrap(), Some(b"2".to_vec()));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(rt.block_on(kv.get("ns", "b")).unwrap(), None);
    assert_eq!(rt.block_on(kv.get("other", "a")).unwrap(), None);
    let loaded = kv.load("ns").unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].key, "a");
    kv.delete("ns", "a");
    assert_eq!(rt.block_on(kv.get("ns", "a")).unwrap(), None);
}

#[test]
fn retention_removes_old_rows() {
    let s = Settings {
        max_age: Some(Duration::from_secs(3600)),
        maintenance_every: Duration::from_millis(50),
        ..Settings::memory()
    };
    let store = open(&s).unwrap();
    let now = now_ms();
    store.record(row("old", "a", 200, now - 2 * 3600 * 1000));
    store.record(row("new", "a", 200, now));
    std::thread::sleep(Duration::from_millis(200));
    // Wake the writer so its maintenance runs.
    let (rows, _) = query_all(
        &store,
        LogQuery {
            limit: 10,
            ..LogQuery::default()
        },
    );
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["new"]);
}

#[test]
fn a_file_database_survives_a_restart_and_is_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/switchyard.db");
    let s = settings(Location::File(path.clone()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    {
        let store = open(&s).unwrap();
        store.record(row("r1", "a", 200, now_ms()));
        rt.block_on(store.ledger.credit(Credit {
            account: "a".into(),
            amount: Money(7),
            reference: "x".into(),
            note: String::new(),
        }))
        .unwrap();
        store.ledger.debit("a", Money(2), "r1", "");
        rt.block_on(store.set_preference("a", "default_task", serde_json::json!("code")))
            .unwrap();
        assert!(store.close(Duration::from_secs(5)));
    }
    let store = open(&s).unwrap();
    assert_eq!(store.ledger.balance("a"), 5);
    assert_eq!(
        store.prefs.get("a").unwrap().values.get("default_task"),
        Some(&serde_json::json!("code"))
    );
    let (rows, _) = query_all(
        &store,
        LogQuery {
            limit: 10,
            ..LogQuery::default()
        },
    );
    assert_eq!(rows.len(), 1);
    let conn = open_read_only(&path).unwrap();
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, schema::VERSION);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    // A database from a newer build is refused rather than misread.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", schema::VERSION + 1).unwrap();
    drop(c);
    store.close(Duration::from_secs(5));
    assert!(open(&s).unwrap_err().contains("newer"));
}

#[test]
fn balances_written_by_another_process_are_seen_at_maintenance() {
    // A graceful upgrade: the old process still debits while the new one already serves.
    let dir = tempfile::tempdir().unwrap();
    let s = Settings {
        maintenance_every: Duration::from_millis(50),
        ..settings(Location::File(dir.path().join("s.db")))
    };
    let (old, new) = (open(&s).unwrap(), open(&s).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(old.ledger.credit(Credit {
        account: "w".into(),
        amount: Money(100),
        reference: "c1".into(),
        note: String::new(),
    }))
    .unwrap();
    old.ledger.debit("w", Money(30), "r1", "");
    assert_eq!(old.ledger.balance("w"), 70, "a queued debit counts at once");
    assert!(old.flush(Duration::from_secs(5)));
    assert_eq!(old.ledger.balance("w"), 70);
    let deadline = Instant::now() + Duration::from_secs(5);
    while new.ledger.balance("w") != 70 {
        assert!(Instant::now() < deadline, "the other process's balance was never read");
        // The writer's maintenance runs between batches: give it one.
        new.flush(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(20));
    }
    new.ledger.debit("w", Money(5), "r2", "");
    assert!(new.flush(Duration::from_secs(5)));
    assert_eq!(new.ledger.balance("w"), 65);
}

#[test]
fn retention_by_size_removes_the_oldest_rows() {
    let s = Settings {
        max_bytes: Some(256 * 1024),
        maintenance_every: Duration::from_millis(50),
        ..Settings::memory()
    };
    let store = open(&s).unwrap();
    let now = now_ms();
    for i in 0..3000 {
        let mut r = row(&format!("r{i}"), "a", 200, now + i);
        r.reason = Some("x".repeat(300));
        store.record(r);
    }
    let used = |store: &Store| {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(store.call(|c| Ok(writer::used_bytes(c).unwrap_or(0))))
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while used(&store) > 256 * 1024 {
        assert!(Instant::now() < deadline, "still {} bytes", used(&store));
        std::thread::sleep(Duration::from_millis(50));
    }
    let (rows, _) = query_all(
        &store,
        LogQuery {
            limit: 10_000,
            ..LogQuery::default()
        },
    );
    assert!(rows.len() < 3000 && !rows.is_empty(), "{} rows", rows.len());
    assert_eq!(rows[0].id, "r2999", "the newest rows stay");
}

#[test]
fn spend_counters_and_last_uses_survive_a_restart_of_a_file_database() {
    use switchyard_sdk::state::counters::{Period, SpendCounters};
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        location: Location::File(dir.path().join("s.db")),
        ..Settings::memory()
    };
    let now = now_ms();
    let day = Period::Day.label(now);
    let (id, secret) = {
        let st = open(&settings).unwrap();
        let conn = open_migrated(&settings.location).unwrap();
        let (k, secret) = crate::keys::manage::create(
            &conn,
            crate::keys::manage::CreateInput {
                name: "app".into(),
                workspace: "w".into(),
                scopes: None,
                limits: None,
                test: false,
            },
            &Default::default(),
            now,
        )
        .unwrap();
        drop(conn);
        st.refresh_keys_blocking().unwrap();
        let entry = st.keys.find(&crate::phases::auth::digest(&secret), now).unwrap();
        entry.last_used_ms.store(now, std::sync::atomic::Ordering::Relaxed);
        st.counters.add("key:k", &day, Money(7));
        st.counters.add("key:k", &day, Money(5));
        assert!(st.close(Duration::from_secs(5)));
        (k.id, secret)
    };
    let st = open(&settings).unwrap();
    assert_eq!(st.counters.spent("key:k", &day), Money(12), "checkpointed at exit");
    assert_eq!(st.keys.last_used(&id), now, "the last use too");
    assert!(st.keys.find(&crate::phases::auth::digest(&secret), now).is_some());
    st.close(Duration::from_secs(5));
}
