//! OpenAI chat pairings: the pass-through's request body for OpenAI and for OpenAI-compatible
//! servers with catalog quirks.

use serde_json::{json, Value};

use crate::config::raw::Quirks;
use crate::config::{test_model, Model, ProviderKind};
use crate::providers::openai::passthrough::render_request;

fn render(body: &[u8], model: &Model) -> Value {
    let parsed = crate::api::openai_chat::parse(body).unwrap();
    serde_json::from_slice(&render_request(
        &crate::wire::json::parse_object(body).unwrap(),
        &parsed.request,
        model,
    ))
    .unwrap()
}

#[test]
fn request_keeps_unknown_fields_and_drops_gateway_ones() {
    let m = test_model(ProviderKind::OpenAi, Quirks::default());
    let v = render(br#"{"model":"alias","messages":[{"role":"user","content":"hi"}],"logprobs":true,"fallback":["x"],"metadata":{"a":1},"stream":true,"stream_options":{"include_usage":false,"x":1},"max_tokens":9}"#, &m);
    assert_eq!(v["model"], "up-m");
    assert_eq!(v["logprobs"], true);
    assert!(v.get("fallback").is_none() && v.get("metadata").is_none());
    assert_eq!(v["stream_options"], json!({"include_usage": true, "x": 1}));
    assert_eq!(
        v["max_completion_tokens"], 9,
        "OpenAI itself gets max_completion_tokens"
    );
    let v = render(
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"store":true,"metadata":{"a":1}}"#,
        &m,
    );
    assert_eq!(v["metadata"], json!({"a": 1}));
    assert!(v.get("stream_options").is_none());
}

#[test]
fn request_follows_catalog_quirks() {
    let q = Quirks {
        max_tokens_field: Some("max_tokens".into()),
        stream_usage: false,
        developer_role: false,
        drop_fields: vec!["parallel_tool_calls".into()],
        reasoning_field: None,
    };
    let m = test_model(ProviderKind::OpenAiCompatible, q);
    let v = render(br#"{"model":"m","messages":[{"role":"developer","content":"be terse"},{"role":"user","content":"hi"}],"max_completion_tokens":5,"stream":true,"parallel_tool_calls":false}"#, &m);
    assert_eq!(v["max_tokens"], 5);
    assert!(v.get("max_completion_tokens").is_none());
    assert!(v.get("stream_options").is_none());
    assert!(v.get("parallel_tool_calls").is_none());
    assert_eq!(v["messages"][0]["role"], "system");
    assert_eq!(v["messages"][1]["content"], "hi");
}
