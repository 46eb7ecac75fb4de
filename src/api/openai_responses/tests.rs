//! Table-driven over the real-shaped payloads in `tests/fixtures/responses/`.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use serde_json::{json, Map};
use switchyard_sdk::ir::{
    FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent, ToolCall, ToolChoice,
    Usage,
};
use switchyard_sdk::Money;

use super::*;

const STRING_INPUT: &str = include_str!("../../../tests/fixtures/responses/request_string_input.json");
const AGENT_TURN: &str = include_str!("../../../tests/fixtures/responses/request_agent_turn.json");
const IMAGES: &str = include_str!("../../../tests/fixtures/responses/request_images_and_files.json");
const STRUCTURED: &str = include_str!("../../../tests/fixtures/responses/request_structured_output.json");
const BAD: &str = include_str!("../../../tests/fixtures/responses/bad_requests.json");
const OPENAI_RESPONSE: &str = include_str!("../../../tests/fixtures/responses/openai_response.json");
const OPENAI_STREAM: &str = include_str!("../../../tests/fixtures/responses/openai_stream.sse");

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

mod parse {
    //! Requests: the fixtures, refusals with their `param`, reasoning placement.

    use super::*;

    type Check = fn(&ChatRequest);

    #[test]
    fn parses_the_fixture_requests() {
        let table: [(&str, &str, Check); 4] = [
            ("string input", STRING_INPUT, |r| {
                assert_eq!(r.model, "openai/gpt-4o-mini");
                assert_eq!(r.messages.len(), 1);
                assert_eq!(r.messages[0].role, Role::User);
                assert_eq!(text(&r.messages[0]), "What's a good name for a routing gateway?");
                assert!(!r.stream);
            }),
            ("agent turn", AGENT_TURN, |r| {
                let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
                use Role::*;
                assert_eq!(
                    roles,
                    [System, Developer, User, User, Assistant, Tool, Tool, Assistant, User]
                );
                assert!(text(&r.messages[0]).starts_with("You are a coding agent"));
                let calls = &r.messages[4];
                assert_eq!(calls.tool_calls.len(), 2, "parallel calls are one assistant message");
                assert_eq!(calls.tool_calls[0].id, "call_kL3nW0cD9Qh2bXo1VyT5uR8e");
                assert_eq!(calls.tool_calls[1].name, "read_file");
                assert_eq!(calls.tool_calls[1].arguments, "{\"path\":\"src/config/raw.rs\"}");
                match &calls.content[..] {
                    [Part::Reasoning { text, signature }] => {
                        assert!(text.starts_with("**Running the failing tests**"));
                        assert!(signature.as_deref().is_some_and(|s| s.starts_with("EqQB")));
                    }
                    other => panic!("expected the reasoning before the calls, got {other:?}"),
                }
                assert_eq!(
                    r.messages[5].tool_call_id.as_deref(),
                    Some("call_kL3nW0cD9Qh2bXo1VyT5uR8e")
                );
                assert!(text(&r.messages[5]).contains("exit_code"));
                assert!(
                    text(&r.messages[6]).contains("RawListener"),
                    "list outputs become parts"
                );
                assert!(text(&r.messages[7]).contains("deny_unknown_fields"));
                assert_eq!(text(&r.messages[8]), "Fix it.");
                assert_eq!(r.tools.len(), 2);
                assert_eq!(r.tools[0].strict, Some(false));
                assert_eq!(r.tools[0].parameters.to_value()["required"], json!(["command"]));
                assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
                assert_eq!(r.parallel_tool_calls, Some(true));
                assert_eq!(r.reasoning_effort.as_deref(), Some("medium"));
                assert!(r.stream && r.stream_include_usage);
                assert_eq!(r.unknown_fields, ["prompt_cache_key"]);
            }),
            ("images and files", IMAGES, |r| {
                let parts = &r.messages[0].content;
                assert_eq!(parts.len(), 4);
                assert_eq!(
                    parts[1],
                    Part::Image {
                        source: ImageSource::Url("https://example.com/charts/q1.png".into()),
                        detail: Some("high".into())
                    }
                );
                assert!(matches!(
                    &parts[2],
                    Part::Image { source: ImageSource::Base64 { media_type, .. }, .. } if media_type == "image/png"
                ));
                match &parts[3] {
                    Part::Other { kind, raw } => {
                        assert_eq!(kind, "file");
                        assert_eq!(raw["filename"], "report.pdf");
                        assert!(raw["file_data"]
                            .as_str()
                            .is_some_and(|d| d.starts_with("data:application/pdf")));
                    }
                    other => panic!("expected a file part, got {other:?}"),
                }
                assert_eq!((r.temperature, r.max_tokens), (Some(0.2), Some(800)));
            }),
            ("structured output", STRUCTURED, |r| {
                assert_eq!(r.messages[0].role, Role::System);
                assert_eq!(text(&r.messages[0]), "Extract the event.");
                assert_eq!(r.messages[1].role, Role::System);
                match &r.response_format {
                    Some(ResponseFormat::JsonSchema { name, schema, strict }) => {
                        assert_eq!(name, "calendar_event");
                        assert_eq!(schema["required"], json!(["name", "date", "participants"]));
                        assert_eq!(*strict, Some(true));
                    }
                    other => panic!("expected a json_schema format, got {other:?}"),
                }
                assert_eq!(r.tool_choice, Some(ToolChoice::Named("save_event".into())));
                assert_eq!(r.tools[0].strict, None);
                assert_eq!(r.parallel_tool_calls, Some(false));
                assert_eq!(
                    (r.max_tokens, r.temperature, r.top_p),
                    (Some(1024), Some(0.5), Some(0.9))
                );
                assert_eq!(r.user.as_deref(), Some("user_8c1f"));
                assert_eq!(r.metadata["ticket"], "CAL-88");
                assert_eq!(r.routing.fallback, ["openai/gpt-4.1", "google/gemini-2.5-pro"]);
                assert_eq!(r.routing.budget, Money::from_dollars(0.25));
                assert_eq!(r.routing.session_id.as_deref(), Some("sess_42"));
                assert_eq!(r.routing.mode.as_deref(), Some("quality"));
                assert_eq!(r.unknown_fields, ["text.verbosity", "service_tier"]);
            }),
        ];
        for (name, body, check) in table {
            let p = ResponsesCodec
                .parse(body.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check(&p.request);
        }
    }

    #[test]
    fn bad_requests_name_the_param() {
        let table: Vec<Value> = serde_json::from_str(BAD).unwrap();
        assert!(table.len() > 30);
        for case in table {
            let body = match &case["body"] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let name = case["case"].as_str().unwrap();
            let e = match ResponsesCodec.parse(body.as_bytes()) {
                Ok(_) => panic!("{name}: accepted"),
                Err(e) => e,
            };
            assert_eq!(e.status(), 400, "{name}");
            assert_eq!(e.code(), case["code"].as_str().unwrap(), "{name}: {e}");
            assert_eq!(e.param(), case["param"].as_str(), "{name}: {e}");
        }
    }

    #[test]
    fn stored_state_is_refused_with_a_clear_message() {
        let e = ResponsesCodec
            .parse(br#"{"model":"auto","input":"more","previous_response_id":"resp_1"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("stored responses are not implemented"), "{e}");
        let e = ResponsesCodec
            .parse(br#"{"model":"auto","input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("\"code_interpreter\""), "{e}");
        // Explicit nulls and the defaults clients always send are fine.
        let r = parse_ok(
            r#"{"model":"auto","input":"x","previous_response_id":null,"background":false,"store":true,
                "truncation":"disabled","stream_options":{"include_obfuscation":false}}"#,
        );
        assert!(r.unknown_fields.is_empty());
    }

    #[test]
    fn reasoning_items_join_the_assistant_turn_they_precede() {
        let r = parse_ok(
            r#"{"model":"auto","input":[
                {"role":"user","content":"hi"},
                {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}]},
                {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello"}]},
                {"type":"reasoning","id":"rs_2","summary":[],"content":[{"type":"reasoning_text","text":"raw"}],"encrypted_content":"sig"},
                {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
                {"type":"reasoning","id":"rs_3","summary":[],"encrypted_content":null},
                {"type":"function_call_output","call_id":"c1","output":"ok"},
                {"type":"reasoning","id":"rs_4","summary":[{"type":"summary_text","text":"lost"}]},
                {"role":"user","content":"next"}]}"#,
        );
        assert_eq!(r.messages.len(), 4);
        let a = &r.messages[1];
        assert_eq!(
            a.content,
            [
                Part::Reasoning {
                    text: "a\n\nb".into(),
                    signature: None
                },
                Part::Text("Hello".into()),
                Part::Reasoning {
                    text: "raw".into(),
                    signature: Some("sig".into())
                },
            ]
        );
        assert_eq!(a.tool_calls.len(), 1);
        assert_eq!(r.messages[2].role, Role::Tool);
        assert_eq!(
            text(&r.messages[3]),
            "next",
            "reasoning with no output after it is dropped"
        );
    }
}

