//! Switchyard: a self-hosted LLM routing gateway on Pingora. See README.md for use and
//! ARCHITECTURE.md for the map; `proxy` is where a request's way through Pingora starts.

pub mod admin;
pub mod api;
pub mod config;
pub mod dns;
pub mod downstream;
pub mod endpoints;
pub mod error;
pub mod keys;
pub mod logformat;
pub mod logs_cli;
pub mod logwriter;
pub mod metrics;
pub mod phases;
pub mod providers;
pub mod proxy;
pub mod redact;
pub mod registry;
pub mod reload;
pub mod router;
pub mod server;
pub mod store;
pub mod tls;
pub mod translate;
pub mod wire;
