//! Reading the client's request body in `request_filter`, so the whole request is known before a
//! provider is chosen, while keeping Pingora able to send a (translated) body on every attempt.
//!
//! Pingora replays a request body only from its retry buffer, fixed at 64 KiB; a body read whole
//! without it is never sent upstream (research note §B). For bodies with a Content-Length the buffer
//! is enabled once at most 64 KiB remain, so it ends holding a non-empty tail; that is enough for
//! Pingora to call `request_body_filter` on every attempt, where the body is replaced. Bodies of
//! unknown length (chunked) can only be replayed if they fit the buffer whole.
//!
//! A declared length is a claim, not bytes: buffers grow as bytes arrive (a client declaring 8 MiB
//! and sending nothing costs a few KiB), and the bytes of request bodies held across the gateway are
//! bounded (`server.max_body_bytes_in_flight`): beyond, a request gets 503 with `Retry-After`.

use std::sync::atomic::{AtomicU64, Ordering};
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

/// The first allocation for a body; it grows as bytes arrive.
const INITIAL_CAPACITY: u64 = 16 * 1024;

/// Bytes of request bodies held by requests in flight, across the gateway.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

pub fn bytes_in_flight() -> u64 {
    IN_FLIGHT.load(Ordering::Relaxed)
}

/// A request's share of the bodies in flight, given back when the request ends (the guard lives in
/// its context as long as its body does).
#[derive(Debug, Default)]
pub struct BodyBudget {
    held: u64,
}

impl BodyBudget {
    /// Take `n` more bytes if the gateway-wide total stays within `max`.
    fn take(&mut self, n: u64, max: u64) -> Result<(), GatewayError> {
        let before = IN_FLIGHT.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > max {
            IN_FLIGHT.fetch_sub(n, Ordering::Relaxed);
            return Err(GatewayError::BodiesInFlight);
        }
        self.held += n;
        Ok(())
    }
}

impl Drop for BodyBudget {
    fn drop(&mut self) {
        if self.held > 0 {
            IN_FLIGHT.fetch_sub(self.held, Ordering::Relaxed);
        }
    }
}

/// What bounds reading one body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The body's size at most (413 beyond).
    pub max_bytes: u64,
    /// Time to read it (408 beyond).
    pub timeout: Duration,
    /// Bytes of bodies in flight across the gateway at most (503 beyond).
    pub max_in_flight: u64,
}

/// Read the whole body of a request to be proxied, within `limits`, keeping Pingora able to replay
/// it on every attempt. Its bytes are counted in `budget`.
pub async fn read(s: &mut Session, limits: Limits, budget: &mut BodyBudget) -> Result<Bytes, GatewayError> {
    match tokio::time::timeout(limits.timeout, read_inner(s, limits, budget, true)).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::BodyTimeout),
    }
}

/// Read the whole body of a request the gateway answers itself (no replay by Pingora, so any size and
/// framing within `limits`).
pub async fn read_whole(s: &mut Session, limits: Limits, budget: &mut BodyBudget) -> Result<Bytes, GatewayError> {
    match tokio::time::timeout(limits.timeout, read_inner(s, limits, budget, false)).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::BodyTimeout),
    }
}

async fn read_inner(
    s: &mut Session,
    limits: Limits,
    budget: &mut BodyBudget,
    replay: bool,
) -> Result<Bytes, GatewayError> {
    let limit = limits.max_bytes;
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
    // Never the declared length up front: it costs nothing to declare.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(4096).min(limit).min(INITIAL_CAPACITY) as usize);
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
        budget.take(chunk.len() as u64, limits.max_in_flight)?;
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
