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
    /// Workspace keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
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
}

fn init_logging() {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .finish(std::io::stdout());
    let _ = metrics::DROPPED_LOG_LINES.set(guard_counter(&writer));
    // The guard flushes on drop; the gateway runs until the process exits.
    std::mem::forget(guard);
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,pingora_core=warn,pingora_proxy=warn"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}

fn guard_counter(w: &tracing_appender::non_blocking::NonBlocking) -> tracing_appender::non_blocking::ErrorCounter {
    w.error_counter()
}

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
        Command::Check { config } => match config::load(&config, &switchyard::phases::PluginState::default()) {
            Ok(s) => {
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
        },
    }
}
