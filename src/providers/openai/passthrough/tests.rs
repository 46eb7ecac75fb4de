//! Unit tests of the OpenAI chat pass-through: answers and streams edited in place (the request side,
//! which needs the client codec, is tested in `translate`).

use serde_json::json;
use switchyard_sdk::Money;

use super::*;
use crate::wire::sse::SseParser;

struct Fin(u32);
impl Finalizer for Fin {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        self.0 += 1;
        (
            json!({"calls": self.0}),
            usage.map(|u| Money(u.input_tokens * 1_000_000)),
        )
    }
}

#[test]
fn response_gets_model_cost_router() {
    let body = br#"{"id":"c1","object":"chat.completion","model":"gpt-4o-2024","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}}"#;
    let out = rewrite_response(body, "openai/gpt-4o", &mut Fin(0)).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"], "openai/gpt-4o");
    assert_eq!(v["usage"]["cost"], json!(0.000003));
    assert_eq!(v["router"]["calls"], 1);
    assert!(rewrite_response(b"<html>", "m", &mut Fin(0)).is_err());
}

fn run(stream: &str, include_usage: bool) -> (Vec<Value>, bool) {
    let mut t = PassthroughStream::new("sim/fast".into(), include_usage);
    let mut p = SseParser::new(1 << 20);
    let mut out = Vec::new();
    let mut fin = Fin(0);
    p.push(stream.as_bytes(), |e| t.event(&e, &mut out, &mut fin)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let done = text.ends_with("data: [DONE]\n\n");
    let events = text
        .split("\n\n")
        .filter(|s| s.starts_with("data: {"))
        .map(|s| serde_json::from_str(&s[6..]).unwrap())
        .collect();
    (events, done)
}

const STREAM: &str = "data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
        data: {\"id\":\"c\",\"created\":1,\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n\
        data: [DONE]\n\n";

#[test]
fn stream_without_usage_request_folds_usage_into_finish_chunk() {
    let (ev, done) = run(STREAM, false);
    assert!(done);
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e["model"] == "sim/fast"));
    assert_eq!(ev[1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(ev[1]["usage"]["prompt_tokens"], 5);
    assert_eq!(ev[1]["router"]["calls"], 1);
}

#[test]
fn stream_with_usage_request_keeps_usage_chunk() {
    let (ev, done) = run(STREAM, true);
    assert!(done);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[2]["choices"], json!([]));
    assert_eq!(ev[2]["usage"]["cost"], json!(0.000005));
    assert_eq!(ev[2]["router"]["calls"], 1);
}

#[test]
fn stream_without_upstream_usage_still_ends_with_router() {
    let s =
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let (ev, done) = run(s, true);
    assert!(done);
    assert_eq!(ev.last().unwrap()["router"]["calls"], 1);
    assert!(ev.last().unwrap().get("usage").is_none());
}

#[test]
fn model_is_set_once_whatever_the_event_holds() {
    let s = concat!(
            "data: {\"id\":\"c\",\"created\":1,\"model\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":\"odd\"}\n\n",
            "data: {\"note\":\"\\\"model\\\":\\\"up\\\"\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n",
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
            "data: [DONE]\n\n",
        );
    let mut t = PassthroughStream::new("sim/fast".into(), false);
    let mut out = Vec::new();
    SseParser::new(1 << 20)
        .push(s.as_bytes(), |e| t.event(&e, &mut out, &mut Fin(0)))
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let events: Vec<&str> = text
        .split("\n\n")
        .filter(|e| e.starts_with("data: {"))
        .map(|e| &e[6..])
        .collect();
    assert_eq!(events.len(), 6, "{text}");
    for e in &events {
        assert_eq!(e.matches("\"model\":").count(), 1, "one top-level model in {e}");
        assert_eq!(serde_json::from_str::<Value>(e).unwrap()["model"], "sim/fast");
    }
    let v = |i: usize| serde_json::from_str::<Value>(events[i]).unwrap();
    assert_eq!(v(2)["choices"], "odd");
    assert_eq!(
        v(3)["note"],
        "\"model\":\"up\"",
        "the text inside a string is left alone"
    );
    // Two finish chunks: the first goes out as it came, the last one carries usage and router.
    assert_eq!(v(4)["choices"][0]["finish_reason"], "stop");
    assert!(v(4).get("router").is_none());
    assert_eq!(v(5)["choices"][0]["finish_reason"], "length");
    assert_eq!(v(5)["usage"]["prompt_tokens"], 5);
    assert_eq!(v(5)["usage"]["cost"], json!(0.000005));
    assert_eq!(v(5)["router"]["calls"], 1);
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn an_error_event_ends_the_stream_as_a_failure() {
    let s = "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n\
            data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n\
            data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n";
    let mut t = PassthroughStream::new("sim/fast".into(), true);
    let mut out = Vec::new();
    SseParser::new(1 << 20)
        .push(s.as_bytes(), |e| t.event(&e, &mut out, &mut Fin(0)))
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap().matches("data: ").count(),
        1,
        "nothing after the error"
    );
    assert_eq!(t.failure(), Some("overloaded"));
    assert!(matches!(t.end(&mut Vec::new(), &mut Fin(0)), Err(Incomplete::ProviderError(m)) if m == "overloaded"));
}
