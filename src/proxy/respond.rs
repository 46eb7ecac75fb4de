//! Answers the gateway writes itself (local endpoints, errors before proxying), always with
//! `Content-Length` (Pingora issue #766: without it a keep-alive client hangs) and a request id.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::body::RETRY_BUFFER;
use super::ctx::Ctx;
use crate::error::GatewayError;

pub async fn send(
    s: &mut Session,
    ctx: &mut Ctx,
    status: u16,
    ctype: &str,
    body: Bytes,
    extra: &[(&str, String)],
) -> pingora::Result<()> {
    // An answer before the body was read closes the connection; a small body is drained instead so
    // the client can reuse it. A large one is not worth reading just to refuse it.
    if !s.as_downstream_mut().is_body_done() {
        let small = super::body::declared_len(s).is_some_and(|n| n <= RETRY_BUFFER);
        if !small || s.as_downstream_mut().drain_request_body().await.is_err() {
            s.set_keepalive(None);
        }
    }
    let mut h = ResponseHeader::build(status, Some(6))?;
    h.insert_header("content-type", ctype)?;
    h.insert_header("content-length", body.len().to_string())?;
    h.insert_header("x-request-id", ctx.request_id())?;
    for (k, v) in extra {
        h.insert_header(k.to_string(), v.as_str())?;
    }
    ctx.status = status;
    s.write_response_header(Box::new(h), false).await?;
    s.write_response_body(Some(body), true).await?;
    Ok(())
}

pub async fn json(s: &mut Session, ctx: &mut Ctx, status: u16, body: &serde_json::Value) -> pingora::Result<()> {
    send(s, ctx, status, "application/json", Bytes::from(body.to_string()), &[]).await
}

/// Answer with `e` in the public error shape.
pub async fn error(s: &mut Session, ctx: &mut Ctx, e: GatewayError) -> pingora::Result<()> {
    let body = Bytes::from(crate::api::codec(ctx.schema).error_body(&e.to_json(ctx.request_id(), &ctx.ex.trace)));
    let mut extra = Vec::new();
    if let Some(secs) = e.retry_after() {
        extra.push(("retry-after", secs.to_string()));
    }
    if let GatewayError::MethodNotAllowed { allowed, .. } = &e {
        extra.push(("allow", allowed.to_string()));
    }
    let status = e.status();
    ctx.error = Some(e);
    send(s, ctx, status, "application/json", body, &extra).await
}
