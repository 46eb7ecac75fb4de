//! Gemini pairings: OpenAI chat requests rendered for Gemini (fixtures, controls, refusals), and a
//! Gemini stream through the pipeline to an OpenAI chat client.

use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Role, Usage};

use crate::api::Schema as ClientSchema;
use crate::providers::gemini::tests::{model, model_named, render, text};
use crate::providers::gemini::Gemini;
use crate::providers::{ProviderAdapter, ProviderError};
use crate::translate::Plan;
use crate::wire::sse::SseParser;
use crate::wire::{Finalizer, Incomplete};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/gemini/", $name))
    };
}

fn openai(body: &str) -> ChatRequest {
    crate::api::openai_chat::parse(body.as_bytes()).unwrap().request
}

#[test]
fn renders_openai_requests_like_the_fixtures() {
    let cases = [
        (
            fixture!("openai_tools_request.json"),
            fixture!("gemini_tools_request.json"),
            "/models/up-m:streamGenerateContent?alt=sse",
            vec![
                "parallel_tool_calls: false cannot be enforced by Gemini, which may call several functions at once",
                "strict tools: Gemini does not guarantee arguments match the schema",
                "user: no Gemini equivalent, not sent",
                "service_tier: not understood by the gateway, not sent",
            ],
        ),
        (
            fixture!("openai_vision_request.json"),
            fixture!("gemini_vision_request.json"),
            "/models/up-m:generateContent",
            vec!["image detail has no Gemini equivalent and was not sent"],
        ),
    ];
    for (input, expected, path, lossy) in cases {
        let (r, body) = render(&openai(input), &model());
        let expected: Value = serde_json::from_str(expected).unwrap();
        assert_eq!(body, expected, "{path}");
        assert_eq!(r.path, path);
        assert_eq!(r.lossy, lossy);
        assert!(r.headers.is_empty());
    }
}

