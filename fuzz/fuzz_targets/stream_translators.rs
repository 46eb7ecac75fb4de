//! Arbitrary bytes as an upstream SSE stream through every stream plan (each client schema × each
//! provider kind, and both pass-throughs), driven like the proxy drives them: events as parsed, then
//! `end`, and `fail` when the stream broke. No panic; the output is whole SSE events whose payloads
//! are JSON objects (or `[DONE]`, or an upstream payload forwarded verbatim); chunking changes nothing but ids and timestamps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchyard::translate::stream_translator;
use switchyard::wire::sse::{SseEvent, SseParser};
use switchyard::wire::StreamTranslator;
use switchyard_fuzz::{check_sse, chunks, plans, seed, Fin, Verbatim};
use switchyard_sdk::ir::ChatRequest;

/// Feed `parts`; `cut` stops early and fails the stream as a read timeout would.
fn run(t: &mut dyn StreamTranslator, fin: &mut Fin, parts: &[&[u8]], limit: usize, cut: Option<usize>) -> Vec<u8> {
    let mut p = SseParser::new(limit);
    let mut out = Vec::new();
    let error = json!({"error": {"message": "upstream broke", "type": "upstream_error", "code": "upstream_unreachable"}});
    for (i, c) in parts.iter().enumerate() {
        if cut == Some(i) {
            t.fail(&error, &mut out);
            return out;
        }
        if p.push(c, |e| t.event(&e, &mut out, fin)).is_err() {
            let _ = t.end(&mut out, fin);
            t.fail(&error, &mut out);
            return out;
        }
    }
    if t.end(&mut out, fin).is_err() {
        t.fail(&error, &mut out);
    }
    out
}

fn shape(out: &[u8]) -> Vec<&[u8]> {
    out.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"event: ") || l.starts_with(b"data: [DONE]") || l.starts_with(b"data: "))
        .map(|l| if l.starts_with(b"data: ") && l != b"data: [DONE]" { &l[..5] } else { l })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let s = seed(data);
    let mut upstream: Vec<SseEvent> = Vec::new();
    let _ = SseParser::new(usize::MAX / 2).push(data, |e| upstream.push(e));
    let verbatim = Verbatim {
        data: upstream.iter().map(|e| e.data.as_str()).collect(),
        names: upstream.iter().filter_map(|e| e.event.as_deref()).collect(),
    };
    let req = ChatRequest {
        model: "fuzz".into(),
        stream: true,
        stream_include_usage: s & 1 == 1,
        ..Default::default()
    };
    let parts = chunks(data, s, 256);
    let cut = (s >> 8) as usize % (parts.len() + 1);
    for (plan, model, name) in plans() {
        let mut fin = Fin { model, calls: 0 };
        let whole = run(&mut *stream_translator(plan, &req, model), &mut fin, &[data], 4 << 20, None);
        if let Err(e) = check_sse(&whole, &verbatim) {
            panic!("{name}: {e}\n--- output ---\n{}", String::from_utf8_lossy(&whole));
        }
        let mut fin = Fin { model, calls: 0 };
        let chunked = run(&mut *stream_translator(plan, &req, model), &mut fin, &parts, 4 << 20, None);
        // Ids and timestamps are fresh per answer: compare the events' names and count.
        assert!(shape(&chunked) == shape(&whole), "{name}: chunking changed the output");
        for (limit, cut) in [(4 << 20, Some(cut)), (64 + (s >> 40) as usize % 512, None)] {
            let mut fin = Fin { model, calls: 0 };
            let out = run(&mut *stream_translator(plan, &req, model), &mut fin, &parts, limit, cut);
            if let Err(e) = check_sse(&out, &verbatim) {
                panic!("{name} (limit {limit}, cut {cut:?}): {e}\n--- output ---\n{}", String::from_utf8_lossy(&out));
            }
        }
    }
});
