//! Table-driven over the real-shaped payloads in `tests/fixtures/responses/`.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use serde_json::{json, Map};
use switchyard_sdk::ir::{
    FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent, ToolCall, ToolChoice, Usage,
};
use switchyard_sdk::Money;

use super::*;

const STRING_INPUT: &str = include_str!("../../../../tests/fixtures/responses/request_string_input.json");
const AGENT_TURN: &str = include_str!("../../../../tests/fixtures/responses/request_agent_turn.json");
const IMAGES: &str = include_str!("../../../../tests/fixtures/responses/request_images_and_files.json");
const STRUCTURED: &str = include_str!("../../../../tests/fixtures/responses/request_structured_output.json");
const BAD: &str = include_str!("../../../../tests/fixtures/responses/bad_requests.json");
const OPENAI_RESPONSE: &str = include_str!("../../../../tests/fixtures/responses/openai_response.json");
const OPENAI_STREAM: &str = include_str!("../../../../tests/fixtures/responses/openai_stream.sse");

/// Fields of OpenAI's objects the gateway does not model, so does not send.
const NOT_MODELLED: &[&str] = &[
    "prompt_cache_key",
    "safety_identifier",
    "service_tier",
    "top_logprobs",
    "verbosity",
    "obfuscation",
];

fn parse_ok(body: &str) -> ChatRequest {
    match ResponsesCodec.parse(body.as_bytes()) {
        Ok(p) => p.request,
        Err(e) => panic!("parse failed: {e} (param {:?})", e.param()),
    }
}

fn text(m: &Message) -> String {
    m.content
        .iter()
        .filter_map(|p| if let Part::Text(t) = p { Some(t.as_str()) } else { None })
        .collect()
}

struct Fin;
impl Finalizer for Fin {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        (
            json!({"model": "openai/gpt-4.1", "routing_mode": "quality"}),
            usage.map(|_| Money(2_500_000)),
        )
    }
}

/// Every key path of `reference` (object members, array elements merged) that `ours` lacks.
fn missing_keys(reference: &Value, ours: &Value, path: &str, acc: &mut BTreeSet<String>) {
    match (reference, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                if NOT_MODELLED.contains(&k.as_str()) {
                    continue;
                }
                match o.get(k) {
                    None => {
                        acc.insert(format!("{path}.{k}"));
                    }
                    Some(ov) => missing_keys(rv, ov, &format!("{path}.{k}"), acc),
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            for rv in r {
                // Compare with our element of the same `type`, if elements are typed.
                let twin = o.iter().find(|ov| ov.get("type") == rv.get("type")).or(o.first());
                if let Some(ov) = twin {
                    missing_keys(rv, ov, &format!("{path}[]"), acc);
                }
            }
        }
        _ => {}
    }
}

/// `(event line, data)` of each SSE event, checking the framing.
fn sse(bytes: &[u8]) -> Vec<Value> {
    let s = std::str::from_utf8(bytes).unwrap();
    assert!(s.ends_with("\n\n"));
    s.split_terminator("\n\n")
        .map(|ev| {
            let (event, data) = ev.split_once('\n').unwrap();
            let event = event.strip_prefix("event: ").unwrap();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], event, "the event line names the data's type");
            data
        })
        .collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

mod output;
mod parse;
mod round_trip;
