//! The complete call: the route's candidates in order, each sent with Pingora's HTTP client and read
//! to the end, falling back on a connection failure, a timeout, 429, 5xx or an unusable answer while a
//! candidate remains within `max_attempts` (the route already holds only the first candidate under
//! `x-jt-no-fallback`). Each try is one `Attempt` in the context, recorded as the proxy path records
//! it, so the health tracker, metrics and access log learn from these calls too.
//!
//! One `Connector` serves the process (Pingora's `Gateway` field list is not ours to extend): its
//! pools keep idle upstream connections for reuse across requests, HTTP/2 streams multiplexed on TLS
//! peers that offer it. A request that fails on a reused connection before any answer (the provider
//! closed it while idle) is sent again on another connection of the same candidate.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pingora::connectors::http::Connector;
use pingora::connectors::ConnectorOptions;
use pingora::http::RequestHeader;
use pingora::protocols::http::client::HttpSession;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};

use super::super::ctx::{Attempt, Ctx};
use super::super::upstream::peer_for;
use super::super::{failure, upstream, Gateway};
use crate::config::{Model, Snapshot};
use crate::error::{client_status_for_upstream, GatewayError};
use crate::metrics::m;

/// How often a request is sent again after a reused connection turned out closed.
const STALE_RETRIES: usize = 2;

/// One candidate's upstream request (the header is built as the proxy path builds it).
pub struct Outgoing {
    /// Path and query, from the provider's base path.
    pub path: String,
    /// Headers besides credentials and the provider's own.
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// What one endpoint asks of a candidate and how it reads the answer.
pub trait Job {
    type Out;
    /// The request for `model` (may record the attempt's lossy fields and the plan in `ctx`).
    fn render(&mut self, ctx: &mut Ctx, model: &Arc<Model>) -> Result<Outgoing, GatewayError>;
    /// A 2xx answer, read whole. `Err` says why it is unusable (the next candidate is tried).
    fn accept(&mut self, ctx: &mut Ctx, model: &Arc<Model>, body: &[u8]) -> Result<Self::Out, String>;
    /// The provider's message in an error body.
    fn error_message(&self, ctx: &Ctx, body: &[u8]) -> String;
}

static CONNECTOR: OnceLock<Connector> = OnceLock::new();

/// The process's client connector, sized like the proxy's pool on first use.
fn connector(snap: &Snapshot) -> &'static Connector {
    CONNECTOR.get_or_init(|| {
        let s = &snap.server;
        let pool = s.upstream_keepalive_pool_size.saturating_mul(s.worker_threads.max(1));
        Connector::new(Some(ConnectorOptions::new(pool)))
    })
}


/// A whole upstream answer.
struct Reply {
    status: u16,
    retry_after: Option<u64>,
    headers_after: Duration,
    body: Bytes,
}

enum Failed {
    /// No connection could be made.
    Connect(Box<Error>),
    /// The exchange broke after connecting.
    Io(Box<Error>),
    /// The answer was larger than `max_response_bytes`.
    TooLarge,
}

async fn send_request(session: &mut HttpSession, header: &RequestHeader, body: &Bytes) -> pingora::Result<()> {
    session.write_request_header(Box::new(header.clone())).await?;
    session.write_request_body(body.clone(), true).await?;
    session.finish_request_body().await?;
    loop {
        session.read_response_header().await?;
        // Informational answers (100 Continue) precede the real one on HTTP/1.
        match session.response_header().map(|h| h.status.as_u16()) {
            Some(100..=199) if session.as_http1().is_some() => continue,
            Some(_) => return Ok(()),
            None => return Err(Error::explain(ErrorType::InvalidHTTPHeader, "no response header")),
        }
    }
}

