//! Unit tests of the Anthropic adapter: rendering rules, what `check` refuses, whole answers, and
//! streams decoded however they are split.

use std::sync::Arc;

use serde_json::{json, Value};
use switchyard_sdk::ir::{
    ChatRequest, FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent, Tool, ToolCall,
    ToolChoice, Usage,
};

use super::{wire, Anthropic};
use crate::config::raw::Quirks;
use crate::config::{test_model, Model, ProviderKind};
use crate::providers::{ProviderAdapter, ProviderError};
use crate::wire::sse::SseParser;

pub(crate) fn model(caps: &[&str]) -> Arc<Model> {
    let mut m = test_model(ProviderKind::Anthropic, Quirks::default());
    let mm = Arc::get_mut(&mut m).unwrap();
    mm.capabilities = caps.iter().map(|c| c.to_string()).collect();
    mm.max_output = 64_000; // Claude Sonnet 4's
    m
}

pub(crate) fn render(req: &ChatRequest, m: &Model) -> (Value, Vec<String>) {
    Anthropic.check(req, m).unwrap();
    let r = Anthropic.render(req, m).unwrap();
    assert_eq!(r.path, "/messages");
    assert_eq!(r.headers, vec![("anthropic-version", "2023-06-01".to_string())]);
    (serde_json::from_slice(&r.body).unwrap(), r.lossy)
}

fn user(text: &str) -> Message {
    Message::text(Role::User, text)
}

