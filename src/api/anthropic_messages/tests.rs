//! Unit tests of the Messages codec: requests parsed (and refused with the right param), answers
//! rendered, streams encoded so that an SDK's accumulator reads them back, and the error shapes.

use serde_json::{json, Value};
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent,
    ToolCall, ToolChoice, Usage,
};
use switchyard_sdk::Money;

use super::*;
use crate::wire::sse::SseParser;
use crate::wire::testing::{accumulate, Fin};

#[test]
fn parses_a_full_request() {
    let p = parse(include_bytes!("../../../tests/fixtures/anthropic/request_full.json")).unwrap();
    let r = &p.request;
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    use Role::*;
    assert_eq!(roles, [System, System, User, Assistant, Tool, Tool, User]);
    assert_eq!(
        r.messages[1].content,
        vec![Part::Text("<policy>Never book without confirmation.</policy>".into())]
    );
    assert!(
        matches!(&r.messages[2].content[1], Part::Image { source: ImageSource::Base64 { media_type, .. }, .. } if media_type == "image/jpeg")
    );
    let a = &r.messages[3];
    assert!(matches!(&a.content[0], Part::Reasoning { signature: Some(s), .. } if s.starts_with("EqQB")));
    assert_eq!(a.content[1], Part::Text("That looks like Paris. Let me check.".into()));
    assert_eq!(
        a.tool_calls,
        vec![
            ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into()
            },
            ToolCall {
                id: "toolu_01B3Zy8mQ7pXvWq5Lr2Tt9Kc".into(),
                name: "get_time".into(),
                arguments: "{}".into()
            },
        ]
    );
    assert_eq!(
        r.messages[4].tool_call_id.as_deref(),
        Some("toolu_01A09q90qw90lq917835lq9")
    );
    assert_eq!(r.messages[4].content, vec![Part::Text("15 degrees, light rain".into())]);
    assert!(r.messages[5].is_error && !r.messages[4].is_error);
    assert_eq!(
        r.messages[6].content,
        vec![Part::Text("Should I take an umbrella?".into())]
    );
    assert_eq!(r.tools.len(), 2, "the server tool is Anthropic's alone");
    assert_eq!(r.tools[0].parameters.to_value()["required"], json!(["location"]));
    assert_eq!(
        (r.tool_choice.clone(), r.parallel_tool_calls),
        (Some(ToolChoice::Auto), Some(false))
    );
    assert_eq!(
        (r.reasoning_budget, r.max_tokens, r.stream),
        (Some(2048), Some(4096), true)
    );
    assert_eq!(r.user.as_deref(), Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b"));
    assert_eq!(r.stop, vec!["\n\nHuman:".to_string()]);
    assert_eq!(r.routing.fallback, vec!["openai/gpt-4o"]);
    assert_eq!(r.routing.budget, Money::from_dollars(0.25));
    assert_eq!(
        r.unknown_fields,
        [
            "tools[2] (web_search_20250305)",
            "service_tier",
            "cache_control and citations on content blocks"
        ]
    );
}

#[test]
fn parses_a_simple_request() {
    let r = parse(include_bytes!("../../../tests/fixtures/anthropic/request_simple.json"))
        .unwrap()
        .request;
    assert_eq!(
        r.messages[0],
        Message::text(Role::System, "Answer multiple-choice questions with a single letter.")
    );
    assert_eq!(r.messages[4], Message::text(Role::Assistant, "The best answer is ("));
    assert_eq!((r.temperature, r.top_k, r.max_tokens), (Some(0.0), Some(5), Some(1)));
    assert_eq!(r.tool_choice, Some(ToolChoice::Required));
    assert_eq!(r.parallel_tool_calls, None);
    assert_eq!(
        r.unknown_fields,
        ["output_config.effort"],
        "effort without adaptive thinking"
    );
    assert_eq!(
        (r.routing.session_id.as_deref(), r.routing.mode.as_deref()),
        (Some("s-42"), Some("cost"))
    );
    let r = parse(br#"{"model":"m","max_tokens":9000,"thinking":{"type":"adaptive"},"output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object"}}},
            "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"mid_conv_system","content":[{"type":"text","text":"be terse"}]},{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]}"#)
            .unwrap()
            .request;
    assert_eq!(r.reasoning_effort.as_deref(), Some("medium"));
    assert!(matches!(r.response_format, Some(ResponseFormat::JsonSchema { .. })));
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::System, Role::User]);
    assert!(
        matches!(&r.messages[2].content[0], Part::Other { kind, raw } if kind == "document" && raw["source"]["url"] == "https://x/a.pdf")
    );
    // `type` need not come first.
    let r = parse(br#"{"model":"m","max_tokens":9,"messages":[{"role":"assistant","content":[{"id":"toolu_1","name":"f","input":{ "a" : [1, 2] },"type":"tool_use"}]}]}"#)
            .unwrap()
            .request;
    assert_eq!(r.messages[0].tool_calls[0].arguments, r#"{"a":[1,2]}"#);
}

#[test]
fn bad_input_names_the_param() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../../tests/fixtures/anthropic/parse_errors.json")).unwrap();
    for c in cases {
        let body = match c.get("text") {
            Some(t) => t.as_str().unwrap().to_string(),
            None => c["body"].to_string(),
        };
        let e = parse(body.as_bytes()).unwrap_err();
        assert_eq!(
            (e.status(), e.code(), e.param()),
            (400, c["code"].as_str().unwrap(), c["param"].as_str()),
            "{}: {e}",
            c["why"]
        );
    }
}

