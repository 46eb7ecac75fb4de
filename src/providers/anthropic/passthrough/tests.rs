//! Unit tests of the Messages pass-through: answers and streams edited in place (the request side,
//! which needs the client codec, is tested in `translate`).

use super::*;
use crate::wire::sse::SseParser;
use crate::wire::testing::{accumulate, Fin};

#[test]
fn response_gets_model_cost_router() {
    let body = include_bytes!("../../../../tests/fixtures/anthropic/response_tool_use.json");
    let mut fin = Fin(0);
    let out = rewrite_response(body, "anthropic/claude-sonnet-4", &mut fin).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let orig: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["model"], "anthropic/claude-sonnet-4");
    assert_eq!(v["content"], orig["content"]);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 2048);
    assert_eq!(
        v["usage"]["cost"], 0.000065,
        "Fin prices output tokens at a micro-dollar"
    );
    assert_eq!((v["router"]["calls"].as_u64(), fin.0), (Some(1), 1));
    assert!(rewrite_response(b"<html>", "m", &mut Fin(0)).is_err());
    let err = include_bytes!("../../../../tests/fixtures/anthropic/error_overloaded.json");
    assert!(rewrite_response(err, "m", &mut Fin(0)).is_err());
}

fn run(stream: &[u8], split: usize) -> (Vec<u8>, Result<(), Incomplete>, u32, Option<Usage>) {
    let mut t = PassthroughStream::new("anthropic/claude".into());
    let mut p = SseParser::new(1 << 20);
    let mut out = Vec::new();
    let mut fin = Fin(0);
    for chunk in [&stream[..split], &stream[split..]] {
        p.push(chunk, |e| t.event(&e, &mut out, &mut fin)).unwrap();
    }
    let end = t.end(&mut out, &mut fin);
    (out, end, fin.0, t.usage())
}

fn events(sse: &[u8]) -> Vec<SseEvent> {
    let mut evs = Vec::new();
    SseParser::new(1 << 20).push(sse, |e| evs.push(e)).unwrap();
    evs
}

#[test]
fn stream_is_forwarded_with_model_cost_and_router() {
    let stream = include_bytes!("../../../../tests/fixtures/anthropic/stream_thinking.sse");
    let (whole, end, calls, usage) = run(stream, 0);
    assert_eq!((end, calls), (Ok(()), 1));
    assert_eq!(
        usage.map(|u| (u.input_tokens, u.cached_input_tokens, u.output_tokens)),
        Some((2128, 2000, 106))
    );
    let (ours, theirs) = (events(&whole), events(stream));
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        match a.event.as_deref() {
            Some("message_start" | "message_delta" | "message_stop") => {}
            _ => assert_eq!(a, b, "content events pass byte for byte"),
        }
    }
    let (msg, router) = accumulate(&whole);
    assert_eq!(msg["model"], "anthropic/claude");
    assert_eq!(msg["usage"]["cost"], 0.000106);
    assert_eq!(router["calls"], 1);
    assert_eq!(
        msg["content"][0]["signature"],
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds=="
    );
    for split in 0..=stream.len() {
        assert_eq!(run(stream, split).0, whole, "split at {split}");
    }
}

#[test]
fn errors_and_truncation_are_reported_at_the_end() {
    let (out, end, _, usage) = run(
        include_bytes!("../../../../tests/fixtures/anthropic/stream_error.sse"),
        0,
    );
    assert_eq!(
        end,
        Err(Incomplete::ProviderError("overloaded_error: Overloaded".into()))
    );
    assert!(
        !String::from_utf8(out).unwrap().contains("event: error"),
        "the proxy writes the one error event"
    );
    assert_eq!(usage.map(|u| u.input_tokens), Some(42), "the prompt is still billed");
    let (_, end, calls, _) = run(
        include_bytes!("../../../../tests/fixtures/anthropic/stream_truncated.sse"),
        0,
    );
    assert_eq!((end, calls), (Err(Incomplete::Truncated), 0));
}
