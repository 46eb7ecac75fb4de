//! `switchyard logs`: the request log read offline from the database file (read-only: a running gateway
//! may keep writing), printed as a table or exported as the same JSON or CSV as `GET /v1/org/logs`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::endpoints::logs::parse_time;
use crate::store::export::{self, LogQuery, StatusFilter, MAX_LIMIT};
use crate::store::Location;

/// What to print (the `switchyard logs` arguments).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// The database file (default: the config's store.path).
    #[arg(long)]
    pub db: Option<PathBuf>,
    #[arg(long, default_value = "conf/switchyard.yaml")]
    pub config: PathBuf,
    /// table, json or csv (json and csv are the same as GET /v1/org/logs).
    #[arg(long, default_value = "table")]
    pub format: String,
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Only this workspace (default: every workspace).
    #[arg(long)]
    pub workspace: Option<String>,
    /// From this time on (RFC 3339 or Unix seconds).
    #[arg(long)]
    pub since: Option<String>,
    /// Before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// The model that answered, or the one asked for.
    #[arg(long)]
    pub model: Option<String>,
    /// An HTTP status (429) or a class (4xx).
    #[arg(long)]
    pub status: Option<String>,
    /// A key's name.
    #[arg(long)]
    pub key: Option<String>,
    /// Continue after a previous page.
    #[arg(long)]
    pub cursor: Option<i64>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn database(args: &Args) -> Result<PathBuf, String> {
    if let Some(p) = &args.db {
        return Ok(p.clone());
    }
    let snap = crate::config::load(&args.config, &crate::registry::Registry::offline()).map_err(|p| p.to_string())?;
    match snap.store.map(|s| s.location) {
        Some(Location::File(p)) => Ok(p),
        Some(Location::Memory) => {
            Err("the config keeps the store in memory (store.path: \":memory:\"): nothing to read".into())
        }
        None => Err("the store is off in the config (store.enabled: false); pass --db".into()),
    }
}

fn query(args: &Args) -> Result<LogQuery, String> {
    let time = |p: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| parse_time(p, t).map_err(|e| e.to_string()))
            .transpose()
    };
    let status = match &args.status {
        None => None,
        Some(s) => Some(
            StatusFilter::parse(s).ok_or_else(|| format!("--status {s:?}: an HTTP status (429) or a class (4xx)"))?,
        ),
    };
    if !(1..=MAX_LIMIT).contains(&args.limit) {
        return Err(format!("--limit must be from 1 to {MAX_LIMIT}"));
    }
    Ok(LogQuery {
        workspace: args.workspace.clone(),
        limit: args.limit,
        since_ms: time("since", &args.since)?,
        until_ms: time("until", &args.until)?,
        model: args.model.clone(),
        status,
        key: args.key.clone(),
        cursor: args.cursor,
    })
}

fn table(rows: &[export::LogRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = writeln!(
        out,
        "{:<24} {:<16} {:<14} {:<18} {:<28} {:>6} {:>9} {:>12} {:<5}",
        "time", "workspace", "key", "endpoint", "model", "status", "ms", "cost_usd", "cache"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<24} {:<16} {:<14} {:<18} {:<28} {:>6} {:>9.1} {:>12} {:<5}",
            export::rfc3339(r.ts_ms),
            r.workspace,
            r.key_name.as_deref().unwrap_or("-"),
            r.endpoint,
            r.model.as_deref().or(r.requested_model.as_deref()).unwrap_or("-"),
            r.status,
            r.latency_ms.unwrap_or(0.0),
            r.cost_pico
                .map(|c| switchyard_sdk::Money(u64::try_from(c).unwrap_or(0)).to_string())
                .unwrap_or_else(|| "-".into()),
            r.cache.as_deref().unwrap_or("-"),
        );
    }
    out
}

pub fn run(args: &Args) -> Result<(), String> {
    let path = database(args)?;
    let q = query(args)?;
    let conn = crate::store::open_read_only(Path::new(&path))?;
    let (rows, next) = export::query(&conn, &q).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let body = match args.format.as_str() {
        "table" => table(&rows),
        "json" => {
            let mut v = export::to_json(&rows, next, true)?;
            v.push(b'\n');
            v
        }
        "csv" => export::to_csv(&rows)?,
        f => return Err(format!("--format {f:?}: table, json or csv")),
    };
    match &args.output {
        Some(p) => std::fs::write(p, &body).map_err(|e| format!("writing {}: {e}", p.display()))?,
        None => {
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = std::io::stdout().write_all(&body);
        }
    }
    if let (Some(c), "table") = (next, args.format.as_str()) {
        eprintln!("more rows: --cursor {c}");
    }
    Ok(())
}
