//! Test doubles and readers that the unit tests of both sides share: a [`Finalizer`] that counts its
//! calls and prices output tokens at a micro-dollar each, and what an SDK's stream accumulator builds
//! from Anthropic SSE.

use std::collections::HashMap;

use serde_json::{json, Value};
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

use super::sse::SseParser;
use super::Finalizer;

pub(crate) struct Fin(pub u32);
impl Finalizer for Fin {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        self.0 += 1;
        (
            json!({"calls": self.0}),
            usage.map(|u| Money(u.output_tokens * 1_000_000)),
        )
    }
}

/// What an SDK's stream accumulator builds from Anthropic SSE: the final message, and the
/// `router` of `message_stop`. Checks event names against `type` and block indexes on the way.
pub(crate) fn accumulate(sse: &[u8]) -> (Value, Value) {
    let (mut msg, mut router) = (Value::Null, Value::Null);
    let mut bufs: HashMap<usize, String> = HashMap::new();
    let mut p = SseParser::new(1 << 20);
    p.push(sse, |e| {
        let d: Value = serde_json::from_str(&e.data).unwrap();
        let kind = d["type"].as_str().unwrap().to_string();
        assert_eq!(e.event.as_deref(), Some(kind.as_str()));
        let i = d["index"].as_u64().unwrap_or(0) as usize;
        match kind.as_str() {
            "message_start" => msg = d["message"].clone(),
            "content_block_start" => {
                let content = msg["content"].as_array_mut().unwrap();
                assert_eq!(i, content.len(), "blocks are indexed in order");
                content.push(d["content_block"].clone());
            }
            "content_block_delta" => {
                let b = &mut msg["content"][i];
                let delta = &d["delta"];
                let append = |b: &mut Value, k: &str, s: &Value| {
                    b[k] = Value::from(format!("{}{}", b[k].as_str().unwrap_or(""), s.as_str().unwrap()));
                };
                match delta["type"].as_str().unwrap() {
                    "text_delta" => append(b, "text", &delta["text"]),
                    "thinking_delta" => append(b, "thinking", &delta["thinking"]),
                    "signature_delta" => b["signature"] = delta["signature"].clone(),
                    "input_json_delta" => bufs
                        .entry(i)
                        .or_default()
                        .push_str(delta["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                if let Some(buf) = bufs.remove(&i) {
                    msg["content"][i]["input"] = serde_json::from_str(&buf).unwrap();
                }
            }
            "message_delta" => {
                msg["stop_reason"] = d["delta"]["stop_reason"].clone();
                for (k, v) in d["usage"].as_object().unwrap() {
                    msg["usage"][k] = v.clone();
                }
            }
            "message_stop" => router = d["router"].clone(),
            "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    })
    .unwrap();
    (msg, router)
}