#[test]
fn sampling_thinking_and_tool_choice_rules() {
    let tool = Tool {
        name: "f".into(),
        description: None,
        parameters: json!({"type": "object"}).into(),
        strict: Some(true),
    };
    let base = ChatRequest {
        messages: vec![user("hi")],
        ..Default::default()
    };
    let reasoner = model(&["chat", "tools", "reasoning"]);
    type Case = (&'static str, ChatRequest, Value, &'static str);
    let cases: Vec<Case> = vec![
        (
            "budget under an explicit max_tokens",
            ChatRequest {
                max_tokens: Some(2000),
                reasoning_budget: Some(4000),
                ..base.clone()
            },
            json!({"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1500}}),
            "lowered to 1500 so that 500 tokens are left for the answer",
        ),
        (
            "no room for the minimum budget",
            ChatRequest {
                max_tokens: Some(500),
                reasoning_budget: Some(2000),
                ..base.clone()
            },
            json!({"max_tokens": 500, "thinking": null}),
            "no room",
        ),
        (
            "budget raised to the minimum",
            ChatRequest {
                reasoning_budget: Some(10),
                ..base.clone()
            },
            json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
            "raised",
        ),
        (
            "forced tool choice turns thinking off",
            ChatRequest {
                reasoning_effort: Some("high".into()),
                tools: vec![tool.clone()],
                tool_choice: Some(ToolChoice::Required),
                ..base.clone()
            },
            json!({"thinking": null, "tool_choice": {"type": "any"}}),
            "forced",
        ),
        (
            "named tool, one call at a time",
            ChatRequest {
                tools: vec![tool.clone()],
                tool_choice: Some(ToolChoice::Named("f".into())),
                parallel_tool_calls: Some(false),
                ..base.clone()
            },
            json!({"tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true}}),
            "strict",
        ),
        (
            "tool choice none",
            ChatRequest {
                tools: vec![tool.clone()],
                tool_choice: Some(ToolChoice::None),
                ..base.clone()
            },
            json!({"tool_choice": {"type": "none"}, "tools": [{"name": "f", "input_schema": {"type": "object"}}]}),
            "strict",
        ),
        (
            "no tool_choice without tools",
            ChatRequest {
                tool_choice: Some(ToolChoice::Auto),
                ..base.clone()
            },
            json!({"tool_choice": null, "tools": null}),
            "",
        ),
        (
            "temperature above Anthropic's range; top_p dropped beside it",
            ChatRequest {
                temperature: Some(1.5),
                top_p: Some(0.5),
                top_k: Some(3),
                ..base.clone()
            },
            json!({"temperature": 1.0, "top_p": null, "top_k": 3}),
            "not both",
        ),
        (
            "reasoning_effort none",
            ChatRequest {
                reasoning_effort: Some("none".into()),
                ..base.clone()
            },
            json!({"thinking": null}),
            "",
        ),
        (
            "a prefill's trailing whitespace",
            ChatRequest {
                messages: vec![user("hi"), Message::text(Role::Assistant, "The answer is ")],
                ..base.clone()
            },
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": [{"type": "text", "text": "The answer is"}]}]}),
            "trailing whitespace",
        ),
    ];
    for (why, req, expect, lossy_needle) in cases {
        let (v, lossy) = render(&req, &reasoner);
        for (k, want) in expect.as_object().unwrap() {
            assert_eq!(v.get(k).unwrap_or(&Value::Null), want, "{why}: {k}");
        }
        if !lossy_needle.is_empty() {
            assert!(lossy.iter().any(|l| l.contains(lossy_needle)), "{why}: {lossy:?}");
        }
    }
    let (v, lossy) = render(
        &ChatRequest {
            reasoning_budget: Some(2048),
            ..base
        },
        &model(&["chat"]),
    );
    assert!(
        v.get("thinking").is_none() && lossy[0].contains("no extended thinking"),
        "{lossy:?}"
    );
}

#[test]
fn check_refuses_what_anthropic_cannot_do() {
    let m = model(&["chat", "vision"]);
    let with = |f: &dyn Fn(&mut ChatRequest)| {
        let mut r = ChatRequest {
            messages: vec![user("hi")],
            ..Default::default()
        };
        f(&mut r);
        Anthropic.check(&r, &m)
    };
    let other = |kind: &str, raw: Value| Part::Other { kind: kind.into(), raw };
    type Edit = Box<dyn Fn(&mut ChatRequest)>;
    let refused: Vec<(&str, Edit)> = vec![
        ("n > 1", Box::new(|r| r.n = Some(2))),
        ("logprobs", Box::new(|r| r.logprobs = Some(true))),
        (
            "json_object",
            Box::new(|r| r.response_format = Some(ResponseFormat::JsonObject)),
        ),
        (
            "input_audio",
            Box::new(move |r| {
                r.messages[0]
                    .content
                    .push(other("input_audio", json!({"data": "AAA", "format": "wav"})))
            }),
        ),
        (
            "file",
            Box::new(move |r| {
                r.messages[0]
                    .content
                    .push(other("file", json!({"file_id": "file-abc"})))
            }),
        ),
        (
            "tool_call_id",
            Box::new(|r| r.messages.push(Message::text(Role::Tool, "42"))),
        ),
        (
            "at least one",
            Box::new(|r| r.messages = vec![Message::text(Role::System, "x")]),
        ),
        (
            "text only",
            Box::new(|r| {
                let mut s = Message::text(Role::System, "x");
                s.content.push(Part::Image {
                    source: ImageSource::Url("https://x/y.png".into()),
                    detail: None,
                });
                r.messages.insert(0, s);
            }),
        ),
    ];
    for (needle, f) in refused {
        let e = with(&*f).unwrap_err();
        assert!(matches!(e, ProviderError::Unsupported(_)), "{needle}: {e:?}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    // What maps faithfully: a PDF file part, and Anthropic's own blocks kept whole.
    let pdf = other(
        "file",
        json!({"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}),
    );
    let doc = other(
        "document",
        json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}}),
    );
    let req = ChatRequest {
        messages: vec![Message {
            content: vec![pdf, doc.clone()],
            ..user("")
        }],
        ..Default::default()
    };
    let (v, _) = render(&req, &m);
    let c = &v["messages"][0]["content"];
    assert_eq!(
        c[0],
        json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}, "title": "a.pdf"})
    );
    let Part::Other { raw, .. } = doc else { unreachable!() };
    assert_eq!(c[1], raw);
    // Images in tool results stay images.
    let mut result = Message::text(Role::Tool, "see chart");
    result.tool_call_id = Some("call_9".into());
    result.content.push(Part::Image {
        source: ImageSource::Url("https://x/chart.png".into()),
        detail: None,
    });
    let req = ChatRequest {
        messages: vec![user("plot it"), result],
        ..Default::default()
    };
    let (v, _) = render(&req, &m);
    assert_eq!(
        v["messages"][0]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "call_9", "content": [{"type": "text", "text": "see chart"},
                   {"type": "image", "source": {"type": "url", "url": "https://x/chart.png"}}]}),
        "a tool result leads its user turn"
    );
}