mod output {
    //! Whole answers, streams and stream failures, against OpenAI-shaped references.

    use super::*;

    fn parts_response(parts: Vec<OutPart>, finish: FinishReason) -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-Bx7".into(),
            created: 1_756_492_706,
            model: "gpt-4.1-2025-04-14".into(),
            parts,
            finish: Some(finish),
            usage: Some(Usage {
                input_tokens: 61,
                cached_input_tokens: 12,
                output_tokens: 24,
                reasoning_tokens: 5,
                ..Default::default()
            }),
        }
    }

    fn call(id: &str, name: &str, args: &str) -> OutPart {
        OutPart::ToolCall(ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        })
    }

    fn rendered(resp: &ChatResponse) -> Value {
        serde_json::from_slice(&ResponsesCodec.render_response(resp, None, "openai/gpt-4.1", &mut Fin)).unwrap()
    }

    #[test]
    fn renders_message_function_calls_usage_cost_and_router() {
        let resp = parts_response(
            vec![
                OutPart::Reasoning {
                    text: "Checking the tool".into(),
                    signature: Some("sig1".into()),
                },
                OutPart::Text("Let me ".into()),
                OutPart::Text("look.".into()),
                call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                call("", "get_time", "{}"),
            ],
            FinishReason::ToolCalls,
        );
        let v = rendered(&resp);
        assert_eq!(v["id"], "resp_chatcmpl-Bx7");
        assert_eq!(v["object"], "response");
        assert_eq!(v["created_at"], 1_756_492_706);
        assert_eq!(v["status"], "completed");
        assert_eq!(v["model"], "openai/gpt-4.1", "the catalog id that answered");
        assert_eq!((&v["error"], &v["incomplete_details"]), (&Value::Null, &Value::Null));
        let out = v["output"].as_array().unwrap();
        let types: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["reasoning", "message", "function_call", "function_call"]);
        assert_eq!(
            out[0]["summary"],
            json!([{"type": "summary_text", "text": "Checking the tool"}])
        );
        assert_eq!(out[0]["encrypted_content"], "sig1");
        assert_eq!(out[1]["content"][0]["text"], "Let me look.");
        assert_eq!(out[1]["role"], "assistant");
        assert_eq!(out[2]["call_id"], "call_1");
        assert_eq!(out[2]["arguments"], "{\"city\":\"Paris\"}");
        assert!(out[2]["id"].as_str().unwrap().starts_with("fc_"));
        assert_ne!(out[2]["id"], out[3]["id"]);
        assert!(
            !out[3]["call_id"].as_str().unwrap().is_empty(),
            "a missing call id is made up"
        );
        let u = &v["usage"];
        assert_eq!(
            (u["input_tokens"].as_u64(), u["output_tokens"].as_u64()),
            (Some(61), Some(24))
        );
        assert_eq!(u["total_tokens"], 85);
        assert_eq!(u["input_tokens_details"]["cached_tokens"], 12);
        assert_eq!(u["output_tokens_details"]["reasoning_tokens"], 5);
        assert_eq!(u["cost"], json!(0.0000025));
        assert_eq!(v["router"]["routing_mode"], "quality");
        // The echo of a request `render_response` is not given: the defaults.
        assert_eq!((&v["tools"], &v["tool_choice"]), (&json!([]), &json!("auto")));
        assert_eq!(v["parallel_tool_calls"], true);
        assert_eq!(v["text"], json!({"format": {"type": "text"}}));
    }

    #[test]
    fn length_and_content_filter_are_incomplete() {
        for (finish, reason) in [
            (FinishReason::Length, "max_output_tokens"),
            (FinishReason::ContentFilter, "content_filter"),
        ] {
            let v = rendered(&parts_response(vec![OutPart::Text("Once upon".into())], finish));
            assert_eq!(v["status"], "incomplete");
            assert_eq!(v["incomplete_details"], json!({"reason": reason}));
            assert_eq!(v["output"][0]["status"], "incomplete");
        }
        let v = rendered(&ChatResponse::default());
        assert_eq!(
            (&v["status"], &v["output"], &v["usage"]),
            (&json!("completed"), &json!([]), &Value::Null)
        );
        assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    }

    #[test]
    fn rendered_response_has_the_shape_of_openais() {
        let reference: Value = serde_json::from_str(OPENAI_RESPONSE).unwrap();
        let resp = parts_response(
            vec![
                OutPart::Reasoning {
                    text: "Checking".into(),
                    signature: None,
                },
                OutPart::Text("Let me look that up.".into()),
                call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
            ],
            FinishReason::ToolCalls,
        );
        let mut acc = BTreeSet::new();
        missing_keys(&reference, &rendered(&resp), "", &mut acc);
        assert!(acc.is_empty(), "keys OpenAI sends and we do not: {acc:?}");
    }

    fn run(req: &ChatRequest, events: Vec<StreamEvent>) -> Vec<Value> {
        let mut e = ResponsesCodec.stream_encoder(req, "openai/gpt-4.1");
        let mut out = Vec::new();
        for ev in events {
            e.event(ev, &mut out);
        }
        e.finish(&mut out, &mut Fin);
        let n = out.len();
        e.finish(&mut out, &mut Fin);
        assert_eq!(out.len(), n, "finish is idempotent");
        sse(&out)
    }

    fn usage() -> Usage {
        Usage {
            input_tokens: 61,
            cached_input_tokens: 12,
            output_tokens: 24,
            reasoning_tokens: 5,
            ..Default::default()
        }
    }

    fn text_and_two_calls() -> Vec<StreamEvent> {
        vec![
            StreamEvent::Start {
                id: "chatcmpl-Bx7".into(),
                model: "gpt-4.1-2025-04-14".into(),
            },
            StreamEvent::TextDelta("Let me ".into()),
            StreamEvent::TextDelta("look.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "get_weather".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"city\":".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "\"Paris\"}".into(),
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "call_2".into(),
                name: "get_time".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: "{}".into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(usage()),
        ]
    }

    /// Sequence numbers count up from 0; every per-item event names the item its `output_index`
    /// announced.
    fn check_consistency(events: &[Value]) {
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e["sequence_number"], i, "{e}");
        }
        let mut ids: HashMap<u64, Value> = HashMap::new();
        for e in events {
            let Some(oi) = e["output_index"].as_u64() else { continue };
            if e["type"] == "response.output_item.added" {
                assert!(
                    ids.insert(oi, e["item"].clone()).is_none(),
                    "output_index {oi} announced twice"
                );
                continue;
            }
            let added = &ids[&oi];
            if let Some(id) = e.get("item_id") {
                assert_eq!(id, &added["id"], "{e}");
            }
            if e["type"] == "response.output_item.done" {
                assert_eq!(e["item"]["id"], added["id"]);
                assert_eq!(e["item"]["call_id"], added["call_id"]);
            }
        }
    }

    fn without_created_at(mut v: Value) -> Value {
        v.as_object_mut().unwrap().remove("created_at");
        v
    }

    #[test]
    fn streams_text_and_parallel_calls_then_the_whole_response() {
        let events = run(&ChatRequest::default(), text_and_two_calls());
        assert_eq!(
            types(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        check_consistency(&events);
        assert_eq!(events[0]["response"]["status"], "in_progress");
        assert_eq!(events[0]["response"]["id"], "resp_chatcmpl-Bx7");
        assert_eq!(events[6]["text"], "Let me look.");
        assert_eq!(events[12]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(events[9]["item"]["call_id"], "call_1");
        assert_eq!(events[14]["item"]["name"], "get_time");
        let done = &events[18]["response"];
        assert_eq!(done["id"], events[0]["response"]["id"]);
        assert_eq!(done["usage"]["cost"], json!(0.0000025));
        assert_eq!(done["router"]["routing_mode"], "quality");
        // The final response is what the non-streaming answer would be.
        let whole = rendered(&parts_response(
            vec![
                OutPart::Text("Let me look.".into()),
                call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                call("call_2", "get_time", "{}"),
            ],
            FinishReason::ToolCalls,
        ));
        assert_eq!(without_created_at(done.clone()), without_created_at(whole));
    }

    #[test]
    fn stream_events_have_the_shape_of_openais() {
        let reference = sse(OPENAI_STREAM.as_bytes());
        let ours = run(&ChatRequest::default(), text_and_two_calls());
        assert_eq!(
            types(&reference).iter().collect::<BTreeSet<_>>(),
            types(&ours[..18])
                .iter()
                .chain(["response.completed"].iter())
                .collect::<BTreeSet<_>>(),
        );
        let mut acc = BTreeSet::new();
        for r in &reference {
            let twin = ours
                .iter()
                .find(|o| o["type"] == r["type"] && o["item"]["type"] == r["item"]["type"])
                .unwrap();
            missing_keys(r, twin, r["type"].as_str().unwrap(), &mut acc);
        }
        assert!(acc.is_empty(), "keys OpenAI sends and we do not: {acc:?}");
    }

    #[test]
    fn streams_reasoning_as_summary_items() {
        let events = run(
            &ChatRequest::default(),
            vec![
                StreamEvent::ReasoningDelta("Think".into()),
                StreamEvent::ReasoningDelta("ing".into()),
                StreamEvent::ReasoningSignature("sig1".into()),
                StreamEvent::ReasoningSignature("redacted".into()),
                StreamEvent::TextDelta("Hi".into()),
                StreamEvent::Finish(FinishReason::Stop),
            ],
        );
        assert_eq!(
            types(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        check_consistency(&events);
        assert_eq!(events[6]["text"], "Thinking");
        assert_eq!(events[8]["item"]["encrypted_content"], "sig1");
        assert_eq!(events[10]["item"]["summary"], json!([]));
        assert_eq!(events[10]["item"]["encrypted_content"], "redacted");
        let done = &events[17]["response"];
        assert_eq!(done["usage"], Value::Null, "no usage reported, none invented");
        let whole = rendered(&ChatResponse {
            id: events[0]["response"]["id"].as_str().unwrap().into(),
            parts: vec![
                OutPart::Reasoning {
                    text: "Thinking".into(),
                    signature: Some("sig1".into()),
                },
                OutPart::Reasoning {
                    text: String::new(),
                    signature: Some("redacted".into()),
                },
                OutPart::Text("Hi".into()),
            ],
            finish: Some(FinishReason::Stop),
            ..Default::default()
        });
        assert_eq!(without_created_at(done.clone()), without_created_at(whole));
    }

    #[test]
    fn a_cut_off_stream_ends_incomplete() {
        let events = run(
            &ChatRequest::default(),
            vec![
                StreamEvent::TextDelta("Once upon".into()),
                StreamEvent::Finish(FinishReason::Length),
                StreamEvent::Usage(usage()),
            ],
        );
        let last = events.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(last["response"]["status"], "incomplete");
        assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(events[events.len() - 2]["item"]["status"], "incomplete");
        // An answer with nothing in it still has the whole lifecycle.
        let events = run(&ChatRequest::default(), vec![]);
        assert_eq!(
            types(&events),
            ["response.created", "response.in_progress", "response.completed"]
        );
    }

    #[test]
    fn the_stream_echoes_the_request() {
        let r = parse_ok(STRUCTURED);
        let events = run(&r, text_and_two_calls());
        for e in [&events[0], events.last().unwrap()] {
            let resp = &e["response"];
            assert_eq!(resp["instructions"], "Extract the event.");
            assert_eq!(resp["tool_choice"], json!({"type": "function", "name": "save_event"}));
            assert_eq!(resp["tools"][0]["name"], "save_event");
            assert_eq!(resp["parallel_tool_calls"], false);
            assert_eq!(resp["text"]["format"]["name"], "calendar_event");
            assert_eq!((&resp["temperature"], &resp["top_p"]), (&json!(0.5), &json!(0.9)));
            assert_eq!(resp["max_output_tokens"], 1024);
            assert_eq!(resp["metadata"]["team"], "calendar");
            assert_eq!(resp["user"], "user_8c1f");
            assert_eq!(resp["store"], false);
        }
    }

    #[test]
    fn a_broken_stream_fails_the_way_the_sdk_raises() {
        let err = json!({"error": {"type": "upstream_error", "code": "upstream_stream_error",
            "message": "provider x reported an error mid-stream: overloaded", "param": null, "http_status": 502,
            "provider": "x", "request_id": "req_7", "rule_trace": []}});
        let mut out = Vec::new();
        ResponsesCodec.stream_error(&err, &mut out);
        let events = sse(&out);
        assert_eq!(types(&events), ["error", "response.failed"]);
        // The SDK raises APIError on an event whose data has a truthy `error`, with it as the body.
        assert_eq!(events[0]["error"], err["error"]);
        assert_eq!(events[0]["code"], "upstream_stream_error");
        assert!(events[0]["message"].as_str().unwrap().contains("overloaded"));
        assert!(events[1]["sequence_number"].as_u64() > events[0]["sequence_number"].as_u64());
        let failed = &events[1]["response"];
        assert_eq!(failed["status"], "failed");
        assert_eq!(
            failed["error"]["code"], "server_error",
            "OpenAI's enum of response error codes"
        );
        assert_eq!(failed["error"]["type"], "upstream_error");
        assert!(failed["error"]["message"].as_str().unwrap().contains("overloaded"));
        assert_eq!(failed["id"], "resp_req_7");
        // A rate limit maps onto OpenAI's own code, which Codex reads a retry delay with.
        let mut limited = err.clone();
        limited["error"]["http_status"] = json!(429);
        let mut out = Vec::new();
        ResponsesCodec.stream_error(&limited, &mut out);
        assert_eq!(sse(&out)[1]["response"]["error"]["code"], "rate_limit_exceeded");
    }

    #[test]
    fn late_arguments_and_text_after_calls_land_in_the_final_response() {
        let events = run(
            &ChatRequest::default(),
            vec![
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "call_1".into(),
                    name: "f".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "{\"a\":".into(),
                },
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "call_2".into(),
                    name: "g".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "1}".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 7,
                    arguments: "lost".into(),
                },
                StreamEvent::TextDelta("Done.".into()),
            ],
        );
        check_consistency(&events);
        let deltas = events
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.delta")
            .count();
        assert_eq!(deltas, 1, "no delta after an item's done event");
        let out = &events.last().unwrap()["response"]["output"];
        assert_eq!(out[0]["arguments"], "{\"a\":1}");
        assert_eq!(out[1]["arguments"], "");
        assert_eq!(out[2]["type"], "message");
        assert_ne!(out[2]["id"], out[0]["id"]);
    }
}

mod round_trip {
    //! Canonical → Responses JSON (a small test-only renderer) → canonical keeps the conversation.

    use super::*;

    /// The Responses input a client would send for `r`'s conversation.
    fn to_responses_json(r: &ChatRequest) -> Value {
        let mut input = Vec::new();
        let mut body = Map::new();
        for (i, m) in r.messages.iter().enumerate() {
            match m.role {
                Role::System if i == 0 => {
                    body.insert("instructions".into(), json!(text(m)));
                }
                Role::System | Role::Developer | Role::User => {
                    // Both content shapes: a plain string and a list of parts.
                    let content = if text(m).len() % 2 == 0 {
                        json!(text(m))
                    } else {
                        json!([{"type": "input_text", "text": text(m)}])
                    };
                    input.push(json!({"type": "message", "role": m.role.as_str(), "content": content}));
                }
                Role::Assistant => {
                    let mut texts = Vec::new();
                    for p in &m.content {
                        match p {
                            Part::Reasoning { text, signature } => input.push(json!({
                                "type": "reasoning", "id": format!("rs_{i}"),
                                "summary": [{"type": "summary_text", "text": text}],
                                "encrypted_content": signature})),
                            Part::Text(t) => {
                                texts.push(json!({"type": "output_text", "text": t, "annotations": []}))
                            }
                            _ => unreachable!("not generated"),
                        }
                    }
                    if !texts.is_empty() {
                        input.push(json!({"type": "message", "role": "assistant", "content": texts}));
                    }
                    for c in &m.tool_calls {
                        input.push(json!({"type": "function_call", "call_id": c.id, "name": c.name,
                                          "arguments": c.arguments}));
                    }
                }
                Role::Tool => input.push(json!({"type": "function_call_output", "call_id": m.tool_call_id,
                                                "output": text(m)})),
            }
        }
        body.insert("model".into(), json!(r.model));
        body.insert("input".into(), Value::Array(input));
        Value::Object(body)
    }

    /// One exchange: a user message, and maybe an answer (reasoning, text, calls with their results).
    type Exchange = (
        String,
        Option<(
            Option<(String, Option<String>)>,
            Option<String>,
            Vec<(String, String, String)>,
        )>,
    );

    fn exchange() -> impl Strategy<Value = Exchange> {
        let reasoning = proptest::option::of(("\\PC{1,20}", proptest::option::of("[A-Za-z0-9+/=]{4,24}")));
        let calls = proptest::collection::vec(("[a-z_]{1,12}", "\\PC{0,30}", "\\PC{0,30}"), 0..4);
        let answer = (reasoning, proptest::option::of("\\PC{0,40}"), calls)
            .prop_filter("an answer says something", |(_, t, c)| t.is_some() || !c.is_empty());
        ("\\PC{0,40}", proptest::option::of(answer))
    }

    fn conversation(system: Option<String>, exchanges: Vec<Exchange>) -> ChatRequest {
        let mut msgs = Vec::new();
        if let Some(s) = system {
            msgs.push(Message::text(Role::System, s));
        }
        let mut n = 0;
        for (user, answer) in exchanges {
            msgs.push(Message::text(Role::User, user));
            let Some((reasoning, text, calls)) = answer else {
                continue;
            };
            let mut a = Message::text(Role::Assistant, "");
            a.content.clear();
            if let Some((text, signature)) = reasoning {
                a.content.push(Part::Reasoning { text, signature });
            }
            if let Some(t) = text {
                a.content.push(Part::Text(t));
            }
            let mut results = Vec::new();
            for (name, arguments, result) in calls {
                n += 1;
                let id = format!("call_{n}");
                let mut m = Message::text(Role::Tool, result);
                m.tool_call_id = Some(id.clone());
                results.push(m);
                a.tool_calls.push(ToolCall { id, name, arguments });
            }
            msgs.push(a);
            msgs.extend(results);
        }
        ChatRequest {
            model: "auto".into(),
            messages: msgs,
            ..Default::default()
        }
    }

    const ITEM_KEYS: [&str; 10] =
        ["type", "role", "content", "call_id", "name", "arguments", "output", "summary", "encrypted_content", "id"];
    const PART_KEYS: [&str; 6] = ["type", "text", "refusal", "image_url", "detail", "file_id"];
    const NAMES: [&str; 14] = [
        "refusal", "input_image", "input_file", "reasoning_text", "summary_text", "bogus", "message",
        "function_call", "function_call_output", "reasoning", "item_reference", "user", "assistant", "developer",
    ];

    /// What a mutation puts at a key (`None`: the key is removed).
    fn mutant(action: usize) -> Option<Value> {
        match action % 8 {
            0 => None,
            1 => Some(Value::Null),
            2 => Some(json!(7)),
            3 => Some(json!("x")),
            4 => Some(json!([])),
            5 => Some(json!({})),
            6 => Some(json!([{"type": "input_text", "text": "t"}, {"type": "input_image", "image_url": "https://x/i.png"}])),
            _ => Some(json!(NAMES[action / 8 % NAMES.len()])),
        }
    }

    /// Change one key of one input item, or of one of its content parts.
    fn mutate(body: &mut Value, (item, key, action, in_part): (usize, usize, usize, bool)) {
        let Some(items) = body["input"].as_array_mut().filter(|i| !i.is_empty()) else { return };
        let n = items.len();
        let it = &mut items[item % n];
        let parts = ["content", "output"].into_iter().find_map(|k| it.get(k).and_then(Value::as_array).map(|_| k));
        let (target, keys): (&mut Value, &[&str]) = match parts {
            Some(list) if in_part => {
                let list = it[list].as_array_mut().unwrap();
                if list.is_empty() {
                    return;
                }
                let m = list.len();
                (&mut list[item / n % m], &PART_KEYS)
            }
            _ => (it, &ITEM_KEYS),
        };
        let Some(obj) = target.as_object_mut() else { return };
        let key = keys[key % keys.len()];
        match mutant(action) {
            None => obj.remove(key),
            Some(v) => obj.insert(key.into(), v),
        };
    }

    proptest! {
        /// The one pass's reader of `input` (`one_pass.rs`) gives what the checked path gives, or
        /// falls back to it: the same request, or the same error, on conversations with broken items.
        #[test]
        fn one_pass_and_checked_path_agree_on_broken_items(
            exchanges in proptest::collection::vec(exchange(), 1..4),
            mutations in proptest::collection::vec((any::<usize>(), 0..10usize, any::<usize>(), any::<bool>()), 0..4),
            duplicate in 0..4usize,
        ) {
            let mut body = to_responses_json(&conversation(None, exchanges));
            for m in mutations {
                mutate(&mut body, m);
            }
            let mut text = body.to_string();
            // serde_json's maps keep one value per key, so a duplicate is written into the text.
            let key = ["\"role\":", "\"call_id\":", "\"text\":", ""][duplicate];
            if let Some(at) = text.find(key).filter(|_| !key.is_empty()) {
                text.insert_str(at, &format!("{key}\"dup\","));
            }
            let one = ResponsesCodec.parse(text.as_bytes()).map(|p| p.request);
            crate::api::fields::tests::CHECKED_ONLY.set(true);
            let checked = ResponsesCodec.parse(text.as_bytes()).map(|p| p.request);
            crate::api::fields::tests::CHECKED_ONLY.set(false);
            match (one, checked) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
                (Err(a), Err(b)) => prop_assert_eq!((a.code(), a.param()), (b.code(), b.param()), "{}", text),
                (a, b) => prop_assert!(false, "one pass {:?}, checked {:?}: {}", a, b, text),
            }
        }

        #[test]
        fn conversations_survive_a_round_trip(
            system in proptest::option::of("\\PC{1,40}"),
            exchanges in proptest::collection::vec(exchange(), 1..6),
        ) {
            let original = conversation(system, exchanges);
            let body = to_responses_json(&original).to_string();
            let parsed = ResponsesCodec.parse(body.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&parsed.request.messages, &original.messages);
        }
    }
}
