//! Anthropic pairings: an OpenAI chat client rendered for Anthropic, Anthropic answers and streams
//! through the IR back to a Messages client, the Messages pass-through's request, and the pipeline's
//! end-of-stream reports.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Part, Role, ToolCall};

use crate::api::anthropic_messages::{self, MessagesCodec};
use crate::api::ClientCodec;
use crate::config::raw::Quirks;
use crate::config::{test_model, ProviderKind};
use crate::providers::anthropic::passthrough::render_request;
use crate::providers::anthropic::tests::{decode, model, render};
use crate::providers::anthropic::Anthropic;
use crate::providers::ProviderAdapter;
use crate::translate::{stream_translator, Plan};
use crate::wire::json::parse_object;
use crate::wire::sse::SseParser;
use crate::wire::testing::{accumulate, Fin};
use crate::wire::{Incomplete, GATEWAY_FIELDS};

#[test]
fn renders_an_openai_conversation() {
    let body = include_bytes!("../../../tests/fixtures/anthropic/openai_request_tools.json");
    let req = crate::api::openai_chat::parse(body).unwrap().request;
    let (v, lossy) = render(&req, &model(&["chat", "tools", "vision", "reasoning", "json_schema"]));
    assert_eq!(v["model"], "up-m");
    assert_eq!(
        v["max_tokens"], 64_000,
        "the catalog's max_output when the request has none"
    );
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "You are a helpful assistant."}, {"type": "text", "text": "Answer in French."}])
    );
    let roles: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user"],
        "alternating, tool results in a user turn"
    );
    let m = &v["messages"];
    assert_eq!(
        m[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"})
    );
    assert_eq!(
        m[0]["content"][2]["source"],
        json!({"type": "url", "url": "https://upload.wikimedia.org/wikipedia/commons/a/a8/Tour_Eiffel.jpg"})
    );
    let calls = &m[1]["content"];
    assert_eq!(
        calls[0],
        json!({"type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": {"location": "Paris"}})
    );
    assert_eq!(calls[1]["input"], json!({}), "empty arguments are an empty object");
    assert_eq!(
        calls[2]["id"], "functions_lookup_2",
        "ids are mapped onto Anthropic's alphabet"
    );
    assert_eq!(calls[2]["input"], json!({"_raw_arguments": "{\"q\": \"Eiffel"}));
    let results = &m[2]["content"];
    assert_eq!(
        results[0],
        json!({"type": "tool_result", "tool_use_id": "call_abc123", "content": "15 degrees, light rain"})
    );
    assert_eq!(
        results[2]["tool_use_id"], "functions_lookup_2",
        "the same mapping keeps the pair together"
    );
    assert_eq!(results[3], json!({"type": "text", "text": "Thanks! Umbrella?"}));
    assert_eq!(results[4], json!({"type": "text", "text": "Be brief."}));
    assert_eq!(v["tools"][0]["strict"], true);
    assert_eq!(v["tools"][0]["input_schema"]["required"], json!(["location"]));
    assert_eq!(
        v["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    // The conversation ends in a tool loop whose assistant turn (from an OpenAI client) has no
    // signed thinking block, so thinking stays off and the sampling parameters are kept.
    assert!(v.get("thinking").is_none(), "{v}");
    assert_eq!(v["temperature"], 0.7);
    assert!(v.get("top_p").is_none(), "temperature or top_p, not both");
    assert_eq!(v["stop_sequences"], json!(["END"]));
    assert_eq!(v["metadata"], json!({"user_id": "user-1234"}));
    assert_eq!(v["output_config"]["format"]["type"], "json_schema");
    assert_eq!(v["output_config"]["format"]["schema"]["required"], json!(["answer"]));
    assert_eq!(v["stream"], true);
    for needle in [
        "seed",
        "frequency_penalty",
        "logit_bias",
        "image detail",
        "moved into the top-level system",
        "reasoning_effort \"medium\"",
        "_raw_arguments",
        "no signed thinking block",
        "top_p was not sent",
        "whitespace-only stop",
    ] {
        assert!(lossy.iter().any(|l| l.contains(needle)), "{needle} not in {lossy:#?}");
    }
    assert_eq!(lossy.len(), 10, "{lossy:#?}");
}

/// Through the proxy's pipeline (decoder → client encoder): an in-band error and a cut-off
/// stream are reported by `end`, never as a clean finish.
#[test]
fn pipeline_reports_errors_and_truncation() {
    let plan = Plan::Translate {
        codec: &MessagesCodec,
        adapter: &Anthropic,
    };
    let m = model(&[]);
    let run = |stream: &[u8]| {
        let mut t = stream_translator(plan, &ChatRequest::default(), &m);
        let (mut out, mut fin) = (Vec::new(), Fin(0));
        SseParser::new(1 << 20)
            .push(stream, |e| t.event(&e, &mut out, &mut fin))
            .unwrap();
        let end = t.end(&mut out, &mut fin);
        (String::from_utf8(out).unwrap(), end, fin.0, t.usage())
    };
    let (out, end, calls, usage) = run(include_bytes!("../../../tests/fixtures/anthropic/stream_error.sse"));
    assert_eq!(
        end,
        Err(Incomplete::ProviderError("overloaded_error: Overloaded".into()))
    );
    assert!(
        out.contains("\"text\":\"Partial\"") && !out.contains("message_stop"),
        "{out}"
    );
    assert_eq!((calls, usage.map(|u| u.input_tokens)), (0, Some(42)));
    let (out, end, calls, _) = run(include_bytes!("../../../tests/fixtures/anthropic/stream_truncated.sse"));
    assert_eq!((end, calls), (Err(Incomplete::Truncated), 0));
    assert!(!out.contains("message_stop"));
    let (out, end, calls, _) = run(include_bytes!("../../../tests/fixtures/anthropic/stream_text.sse"));
    assert_eq!((end, calls), (Ok(()), 1));
    assert!(out.ends_with("\n\n") && out.contains("event: message_stop"));
}

#[test]
fn request_passes_through_but_for_model_and_gateway_fields() {
    let body = include_bytes!("../../../tests/fixtures/anthropic/request_full.json");
    let parsed = anthropic_messages::parse(body).unwrap();
    let m = test_model(ProviderKind::Anthropic, Quirks::default());
    let out: Map<String, Value> =
        serde_json::from_slice(&render_request(&parse_object(body).unwrap(), &parsed.request, &m)).unwrap();
    let mut orig: Map<String, Value> = serde_json::from_slice(body).unwrap();
    assert_eq!(out["model"], "up-m");
    for k in GATEWAY_FIELDS {
        assert!(!out.contains_key(*k), "{k}");
        orig.remove(*k);
    }
    orig.insert("model".into(), json!("up-m"));
    assert_eq!(
        out, orig,
        "everything else verbatim: cache_control, signatures, server tools"
    );
    let keys: Vec<&String> = out.keys().collect();
    let orig_keys: Vec<&String> = orig.keys().collect();
    assert_eq!(keys, orig_keys, "in the client's order");
    let strip = |body: &[u8]| {
        let p = anthropic_messages::parse(body).unwrap();
        serde_json::from_slice::<Value>(&render_request(&parse_object(body).unwrap(), &p.request, &m)).unwrap()
    };
    let v = strip(br#"{"model":"m","max_tokens":5,"messages":[],"metadata":{"user_id":"u1","team":"x"}}"#);
    assert_eq!(
        v["metadata"],
        json!({"user_id": "u1"}),
        "Anthropic accepts only user_id in metadata"
    );
    let v = strip(br#"{"model":"m","max_tokens":5,"messages":[],"metadata":{"team":"x"}}"#);
    assert!(v.get("metadata").is_none());
}

#[test]
fn anthropic_answers_round_trip_through_the_ir() {
    let m = model(&[]);
    let body = include_bytes!("../../../tests/fixtures/anthropic/response_tool_use.json");
    let resp = Anthropic.parse_response(body, &m).unwrap();
    let v: Value =
        serde_json::from_slice(&MessagesCodec.render_response(&resp, None, "anthropic/claude", &mut Fin(0))).unwrap();
    let orig: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["id"], orig["id"]);
    assert_eq!(v["content"], orig["content"], "tool ids and inputs survive");
    assert_eq!(v["stop_reason"], orig["stop_reason"]);
    for k in [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    ] {
        assert_eq!(v["usage"][k], orig["usage"][k], "{k}");
    }
    assert_eq!(v["usage"]["cost"], 0.000065);
}

#[test]
fn anthropic_streams_survive_decode_and_encode() {
    for stream in [
        &include_bytes!("../../../tests/fixtures/anthropic/stream_thinking.sse")[..],
        include_bytes!("../../../tests/fixtures/anthropic/stream_tool_use.sse"),
        include_bytes!("../../../tests/fixtures/anthropic/stream_text.sse"),
    ] {
        let (events, done) = decode(stream, 0);
        assert!(done);
        let mut e = MessagesCodec.stream_encoder(&ChatRequest::default(), "anthropic/claude");
        let mut out = Vec::new();
        for ev in events {
            e.event(ev, &mut out);
        }
        e.finish(&mut out, &mut Fin(0));
        let (ours, _) = accumulate(&out);
        let (mut theirs, _) = accumulate(stream);
        for b in theirs["content"].as_array_mut().unwrap() {
            b.as_object_mut().unwrap().remove("caller"); // which code called a tool: not in the IR
        }
        assert_eq!(ours["id"], theirs["id"]);
        assert_eq!(ours["content"], theirs["content"]);
        assert_eq!(ours["stop_reason"], theirs["stop_reason"]);
        for k in [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        ] {
            assert_eq!(
                ours["usage"][k].as_u64().unwrap_or(0),
                theirs["usage"][k].as_u64().unwrap_or(0),
                "{k}"
            );
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\\u{e9}\n]{0,12}[a-z]"
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    let arg = prop_oneof![
        any::<i32>().prop_map(Value::from),
        "[a-z \"]{0,5}".prop_map(Value::from)
    ];
    (
        "call_[a-zA-Z0-9]{1,8}",
        "[a-z_]{1,8}",
        prop::collection::btree_map("[a-z]{1,5}", arg, 0..3),
    )
        .prop_map(|(id, name, args)| ToolCall {
            id,
            name,
            arguments: Value::Object(args.into_iter().collect()).to_string(),
        })
}

/// A turn: a user text, or an assistant's text and calls followed by one result per call.
fn turn() -> impl Strategy<Value = Vec<Message>> {
    prop_oneof![
        text().prop_map(|t| vec![Message::text(Role::User, t)]),
        (
            prop::option::of(text()),
            prop::collection::vec(tool_call(), 0..3),
            prop::collection::vec((text(), any::<bool>()), 3)
        )
            .prop_filter("an assistant says or calls something", |(t, c, _)| t.is_some()
                || !c.is_empty())
            .prop_map(|(t, calls, results)| {
                let mut a = Message::new(Role::Assistant, Vec::new());
                a.content = t.into_iter().map(Part::Text).collect();
                a.tool_calls = calls.clone();
                let mut out = vec![a];
                for (c, (r, is_error)) in calls.iter().zip(results) {
                    let mut m = Message::text(Role::Tool, r);
                    m.tool_call_id = Some(c.id.clone());
                    m.is_error = is_error;
                    out.push(m);
                }
                out
            }),
    ]
}

fn request() -> impl Strategy<Value = ChatRequest> {
    (
        prop::option::of(text()),
        prop::collection::vec(turn(), 1..6),
        prop::collection::vec("[a-z]{1,4}", 0..3),
        prop::option::of((0..=100u32).prop_map(|k| f64::from(k) / 100.0)),
        prop::option::of(1..100_000u32),
    )
        .prop_map(|(system, turns, stop, temperature, max_tokens)| ChatRequest {
            model: "m".into(),
            messages: system
                .map(|s| Message::text(Role::System, s))
                .into_iter()
                .chain(turns.into_iter().flatten())
                .collect(),
            stop,
            temperature,
            max_tokens,
            ..Default::default()
        })
}

/// Anthropic merges neighbouring user (or assistant) messages into one turn.
fn merged(msgs: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for m in msgs {
        match out.last_mut() {
            Some(last) if last.role == m.role && matches!(m.role, Role::User | Role::Assistant) => {
                last.content.extend(m.content.iter().cloned());
                last.tool_calls.extend(m.tool_calls.iter().cloned());
            }
            _ => out.push(m.clone()),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn canonical_to_anthropic_and_back(req in request()) {
        let m = model(&["chat", "tools"]);
        let rendered = Anthropic.render(&req, &m).unwrap();
        prop_assert!(rendered.lossy.is_empty(), "{:?}", rendered.lossy);
        let back = anthropic_messages::parse(&rendered.body).unwrap().request;
        prop_assert_eq!(merged(&back.messages), merged(&req.messages));
        prop_assert_eq!(&back.stop, &req.stop);
        prop_assert_eq!(back.temperature, req.temperature);
        prop_assert_eq!(back.max_tokens, Some(req.max_tokens.unwrap_or(64_000)));
    }
}
