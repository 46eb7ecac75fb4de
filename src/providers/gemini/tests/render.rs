//! Rendering: thought signatures, turns and roles, tool results with images.

use serde_json::json;
use switchyard_sdk::ir::{ChatRequest, ImageSource, Message, Part, Role};

use super::*;
use crate::providers::gemini::render::SKIP_SIGNATURE;
use crate::providers::gemini::wire;

#[test]
fn thought_signatures_go_back_where_gemini_put_them() {
    let m = model();
    let own = |s: &str| wire::tag_signature("up-m", s);
    let reasoning = |t: &str, s: Option<String>| Part::Reasoning {
        text: t.into(),
        signature: s,
    };
    let mut with_calls = Message::new(
        Role::Assistant,
        vec![
            reasoning("thinking", Some(own("S1"))),
            text("Checking."),
            reasoning("", Some(own("S2"))),
        ],
    );
    with_calls.tool_calls = vec![call("c1", "f", "{\"a\":1}"), call("c2", "f", "")];
    let plain = Message::new(Role::Assistant, vec![reasoning("more", Some(own("S3"))), text("Done.")]);
    let foreign = Message::new(
        Role::Assistant,
        vec![
            reasoning("", Some(wire::tag_signature("gemini-2.5-pro", "X"))),
            text("Hi"),
        ],
    );
    let mut foreign_call = Message::new(Role::Assistant, vec![reasoning("", Some("ErUBCkgIBRAB".into()))]);
    foreign_call.tool_calls = vec![call("c3", "f", "not json")];
    let mut tool = Message::new(Role::Tool, vec![text("oops")]);
    tool.tool_call_id = Some("c2".into());
    tool.is_error = true;
    let req = ChatRequest {
        messages: vec![
            Message::new(Role::User, vec![text("go")]),
            with_calls,
            tool,
            plain,
            Message::new(Role::User, vec![text("again")]),
            foreign,
            foreign_call,
        ],
        ..Default::default()
    };
    let (r, v) = render(&req, &m);
    let c = &v["contents"];
    assert_eq!(
        c[1]["parts"],
        json!([
            {"text": "Checking.", "thoughtSignature": "S1"},
            {"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "S2"},
            {"functionCall": {"id": "c2", "name": "f", "args": {}}},
        ])
    );
    assert_eq!(
        c[2]["parts"],
        json!([{"functionResponse": {"id": "c2", "name": "f", "response": {"error": "oops"}}}])
    );
    // A plain answer keeps its signature on the part after the reasoning.
    assert_eq!(c[3]["parts"], json!([{"text": "Done.", "thoughtSignature": "S3"}]));
    // Another model's signatures are not sent; a call then gets the documented placeholder.
    assert_eq!(
        c[5]["parts"],
        json!([
            {"text": "Hi"},
            {"functionCall": {"id": "c3", "name": "f", "args": {}}, "thoughtSignature": SKIP_SIGNATURE},
        ])
    );
    assert_eq!(c.as_array().unwrap().len(), 6, "consecutive model turns are merged");
    assert_eq!(
        r.lossy,
        vec![
            "reasoning text of earlier turns is not sent to Gemini (its thought signatures are)",
            "reasoning signatures made by another model were not sent to Gemini",
            "tool call arguments that were not a JSON object were sent to Gemini as {}",
        ]
    );
}

#[test]
fn turns_roles_and_system_placement() {
    let mut late = Message::new(Role::System, vec![text("late rule")]);
    late.role = Role::Developer;
    let mut tool = Message::new(Role::Tool, vec![text("r1")]);
    tool.tool_call_id = None;
    tool.name = Some("legacy_fn".into());
    let req = ChatRequest {
        messages: vec![
            Message::new(Role::System, vec![text("rule 1"), text("")]),
            Message::new(Role::User, vec![text("a"), text("")]),
            Message::new(Role::User, vec![text("b")]),
            Message::new(Role::Assistant, vec![text("")]),
            late,
            Message::new(Role::Assistant, vec![text("c")]),
            tool,
        ],
        ..Default::default()
    };
    let m = model_named("models/gemini-2.5-flash");
    let (r, v) = render(&req, &m);
    assert_eq!(r.path, "/models/gemini-2.5-flash:generateContent");
    assert_eq!(
        v,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                {"role": "model", "parts": [{"text": "c"}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "legacy_fn", "response": {"output": "r1"}}}]},
            ],
            "systemInstruction": {"parts": [{"text": "rule 1"}, {"text": "late rule"}]},
        })
    );
    assert_eq!(
        r.lossy,
        vec!["system messages after the first turn are moved into Gemini's systemInstruction"]
    );
}

#[test]
fn tool_result_images_follow_the_function_response() {
    let mut a = Message::new(Role::Assistant, Vec::new());
    a.tool_calls = vec![call("t1", "screenshot", "{}")];
    let mut t = Message::new(
        Role::Tool,
        vec![
            text("captured"),
            Part::Image {
                source: ImageSource::Base64 {
                    media_type: "image/jpeg".into(),
                    data: "/9j/4AAQ".into(),
                },
                detail: None,
            },
        ],
    );
    t.tool_call_id = Some("t1".into());
    let req = ChatRequest {
        messages: vec![Message::new(Role::User, vec![text("look")]), a, t],
        ..Default::default()
    };
    let (_, v) = render(&req, &model());
    assert_eq!(
        v["contents"][2]["parts"],
        json!([
            {"functionResponse": {"id": "t1", "name": "screenshot", "response": {"output": "captured"}}},
            {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        ])
    );
}
