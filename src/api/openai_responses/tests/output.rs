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
            reasoning_unknown: false,
            ..Default::default()
        }),
        more_choices: Vec::new(),
        logprobs: None,
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
        reasoning_unknown: false,
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
