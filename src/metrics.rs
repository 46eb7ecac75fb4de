//! Prometheus metrics, served as text on the admin listener. Labels stay low-cardinality: endpoint,
//! catalog model id, provider name and status code; never keys, workspaces or request ids.

use std::sync::LazyLock;

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub upstream_latency: HistogramVec,
    pub ttft: HistogramVec,
    pub tokens: IntCounterVec,
    pub spend_nanodollars: IntCounterVec,
    pub in_flight: IntGauge,
    pub fallbacks: IntCounterVec,
    pub attempts: IntCounterVec,
    pub overhead: Histogram,
    pub stream_truncated: IntCounterVec,
    pub config_reloads: IntCounterVec,
    pub log_lines_dropped: IntGauge,
    pub firewall_actions: IntCounterVec,
    pub client_connections: IntGauge,
    pub client_refused: IntCounterVec,
    pub phase_answers: IntCounterVec,
    pub session_entries: IntGauge,
    pub auth_throttled: IntCounterVec,
    pub log_lines_sampled_out: IntCounterVec,
    pub admin_refused: IntCounterVec,
    pub body_bytes_in_flight: IntGauge,
    pub billed_extras: IntCounterVec,
    pub limits_refused: IntCounterVec,
    pub byok_requests: IntCounterVec,
    pub store_queue_depth: IntGauge,
    pub store_dropped: IntCounterVec,
    pub store_written: IntCounterVec,
    pub store_errors: IntCounterVec,
    pub store_retention_deleted: prometheus::IntCounter,
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).unwrap_or_else(|e| unreachable_metric(name, e));
    let _ = r.register(Box::new(g.clone()));
    g
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| unreachable_metric(name, e));
    let _ = r.register(Box::new(c.clone()));
    c
}

fn histogram(r: &Registry, name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| unreachable_metric(name, e));
    let _ = r.register(Box::new(h.clone()));
    h
}

/// Metric definitions are static and valid; a failure here is a programming error caught by tests.
#[allow(clippy::panic)]
fn unreachable_metric<T>(name: &str, e: prometheus::Error) -> T {
    panic!("invalid metric definition {name}: {e}")
}

