//! The durable state's costs against the issue's budgets: exporting 10,000 log rows (≤ 1 s, as CSV and
//! as JSON, query included), a response-cache hit (≤ 0.1 ms added at p50: the cache phase's lookup and
//! the rendering of the stored answer in the client's schema, which is what a hit adds over answering),
//! and what the request path pays per request for the log (one row built and sent down the channel).
//!
//! `cargo bench --bench store` prints criterion's estimates, then a table of percentiles from
//! individually timed calls. Numbers, never assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench that cannot run should stop loudly

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::Value;
use switchyard::api::{codec, Schema};
use switchyard::store::export::{self, LogQuery};
use switchyard::store::{self, LogRow, LogSink, Settings};
use switchyard::wire::Finalizer;
use switchyard_sdk::ir::{ChatRequest, Message, Role, Usage};
use switchyard_sdk::{BuildEnv, Decision, Endpoint, Exchange, Identity, Money, Plugin, PluginState};

fn row(i: usize) -> LogRow {
    LogRow {
        id: format!("req_{i:016x}"),
        at_ms: store::now_ms() - i as i64,
        key_name: Some("bench-key".into()),
        workspace: Some(if i % 2 == 0 { "team-a" } else { "team-b" }.into()),
        endpoint: "chat_completions",
        client_schema: "chat",
        requested_model: Some("auto".into()),
        mode: Some("balanced"),
        task: Some("code"),
        tier: Some("MEDIUM"),
        reason: Some("best balanced score: quality 0.82 (code), $0.0004 estimated, 320 ms expected".into()),
        status: 200,
        latency_ms: 412.5,
        ttft_ms: Some(120.0),
        usage: Usage {
            input_tokens: 1200,
            cached_input_tokens: 200,
            output_tokens: 350,
            ..Usage::default()
        },
        cost: Some(Money(1_234_567_000)),
        cost_basis: "actual",
        stream: true,
        ..LogRow::default()
    }
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct NoRouter;

impl Finalizer for NoRouter {
    fn finish(&mut self, _u: Option<Usage>) -> (Value, Option<Money>) {
        (serde_json::json!({"cached": true}), Some(Money::ZERO))
    }
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3));
    let st = store::open(&Settings::memory()).unwrap();
    for i in 0..20_000 {
        assert!(st.record(row(i)));
    }
    assert!(st.flush(Duration::from_secs(60)));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let export_once = |csv: bool| {
        let q = LogQuery {
            workspace: Some("team-a".into()),
            limit: 10_000,
            ..LogQuery::default()
        };
        let (rows, next) = rt
            .block_on(
                st.call(move |conn| export::query(conn, &q).map_err(|e| switchyard_sdk::StoreError(e.to_string()))),
            )
            .unwrap();
        assert_eq!(rows.len(), 10_000);
        if csv {
            export::to_csv(&rows).unwrap().len()
        } else {
            export::to_json(&rows, next, false).unwrap().len()
        }
    };
    c.bench_function("export 10k rows as CSV", |b| b.iter(|| black_box(export_once(true))));
    c.bench_function("export 10k rows as JSON", |b| b.iter(|| black_box(export_once(false))));

    // The cache phase, built as the registry builds it, with one stored answer.
    let plugin = switchyard_cache::CachePlugin;
    let state = PluginState::new();
    let env = BuildEnv::new(&state, std::path::Path::new("."));
    let phase = plugin.build(Some(&serde_json::json!({})), &env).unwrap().unwrap();
    let head = http::Request::builder()
        .header("X-GR-Cache-TTL", "600")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let request = ChatRequest {
        model: "auto".into(),
        messages: vec![
            Message::text(Role::System, "You are a helpful assistant.".repeat(4)),
            Message::text(
                Role::User,
                "Explain the difference between a mutex and a semaphore. ".repeat(8),
            ),
        ],
        temperature: Some(0.7),
        ..Default::default()
    };
    let exchange = || {
        let mut ex = Exchange::new("req".into(), Endpoint::ChatCompletions);
        ex.identity = Some(Identity {
            key_id: "k".into(),
            key_name: "k".into(),
            workspace: "team-a".into(),
            test_key: false,
            scopes: Default::default(),
            limits: Default::default(),
        });
        ex.set_request(request.clone());
        ex
    };
    let answer = switchyard_sdk::ir::ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt".into(),
        parts: vec![switchyard_sdk::ir::OutPart::Text(
            "A mutex is owned; a semaphore counts. ".repeat(20),
        )],
        usage: Some(Usage {
            input_tokens: 300,
            output_tokens: 200,
            ..Usage::default()
        }),
        ..Default::default()
    };
    {
        let mut ex = exchange();
        phase.on_headers(&head, &mut ex);
        assert!(matches!(phase.on_request(&head, &mut ex), Decision::Continue));
        let outcome = switchyard_sdk::Outcome {
            status: 200,
            model: Some("p/m"),
            answer: Some(&answer),
            router: Some(br#"{"model":"p/m","mode":"balanced"}"#),
            ..Default::default()
        };
        phase.on_complete(&ex, &outcome);
    }
    let hit = |ex: &mut Exchange| {
        phase.on_headers(&head, ex);
        let Decision::Answer(a) = phase.on_request(&head, ex) else {
            panic!("expected a hit")
        };
        codec(Schema::OpenAiChat).render_response(&a.response, ex.request(), &a.model, &mut NoRouter)
    };
    c.bench_function("cache hit: lookup and render", |b| {
        b.iter_batched(
            exchange,
            |mut ex| black_box(hit(&mut ex)),
            criterion::BatchSize::SmallInput,
        )
    });

    // The log's cost on the request path: a row built and queued.
    let sink: Arc<dyn LogSink> = st.clone();
    c.bench_function("log row queued", |b| b.iter(|| black_box(sink.record(row(7)))));
    c.final_summary();

    println!("\nindividually timed calls:");
    let time = |n: usize, mut f: Box<dyn FnMut()>| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect()
    };
    let csv = time(
        10,
        Box::new(|| {
            black_box(export_once(true));
        }),
    );
    let json = time(
        10,
        Box::new(|| {
            black_box(export_once(false));
        }),
    );
    let hits = time(
        2000,
        Box::new(|| {
            let mut ex = exchange();
            black_box(hit(&mut ex));
        }),
    );
    let rows = time(
        20_000,
        Box::new(|| {
            black_box(sink.record(row(9)));
        }),
    );
    println!("{:<36} {:>12} {:>12} {:>12}", "", "p50", "p99", "budget");
    println!(
        "{:<36} {:>10.1}ms {:>10.1}ms {:>12}",
        "export 10k rows, CSV",
        pct(csv.clone(), 0.5) / 1e3,
        pct(csv, 0.99) / 1e3,
        "1000 ms"
    );
    println!(
        "{:<36} {:>10.1}ms {:>10.1}ms {:>12}",
        "export 10k rows, JSON",
        pct(json.clone(), 0.5) / 1e3,
        pct(json, 0.99) / 1e3,
        "1000 ms"
    );
    println!(
        "{:<36} {:>10.1}µs {:>10.1}µs {:>12}",
        "cache hit (lookup + render)",
        pct(hits.clone(), 0.5),
        pct(hits, 0.99),
        "100 µs p50"
    );
    println!(
        "{:<36} {:>10.2}µs {:>10.2}µs {:>12}",
        "log row built and queued",
        pct(rows.clone(), 0.5),
        pct(rows, 0.99),
        ""
    );
    println!(
        "(the timed loops above outrun the writer on purpose: {} rows were dropped at the full queue, the cheap path)",
        st.dropped()
    );

    // How many rows per second one writer commits to a file database (WAL, synchronous NORMAL), in
    // batches as they come: the request rate the log keeps up with before rows are dropped.
    let dir = tempfile::tempdir().unwrap();
    for batch_max in [256, 1024, 4096] {
        let file = store::open(&Settings {
            location: store::Location::File(dir.path().join(format!("w{batch_max}.db"))),
            queue_capacity: 1_000_000,
            batch_max,
            ..Settings::memory()
        })
        .unwrap();
        let n = 200_000;
        let t = Instant::now();
        for i in 0..n {
            assert!(file.record(row(i)));
        }
        let queued = t.elapsed();
        assert!(file.flush(Duration::from_secs(300)));
        let all = t.elapsed();
        println!(
            "writer, file database, batch_max {batch_max}: {n} rows committed in {:.2} s = {:.0} rows/s (queueing them took {:.0} ms)",
            all.as_secs_f64(),
            n as f64 / all.as_secs_f64(),
            queued.as_secs_f64() * 1e3
        );
    }
}
