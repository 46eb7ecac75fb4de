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
            assert!(r.unknown_fields.is_empty(), "{:?}", r.unknown_fields);
            assert!(r.chat_extras.contains_key("prompt_cache_key"));
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
            assert!(r.unknown_fields.is_empty(), "{:?}", r.unknown_fields);
            let extras: Vec<&str> = r.chat_extras.keys().map(String::as_str).collect();
            assert_eq!(extras, ["verbosity", "metadata", "service_tier"]);
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
    // Built-in tools are kept whole for a provider that runs them, out of the functions.
    let r =
        parse_ok(r#"{"model":"auto","input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}"#);
    assert!(r.tools.is_empty());
    assert_eq!(r.tool_forms.builtin[0].0, "code_interpreter");
    assert_eq!(
        r.tool_forms.builtin[0].1.get(),
        r#"{"type":"code_interpreter","container":{"type":"auto"}}"#
    );
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
