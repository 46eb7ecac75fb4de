//! Every endpoint of both listeners, in one route table: method and path → the endpoint (what a key's
//! scope names, what the log and metrics call it) and its handler. Public endpoints the gateway
//! answers or composes itself live here too:
//!
//! - `models`: `GET /v1/models`, `GET /v1/models/{id}`, `GET /v1/model-health`;
//! - `suggest`: `POST /v1/auto/suggest`, `POST /v1/models/price-comparison`;
//! - `recommend`: `POST /v1/models/recommend` (BM25 over the catalog's text);
//! - `browse`: `POST /v1/models/query`, `GET /v1/models/tags`, `/v1/models/price-tiers`,
//!   `/v1/catalog/taxonomy`, `/v1/catalog/families[/{id}]`;
//! - `schema`: `GET /v1/models/{id}/input-schema|output-schema`, `POST …/validate-input|validate-output`;
//! - `feedback`: `POST /v1/auto/feedback` (stored durably when the store is on);
//! - `preview`: `POST /v1/rules/preview` (firewall, rules and routing for a request, no upstream call);
//! - `logs`: `GET /v1/org/logs` (a key's workspace) and the admin listener's `GET /admin/logs` (every
//!   workspace): the request log as JSON or CSV;
//! - `wallet`: `GET /v1/wallet`; `webhooks`: `POST /v1/webhooks/polar` (signed top-ups);
//! - `preferences`: `GET /v1/preferences`, `PUT`/`DELETE /v1/preferences/{key}`,
//!   `GET /v1/preferences/suggestions`;
//! - `compose::count_tokens`: `POST /v1/messages/count_tokens` (an Anthropic provider counts; others
//!   get an estimate, flagged in a header);
//! - `compose`: `POST /v1/auto/route`, `POST /v1/models/route`, `POST /v1/images/generations`, whose
//!   upstream call goes through the proxy's hooks like any other and whose answer is composed
//!   around the provider's;
//! - `fields`: reading request bodies and query strings, errors naming their field.

pub mod browse;
pub mod compose;
pub mod feedback;
pub mod fields;
pub mod logs;
pub mod models;
pub mod preferences;
pub mod preview;
pub mod recommend;
pub mod schema;
pub mod suggest;
pub mod suggestions;
pub mod wallet;
pub mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::Method;
use serde_json::Value;
use switchyard_sdk::{Endpoint, Identity};

use crate::api::Schema;
use crate::config::Snapshot;
use crate::error::GatewayError;
use crate::router::RouterState;

/// The two listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Clients: inference and the public endpoints.
    Client,
    /// Operators: metrics, health, reload (loopback by default).
    Admin,
}

/// One call of a local endpoint: what it may read.
pub struct Call<'a> {
    /// The request head (method, headers).
    pub head: &'a http::request::Parts,
    /// The path without a trailing slash.
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The request body (empty for GET).
    pub body: &'a [u8],
    pub snap: &'a Snapshot,
    pub identity: Option<&'a Identity>,
    pub router: &'a RouterState,
    pub request_id: &'a str,
    pub method: &'a Method,
    pub headers: &'a http::HeaderMap,
    /// The store (`None`: `store.enabled: false`).
    pub store: Option<&'a Arc<crate::store::Store>>,
}

pub type LocalFn = fn(&Call) -> Result<Value, GatewayError>;

