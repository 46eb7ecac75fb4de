//! Per-request state, data only, grouped: the snapshot and identity, the request, the routing
//! decision, one record per upstream attempt, the response translation, and usage and timing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::{Endpoint, Exchange, Money};

use super::router_meta::AttemptView;
use crate::api::Schema;
use crate::config::{Model, Snapshot};
use crate::error::GatewayError;
use crate::router::Route;
use crate::translate::Plan;
use crate::wire::sse::SseParser;
use crate::wire::StreamTranslator;

/// One try of one candidate.
#[derive(Debug)]
pub struct Attempt {
    pub model: Arc<Model>,
    pub started: Instant,
    /// Upstream status, once headers arrived.
    pub status: Option<u16>,
    /// Time to the upstream's response headers.
    pub headers_after: Option<Duration>,
    /// Why this attempt failed, if it did.
    pub error: Option<String>,
    /// Time from the start of the attempt to its end (last body byte or failure).
    pub duration: Option<Duration>,
    /// What the provider's schema could not carry.
    pub lossy: Vec<String>,
    /// The provider's `Retry-After` on a 429/503, in seconds.
    pub retry_after: Option<u64>,
}

/// How the response body is being handled.
pub enum Answer {
    /// Nothing proxied (yet).
    None,
    /// A non-streaming answer, collected to the end and rewritten whole.
    Json { buf: Vec<u8> },
    /// A stream, translated event by event.
    Stream(Box<StreamState>),
    /// The provider's error answer, collected and rendered in our error shape.
    UpstreamError {
        upstream_status: u16,
        buf: Vec<u8>,
        retry_after: Option<u64>,
        /// The client already got a stream's headers (after a first-event fallback): the error goes
        /// in-band.
        in_stream: bool,
    },
}

/// A stream's translation state: the line buffer and the translator.
pub struct StreamState {
    pub parser: SseParser,
    pub translator: Box<dyn StreamTranslator>,
}

pub struct Ctx {
    pub snap: Arc<Snapshot>,
    pub started: Instant,
    pub ex: Exchange,
    /// The schema the client speaks.
    pub schema: Schema,
    /// The client's request body, for same-schema pass-through.
    pub body: Bytes,
    pub route: Option<Route>,
    pub attempts: Vec<Attempt>,
    /// The current attempt's upstream path, extra headers and body, and how its answer is handled.
    pub upstream_path: String,
    pub upstream_headers: Vec<(&'static str, String)>,
    /// Client headers a same-schema provider should see (Anthropic's `anthropic-beta`).
    pub forwarded_headers: Vec<(&'static str, String)>,
    pub upstream_body: Bytes,
    pub plan: Option<Plan>,
    pub answer: Answer,
    /// The failure to report, when the request failed.
    pub error: Option<GatewayError>,
    /// The status the client got.
    pub status: u16,
    pub usage: Option<Usage>,
    pub cost: Option<Money>,
    pub first_byte: Option<Instant>,
    /// The answering stream broke after it started.
    pub truncated: bool,
    /// Body bytes went to the client: from here on nothing may be retried.
    pub body_sent: bool,
    /// Body bytes produced for the client so far.
    pub bytes_out: usize,
    /// `x-jt-no-fallback: true`.
    pub no_fallback: bool,
    pub counted_in_flight: bool,
}

impl Ctx {
    pub fn new(snap: Arc<Snapshot>) -> Self {
        Ctx {
            snap,
            started: Instant::now(),
            ex: Exchange::new(String::new(), Endpoint::Health),
            schema: Schema::OpenAiChat,
            body: Bytes::new(),
            route: None,
            attempts: Vec::new(),
            upstream_path: String::new(),
            upstream_headers: Vec::new(),
            forwarded_headers: Vec::new(),
            upstream_body: Bytes::new(),
            plan: None,
            answer: Answer::None,
            error: None,
            status: 0,
            usage: None,
            cost: None,
            first_byte: None,
            truncated: false,
            body_sent: false,
            bytes_out: 0,
            no_fallback: false,
            counted_in_flight: false,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.ex.request_id
    }

    /// The candidate the next attempt should use, if any remain.
    pub fn next_candidate(&self) -> Option<&Arc<Model>> {
        let route = self.route.as_ref()?;
        route.candidates.get(self.attempts.len())
    }

    /// Whether another candidate remains after the current attempt, within the attempt cap.
    pub fn can_fall_back(&self) -> bool {
        self.attempts.len() < self.snap.server.max_attempts && self.next_candidate().is_some()
    }

    pub fn current_model(&self) -> Option<&Arc<Model>> {
        self.attempts.last().map(|a| &a.model)
    }

    /// The attempts, for the `router` object and the error of an exhausted chain.
    pub fn attempts_json(&self) -> serde_json::Value {
        let views: Vec<AttemptView> = self.attempts.iter().map(AttemptView::from).collect();
        serde_json::to_value(views).unwrap_or_default()
    }

    /// Time spent waiting on upstreams, summed over attempts.
    pub fn upstream_time(&self) -> Duration {
        self.attempts.iter().filter_map(|a| a.duration).sum()
    }
}