#[test]
fn maps_controls_to_gemini() {
    let base = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],
        "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}},
                 {"type":"function","function":{"name":"g"}}]"#;
    let cases = [
        (
            r#""tool_choice":"auto""#,
            json!({"functionCallingConfig": {"mode": "AUTO"}}),
        ),
        (
            r#""tool_choice":"none""#,
            json!({"functionCallingConfig": {"mode": "NONE"}}),
        ),
        (
            r#""tool_choice":"required""#,
            json!({"functionCallingConfig": {"mode": "ANY"}}),
        ),
        (
            r#""tool_choice":{"type":"function","function":{"name":"g"}}"#,
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["g"]}}),
        ),
        (r#""temperature":1"#, Value::Null),
    ];
    for (extra, expected) in cases {
        let (_, v) = render(&openai(&format!("{base},{extra}}}")), &model());
        assert_eq!(v["toolConfig"], expected, "{extra}");
        assert_eq!(v["tools"][0]["functionDeclarations"][1], json!({"name": "g"}));
    }
    let gen = |extra: &str| {
        let body = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],{extra}}}"#);
        let (r, v) = render(&openai(&body), &model());
        (v["generationConfig"].clone(), r.lossy)
    };
    assert_eq!(
        gen(r#""response_format":{"type":"json_object"},"max_tokens":5"#).0,
        json!({"maxOutputTokens": 5, "responseMimeType": "application/json"})
    );
    assert_eq!(gen(r#""response_format":{"type":"text"}"#).0, Value::Null);
    assert_eq!(
        gen(r#""reasoning_effort":"none""#).0,
        json!({"thinkingConfig": {"thinkingBudget": 0}})
    );
    assert_eq!(
        gen(r#""reasoning_effort":"galaxy-brain""#),
        (
            Value::Null,
            vec!["reasoning_effort: not a level Gemini's thinking budget knows, not sent".to_string()]
        )
    );
    assert_eq!(
        gen(r#""seed":4294967297"#),
        (
            json!({"seed": 1}),
            vec!["seed: outside Gemini's 32-bit range, sent truncated".to_string()]
        )
    );
    let req = ChatRequest {
        reasoning_budget: Some(2048),
        reasoning_effort: Some("high".into()),
        top_k: Some(40),
        messages: vec![Message::new(Role::User, vec![text("hi")])],
        ..Default::default()
    };
    assert_eq!(
        render(&req, &model()).1["generationConfig"],
        json!({"topK": 40, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}})
    );
}

#[test]
fn refuses_what_gemini_cannot_honour() {
    let m = model();
    let ok = r#"{"role":"user","content":"hi"}"#;
    let img =
        |url: &str| format!(r#"{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"{url}"}}}}]}}"#);
    let cases: Vec<(String, &str, &str)> = vec![
        (ok.into(), r#""n":2,"stream":true"#, "one choice"),
        (ok.into(), r#""stop":["a","b","c","d","e","f"]"#, "at most 5 stop sequences"),
        (
            ok.into(),
            r#""tools":[{"type":"function","function":{"name":"9lives"}}]"#,
            "not a valid Gemini function name",
        ),
        (
            r#"{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}"#.into(),
            "",
            "messages[0]: input_audio parts cannot be sent to Gemini",
        ),
        (img("http://example.com/a.png"), "", "only fetches https"),
        (img("https://example.com/anim.gif?token=secret"), "", "needs the image's type"),
        (
            r#"{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},{"role":"user","content":"hi"}"#.into(),
            "",
            "system instruction carries text only",
        ),
        (
            r#"{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"nope","content":"x"}"#.into(),
            "",
            "messages[1]: a tool result answers no earlier tool call",
        ),
        (r#"{"role":"system","content":"only rules"}"#.into(), "", "at least one user or assistant"),
    ];
    for (messages, extra, want) in cases {
        let sep = if extra.is_empty() { "" } else { "," };
        let req = openai(&format!(r#"{{"model":"m","messages":[{messages}]{sep}{extra}}}"#));
        let e = Gemini.check(&req, &m).unwrap_err();
        assert!(matches!(e, ProviderError::Unsupported(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains(want), "{e:?} should mention {want:?}");
        assert!(!e.contains("secret"), "errors never echo image URLs");
    }
    let req = openai(&format!(
        r#"{{"model":"m","messages":[{}]}}"#,
        img("https://x.io/a.png")
    ));
    assert!(Gemini.check(&req, &m).is_ok());
    let e = Gemini
        .check(&req, &model_named("gemini-2.0-flash"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Gemini 2.0"), "{e}");
    assert!(Gemini
        .check(&openai(&format!(r#"{{"model":"m","messages":[{ok}],"n":1}}"#)), &m)
        .is_ok());
}

struct Fin;

impl Finalizer for Fin {
    fn finish(&mut self, _usage: Option<Usage>) -> (Value, Option<switchyard_sdk::Money>) {
        (json!({"routed": true}), None)
    }
}

#[test]
fn streams_through_the_pipeline_to_an_openai_client() {
    let m = model();
    let req = ChatRequest {
        stream: true,
        ..Default::default()
    };
    let plan = Plan::Translate {
        codec: crate::api::codec(ClientSchema::OpenAiChat),
        adapter: &Gemini,
    };
    let run = |sse: &str| {
        let mut t = crate::translate::stream_translator(plan, &req, &m);
        let mut parser = SseParser::new(1 << 20);
        let mut out = Vec::new();
        parser
            .push(sse.as_bytes(), |ev| t.event(&ev, &mut out, &mut Fin))
            .unwrap();
        let end = t.end(&mut out, &mut Fin);
        (String::from_utf8(out).unwrap(), end, t.usage())
    };
    let (out, end, u) = run(fixture!("stream_tools.sse"));
    assert_eq!(end, Ok(()));
    assert!(out.contains(r#""finish_reason":"tool_calls""#), "{out}");
    assert!(out.contains(r#""id":"call_qpc2afWVFJK4vr0Pq6WiyAU_1""#), "{out}");
    assert!(out.ends_with("data: [DONE]\n\n"));
    assert_eq!(u.map(|u| u.output_tokens), Some(132));
    let cut: String = fixture!("stream_tools.sse").split_inclusive("\n\n").take(2).collect();
    assert_eq!(run(&cut).1, Err(Incomplete::Truncated));
    let (_, end, _) = run(fixture!("stream_error.sse"));
    assert_eq!(
        end,
        Err(Incomplete::ProviderError(
            "The model is overloaded. Please try again later.".into()
        ))
    );
}