impl Metrics {
    fn new() -> Self {
        let r =
            Registry::new_custom(Some("switchyard".into()), None).unwrap_or_else(|e| unreachable_metric("registry", e));
        // 1 ms .. ~65 s
        let latency = exponential_buckets(0.001, 2.0, 17).unwrap_or_default();
        // 10 µs .. ~40 ms: the gateway's own time
        let overhead_buckets = exponential_buckets(0.000_01, 2.0, 13).unwrap_or_default();
        let overhead = Histogram::with_opts(
            HistogramOpts::new(
                "overhead_seconds",
                "Time spent in Switchyard itself per request: total time minus time waiting on upstreams",
            )
            .buckets(overhead_buckets),
        )
        .unwrap_or_else(|e| unreachable_metric("overhead_seconds", e));
        let _ = r.register(Box::new(overhead.clone()));
        let in_flight = IntGauge::new("in_flight_requests", "Requests being handled now")
            .unwrap_or_else(|e| unreachable_metric("in_flight", e));
        let _ = r.register(Box::new(in_flight.clone()));
        let dropped = IntGauge::new(
            "log_lines_dropped",
            "Access-log lines dropped because the log writer fell behind",
        )
        .unwrap_or_else(|e| unreachable_metric("log_lines_dropped", e));
        let _ = r.register(Box::new(dropped.clone()));
        let store_queue_depth = gauge(
            &r,
            "store_queue_depth",
            "Log rows and cache entries waiting for the store's writer",
        );
        let store_retention_deleted = prometheus::IntCounter::new(
            "store_retention_deleted_total",
            "Rows and entries the store's retention and expiry removed",
        )
        .unwrap_or_else(|e| unreachable_metric("store_retention_deleted_total", e));
        let _ = r.register(Box::new(store_retention_deleted.clone()));
        Metrics {
            store_queue_depth,
            store_retention_deleted,
            store_dropped: counter(
                &r,
                "store_dropped_total",
                "Writes dropped because the store's queue was full, by kind (log, kv)",
                &["kind"],
            ),
            store_written: counter(
                &r,
                "store_written_total",
                "Writes committed by the store's writer, by kind (log, kv, ledger, feedback)",
                &["kind"],
            ),
            store_errors: counter(
                &r,
                "store_errors_total",
                "Store writes that failed, by kind or step (begin, commit)",
                &["kind"],
            ),
            client_connections: {
                let g = IntGauge::new("client_connections", "Open client connections")
                    .unwrap_or_else(|e| unreachable_metric("client_connections", e));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            client_refused: counter(
                &r,
                "client_refused_total",
                "Client connections or requests refused before reaching the proxy, by reason",
                &["reason"],
            ),
            firewall_actions: counter(
                &r,
                "firewall_actions_total",
                "Firewall actions applied, by policy and action (block, mask, warn)",
                &["policy", "action"],
            ),
            phase_answers: counter(
                &r,
                "phase_answers_total",
                "Requests answered by a phase in the gateway's place (cache hits, replays)",
                &["phase"],
            ),
            requests: counter(
                &r,
                "requests_total",
                "Requests by endpoint, model, provider and final status",
                &["endpoint", "model", "provider", "status"],
            ),
            request_duration: histogram(
                &r,
                "request_duration_seconds",
                "Whole-request latency as the client saw it",
                &["endpoint"],
                latency.clone(),
            ),
            upstream_latency: histogram(
                &r,
                "upstream_latency_seconds",
                "Time from sending to an upstream until its response headers",
                &["provider"],
                latency.clone(),
            ),
            ttft: histogram(
                &r,
                "time_to_first_token_seconds",
                "Time from request start to the first streamed body byte",
                &["provider", "model"],
                latency,
            ),
            tokens: counter(
                &r,
                "tokens_total",
                "Tokens by model and kind (input, cached_input, output, reasoning)",
                &["model", "kind"],
            ),
            spend_nanodollars: counter(
                &r,
                "spend_nanodollars_total",
                "Spend in nano-dollars, billed to the model that answered",
                &["model"],
            ),
            in_flight,
            fallbacks: counter(
                &r,
                "fallbacks_total",
                "Attempts abandoned for the next candidate, by provider and reason",
                &["provider", "reason"],
            ),
            attempts: counter(
                &r,
                "upstream_attempts_total",
                "Upstream attempts by provider and outcome",
                &["provider", "outcome"],
            ),
            overhead,
            stream_truncated: counter(
                &r,
                "streams_truncated_total",
                "Streams that broke after they started",
                &["provider"],
            ),
            config_reloads: counter(
                &r,
                "config_reloads_total",
                "Configuration reloads by result",
                &["result"],
            ),
            log_lines_dropped: dropped,
            session_entries: gauge(&r, "session_entries", "Sessions kept on the model that served them"),
            auth_throttled: counter(
                &r,
                "auth_throttled_total",
                "Requests refused (429) because their address failed authentication too often, by \
                 what happened (throttled: an address went over the limit; refused: a request refused \
                 while it was)",
                &["event"],
            ),
            log_lines_sampled_out: counter(
                &r,
                "access_log_sampled_out_total",
                "Access-log lines not written because their kind is sampled (failed authentication), by status",
                &["status"],
            ),
            admin_refused: counter(
                &r,
                "admin_refused_total",
                "Admin-listener requests refused, by reason (token, origin, host, reload_rate)",
                &["reason"],
            ),
            body_bytes_in_flight: gauge(
                &r,
                "request_body_bytes_in_flight",
                "Bytes of request bodies held by requests in flight (bounded by server.max_body_bytes_in_flight)",
            ),
            billed_extras: counter(
                &r,
                "billed_extras_total",
                "Requests passing on a feature billed outside token pricing, by feature",
                &["feature"],
            ),
            limits_refused: counter(
                &r,
                "limits_refused_total",
                "Requests refused by a limit, by code (rate_limited, concurrency_limited, cost_cap_reached, \
                 insufficient_balance, byok_not_allowed)",
                &["code"],
            ),
            byok_requests: counter(
                &r,
                "byok_requests_total",
                "Requests whose chosen provider used a key the caller brought, by provider",
                &["provider"],
            ),
            registry: r,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

pub fn m() -> &'static Metrics {
    &METRICS
}

/// The log writer, whose dropped lines are reported at each scrape.
pub static LOG_WRITER: std::sync::OnceLock<crate::logwriter::BatchWriter> = std::sync::OnceLock::new();

/// The store, whose queue depth is reported at each scrape.
pub static STORE: std::sync::OnceLock<std::sync::Arc<crate::store::Store>> = std::sync::OnceLock::new();

pub fn refresh_gauges() {
    if let Some(w) = LOG_WRITER.get() {
        m().log_lines_dropped.set(w.dropped() as i64);
    }
    m().body_bytes_in_flight
        .set(i64::try_from(crate::proxy::body::bytes_in_flight()).unwrap_or(i64::MAX));
    if let Some(s) = STORE.get() {
        m().store_queue_depth
            .set(i64::try_from(s.queue_depth()).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_all_families() {
        let m = super::m();
        m.requests
            .with_label_values(&["chat_completions", "sim/fast", "sim", "200"])
            .inc();
        m.overhead.observe(0.0001);
        let text = String::from_utf8(m.render()).unwrap();
        assert!(text.contains("switchyard_requests_total{endpoint=\"chat_completions\",model=\"sim/fast\",provider=\"sim\",status=\"200\"} 1"));
        assert!(text.contains("switchyard_overhead_seconds_bucket"));
    }
}
