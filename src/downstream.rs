//! The client listener's connections, in front of Pingora's HTTP sessions. Pingora reads a request
//! header with only a per-read timeout (a client sending one byte every few seconds, or nothing at
//! all, holds its connection for ever), peeks 24 bytes for the HTTP/2 preface before anything else
//! (a shorter HTTP/1 request is never answered), and answers a malformed header with an empty 400.
//! So the header is read here, then handed to Pingora as already-read bytes (its pipelined-prefix
//! path, which parses them without reading again and keeps any body bytes that came along):
//!
//! - a connection waits at most `client_idle_timeout` for a request's first byte, and a header must be
//!   complete `client_header_timeout` after its first byte (408, then close);
//! - the HTTP/2 preface is recognised from the first bytes as they come, so a short HTTP/1 request is
//!   answered at once;
//! - a header over `max_header_bytes` (431), too many header fields (431), an over-long URI (414), a
//!   malformed request line or header, and an invalid or duplicated `Content-Length` (400) get the
//!   public JSON error shape;
//! - at most `max_client_connections` are open at once, so file descriptors remain for upstreams and
//!   the admin listener. A new connection beyond the cap closes the connection that has waited
//!   longest for a request (between requests, or never sent one): a flood of bare connections
//!   cannot lock clients out. When none is waiting (or too many are still closing), the new
//!   connection gets 503 JSON and is closed.
//!   Both are counted (`client_refused_total{reason="idle_evicted"|"connection_limit"}`).
//!
//! None of this logs above debug level: what clients do wrong is counted in metrics instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::metrics::m;
use crate::proxy::Gateway;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Header fields a request may have (Pingora's own limit).
const MAX_HEADERS: usize = 256;
/// Longest request target accepted.
const MAX_URI_BYTES: usize = 16 * 1024;

/// The limits of client connections (from `server` in the config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle: Duration,
    pub header: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    pub h2c: bool,
}

/// The client listener's app: Pingora's proxy behind the checks above.
pub struct ClientApp {
    proxy: Arc<HttpProxy<Gateway>>,
    limits: Limits,
    open: AtomicUsize,
    waiting: Waiting,
}

impl ClientApp {
    pub fn new(proxy: HttpProxy<Gateway>, limits: Limits) -> Self {
        ClientApp {
            proxy: Arc::new(proxy),
            limits,
            open: AtomicUsize::new(0),
            waiting: Waiting::default(),
        }
    }
}

/// Connections looked at to find the longest-waiting one.
const EVICTION_SAMPLE: usize = 4096;
/// Connections over the cap while the ones evicted for them close.
const EVICTING: usize = 64;

/// `Waiter::since` of a connection busy with a request.
const BUSY: u64 = 0;
/// `Waiter::since` of a connection chosen to be closed.
const EVICTED: u64 = u64::MAX;

/// One HTTP/1 connection's wait for its next request: since when (a sequence number, so the oldest
/// is the smallest), and how it is told to close.
#[derive(Default)]
struct Waiter {
    since: AtomicU64,
    close: Notify,
}

/// The HTTP/1 connections, for finding the one that has waited longest. The map is touched once
/// when a connection opens and once when it closes; a request costs two atomic stores.
#[derive(Default)]
struct Waiting {
    seq: AtomicU64,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Waiter>>>,
}

impl Waiting {
    fn join(&self) -> (u64, Arc<Waiter>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let w = Arc::new(Waiter::default());
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, w.clone());
        (id, w)
    }

    fn leave(&self, id: u64) {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    /// The connection starts waiting for a request.
    fn wait(&self, w: &Waiter) {
        w.since
            .store(self.seq.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Tell the connection that has waited longest to close; false when none is waiting. With very
    /// many connections open, the longest-waiting among the first [`EVICTION_SAMPLE`] the table
    /// yields (its order is random per process): a scan costs at most that much, whatever the cap.
    fn evict_oldest(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..4 {
            let oldest = conns
                .values()
                .take(EVICTION_SAMPLE)
                .map(|w| (w.since.load(Ordering::Relaxed), w))
                .filter(|(s, _)| *s != BUSY && *s != EVICTED)
                .min_by_key(|(s, _)| *s);
            let Some((since, w)) = oldest else { return false };
            // It may have got its request meanwhile; then look again.
            if w.since
                .compare_exchange(since, EVICTED, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                w.close.notify_one();
                return true;
            }
        }
        false
    }
}

/// One open client connection, counted until dropped.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        m().client_connections.dec();
    }
}

