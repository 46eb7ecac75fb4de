//! Unit tests of the one-pass input reader: the shapes it takes, and those it leaves to the checked path.

use super::*;

fn fixture_input(name: &str) -> String {
    let path = format!("{}/tests/fixtures/responses/{name}", env!("CARGO_MANIFEST_DIR"));
    let body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    body["input"].to_string()
}

/// The shapes clients send are read here, not on the slower checked path; the rest is left to it.
#[test]
fn takes_the_common_shapes_and_leaves_the_rest() {
    let takes = [
            fixture_input("request_agent_turn.json"),
            fixture_input("request_structured_output.json"),
            r#""just text""#.into(),
            r#"[{"content": [{"text": "a", "type": "input_text"}, {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}], "role": "user"},
                {"type": "reasoning", "summary": [], "encrypted_content": "sig", "content": null},
                {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                 "content": [{"type": "output_text", "text": "b", "annotations": []}, {"type": "refusal", "refusal": "no"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "r"}]}]"#
                .into(),
        ];
    for input in &takes {
        let read = serde_json::from_str::<OnePassInput>(input);
        assert!(read.is_ok_and(|r| r.0.items > 0), "{input}");
    }
    let leaves = [
        fixture_input("request_images_and_files.json"),
        r#"[{"type": "reasoning", "content": [{"type": "reasoning_text", "text": "t"}]}]"#.into(),
        r#"[{"type": "item_reference", "id": "msg_1"}]"#.into(),
        r#"[{"role": "user", "role": "user", "content": "x"}]"#.into(),
        r#"[{"r\u006fle": "user", "content": "x"}]"#.into(),
        r#"[{"type": "function_call", "call_id": "c1", "arguments": "{}"}]"#.into(),
        r#"[{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]"#.into(),
        r#"[{"role": "user", "content": [{"type": "input_text"}]}]"#.into(),
        r#"[{"role": "user", "content": 5}]"#.into(),
    ];
    for input in &leaves {
        assert!(serde_json::from_str::<OnePassInput>(input).is_err(), "{input}");
    }
}
