//! Reading the client's request body in `request_filter`, so the whole request is known before a
//! provider is chosen, while keeping Pingora able to send a (translated) body on every attempt.
//!
//! Pingora replays a request body only from its retry buffer, fixed at 64 KiB; a body read whole
//! without it is never sent upstream (research note §B). For bodies with a Content-Length the buffer
//! is enabled once at most 64 KiB remain, so it ends holding a non-empty tail; that is enough for
//! Pingora to call `request_body_filter` on every attempt, where the body is replaced. Bodies of
//! unknown length (chunked) can only be replayed if they fit the buffer whole.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;

use crate::error::GatewayError;

/// Pingora's retry-buffer capacity (`BODY_BUF_LIMIT`); the tail threshold must equal it.
pub const RETRY_BUFFER: u64 = 64 * 1024;

pub fn declared_len(s: &Session) -> Option<u64> {
    s.req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn expects_continue(s: &Session) -> bool {
    s.req_header()
        .headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Read the whole body of a request to be proxied, at most `limit` bytes, within `timeout`, keeping
/// Pingora able to replay it on every attempt.
pub async fn read(s: &mut Session, limit: u64, timeout: Duration) -> Result<Bytes, GatewayError> {
    match tokio::time::timeout(timeout, read_inner(s, limit, true)).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::BodyTimeout),
    }
}

/// Read the whole body of a request the gateway answers itself (no replay by Pingora, so any size and
/// framing up to `limit`).
pub async fn read_whole(s: &mut Session, limit: u64, timeout: Duration) -> Result<Bytes, GatewayError> {
    match tokio::time::timeout(timeout, read_inner(s, limit, false)).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::BodyTimeout),
    }
}

async fn read_inner(s: &mut Session, limit: u64, replay: bool) -> Result<Bytes, GatewayError> {
    let declared = declared_len(s);
    if expects_continue(s) {
        s.as_downstream_mut()
            .write_continue_response()
            .await
            .map_err(|e| GatewayError::Internal(format!("writing 100 Continue: {e}")))?;
    }
    if replay && declared.is_none_or(|n| n <= RETRY_BUFFER) {
        s.as_downstream_mut().enable_retry_buffering();
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(4096).min(limit) as usize);
    loop {
        let chunk = s
            .as_downstream_mut()
            .read_request_body()
            .await
            .map_err(|e| GatewayError::InvalidRequest {
                code: "body_read_failed",
                message: format!("could not read the request body: {e}"),
                param: None,
            })?;
        let Some(chunk) = chunk else { break };
        if buf.len() as u64 + chunk.len() as u64 > limit {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
        if let Some(n) = declared.filter(|_| replay) {
            let remaining = n.saturating_sub(buf.len() as u64);
            if remaining > 0 && remaining <= RETRY_BUFFER {
                s.as_downstream_mut().enable_retry_buffering();
            }
        }
    }
    if replay && !buf.is_empty() && s.as_downstream().get_retry_buffer().is_none() {
        // Proxying now would send headers without a body and hang until the upstream times out.
        return Err(match declared {
            None => GatewayError::LengthRequired { limit: RETRY_BUFFER },
            Some(_) => GatewayError::Internal("the request body could not be buffered for replay".into()),
        });
    }
    Ok(buf.freeze())
}