fn answer() -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-9x".into(),
        created: 1,
        model: "gpt-4o".into(),
        parts: vec![
            OutPart::Reasoning {
                text: "hmm".into(),
                signature: None,
            },
            OutPart::Text("Let me look.".into()),
            OutPart::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{\"a\":[1,2]}".into(),
            }),
        ],
        finish: Some(FinishReason::ToolCalls),
        usage: Some(Usage {
            input_tokens: 100,
            cached_input_tokens: 60,
            cache_write_tokens: 10,
            output_tokens: 7,
            reasoning_tokens: 3,
            reasoning_unknown: false,
        }),
        more_choices: Vec::new(),
        logprobs: None,
    }
}

#[test]
fn renders_a_message() {
    let mut fin = Fin(0);
    let v: Value =
        serde_json::from_slice(&MessagesCodec.render_response(&answer(), None, "openai/gpt-4o", &mut fin)).unwrap();
    assert_eq!(v["id"], "msg_chatcmpl-9x");
    assert_eq!(
        (&v["type"], &v["role"], &v["model"]),
        (&json!("message"), &json!("assistant"), &json!("openai/gpt-4o"))
    );
    assert_eq!(
        v["content"],
        json!([{"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": [1, 2]}}])
    );
    assert_eq!(
        (&v["stop_reason"], &v["stop_sequence"]),
        (&json!("tool_use"), &Value::Null)
    );
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 30, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 60, "output_tokens": 7, "cost": 0.000007})
    );
    assert_eq!((v["router"]["calls"].as_u64(), fin.0), (Some(1), 1));
}

#[test]
fn encodes_streams_that_parse_back() {
    let req = ChatRequest {
        messages: vec![Message::text(Role::User, "weather in Paris and Rome?")],
        ..Default::default()
    };
    let mut e = MessagesCodec.stream_encoder(&req, "openai/gpt-4o");
    let mut out = Vec::new();
    let a = answer();
    for ev in [
        StreamEvent::Start {
            id: "chatcmpl-9x".into(),
            model: "gpt-4o".into(),
        },
        StreamEvent::ReasoningDelta("hm".into()),
        StreamEvent::ReasoningDelta("m".into()),
        StreamEvent::ReasoningSignature("sig".into()),
        StreamEvent::TextDelta("Let me ".into()),
        StreamEvent::TextDelta("look.".into()),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "[1,2]}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_2".into(),
            name: "g".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::Finish(FinishReason::ToolCalls),
        StreamEvent::Usage(a.usage.unwrap()),
    ] {
        let before = out.len();
        e.event(ev.clone(), &mut out);
        if matches!(ev, StreamEvent::TextDelta(_)) {
            assert!(
                out[before..].ends_with(b"\n\n") && out.len() > before,
                "text goes out at once"
            );
        }
    }
    let mut fin = Fin(0);
    e.finish(&mut out, &mut fin);
    assert_eq!(fin.0, 1);
    let (msg, router) = accumulate(&out);
    assert_eq!(msg["id"], "msg_chatcmpl-9x");
    assert_eq!(msg["model"], "openai/gpt-4o");
    assert_eq!(
        msg["content"],
        json!([{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": [1, 2]}},
                   {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}])
    );
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(
        msg["usage"]["input_tokens"], 30,
        "message_delta's exact figure replaces the estimate"
    );
    assert_eq!(msg["usage"]["cost"], 0.000007);
    assert_eq!(router["calls"], 1);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("event: message_start\n"));
    assert!(text.ends_with("\n\n") && text.contains("event: message_stop\n"));
}

#[test]
fn signed_thinking_blocks_stay_apart() {
    let mut e = MessagesCodec.stream_encoder(&ChatRequest::default(), "m/x");
    let mut out = Vec::new();
    for ev in [
        StreamEvent::ReasoningDelta("a".into()),
        StreamEvent::ReasoningSignature("s1".into()),
        StreamEvent::ReasoningDelta("b".into()),
        StreamEvent::ReasoningSignature("s2".into()),
        StreamEvent::TextDelta("ok".into()),
    ] {
        e.event(ev, &mut out);
    }
    e.finish(&mut out, &mut Fin(0));
    let (msg, _) = accumulate(&out);
    assert_eq!(
        msg["content"],
        json!([{"type": "thinking", "thinking": "a", "signature": "s1"},
                   {"type": "thinking", "thinking": "b", "signature": "s2"}, {"type": "text", "text": "ok"}])
    );
}

#[test]
fn a_stream_without_usage_still_closes() {
    let mut e = MessagesCodec.stream_encoder(&ChatRequest::default(), "m/x");
    let mut out = Vec::new();
    e.finish(&mut out, &mut Fin(0));
    let (msg, router) = accumulate(&out);
    assert_eq!(
        (msg["stop_reason"].as_str(), msg["content"].as_array().map(Vec::len)),
        (Some("end_turn"), Some(0))
    );
    assert_eq!(router["calls"], 1);
}

#[test]
fn errors_take_anthropics_shape() {
    let err = crate::error::GatewayError::invalid("messages[0].content", "bad").to_json("req_1", &[]);
    let v: Value = serde_json::from_slice(&MessagesCodec.error_body(&err)).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"], err["error"], "every field of ours is kept");
    assert_eq!(v["request_id"], "req_1");
    let mut out = Vec::new();
    MessagesCodec.stream_error(&err, &mut out);
    let mut p = SseParser::new(1 << 20);
    let mut evs = Vec::new();
    p.push(&out, |e| evs.push(e)).unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event.as_deref(), Some("error"));
    let d: Value = serde_json::from_str(&evs[0].data).unwrap();
    assert_eq!(
        (d["type"].as_str(), d["error"]["param"].as_str()),
        (Some("error"), Some("messages[0].content"))
    );
}
