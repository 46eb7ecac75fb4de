//! Answers the gateway writes itself (local endpoints, phase answers, errors before proxying), always
//! with `Content-Length` (Pingora issue #766: without it a keep-alive client hangs) and a request id.
//!
//! An answer can come before the request body was read (a refusal on the headers): the answer goes
//! out first, then what is left of a small body is drained for a bounded time so the connection can
//! be reused (and closing does not reset a client still sending); a large or stalled body is not
//! worth reading, and the connection is closed instead. A client that did not authenticate gets no
//! reusable connection: its body is not read beyond what already arrived (a short linger, so that
//! closing does not reset the answer away), and the connection is closed.

use std::time::Duration;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::body::RETRY_BUFFER;
use super::ctx::Ctx;
use crate::error::GatewayError;

/// How long an unread request body is drained after an early answer.
const DRAIN_FOR: Duration = Duration::from_secs(1);
/// How long an unauthenticated client's unread body is drained before the connection closes: only
/// what is already on its way, so the close does not reset the answer before the client reads it.
const LINGER_UNAUTHENTICATED: Duration = Duration::from_millis(100);

pub async fn send(
    s: &mut Session,
    ctx: &mut Ctx,
    status: u16,
    ctype: &str,
    body: Bytes,
    extra: &[(&str, String)],
) -> pingora::Result<()> {
    let unread = !s.as_downstream_mut().is_body_done();
    let small = super::body::declared_len(s).is_some_and(|n| n <= RETRY_BUFFER);
    let stranger = ctx.ex.identity.is_none() && ctx.ex.endpoint != switchyard_sdk::Endpoint::Health;
    if (unread && (!small || stranger)) || s.is_process_shutting_down() {
        s.set_keepalive(None);
    }
    let mut h = ResponseHeader::build(status, Some(6 + extra.len()))?;
    h.insert_header("content-type", ctype)?;
    h.insert_header("content-length", body.len().to_string())?;
    h.insert_header("x-request-id", ctx.request_id())?;
    for (k, v) in extra {
        h.insert_header(k.to_string(), v.as_str())?;
    }
    for (k, v) in &ctx.ex.response_headers {
        h.insert_header(k.to_string(), v.as_str())?;
    }
    ctx.answer.status = status;
    if let Some(claim) = ctx.decision.idempotency.as_mut() {
        claim.header(status, super::captured_headers(h.headers.iter()));
        claim.chunk(&body);
    }
    s.write_response_header(Box::new(h), false).await?;
    s.write_response_body(Some(body), true).await?;
    if unread && small {
        let linger = if stranger { LINGER_UNAUTHENTICATED } else { DRAIN_FOR };
        let drained = tokio::time::timeout(linger, s.as_downstream_mut().drain_request_body()).await;
        if stranger || !matches!(drained, Ok(Ok(()))) {
            s.set_keepalive(None);
        }
    }
    Ok(())
}

pub async fn json(s: &mut Session, ctx: &mut Ctx, status: u16, body: &serde_json::Value) -> pingora::Result<()> {
    send(s, ctx, status, "application/json", Bytes::from(body.to_string()), &[]).await
}

/// Answer with `e` in the public error shape.
pub async fn error(s: &mut Session, ctx: &mut Ctx, e: GatewayError) -> pingora::Result<()> {
    let body =
        Bytes::from(crate::api::codec(ctx.request.schema).error_body(&e.to_json(ctx.request_id(), &ctx.ex.trace)));
    let mut extra: Vec<(&str, String)> = crate::phases::reject_headers(&e)
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    if let Some(secs) = e.retry_after() {
        extra.push(("retry-after", secs.to_string()));
    }
    if let GatewayError::MethodNotAllowed { allowed, .. } = &e {
        extra.push(("allow", allowed.to_string()));
    }
    let status = e.status();
    ctx.answer.error = Some(e);
    send(s, ctx, status, "application/json", body, &extra).await
}