/// A handler's answer that is not a 200 JSON body.
pub enum Reply {
    Json(u16, Value),
    Body {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A handler that awaits something off the worker (a store read or a durable write).
pub type AsyncFn = for<'a> fn(&'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>>;

/// What serves a route.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// Liveness.
    Health,
    /// A model's answer in a client schema, proxied.
    Chat(Schema),
    /// An answer composed around an upstream call (auto/route, models/route, images).
    Compose(compose::Kind),
    /// `POST /v1/messages/count_tokens`: counted by an Anthropic provider, else estimated here.
    CountTokens,
    /// Answered from the catalog and the router's state, as JSON.
    Local(LocalFn),
    /// Answered after awaiting the store (both listeners).
    Async(AsyncFn),
    /// Prometheus text (admin listener).
    Metrics,
    /// Reload the configuration (admin listener).
    Reload,
}

/// How a route's path is matched; more specific kinds are listed first in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPattern {
    Exact(&'static str),
    /// `prefix` + something + `suffix`.
    Affix(&'static str, &'static str),
    Prefix(&'static str),
}

impl PathPattern {
    fn matches(self, path: &str) -> bool {
        match self {
            PathPattern::Exact(p) => path == p,
            PathPattern::Affix(pre, suf) => {
                path.len() > pre.len() + suf.len() && path.starts_with(pre) && path.ends_with(suf)
            }
            PathPattern::Prefix(pre) => path.len() > pre.len() && path.starts_with(pre),
        }
    }
}

#[derive(Debug)]
pub struct Route {
    /// `GET` routes answer `HEAD` too.
    pub method: Method,
    pub path: PathPattern,
    pub endpoint: Endpoint,
    pub handler: Handler,
    pub listener: Listener,
}

const fn route(method: Method, path: PathPattern, endpoint: Endpoint, handler: Handler) -> Route {
    Route {
        method,
        path,
        endpoint,
        handler,
        listener: Listener::Client,
    }
}

const fn admin(method: Method, path: &'static str, endpoint: Endpoint, handler: Handler) -> Route {
    Route {
        method,
        path: PathPattern::Exact(path),
        endpoint,
        handler,
        listener: Listener::Admin,
    }
}

use Endpoint as E;
use Handler as H;
use PathPattern::{Affix, Exact, Prefix};

/// Every route, most specific paths first.
pub static ROUTES: &[Route] = &[
    route(Method::GET, Exact("/healthz"), E::Health, H::Health),
    route(
        Method::POST,
        Exact("/v1/chat/completions"),
        E::ChatCompletions,
        H::Chat(Schema::OpenAiChat),
    ),
    route(
        Method::POST,
        Exact("/v1/responses"),
        E::Responses,
        H::Chat(Schema::OpenAiResponses),
    ),
    route(
        Method::POST,
        Exact("/v1/messages"),
        E::Messages,
        H::Chat(Schema::AnthropicMessages),
    ),
    route(
        Method::POST,
        Exact("/v1/messages/count_tokens"),
        E::CountTokens,
        H::CountTokens,
    ),
    route(
        Method::POST,
        Exact("/v1/auto/route"),
        E::AutoRoute,
        H::Compose(compose::Kind::AutoRoute),
    ),
    route(
        Method::POST,
        Exact("/v1/models/route"),
        E::ModelsRoute,
        H::Compose(compose::Kind::ModelsRoute),
    ),
    route(
        Method::POST,
        Exact("/v1/images/generations"),
        E::Images,
        H::Compose(compose::Kind::Images),
    ),
    route(Method::GET, Exact("/v1/models"), E::Models, H::Local(models::list)),
    route(
        Method::POST,
        Exact("/v1/rules/preview"),
        E::RulesPreview,
        H::Local(preview::preview),
    ),
    route(
        Method::POST,
        Exact("/v1/auto/feedback"),
        E::Feedback,
        H::Local(feedback::submit),
    ),
    route(
        Method::POST,
        Exact("/v1/auto/suggest"),
        E::Catalog,
        H::Local(suggest::suggest),
    ),
    route(
        Method::POST,
        Exact("/v1/models/price-comparison"),
        E::Catalog,
        H::Local(suggest::price_comparison),
    ),
    route(
        Method::POST,
        Exact("/v1/models/recommend"),
        E::Catalog,
        H::Local(recommend::recommend),
    ),
    route(
        Method::POST,
        Exact("/v1/models/query"),
        E::Catalog,
        H::Local(browse::query),
    ),
    route(
        Method::GET,
        Exact("/v1/models/tags"),
        E::Catalog,
        H::Local(browse::tags),
    ),
    route(
        Method::GET,
        Exact("/v1/models/price-tiers"),
        E::Catalog,
        H::Local(browse::price_tiers),
    ),
    route(
        Method::GET,
        Exact("/v1/catalog/taxonomy"),
        E::Catalog,
        H::Local(browse::taxonomy),
    ),
    route(
        Method::GET,
        Exact("/v1/catalog/families"),
        E::Catalog,
        H::Local(browse::families),
    ),
    route(
        Method::GET,
        Exact("/v1/model-health"),
        E::Catalog,
        H::Local(models::health),
    ),
    route(
        Method::GET,
        Prefix("/v1/catalog/families/"),
        E::Catalog,
        H::Local(browse::family),
    ),
    route(
        Method::GET,
        Affix("/v1/models/", "/input-schema"),
        E::Catalog,
        H::Local(schema::input_schema),
    ),
    route(
        Method::GET,
        Affix("/v1/models/", "/output-schema"),
        E::Catalog,
        H::Local(schema::output_schema),
    ),
    route(
        Method::POST,
        Affix("/v1/models/", "/validate-input"),
        E::Catalog,
        H::Local(schema::validate_input),
    ),
    route(
        Method::POST,
        Affix("/v1/models/", "/validate-output"),
        E::Catalog,
        H::Local(schema::validate_output),
    ),
    route(Method::GET, Prefix("/v1/models/"), E::ModelInfo, H::Local(models::info)),
    route(Method::GET, Exact("/v1/org/logs"), E::Logs, H::Async(logs::export)),
    route(Method::GET, Exact("/v1/wallet"), E::Wallet, H::Async(wallet::show)),
    route(
        Method::POST,
        Exact("/v1/webhooks/polar"),
        E::Webhook,
        H::Async(webhooks::polar),
    ),
    route(
        Method::GET,
        Exact("/v1/preferences"),
        E::Preferences,
        H::Async(preferences::list),
    ),
    route(
        Method::GET,
        Exact("/v1/preferences/suggestions"),
        E::Preferences,
        H::Async(preferences::suggestions),
    ),
    route(
        Method::PUT,
        Prefix("/v1/preferences/"),
        E::Preferences,
        H::Async(preferences::put),
    ),
    route(
        Method::DELETE,
        Prefix("/v1/preferences/"),
        E::Preferences,
        H::Async(preferences::delete),
    ),
    admin(Method::GET, "/healthz", E::Health, H::Health),
    admin(Method::GET, "/admin/logs", E::Logs, H::Async(logs::export_all)),
    admin(Method::GET, "/metrics", E::Health, H::Metrics),
    admin(Method::POST, "/admin/reload", E::Health, H::Reload),
];

/// The route for `method` and `path` on `listener`: 404 for a path no route serves, 405 for a known
/// path and another method. A trailing slash is ignored.
pub fn find(listener: Listener, method: &Method, path: &str) -> Result<&'static Route, GatewayError> {
    let path = normalize(path);
    let mut on_path = ROUTES
        .iter()
        .filter(|r| r.listener == listener)
        .skip_while(|r| !r.path.matches(path));
    let Some(first) = on_path.next() else {
        return Err(GatewayError::UnknownEndpoint {
            method: method.to_string(),
            path: path.to_string(),
        });
    };
    let same = std::iter::once(first).chain(on_path.filter(|r| r.path == first.path));
    let allows = |r: &Route| r.method == method || (r.method == Method::GET && method == Method::HEAD);
    let mut allowed = Vec::new();
    for r in same {
        if allows(r) {
            return Ok(r);
        }
        allowed.push(r.method.as_str());
    }
    Err(GatewayError::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_string(),
        allowed: allowed.join(", "),
    })
}

/// The path without a trailing slash (but `/` stays).
pub fn normalize(path: &str) -> &str {
    path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path)
}

#[cfg(test)]
mod tests;