#[test]
fn parses_responses() {
    let m = model(&["chat"]);
    let r = Anthropic
        .parse_response(
            include_bytes!("../../../tests/fixtures/anthropic/response_tool_use.json"),
            &m,
        )
        .unwrap();
    assert_eq!(
        (r.id.as_str(), r.model.as_str()),
        ("msg_01Aq9w938a90dw8q", "claude-sonnet-4-20250514")
    );
    assert_eq!(
        r.parts[0],
        OutPart::Text("I'll check the current weather in Paris for you.".into())
    );
    assert_eq!(
        r.parts[1],
        OutPart::ToolCall(ToolCall {
            id: "toolu_01NRLabsLyVHZPKxbKvkfSMn".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into(),
        })
    );
    assert_eq!(r.finish, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 377 + 1024 + 2048,
            cached_input_tokens: 2048,
            cache_write_tokens: 1024,
            output_tokens: 65,
            reasoning_tokens: 0,
            reasoning_unknown: true,
        })
    );
    let r = Anthropic
        .parse_response(
            include_bytes!("../../../tests/fixtures/anthropic/response_thinking.json"),
            &m,
        )
        .unwrap();
    assert_eq!(r.parts.len(), 2, "redacted thinking has no canonical form");
    assert!(matches!(&r.parts[0], OutPart::Reasoning { signature: Some(s), .. } if s.starts_with("zbbJ")));
    assert_eq!(r.finish, Some(FinishReason::Stop));
    assert_eq!(
        r.usage.map(|u| (u.input_tokens, u.output_tokens, u.reasoning_tokens)),
        Some((406, 350, 310))
    );
    for (stop, f) in [
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Other("pause_turn".into())),
    ] {
        assert_eq!(wire::finish_reason(stop), f);
    }
    let err = include_bytes!("../../../tests/fixtures/anthropic/error_overloaded.json");
    assert!(Anthropic.parse_response(err, &m).is_err());
    assert_eq!(Anthropic.error_message(err), "overloaded_error: Overloaded");
    assert_eq!(
        Anthropic.error_message(b"<html>bad gateway</html>"),
        "<html>bad gateway</html>"
    );
}

pub(crate) fn decode(stream: &[u8], split: usize) -> (Vec<StreamEvent>, bool) {
    let mut d = Anthropic.stream_decoder(&model(&[]));
    let mut p = SseParser::new(1 << 20);
    let mut out = Vec::new();
    for chunk in [&stream[..split], &stream[split..]] {
        p.push(chunk, |e| d.event(&e, &mut out)).unwrap();
    }
    (out, d.done())
}

fn usage(input: u64, cached: u64, write: u64, output: u64, reasoning: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        cached_input_tokens: cached,
        cache_write_tokens: write,
        output_tokens: output,
        reasoning_tokens: reasoning,
        // Anthropic's usage has no thinking count unless it says.
        reasoning_unknown: reasoning == 0,
    })
}

