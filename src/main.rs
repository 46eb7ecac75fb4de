//! The `switchyard` command: run the gateway, check a config, manage keys.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::server::{self, Overrides, RunOptions};
use switchyard::{config, keys, metrics};

#[derive(Parser)]
#[command(name = "switchyard", version, about = "Self-hosted LLM routing gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        #[arg(long, default_value = "conf/switchyard.yaml")]
        config: PathBuf,
        /// Proxy listen address (overrides server.listen). Port 0 picks a free port.
        #[arg(long)]
        listen: Option<String>,
        /// Admin/metrics listen address (overrides server.admin_listen).
        #[arg(long)]
        admin_listen: Option<String>,
        /// Take over the listening sockets of a running instance (Pingora graceful upgrade); then
        /// send SIGQUIT to the old process.
        #[arg(long)]
        upgrade: bool,
    },
    /// Validate a configuration; print every problem with file, line and field path.
    Check {
        #[arg(long, default_value = "conf/switchyard.yaml")]
        config: PathBuf,
    },
    /// Classify prompts: JSON lines `{"prompt": …}` or `{"messages": […]}` on standard input, one
    /// JSON line out per line in (task, confidence, complexity, language, tokens, strong score).
    Classify {
        /// Strong/weak weights file (default: conf/classifier.json when present, else built in).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Also print the strong-model feature values (for fitting the weights).
        #[arg(long)]
        features: bool,
        /// Benchmark instead: classify each input N times and print its latency percentiles.
        #[arg(long, value_name = "N")]
        bench: Option<usize>,
        /// With --bench: time N calls taking the inputs in turn and print one line, the cost of a
        /// stream of different prompts. Classifying one prompt over and over lets the CPU learn
        /// its branches and flatters the figures.
        #[arg(long, requires = "bench")]
        rotate: bool,
    },
    /// Show how `model: "auto"` would route a prompt: classification, eligible models with their
    /// scores, the chain and the reason (no request is sent; health starts empty).
    Route {
        /// The prompt to route.
        #[arg(long, value_name = "PROMPT")]
        explain: String,
        #[arg(long, default_value = "conf/switchyard.yaml")]
        config: PathBuf,
        /// quality, cost, latency or balanced (default: the config's default mode).
        #[arg(long)]
        mode: Option<String>,
        #[arg(long)]
        max_tokens: Option<u32>,
        /// Budget in dollars; models estimated above it are left out.
        #[arg(long)]
        budget: Option<f64>,
        /// Route as a `sy_test_` key would be: the simulated models only (the shipped config's
        /// demo setup). Without it, as a live key: real providers whose key variable is set.
        #[arg(long)]
        test_key: bool,
    },
    /// Workspace keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print or export the request log from the database file (offline, read-only), newest first.
    Logs(switchyard::logs_cli::Args),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new key and the hash line to paste into the config.
    Generate {
        /// A `sy_test_` key instead of `sy_live_` (test keys reach simulated models only).
        #[arg(long)]
        test: bool,
        #[arg(long, default_value = "my-key")]
        name: String,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Print the hash line of a key read from standard input.
    Hash,
    /// List the keys made at runtime (in the database file; never a secret).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create a key in the database file; prints its secret once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Endpoint scope words, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        scopes: Vec<String>,
        /// Model patterns, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        models: Vec<String>,
        #[arg(long)]
        requests_per_minute: Option<u32>,
        #[arg(long)]
        tokens_per_minute: Option<u32>,
        #[arg(long)]
        cost_cap_dollars: Option<f64>,
        /// A `sy_test_` key.
        #[arg(long)]
        test: bool,
    },
    /// Give a key a new secret (printed once); the old one works for the grace window.
    Rotate {
        /// The key's id or name.
        key: String,
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
    },
    /// Revoke a key.
    Revoke {
        /// The key's id or name.
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(clap::Args)]
struct DbArgs {
    /// The database file (default: the config's store.path).
    #[arg(long)]
    db: Option<PathBuf>,
    #[arg(long, default_value = "conf/switchyard.yaml")]
    config: PathBuf,
}

