//! Per-request state, data only, in named parts: the snapshot; the exchange the phases share (who
//! is calling, the canonical request, the trace); the raw request facts; the decision (route,
//! composed endpoint, answer hooks); one record per upstream attempt; and the answer (its
//! translation, status, usage, cost and timing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchyard_sdk::ir::{ChatResponse, Usage};
use switchyard_sdk::{Endpoint, Exchange, Money};

use super::router_meta::AttemptView;
use crate::api::Schema;
use crate::config::{Model, Snapshot};
use crate::endpoints::compose::Composer;
use crate::error::GatewayError;
use crate::phases::{AnswerHooks, StreamHooks};
use crate::providers::StreamDecoder;
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
    /// The provider could not be reached or did not answer in time (not an error answer).
    pub unreachable: bool,
}

/// The raw facts of the client's request, besides what the phases see in the exchange.
pub struct RequestFacts {
    /// The schema the client speaks.
    pub schema: Schema,
    /// The client's request body, for same-schema pass-through.
    pub body: Bytes,
    /// `x-jt-no-fallback: true`.
    pub no_fallback: bool,
    /// Client headers a same-schema provider should see (Anthropic's `anthropic-beta`).
    pub forwarded_headers: Vec<(&'static str, String)>,
    /// This request is counted in the in-flight gauge.
    pub counted_in_flight: bool,
    /// This request's share of the request bytes the gateway holds.
    pub body_budget: super::body::BodyBudget,
    /// Provider keys the client brought (never logged, never stored).
    pub byok: super::byok::ProviderKeys,
}

/// What was decided about the request before it went upstream.
#[derive(Default)]
pub struct DecisionState {
    pub route: Option<Route>,
    /// A composed endpoint's own request and answer (auto/route, models/route, images).
    pub composer: Option<Box<dyn Composer>>,
    /// The phases watching the answer.
    pub hooks: AnswerHooks,
    /// The phase that answered in the gateway's place.
    pub answered_by: Option<&'static str>,
    /// This request holds an `Idempotency-Key`: its answer is captured for repeats.
    pub idempotency: Option<super::idempotency::Claim>,
}

/// The current attempt's upstream request.
#[derive(Default)]
pub struct Upstream {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    pub plan: Option<Plan>,
}

/// How the response body is being handled.
pub enum Answer {
    /// Nothing proxied (yet).
    None,
    /// A non-streaming answer, collected to the end and rewritten whole.
    Json { buf: Vec<u8> },
    /// A stream, translated event by event.
    Stream(Box<StreamState>),
    /// A stream decoded into canonical events for the phases watching it, then encoded for the client.
    Hooked(Box<HookedStream>),
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

/// A stream the phases watch: provider events → canonical events → the phases' text hooks → the
/// client's encoder.
pub struct HookedStream {
    pub parser: SseParser,
    pub decoder: Box<dyn StreamDecoder>,
    pub encoder: Box<dyn crate::api::StreamEncoder>,
    pub hooks: StreamHooks,
    pub usage: Option<Usage>,
    pub finished: bool,
    pub failure: Option<String>,
    /// The answer assembled from the events, when a phase asked the core to collect it.
    pub collected: Option<ChatResponse>,
}

/// The answer's state and what it came to.
pub struct AnswerState {
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
    /// The whole canonical answer, when a phase asked for it (`Outcome::answer`).
    pub collected: Option<ChatResponse>,
    /// The `router` object the client got, serialized, when a phase asked the core to collect.
    pub router: Option<Vec<u8>>,
}

pub struct Ctx {
    pub snap: Arc<Snapshot>,
    pub started: Instant,
    /// What the phases see and share.
    pub ex: Exchange,
    pub request: RequestFacts,
    pub decision: DecisionState,
    pub attempts: Vec<Attempt>,
    pub upstream: Upstream,
    pub answer: AnswerState,
}

impl Ctx {
    pub fn new(snap: Arc<Snapshot>) -> Self {
        let mut ex = Exchange::new(String::new(), Endpoint::Unknown);
        ex.classifier = Some(snap.classifier.clone());
        Ctx {
            snap,
            started: Instant::now(),
            ex,
            request: RequestFacts {
                schema: Schema::OpenAiChat,
                body: Bytes::new(),
                no_fallback: false,
                forwarded_headers: Vec::new(),
                counted_in_flight: false,
                body_budget: Default::default(),
                byok: Default::default(),
            },
            decision: DecisionState::default(),
            attempts: Vec::new(),
            upstream: Upstream::default(),
            answer: AnswerState {
                answer: Answer::None,
                error: None,
                status: 0,
                usage: None,
                cost: None,
                first_byte: None,
                truncated: false,
                body_sent: false,
                bytes_out: 0,
                collected: None,
                router: None,
            },
        }
    }

    pub fn request_id(&self) -> &str {
        &self.ex.request_id
    }

    /// The client asked for a stream.
    pub fn streaming(&self) -> bool {
        self.ex.request().is_some_and(|r| r.stream)
    }

    /// The candidate the next attempt should use, if any remain.
    pub fn next_candidate(&self) -> Option<&Arc<Model>> {
        let route = self.decision.route.as_ref()?;
        route.candidates.get(self.attempts.len())
    }

    /// Whether another candidate remains after the current attempt, within the attempt cap.
    pub fn can_fall_back(&self) -> bool {
        self.attempts.len() < self.snap.server.max_attempts && self.next_candidate().is_some()
    }

    pub fn current_model(&self) -> Option<&Arc<Model>> {
        self.attempts.last().map(|a| &a.model)
    }

    /// The provider of the current attempt ("" before the first).
    pub fn provider_name(&self) -> &str {
        self.current_model().map_or("", |m| &m.provider.name)
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