/// Send one request and read the answer to its end (at most `limit` bytes); the connection goes back
/// to the pool when the answer ended cleanly.
async fn exchange(
    conn: &Connector,
    peer: &HttpPeer,
    header: &RequestHeader,
    body: &Bytes,
    limit: u64,
    started: Instant,
) -> Result<Reply, Failed> {
    let mut stale = 0;
    let mut session = loop {
        let (mut session, reused) = conn.get_http_session(peer).await.map_err(Failed::Connect)?;
        session.set_read_timeout(peer.options.read_timeout);
        session.set_write_timeout(peer.options.write_timeout);
        match send_request(&mut session, header, body).await {
            Ok(()) => break session,
            Err(_) if reused && stale < STALE_RETRIES => {
                stale += 1;
                session.shutdown().await;
            }
            Err(e) => {
                session.shutdown().await;
                return Err(Failed::Io(e));
            }
        }
    };
    let headers_after = started.elapsed();
    let (status, retry_after) = match session.response_header() {
        Some(h) => (
            h.status.as_u16(),
            h.headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
        ),
        None => return Err(Failed::Io(Error::explain(ErrorType::InvalidHTTPHeader, "no response header"))),
    };
    let mut buf = BytesMut::new();
    loop {
        match session.read_response_body().await {
            Ok(Some(chunk)) => {
                if buf.len() as u64 + chunk.len() as u64 > limit {
                    session.shutdown().await;
                    return Err(Failed::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                session.shutdown().await;
                return Err(Failed::Io(e));
            }
        }
    }
    if session.response_done() {
        conn.release_http_session(session, peer, peer.options.idle_timeout).await;
    } else {
        session.shutdown().await;
    }
    Ok(Reply {
        status,
        retry_after,
        headers_after,
        body: buf.freeze(),
    })
}

/// The client's error for a broken exchange (as `failure::classify` maps Pingora's).
fn transport_error(e: &Error, provider: &str) -> GatewayError {
    let provider = provider.to_string();
    match e.etype() {
        ErrorType::ConnectTimedout
        | ErrorType::ReadTimedout
        | ErrorType::WriteTimedout
        | ErrorType::TLSHandshakeTimedout => GatewayError::UpstreamTimeout { provider },
        _ => GatewayError::UpstreamUnreachable {
            provider,
            detail: e.to_string(),
        },
    }
}

/// End the current attempt with `why`.
fn end_attempt(ctx: &mut Ctx, why: String) {
    if let Some(a) = ctx.attempts.last_mut() {
        a.error.get_or_insert(why);
        a.duration.get_or_insert(a.started.elapsed());
    }
}

/// Count a fallback away from `provider` when another candidate remains.
fn count_fallback(ctx: &Ctx, provider: &str, reason: &str) {
    if ctx.can_fall_back() {
        m().fallbacks.with_label_values(&[provider, reason]).inc();
    }
}

/// Try the route's candidates in order until one answers usably. All failing: the proxy path's
/// errors (503 `all_candidates_failed` with the attempts when more than one was tried, else the
/// candidate's own mapped error).
pub async fn run<J: Job>(ctx: &mut Ctx, gw: &Gateway, job: &mut J) -> Result<J::Out, GatewayError> {
    let conn = connector(&ctx.snap);
    let limit = ctx.snap.server.max_response_bytes;
    let health = &gw.router.health;
    let mut last: Option<GatewayError> = None;
    while ctx.attempts.len() < ctx.snap.server.max_attempts {
        let Some(model) = ctx.next_candidate().cloned() else {
            break;
        };
        let provider = model.provider.name.to_string();
        health.begin_attempt(&model.id);
        let started = Instant::now();
        ctx.attempts.push(Attempt {
            model: model.clone(),
            started,
            status: None,
            headers_after: None,
            error: None,
            duration: None,
            lossy: Vec::new(),
            retry_after: None,
        });
        let out = match job.render(ctx, &model) {
            Ok(o) => o,
            Err(e) => {
                end_attempt(ctx, e.to_string());
                last = Some(e);
                continue;
            }
        };
        ctx.upstream_path = out.path;
        ctx.upstream_headers = out.headers;
        ctx.upstream_body = out.body;
        let peer = match peer_for(&model, &gw.resolver, gw.simulator).await {
            Ok(p) => p,
            Err(e) => {
                end_attempt(ctx, e.to_string());
                count_fallback(ctx, &provider, "connect");
                last = Some(e);
                continue;
            }
        };
        let mut header = RequestHeader::build("POST", b"/", None)
            .map_err(|e| GatewayError::Internal(format!("upstream request: {e}")))?;
        upstream::request_header(&mut header, ctx)
            .map_err(|e| GatewayError::Internal(format!("upstream request: {e}")))?;
        let reply = exchange(conn, &peer, &header, &ctx.upstream_body, limit, started).await;
        let r = match reply {
            Ok(r) => r,
            Err(Failed::Connect(e)) => {
                end_attempt(ctx, format!("connect: {}", e.etype().as_str()));
                count_fallback(ctx, &provider, "connect");
                last = Some(transport_error(&e, &provider));
                continue;
            }
            Err(Failed::Io(e)) => {
                end_attempt(ctx, e.etype().as_str().to_string());
                count_fallback(ctx, &provider, e.etype().as_str());
                last = Some(transport_error(&e, &provider));
                continue;
            }
            Err(Failed::TooLarge) => {
                let detail = "response larger than max_response_bytes".to_string();
                end_attempt(ctx, detail.clone());
                count_fallback(ctx, &provider, "invalid_response");
                last = Some(GatewayError::UpstreamInvalid { provider, detail });
                continue;
            }
        };
        let status = r.status;
        m().upstream_latency
            .with_label_values(&[provider.as_str()])
            .observe(r.headers_after.as_secs_f64());
        if let Some(a) = ctx.attempts.last_mut() {
            a.status = Some(status);
            a.headers_after = Some(r.headers_after);
            a.duration = Some(started.elapsed());
            if status == 429 || status == 503 {
                a.retry_after = r.retry_after;
            }
        }
        if status >= 400 {
            let e = GatewayError::UpstreamStatus {
                provider: provider.clone(),
                status: client_status_for_upstream(status),
                upstream_status: status,
                message: format!(
                    "provider {provider} answered {status}: {}",
                    job.error_message(ctx, &r.body)
                ),
                retry_after: r.retry_after,
            };
            if (status == 429 || status >= 500) && ctx.can_fall_back() {
                end_attempt(ctx, format!("upstream status {status}"));
                count_fallback(ctx, &provider, &status.to_string());
                last = Some(e);
                continue;
            }
            end_attempt(ctx, format!("upstream status {status}"));
            return Err(failure::exhausted(e, ctx));
        }
        match job.accept(ctx, &model, &r.body) {
            Ok(out) => return Ok(out),
            Err(detail) => {
                end_attempt(ctx, format!("unusable response: {detail}"));
                count_fallback(ctx, &provider, "invalid_response");
                last = Some(GatewayError::UpstreamInvalid { provider, detail });
            }
        }
    }
    let e = last.unwrap_or_else(|| GatewayError::Internal("the route holds no candidate".into()));
    Err(failure::exhausted(e, ctx))
}
