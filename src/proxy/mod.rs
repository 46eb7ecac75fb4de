//! The Pingora `ProxyHttp` implementation: a thin dispatcher that calls the request, upstream,
//! response, failure and logging steps in order. The steps live in their own modules; every upstream
//! call's attempts go through `attempt` (see ARCHITECTURE.md for the hook chart).

pub mod answered;
pub mod attempt;
pub mod body;
pub mod byok;
pub mod ctx;
pub mod failure;
pub mod framing;
pub mod headers;
pub mod idempotency;
pub mod log;
pub mod log_row;
pub mod request;
pub mod rerender;
pub mod respond;
pub mod response;
pub mod router_meta;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::modules::http::HttpModules;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::Error;

use crate::config::Snapshot;
use crate::dns::Resolver;
use crate::metrics::m;
use crate::router::RouterState;
use ctx::Ctx;
use request::Flow;

pub struct Gateway {
    pub state: Arc<ArcSwap<Snapshot>>,
    pub resolver: Arc<Resolver>,
    /// Where the built-in simulator listens (serves `mock` providers).
    pub simulator: SocketAddr,
    /// Health and sessions, learned from traffic.
    pub router: Arc<RouterState>,
    /// The store (`None`: off): the request log's sink, and what the endpoints read.
    pub store: Option<Arc<crate::store::Store>>,
    /// Requests in flight and answers kept under an `Idempotency-Key`.
    pub idempotency: Arc<idempotency::Idempotency>,
}

/// Request ids: a per-process random prefix and a counter, unique without a syscall per request.
static ID_PREFIX: LazyLock<u64> = LazyLock::new(|| {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
});
static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new request id.
pub fn new_request_id() -> String {
    format!(
        "req_{:016x}{:08x}",
        *ID_PREFIX,
        ID_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The client's `x-request-id` when it is a sane one, else a new id.
fn request_id(s: &Session) -> String {
    let given = s.req_header().headers.get("x-request-id").and_then(|v| v.to_str().ok());
    match given {
        Some(v)
            if !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) =>
        {
            v.to_string()
        }
        _ => new_request_id(),
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        // The snapshot is taken once: a reload mid-request does not change what this request sees.
        Ctx::new(self.state.load_full())
    }

    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        // Instead of Pingora's default (a disabled compression module): answers are JSON or SSE
        // the client asked for uncompressed.
        modules.add_module(Box::new(framing::KnownLengthBuilder));
    }

    async fn early_request_filter(&self, s: &mut Session, ctx: &mut Ctx) -> pingora::Result<()> {
        ctx.ex.request_id = request_id(s);
        m().in_flight.inc();
        ctx.request.counted_in_flight = true;
        Ok(())
    }

    async fn request_filter(&self, s: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
        match request::handle(s, ctx, self).await {
            Ok(Flow::Proxy) => Ok(false),
            Ok(Flow::Answered) => Ok(true),
            Err(e) => {
                respond::error(s, ctx, e).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(&self, _s: &mut Session, ctx: &mut Ctx) -> pingora::Result<Box<HttpPeer>> {
        upstream::peer(ctx, &self.resolver, self.simulator, &self.router.health).await
    }

    fn fail_to_connect(&self, _s: &mut Session, _peer: &HttpPeer, ctx: &mut Ctx, e: Box<Error>) -> Box<Error> {
        failure::on_connect_failure(ctx, e)
    }

    async fn upstream_request_filter(
        &self,
        _s: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> pingora::Result<()> {
        upstream::request_header(req, ctx)
    }

    async fn request_body_filter(
        &self,
        _s: &mut Session,
        body: &mut Option<Bytes>,
        eos: bool,
        ctx: &mut Ctx,
    ) -> pingora::Result<()> {
        // Called on every attempt with the buffered tail of the client's body: send this
        // attempt's rendered body instead, once.
        *body = eos.then(|| ctx.upstream.body.clone());
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        s: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> pingora::Result<()> {
        response::on_upstream_headers(resp, ctx, framing::header_written(s))
    }

    async fn response_filter(&self, s: &mut Session, resp: &mut ResponseHeader, ctx: &mut Ctx) -> pingora::Result<()> {
        response::client_headers(resp, ctx, framing::header_written(s), s.is_process_shutting_down())?;
        if let Some(claim) = ctx.decision.idempotency.as_mut() {
            claim.header(resp.status.as_u16(), captured_headers(resp.headers.iter()));
        }
        Ok(())
    }

    fn upstream_response_body_filter(
        &self,
        _s: &mut Session,
        _body: &mut Option<Bytes>,
        eos: bool,
        ctx: &mut Ctx,
    ) -> pingora::Result<Option<std::time::Duration>> {
        if eos {
            if let Some(a) = ctx.attempts.last_mut() {
                a.duration.get_or_insert(a.started.elapsed());
            }
        }
        Ok(None)
    }

    fn response_body_filter(
        &self,
        s: &mut Session,
        body: &mut Option<Bytes>,
        eos: bool,
        ctx: &mut Ctx,
    ) -> pingora::Result<Option<std::time::Duration>> {
        if let Some(len) = response::body(body, eos, ctx)? {
            framing::whole_answer(s, len, ctx.answer.cost);
        }
        if let (Some(claim), Some(b)) = (ctx.decision.idempotency.as_mut(), body.as_ref()) {
            claim.chunk(b);
        }
        Ok(None)
    }

    fn error_while_proxy(
        &self,
        _peer: &HttpPeer,
        s: &mut Session,
        e: Box<Error>,
        ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        failure::on_proxy_error(s, ctx, e, client_reused)
    }

    async fn fail_to_proxy(&self, s: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        failure::on_final_failure(s, e, ctx).await
    }

    fn suppress_error_log(&self, _s: &Session, ctx: &Ctx, _e: &Error) -> bool {
        // Our own access line records every failure with its classification.
        ctx.snap.server.access_log
    }

    async fn logging(&self, _s: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        if ctx.request.counted_in_flight {
            m().in_flight.dec();
        }
        log::record(
            ctx,
            &self.router,
            self.store.as_deref().map(|s| s as &dyn crate::store::LogSink),
        );
    }
}

/// Response headers to replay to a repeat of an idempotent request.
pub fn captured_headers<'a>(
    headers: impl Iterator<Item = (&'a http::HeaderName, &'a http::HeaderValue)>,
) -> Vec<(String, String)> {
    headers
        .filter(|(k, _)| idempotency::keep_header(k.as_str()))
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}