/// A connection's place among the waiting ones, left when dropped.
struct Place<'a>(&'a Waiting, u64);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// What reading a request header came to.
enum Head {
    /// The client closed, or went idle past the limit, between requests.
    Closed,
    /// The HTTP/2 preface (cleartext): these bytes were read and must be given back.
    H2c(BytesMut),
    /// A complete, checked HTTP/1 header (and whatever body bytes came with it).
    Request(BytesMut),
    /// Refused: status, code, message.
    Refuse(u16, &'static str, String),
}

#[async_trait]
impl ServerApp for ClientApp {
    async fn process_new(self: &Arc<Self>, mut stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let open = self.open.fetch_add(1, Ordering::Relaxed);
        if open >= self.limits.max_connections {
            // An evicted connection counts until its task has closed it: at most EVICTING of them,
            // so that a flood cannot outrun the closing and use up file descriptors after all.
            if open < self.limits.max_connections + EVICTING && self.waiting.evict_oldest() {
                // The evicted connection closes at once; until then the cap is one over.
                m().client_refused.with_label_values(&["idle_evicted"]).inc();
            } else {
                self.open.fetch_sub(1, Ordering::Relaxed);
                m().client_refused.with_label_values(&["connection_limit"]).inc();
                if stream.selected_alpn_proto() != Some(ALPN::H2) {
                    let msg = "the gateway is at its limit of open connections; retry shortly";
                    write_error(&mut stream, 503, "too_many_connections", msg).await;
                }
                return None;
            }
        }
        m().client_connections.inc();
        let _slot = Slot(&self.open);
        if stream.selected_alpn_proto() == Some(ALPN::H2) {
            return self.proxy.process_new(stream, shutdown).await;
        }
        let h2c = self.limits.h2c && stream.get_ssl_digest().is_none();
        let (id, waiter) = self.waiting.join();
        let _place = Place(&self.waiting, id);
        let mut settings: Option<HttpPersistentSettings> = None;
        let mut first = true;
        loop {
            self.waiting.wait(&waiter);
            let head = read_head(&mut stream, &self.limits, first && h2c, shutdown, &waiter).await;
            let buf = match head {
                Head::Closed => return None,
                Head::H2c(bytes) => return self.h2c(stream, bytes, shutdown).await,
                Head::Refuse(status, code, message) => {
                    m().client_refused.with_label_values(&[code]).inc();
                    write_error(&mut stream, status, code, &message).await;
                    return None;
                }
                Head::Request(buf) => buf,
            };
            let mut session = ServerSession::new_http1(stream);
            match settings.take() {
                Some(s) => s.apply_to_session(&mut session),
                None => {
                    session.set_keepalive(if *shutdown.borrow() { None } else { Some(60) });
                    session.set_keepalive_reuses_remaining(
                        self.proxy
                            .server_options
                            .as_ref()
                            .and_then(|o| o.keepalive_request_limit),
                    );
                }
            }
            session.set_pipelined_prefix(buf);
            let reused = self.proxy.process_new_http(session, shutdown).await?;
            let (s, st) = reused.consume();
            stream = s;
            settings = st;
            first = false;
        }
    }