fn keys_offline(db: &DbArgs, action: keys::cli::Action) -> ExitCode {
    match keys::cli::run(db.db.as_ref(), &db.config, action) {
        Ok(v) => {
            print_quietly(&serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchyard: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let writer = match switchyard::logwriter::BatchWriter::spawn(std::io::stdout()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot start the log writer thread: {e}");
            std::process::exit(1);
        }
    };
    let _ = metrics::LOG_WRITER.set(writer.clone());
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,pingora_core=warn,pingora_proxy=warn"));
    let _ = tracing_subscriber::fmt()
        .event_format(switchyard::logformat::JsonLines)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}

/// Print a line; a closed pipe (`| head`) is not an error worth a panic.
fn print_quietly(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{s}");
}

/// jemalloc: Pingora's work-stealing runtime often frees a request's memory on another worker than
/// the one that allocated it, and glibc then contends for the owning arena's lock (1.2 futex calls per
/// request at c32). jemalloc's per-thread caches take those frees without a lock: −25% CPU per request,
/// +5% memory at 1,000 open streams (`load-tests/RESULTS.md`).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            config,
            listen,
            admin_listen,
            upgrade,
        } => {
            init_logging();
            let opts = RunOptions {
                config,
                overrides: Overrides { listen, admin_listen },
                upgrade,
            };
            match server::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start");
                    eprintln!("switchyard: {e}");
                    // Let the log writer drain.
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { config } => match config::load(&config, &switchyard::registry::Registry::offline()) {
            Ok(s) => {
                for w in s.warnings() {
                    println!("warning: {w}");
                }
                println!(
                    "{}: OK ({} providers, {} models, {} keys)",
                    config.display(),
                    s.providers.len(),
                    s.catalog.models.len(),
                    s.keys.len
                );
                ExitCode::SUCCESS
            }
            Err(problems) => {
                for p in &problems.0 {
                    println!("{p}");
                }
                println!("{} problem(s)", problems.0.len());
                ExitCode::FAILURE
            }
        },
        Command::Classify {
            weights,
            features,
            bench,
            rotate,
        } => classify(weights, features, bench, rotate),
        Command::Route {
            explain,
            config: path,
            mode,
            max_tokens,
            budget,
            test_key,
        } => {
            let snap = match config::load(&path, &switchyard::registry::Registry::offline()) {
                Ok(s) => s,
                Err(problems) => {
                    eprintln!("{problems}");
                    return ExitCode::FAILURE;
                }
            };
            let budget = budget.and_then(switchyard_sdk::Money::from_dollars);
            match switchyard::router::explain(&snap, &explain, mode.as_deref(), max_tokens, budget, test_key) {
                Ok(v) => {
                    print_quietly(&serde_json::to_string_pretty(&v).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    print_quietly(&serde_json::to_string_pretty(&e.to_json("explain", &[])).unwrap_or_default());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Logs(args) => match switchyard::logs_cli::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchyard: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Keys { command } => match command {
            KeysCommand::Generate { test, name, workspace } => match keys::generate(test) {
                Ok(key) => {
                    println!("key: {key}");
                    println!("Store the key now; only its hash goes into the config. Under `keys:` add:");
                    println!("  - name: {name}");
                    println!("    hash: {}", keys::hash_line(&key));
                    println!("    workspace: {workspace}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("switchyard: {e}");
                    ExitCode::FAILURE
                }
            },
            KeysCommand::Hash => {
                let mut s = String::new();
                if std::io::stdin().read_to_string(&mut s).is_err() || s.trim().is_empty() {
                    eprintln!("switchyard: pass the key on standard input");
                    return ExitCode::FAILURE;
                }
                println!("{}", keys::hash_line(s.trim()));
                ExitCode::SUCCESS
            }
            KeysCommand::List { db } => keys_offline(&db, keys::cli::Action::List),
            KeysCommand::Create {
                db,
                name,
                workspace,
                scopes,
                models,
                requests_per_minute,
                tokens_per_minute,
                cost_cap_dollars,
                test,
            } => keys_offline(
                &db,
                keys::cli::Action::Create {
                    name,
                    workspace,
                    endpoints: scopes,
                    models,
                    limits: config::raw::RawLimits {
                        requests_per_minute,
                        tokens_per_minute,
                        cost_cap_dollars,
                        ..Default::default()
                    },
                    test,
                },
            ),
            KeysCommand::Rotate { key, db, grace_seconds } => {
                keys_offline(&db, keys::cli::Action::Rotate { key, grace_seconds })
            }
            KeysCommand::Revoke { key, db } => keys_offline(&db, keys::cli::Action::Revoke { key }),
        },
    }
}

fn classify(weights: Option<PathBuf>, features: bool, bench: Option<usize>, rotate: bool) -> ExitCode {
    use std::io::{BufRead, Write};
    use switchyard::router::classify::{request_from_line, Classifier, RequestTexts, FEATURE_NAMES};

    let default = PathBuf::from("conf/classifier.json");
    let c = match weights.or_else(|| default.exists().then_some(default)) {
        Some(p) => match Classifier::load(&p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("switchyard: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Classifier::builtin(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stdin = std::io::stdin().lock();
    let mut buf = Vec::new();
    let mut rotation = Vec::new();
    loop {
        buf.clear();
        match stdin.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("switchyard: reading standard input: {e}");
                return ExitCode::FAILURE;
            }
        }
        let parsed = std::str::from_utf8(&buf).map_err(|_| "line is not valid UTF-8".to_string());
        if parsed.as_ref().is_ok_and(|l| l.trim().is_empty()) {
            continue;
        }
        let v = match parsed.and_then(request_from_line) {
            Ok(req) if rotate => {
                rotation.push(req);
                continue;
            }
            Ok(req) if bench.is_some() => bench_one(&c, &req, bench.unwrap_or(1)),
            Ok(req) => {
                let texts = RequestTexts::new(&req);
                let (r, f) = c.classify_with_features(&texts.last, &texts.context(req.max_tokens));
                let mut v = r.to_json();
                if features {
                    let m: serde_json::Map<String, serde_json::Value> = FEATURE_NAMES
                        .iter()
                        .zip(f)
                        .map(|(k, x)| ((*k).to_string(), x.into()))
                        .collect();
                    v["features"] = m.into();
                }
                v
            }
            Err(e) => serde_json::json!({ "error": e }),
        };
        if writeln!(out, "{v}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if rotate && writeln!(out, "{}", bench_rotation(&c, &rotation, bench.unwrap_or(1))).is_err() {
        return ExitCode::FAILURE;
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Latency percentiles of `n` individually timed calls of `f(k)`, k = 0..n, after a warm-up.
fn call_percentiles(n: usize, mut f: impl FnMut(usize)) -> serde_json::Value {
    let n = n.max(1);
    for k in 0..n.min(100) {
        f(k);
    }
    let mut ns: Vec<u64> = (0..n)
        .map(|k| {
            let t = std::time::Instant::now();
            f(k);
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let q = |p: f64| ns[((ns.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    serde_json::json!({ "iterations": n, "median_us": q(0.5), "p99_us": q(0.99), "max_us": q(1.0) })
}

/// Latency of classifying `reqs` in turn, `n` timed calls: each call meets a different prompt than
/// the one before, as on a gateway, so the CPU cannot learn one prompt's branches.
fn bench_rotation(
    c: &switchyard::router::classify::Classifier,
    reqs: &[switchyard_sdk::ir::ChatRequest],
    n: usize,
) -> serde_json::Value {
    if reqs.is_empty() {
        return serde_json::json!({ "error": "--rotate needs at least one prompt" });
    }
    let tokens: Vec<u32> = reqs.iter().map(|r| c.classify_request(r).tokens).collect();
    let mut v = call_percentiles(n, |k| {
        std::hint::black_box(c.classify_request(std::hint::black_box(&reqs[k % reqs.len()])));
    });
    v["prompts"] = reqs.len().into();
    v["tokens_min"] = tokens.iter().min().copied().unwrap_or(0).into();
    v["tokens_max"] = tokens.iter().max().copied().unwrap_or(0).into();
    v
}

/// Latency of classifying `req` (user text extraction included), `n` timed calls after a warm-up.
fn bench_one(
    c: &switchyard::router::classify::Classifier,
    req: &switchyard_sdk::ir::ChatRequest,
    n: usize,
) -> serde_json::Value {
    let tokens = c.classify_request(req).tokens;
    let mut v = call_percentiles(n, |_| {
        std::hint::black_box(c.classify_request(std::hint::black_box(req)));
    });
    v["tokens"] = tokens.into();
    v
}