#[test]
fn decodes_streams_split_anywhere() {
    use StreamEvent as E;
    let text = |s: &str| E::TextDelta(s.into());
    let args = |index: usize, s: &str| E::ToolCallDelta {
        index,
        arguments: s.into(),
    };
    let start = |id: &str, model: &str| E::Start {
        id: id.into(),
        model: model.into(),
    };
    let call = |index: usize, id: &str, name: &str| E::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    };
    let cases: [(&[u8], Vec<StreamEvent>, bool); 4] = [
        (
            include_bytes!("../../../tests/fixtures/anthropic/stream_text.sse"),
            vec![
                start("msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK", "claude-3-opus-latest"),
                usage(11, 0, 0, 1, 0),
                text("Hello"),
                text(" there"),
                text("!"),
                E::Finish(FinishReason::Stop),
                usage(11, 0, 0, 6, 0),
            ],
            true,
        ),
        (
            include_bytes!("../../../tests/fixtures/anthropic/stream_tool_use.sse"),
            vec![
                start("msg_019Q1hrJbZG26Fb9BQhrkHEr", "claude-sonnet-4-20250514"),
                usage(377, 0, 0, 1, 0),
                text("I"),
                text("'ll check the current weather in Paris for you."),
                call(0, "toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather"),
                args(0, "{\"locati"),
                args(0, "on\": \"P"),
                args(0, "ar"),
                args(0, "is\"}"),
                call(1, "toolu_01B3Zy8mQ7pXvWq5Lr2Tt9Kc", "get_time"),
                args(1, "{}"),
                E::Finish(FinishReason::ToolCalls),
                usage(377, 0, 0, 65, 0),
            ],
            true,
        ),
        (
            include_bytes!("../../../tests/fixtures/anthropic/stream_thinking.sse"),
            vec![
                start("msg_01Hv3Kc4VxoFnuT8jUcTLRcZ", "claude-sonnet-4-5-20250929"),
                usage(2128, 2000, 100, 5, 0),
                E::ReasoningDelta("The user asks about \"claudius\" \u{2014} I'm Claude.".into()),
                E::ReasoningSignature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds==".into()),
                text("Hi \u{e9}t\u{e9} \u{1f31e}"),
                call(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
                args(0, "{\"location\": \"Paris\"}"),
                E::Finish(FinishReason::ToolCalls),
                usage(2128, 2000, 100, 106, 67),
            ],
            true,
        ),
        (
            include_bytes!("../../../tests/fixtures/anthropic/stream_error.sse"),
            vec![
                start("msg_01ErrStream0000000000001", "claude-sonnet-4-20250514"),
                usage(42, 0, 0, 1, 0),
                text("Partial"),
                E::Error {
                    message: "overloaded_error: Overloaded".into(),
                },
            ],
            false,
        ),
    ];
    for (stream, expect, done) in cases {
        for split in 0..=stream.len() {
            let (got, d) = decode(stream, split);
            assert_eq!((&got, d), (&expect, done), "split at {split}");
        }
    }
    let (got, done) = decode(
        include_bytes!("../../../tests/fixtures/anthropic/stream_truncated.sse"),
        0,
    );
    assert!(!done, "no message_stop: truncated");
    assert_eq!(got.last(), Some(&text("!")));
}

#[test]
fn events_without_names_are_read_by_type() {
    let s = "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\"}}\n\n\
                 data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n\
                 data: {\"type\":\"message_stop\"}\n\n";
    let (got, done) = decode(s.as_bytes(), 0);
    assert!(done);
    assert_eq!(got[1], StreamEvent::TextDelta("x".into()));
}

#[test]
fn cache_breakpoints_stop_at_four_and_automatic_caching_takes_a_free_one() {
    let eph = json!({"type": "ephemeral"});
    let marked = |n: usize| {
        let mut m = Message::new(Role::User, (0..n).map(|i| Part::Text(format!("part {i}"))).collect());
        m.cache_breakpoints = (0..n).map(|i| (i, eph.clone())).collect();
        m
    };
    let req = |n: usize| ChatRequest {
        messages: vec![marked(n)],
        ..Default::default()
    };
    let m = model(&["chat"]);
    let (v, lossy) = render(&req(5), &m);
    let blocks = v["messages"][0]["content"].as_array().unwrap();
    let cached = blocks.iter().filter(|b| b.get("cache_control").is_some()).count();
    assert_eq!(cached, 4, "{v}");
    assert_eq!(blocks[4], json!({"type": "text", "text": "part 4"}));
    assert!(lossy.iter().any(|l| l.contains("beyond Anthropic's 4")), "{lossy:?}");
    assert!(v.get("cache_control").is_none());

    let mut auto = test_model(ProviderKind::Anthropic, Quirks::default());
    Arc::get_mut(&mut Arc::get_mut(&mut auto).unwrap().provider)
        .unwrap()
        .auto_cache = true;
    let (v, _) = render(&req(3), &auto);
    assert_eq!(v["cache_control"], eph, "a breakpoint is left for automatic caching");
    let (v, _) = render(&req(4), &auto);
    assert!(v.get("cache_control").is_none(), "no breakpoint left: {v}");
}
