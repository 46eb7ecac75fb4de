//! Unit tests of the field parser: the one pass against the checked path, and error paths.

use super::*;
use crate::api::{codec, Schema};

thread_local! {
    /// Parse on the checked path only, to compare it with the one pass.
    pub static CHECKED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Every fixture request, and every body of the bad-request tables, parses to the same request
/// (or the same error) on the one pass as on the checked path.
#[test]
fn one_pass_and_checked_path_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut bodies: Vec<(Schema, String)> = Vec::new();
    for (sub, schema) in [
        ("anthropic", Schema::AnthropicMessages),
        ("responses", Schema::OpenAiResponses),
    ] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            if name.starts_with("request") {
                bodies.push((schema, text));
            } else if name == "parse_errors.json" || name == "bad_requests.json" {
                let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
                bodies.extend(cases.iter().map(|c| (schema, c["body"].to_string())));
            }
        }
    }
    let chat = [
        "anthropic/openai_request_tools.json",
        "gemini/openai_tools_request.json",
        "gemini/openai_vision_request.json",
    ];
    for f in chat {
        bodies.push((Schema::OpenAiChat, std::fs::read_to_string(dir.join(f)).unwrap()));
    }
    let nulls = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":null,"x":null,"y":[1]}"#;
    bodies.push((Schema::OpenAiChat, nulls.into()));
    // Responses inputs at the edges of its one-pass reader (openai_responses::one_pass).
    let inputs = [
        r#"[{"content":[{"text":"a","type":"input_text"}],"role":"user","type":"message"}]"#,
        r#"[{"type":null,"role":"developer","content":"x","id":null,"status":null}]"#,
        r#"[{"type":"reasoning","summary":[{"text":"s1"},{"text":"s2"}],"encrypted_content":"sig"},
                {"type":"message","role":"assistant","content":[{"type":"refusal","refusal":null,"text":"t"}]},
                {"type":"reasoning","summary":null},{"type":"function_call","call_id":"c","name":"f","arguments":"{}","content":null},
                {"type":"function_call_output","call_id":"c","output":"r"},
                {"type":"function_call_output","call_id":"c","output":[{"type":"output_text","text":"again"}]}]"#,
        r#"[{"type":"reasoning","content":[{"type":"reasoning_text","text":"raw"}],"summary":[{"text":"s"}]},
                {"type":"message","role":"assistant","content":[{"type":"input_text","text":"a","detail":"auto"}]}]"#,
        r#"[{"role":"user","content":[{"type":"input_image","image_url":"https://x/a.png","detail":null},
                {"type":"input_file","file_data":"data:application/pdf;base64,AA","filename":"a.pdf"}]}]"#,
        r#"[{"r\u006fle":"user","content":"x"}]"#,
        r#"[{"role":"user","content":"x","content":"y"}]"#,
        r#"[{"role":"user","content":[{"type":"input_text","text":"a","text":"b"}]}]"#,
        r#"[{"role":"user","content":[{"type":"input_text","text":"a","detail":5}]}]"#,
        r#"[{"type":"function_call_output","call_id":"c","output":"early"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]"#,
        r#"[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","summary":7}]"#,
    ];
    for input in inputs {
        let body = format!(r#"{{"input":{input},"model":"m","instructions":"be brief"}}"#);
        bodies.push((Schema::OpenAiResponses, body));
    }
    assert!(bodies.len() > 30, "{} bodies", bodies.len());
    let (mut ok, mut failed) = (0, 0);
    for (schema, body) in &bodies {
        let one = codec(*schema).parse(body.as_bytes()).map(|p| p.request);
        CHECKED_ONLY.set(true);
        let checked = codec(*schema).parse(body.as_bytes()).map(|p| p.request);
        CHECKED_ONLY.set(false);
        match (one, checked) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{schema:?}: {body}");
                ok += 1;
            }
            (Err(a), Err(b)) => {
                assert_eq!((a.code(), a.param()), (b.code(), b.param()), "{schema:?}: {body}");
                failed += 1;
            }
            (a, b) => panic!("{schema:?}: one pass {a:?}, checked {b:?}: {body}"),
        }
    }
    assert!(ok >= 8 && failed >= 20, "{ok} parsed, {failed} refused");
}

fn code_param(e: GatewayError) -> (&'static str, Option<String>) {
    (e.code(), e.param().map(str::to_string))
}

#[test]
fn field_paths() {
    #[derive(serde::Deserialize, Debug)]
    struct M {
        #[allow(dead_code)]
        content: String,
    }
    let raw = RawValue::from_string(r#"[{"content":"a"},{"content":5}]"#.into()).unwrap();
    let e = field::<Vec<M>>("messages", &raw).unwrap_err();
    assert_eq!(code_param(e), ("invalid_type", Some("messages[1].content".into())));
    let raw = RawValue::from_string("\"x\"".into()).unwrap();
    assert_eq!(
        code_param(field::<u32>("max_tokens", &raw).unwrap_err()).1.as_deref(),
        Some("max_tokens")
    );
}
