//! Unit tests of the OpenAI chat codec: requests parsed (and refused with the right param), and
//! answers and streams from other schemas rendered as OpenAI clients read them.

use serde_json::{json, Value};
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, FinishReason, ImageSource, OutPart, Part, ResponseFormat, StreamEvent, ToolCall,
    ToolChoice, Usage,
};
use switchyard_sdk::Money;

use super::*;

// ---- requests ------------------------------------------------------------------------------

fn err(body: &str) -> (u16, &'static str, Option<String>) {
    let e = parse(body.as_bytes()).unwrap_err();
    (e.status(), e.code(), e.param().map(str::to_string))
}

#[test]
fn parses_a_full_request() {
    let p = parse(br#"{"model":"m","messages":[
            {"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"42"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
            "tool_choice":{"type":"function","function":{"name":"f"}},
            "stop":"END","max_completion_tokens":50,"stream":true,"stream_options":{"include_usage":true},
            "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":true}},
            "fallback":["a","b"],"budget_dollars":0.5,"logprobs":true}"#).unwrap();
    let r = &p.request;
    assert_eq!(r.messages.len(), 4);
    assert_eq!(
        r.messages[1].content[1],
        Part::Image {
            source: ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            },
            detail: Some("low".into())
        }
    );
    assert_eq!(r.messages[2].tool_calls[0].arguments, "{\"x\":1}");
    assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
    assert_eq!(
        (r.stop.clone(), r.max_tokens, r.stream, r.stream_include_usage),
        (vec!["END".to_string()], Some(50), true, true)
    );
    assert!(matches!(
        r.response_format,
        Some(ResponseFormat::JsonSchema { strict: Some(true), .. })
    ));
    assert_eq!(r.routing.fallback, vec!["a", "b"]);
    assert_eq!(r.routing.budget, Money::from_dollars(0.5));
    assert_eq!(r.logprobs, Some(true));
}

#[test]
fn bad_input_names_the_param() {
    assert_eq!(err(r#"{"messages":[]}"#), (400, "missing_field", Some("model".into())));
    assert_eq!(err(r#"{"model":"m"}"#), (400, "missing_field", Some("messages".into())));
    assert_eq!(
        err(r#"{"model":5,"messages":[]}"#),
        (400, "invalid_type", Some("model".into()))
    );
    assert_eq!(
        err(r#"{"model":"m","messages":"hi"}"#),
        (400, "invalid_type", Some("messages".into()))
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"user","content":7}]}"#)
            .2
            .as_deref(),
        Some("messages[0].content")
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#)
            .2
            .as_deref(),
        Some("messages[0].role")
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"user"}]}"#).2.as_deref(),
        Some("messages[0].content")
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#)
            .2
            .as_deref(),
        Some("temperature")
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web"}]}"#)
            .2
            .as_deref(),
        Some("tools[0].type")
    );
    assert_eq!(
        err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"budget_dollars":-1}"#)
            .2
            .as_deref(),
        Some("budget_dollars")
    );
    assert_eq!(err(r#"{"model":"m""#).1, "invalid_json");
}

// ---- answers -------------------------------------------------------------------------------

struct Fin;
impl Finalizer for Fin {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        (json!({"ok": true}), usage.map(|_| Money(2_000_000)))
    }
}

#[test]
fn renders_a_tool_call_answer() {
    let resp = ChatResponse {
        id: "msg_1".into(),
        created: 5,
        model: "claude".into(),
        parts: vec![OutPart::ToolCall(ToolCall {
            id: "toolu_1".into(),
            name: "f".into(),
            arguments: "{\"a\":1}".into(),
        })],
        finish: Some(FinishReason::ToolCalls),
        usage: Some(Usage {
            input_tokens: 10,
            output_tokens: 3,
            ..Default::default()
        }),
        more_choices: Vec::new(),
        logprobs: None,
    };
    let v: Value =
        serde_json::from_slice(&OpenAiChatCodec.render_response(&resp, None, "anthropic/x", &mut Fin)).unwrap();
    assert_eq!(v["id"], "chatcmpl-msg_1");
    assert_eq!(v["model"], "anthropic/x");
    assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["id"], "toolu_1");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["usage"]["total_tokens"], 13);
    assert_eq!(v["usage"]["cost"], json!(0.000002));
    assert_eq!(v["router"]["ok"], true);
}

fn run(include_usage: bool) -> Vec<Value> {
    let req = ChatRequest {
        stream_include_usage: include_usage,
        ..Default::default()
    };
    let mut e = OpenAiChatCodec.stream_encoder(&req, "m/x");
    let mut out = Vec::new();
    for ev in [
        StreamEvent::Start {
            id: "abc".into(),
            model: "up".into(),
        },
        StreamEvent::TextDelta("Hi".into()),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "c1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{}".into(),
        },
        StreamEvent::Finish(FinishReason::ToolCalls),
        StreamEvent::Usage(Usage {
            input_tokens: 1,
            output_tokens: 2,
            ..Default::default()
        }),
    ] {
        e.event(ev, &mut out);
    }
    e.finish(&mut out, &mut Fin);
    let s = String::from_utf8(out).unwrap();
    assert!(s.ends_with("data: [DONE]\n\n"));
    s.split("\n\n")
        .filter_map(|e| {
            e.strip_prefix("data: {")
                .map(|r| serde_json::from_str(&format!("{{{r}")).unwrap())
        })
        .collect()
}

#[test]
fn streams_chunks_then_usage_and_router() {
    let ev = run(false);
    assert_eq!(ev[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(ev[1]["choices"][0]["delta"]["content"], "Hi");
    assert_eq!(ev[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "f");
    assert_eq!(
        ev[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
        "{}"
    );
    let last = ev.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(last["usage"]["completion_tokens"], 2);
    assert_eq!(last["router"]["ok"], true);
    let ev = run(true);
    let last = ev.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(ev[ev.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
}
