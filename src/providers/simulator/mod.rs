//! The built-in provider simulator behind `kind: mock` providers. It is a real HTTP server on a
//! loopback port speaking the OpenAI chat wire format, so requests to simulated models take the same
//! proxy path as real ones. Each mock provider's `simulate` block sets its latency, stream pace,
//! token usage and injected failures (error statuses, connections reset mid-stream, hangs).
//! It is a simulator: the text it returns is filler, not a model's answer. The same providers also
//! play image models on the OpenAI Images API (`/images/generations`): every image is one tiny PNG,
//! after the configured latency and with the same injected failures.
//!
//! This file is the server and the shared fault injection; `chat` plays chat models, `images` image
//! models.

mod chat;
mod images;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::apps::{HttpServerApp, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use serde_json::json;

use crate::config::raw::RawSimulate;
use crate::config::{ProviderKind, Snapshot};

pub struct Simulator {
    state: Arc<ArcSwap<Snapshot>>,
    counter: AtomicU64,
}

impl Simulator {
    pub fn new(state: Arc<ArcSwap<Snapshot>>) -> Self {
        Simulator {
            state,
            counter: AtomicU64::new(0),
        }
    }

    /// A cheap deterministic-enough random number in [0, 1) (splitmix64 of a counter and the clock).
    fn roll(&self) -> f64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut z = n.wrapping_add(t).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Which API of a mock provider a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Chat,
    Images,
}

/// After the configured latency: answer (with the roll), or the request was already dealt with.
enum Fate {
    Answer(f64),
    Done(Option<()>),
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn send(session: &mut ServerSession, status: u16, ctype: &str, body: Option<Bytes>) -> Option<()> {
    let mut h = ResponseHeader::build(status, Some(4)).ok()?;
    h.insert_header("content-type", ctype).ok()?;
    match &body {
        Some(b) => h.insert_header("content-length", b.len().to_string()).ok()?,
        None => h.insert_header("transfer-encoding", "chunked").ok()?,
    }
    if status == 429 {
        h.insert_header("retry-after", "1").ok()?;
    }
    session.write_response_header(Box::new(h)).await.ok()?;
    if let Some(b) = body {
        session.write_response_body(b, true).await.ok()?;
    }
    Some(())
}

async fn hang(shutdown: &ShutdownWatch) {
    let mut s = shutdown.clone();
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        _ = s.changed() => {}
    }
}

impl Simulator {
    /// Serve one request; `None` when the connection must not be reused.
    async fn serve(&self, session: &mut ServerSession, shutdown: &ShutdownWatch) -> Option<()> {
        let path = session.req_header().uri.path().to_string();
        let mut body = Vec::new();
        while let Some(chunk) = session.read_request_body().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > 64 << 20 {
                return None;
            }
        }
        let snap = self.state.load_full();
        let found = path
            .strip_prefix("/sim/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(name, tail)| {
                let endpoint = match tail {
                    "v1/chat/completions" => Served::Chat,
                    "v1/images/generations" => Served::Images,
                    _ => return None,
                };
                let p = snap.providers.get(name).filter(|p| p.kind == ProviderKind::Mock)?;
                Some((endpoint, p.simulate.clone()?))
            });
        let Some((endpoint, sim)) = found else {
            let b = json!({"error": {"message": format!("no simulated provider at {path}"), "type": "invalid_request_error"}});
            return send(session, 404, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        if endpoint == Served::Images {
            return self.images(session, &body, &sim, shutdown).await;
        }
        self.chat(session, &body, &sim, shutdown).await
    }

    /// The configured latency, then a hang or a failure by the configured shares. `Fate::Answer`
    /// carries the roll for the caller's own injected faults.
    async fn delay_and_fail(&self, session: &mut ServerSession, sim: &RawSimulate, shutdown: &ShutdownWatch) -> Fate {
        if sim.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sim.latency_ms)).await;
        }
        let roll = self.roll();
        if roll < sim.hang_rate {
            hang(shutdown).await;
            return Fate::Done(None);
        }
        if roll < sim.hang_rate + sim.fail_rate {
            let b = json!({"error": {"message": format!("simulated failure ({})", sim.fail_status), "type": "server_error", "code": "simulated"}});
            return Fate::Done(
                send(
                    session,
                    sim.fail_status,
                    "application/json",
                    Some(Bytes::from(b.to_string())),
                )
                .await,
            );
        }
        Fate::Answer(roll)
    }
}

#[async_trait]
impl HttpServerApp for Simulator {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !session.read_request().await.ok()? {
            return None;
        }
        session.set_keepalive(Some(60));
        self.serve(&mut session, shutdown).await?;
        let settings = pingora::apps::HttpPersistentSettings::for_session(&session);
        session
            .finish()
            .await
            .ok()
            .flatten()
            .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
    }
}
