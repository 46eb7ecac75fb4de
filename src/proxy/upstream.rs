//! The upstream side of an attempt: the peer for the next candidate (address from the async DNS
//! cache, TLS with SNI, ALPN h2/h1, the provider's timeouts) and the request header it receives.

use std::net::SocketAddr;
use std::time::Duration;

use pingora::http::RequestHeader;
use pingora::protocols::ALPN;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};

use super::attempt;
use super::ctx::Ctx;
use super::headers::{self, Fresh};
use crate::config::Origin;
use crate::dns::Resolver;
use crate::error::GatewayError;
use crate::router::health::Health;
use crate::translate;

const USER_AGENT: &str = concat!("switchyard/", env!("CARGO_PKG_VERSION"));

/// A failure of the attempt before it reached the upstream, as a Pingora error that retries on the
/// next candidate when one is left.
fn fail(ctx: &mut Ctx, e: GatewayError, reason: &str) -> Box<Error> {
    let mut err = Error::explain(ErrorType::ConnectNoRoute, e.to_string());
    attempt::end(ctx, e.to_string());
    err.set_retry(attempt::fall_back(ctx, reason));
    ctx.answer.error = Some(e);
    err
}

/// Start the next attempt: pick its candidate, render its request, and build its peer.
pub async fn peer(
    ctx: &mut Ctx,
    resolver: &std::sync::Arc<Resolver>,
    simulator: SocketAddr,
    health: &Health,
) -> pingora::Result<Box<HttpPeer>> {
    let Some(model) = attempt::begin(ctx, health) else {
        return Err(Error::explain(ErrorType::InternalError, "no candidate left"));
    };
    if let Err(e) = attempt::render(ctx, &model) {
        return Err(fail(ctx, e, "unsupported"));
    }
    match peer_for(&model, resolver, simulator).await {
        Ok(peer) => Ok(Box::new(peer)),
        Err(e) => {
            if let Some(a) = ctx.attempts.last_mut() {
                a.unreachable = true;
            }
            Err(fail(ctx, e, "connect"))
        }
    }
}

/// The Pingora peer for `model`'s provider: its address resolved through the async cache (the
/// simulator's for `mock` providers), its timeouts, and h2 by ALPN over TLS.
pub async fn peer_for(
    model: &crate::config::Model,
    resolver: &std::sync::Arc<Resolver>,
    simulator: SocketAddr,
) -> Result<HttpPeer, GatewayError> {
    let p = &model.provider;
    let (addr, tls, sni) = match &p.origin {
        Origin::Remote { tls, host, port, .. } => match resolver.resolve(host, *port).await {
            Ok(a) => (a, *tls, host.clone()),
            Err(detail) => {
                return Err(GatewayError::UpstreamUnreachable {
                    provider: p.name.to_string(),
                    detail,
                })
            }
        },
        Origin::Simulator { .. } => (simulator, false, String::new()),
    };
    let t = p.timeouts;
    let mut peer = HttpPeer::new(addr, tls, sni);
    peer.options.connection_timeout = Some(t.connect);
    peer.options.total_connection_timeout = Some(t.connect + Duration::from_secs(5));
    peer.options.read_timeout = Some(t.read);
    peer.options.write_timeout = Some(t.write);
    peer.options.idle_timeout = Some(t.idle);
    if tls {
        peer.options.alpn = ALPN::H2H1;
        peer.options.max_h2_streams = 100;
    }
    Ok(peer)
}

/// The upstream request header: built fresh rather than forwarded, so client credentials, cookies and
/// Switchyard's own control headers never reach a provider.
pub fn request_header(req: &mut RequestHeader, ctx: &Ctx) -> pingora::Result<()> {
    let Some(model) = ctx.current_model() else {
        return Err(Error::explain(ErrorType::InternalError, "no attempt"));
    };
    let p = &model.provider;
    let host = match &p.origin {
        Origin::Remote { host, port, tls, .. } if (*tls && *port == 443) || (!*tls && *port == 80) => host.clone(),
        Origin::Remote { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
        Origin::Remote { host, port, .. } => format!("{host}:{port}"),
        Origin::Simulator { .. } => "simulator.switchyard.local".to_string(),
    };
    let mut h = Fresh::with_capacity(16);
    h.put(http::header::HOST, &host)?;
    h.put_static(http::header::CONTENT_TYPE, "application/json");
    h.put(http::header::CONTENT_LENGTH, &ctx.upstream.body.len().to_string())?;
    let stream = ctx.streaming();
    h.put_static(
        http::header::ACCEPT,
        if stream {
            "text/event-stream"
        } else {
            "application/json"
        },
    );
    h.put_static(http::header::ACCEPT_ENCODING, "identity");
    h.put_static(http::header::USER_AGENT, USER_AGENT);
    h.put(headers::X_REQUEST_ID, ctx.request_id())?;
    // The client's own key for this provider, if it brought one, instead of the configured key.
    let auth = match ctx.request.byok.key_for(&p.name) {
        Some(key) => translate::auth_headers_with(p, key),
        None => translate::auth_headers(p),
    };
    for (k, v) in auth.iter().chain(ctx.upstream.headers.iter()) {
        h.put_named(k, v)?;
    }
    if matches!(ctx.upstream.plan, Some(translate::Plan::PassAnthropic)) {
        for (k, v) in &ctx.request.forwarded_headers {
            h.put_named(k, v)?;
        }
    }
    for (k, v) in &p.headers {
        h.put_named(k, v)?;
    }
    *req = h.request(http::Method::POST, &ctx.upstream.path)?;
    Ok(())
}