    async fn cleanup(&self) {
        self.proxy.http_cleanup().await;
    }
}

impl ClientApp {
    /// Give the preface bytes back to the connection and let Pingora speak HTTP/2 on it.
    async fn h2c(self: &Arc<Self>, stream: Stream, bytes: BytesMut, shutdown: &ShutdownWatch) -> Option<Stream> {
        let any = stream.into_any();
        let Ok(mut l4) = any.downcast::<L4Stream>() else {
            return None;
        };
        l4.rewind(&bytes);
        let stream: Stream = l4;
        self.proxy.process_new(stream, shutdown).await
    }
}

/// Read one request header: its first byte within the idle limit (or until shutdown, between
/// requests), the rest within the header limit; checked before Pingora sees it.
async fn read_head(
    stream: &mut Stream,
    limits: &Limits,
    maybe_h2c: bool,
    shutdown: &ShutdownWatch,
    waiter: &Waiter,
) -> Head {
    let mut buf = BytesMut::with_capacity(4096);
    let mut shutdown = shutdown.clone();
    let first = tokio::select! {
        biased;
        _ = waiter.close.notified() => return Head::Closed,
        r = tokio::time::timeout(limits.idle, stream.read_buf(&mut buf)) => r,
        _ = shutdown.changed() => return Head::Closed,
    };
    // Chosen for closing just as its request arrived: it was the oldest waiting, so it goes.
    if waiter.since.swap(BUSY, Ordering::Relaxed) == EVICTED {
        return Head::Closed;
    }
    match first {
        Ok(Ok(n)) if n > 0 => {}
        Ok(_) => return Head::Closed,
        Err(_) => {
            m().client_refused.with_label_values(&["idle_timeout"]).inc();
            return Head::Closed;
        }
    }
    let deadline = Instant::now() + limits.header;
    loop {
        if maybe_h2c && H2_PREFACE.starts_with(&buf[..buf.len().min(H2_PREFACE.len())]) {
            if buf.len() >= H2_PREFACE.len() {
                return Head::H2c(buf);
            }
        } else if let Some(h) = check(&buf, limits) {
            return h;
        }
        if buf.len() > limits.max_header_bytes {
            return Head::Refuse(
                431,
                "header_too_large",
                format!("the request header is larger than {} bytes", limits.max_header_bytes),
            );
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Head::Closed,
            Err(_) => {
                return Head::Refuse(
                    408,
                    "request_timeout",
                    format!(
                        "the request header did not arrive within {} ms",
                        limits.header.as_millis()
                    ),
                )
            }
        }
    }
}

/// `Some` once the header in `buf` is complete (checked) or cannot be a valid header.
fn check(buf: &[u8], limits: &Limits) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let end = match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            // A request line that is already too long need not be read to its end.
            let line = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
            if line > MAX_URI_BYTES + 64 {
                return Some(uri_too_long());
            }
            return None;
        }
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => {
            return Some(Head::Refuse(
                431,
                "too_many_headers",
                format!("a request may carry at most {MAX_HEADERS} header fields"),
            ))
        }
        Err(e) => {
            return Some(Head::Refuse(
                400,
                "malformed_request",
                format!("the request is not valid HTTP/1.1: {e}"),
            ))
        }
    };
    if end > limits.max_header_bytes {
        return Some(Head::Refuse(
            431,
            "header_too_large",
            format!("the request header is larger than {} bytes", limits.max_header_bytes),
        ));
    }
    if req.path.is_some_and(|p| p.len() > MAX_URI_BYTES) {
        return Some(uri_too_long());
    }
    let mut length: Option<&[u8]> = None;
    for h in req.headers.iter() {
        if !h.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let v = h.value.trim_ascii();
        if v.is_empty() || !v.iter().all(u8::is_ascii_digit) || v.len() > 19 {
            return Some(Head::Refuse(
                400,
                "invalid_content_length",
                "Content-Length must be a decimal number of bytes".into(),
            ));
        }
        if length.is_some() {
            return Some(Head::Refuse(
                400,
                "invalid_content_length",
                "the request has more than one Content-Length".into(),
            ));
        }
        length = Some(v);
    }
    Some(Head::Request(BytesMut::from(buf)))
}

fn uri_too_long() -> Head {
    Head::Refuse(
        414,
        "uri_too_long",
        format!("the request target is longer than {MAX_URI_BYTES} bytes"),
    )
}

/// Answer in the public JSON error shape and close.
async fn write_error(stream: &mut Stream, status: u16, code: &'static str, message: &str) {
    let id = crate::proxy::new_request_id();
    let kind = match status {
        503 => "overloaded_error",
        _ => "invalid_request_error",
    };
    let body = serde_json::json!({"error": {
        "type": kind, "code": code, "message": message, "param": null, "http_status": status,
        "provider": null, "request_id": id, "rule_trace": [],
    }})
    .to_string();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let retry = if status == 503 { "retry-after: 1\r\n" } else { "" };
    let out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-request-id: {id}\r\n{retry}\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(out.as_bytes()).await;
        let _ = stream.flush().await;
        let _ = stream.shutdown().await;
    })
    .await;
}
