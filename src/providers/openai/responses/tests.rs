//! Unit tests of the Responses pass-through: answers and streams edited in place.

use serde_json::json;
use switchyard_sdk::Money;

use super::*;
use crate::wire::sse::SseParser;

struct Fin;
impl Finalizer for Fin {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        (json!({"r": 1}), usage.map(|u| Money(u.input_tokens * 1_000_000)))
    }
}

#[test]
fn response_gets_model_cost_router() {
    let body = br#"{"id":"resp_1","object":"response","model":"gpt-5-2026","output":[{"type":"web_search_call","id":"ws_1","status":"completed"}],"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":1},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":5}}"#;
    let out = rewrite_response(body, "openai/gpt-5", &mut Fin).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"], "openai/gpt-5");
    assert_eq!(v["usage"]["cost"], json!(0.000003));
    assert_eq!(v["router"]["r"], 1);
    assert_eq!(v["output"][0]["type"], "web_search_call");
    assert!(rewrite_response(br#"{"id":"x"}"#, "m", &mut Fin).is_err());
}

#[test]
fn stream_edits_response_objects_only() {
    let stream = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5-2026\",\"output\":[]}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"hi\"}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5-2026\",\"output\":[],\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n",
    );
    let mut t = PassthroughStream::new("openai/gpt-5".into());
    let mut p = SseParser::new(1 << 20);
    let mut out = Vec::new();
    p.push(stream.as_bytes(), |e| t.event(&e, &mut out, &mut Fin)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events[0]["response"]["model"], "openai/gpt-5");
    assert_eq!(events[1]["delta"], "hi");
    assert_eq!(events[2]["response"]["usage"]["cost"], json!(0.000004));
    assert_eq!(events[2]["response"]["router"]["r"], 1);
    assert!(text.contains("event: response.completed\n"));
    assert_eq!(t.usage().map(|u| u.input_tokens), Some(4));
    assert!(t.end(&mut Vec::new(), &mut Fin).is_ok());
}

#[test]
fn failed_stream_is_a_provider_error() {
    let mut t = PassthroughStream::new("m".into());
    let mut p = SseParser::new(1 << 20);
    let mut out = Vec::new();
    let s = "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n";
    p.push(s.as_bytes(), |e| t.event(&e, &mut out, &mut Fin)).unwrap();
    assert_eq!(t.failure(), Some("boom"));
    assert_eq!(
        t.end(&mut Vec::new(), &mut Fin),
        Err(Incomplete::ProviderError("boom".into()))
    );
}
