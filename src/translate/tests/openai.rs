//! OpenAI chat pairings: the pass-through's request body for OpenAI and for OpenAI-compatible
//! servers with catalog quirks.

use serde_json::{json, Value};

use crate::config::raw::Quirks;
use crate::config::{test_model, Model, ProviderKind};
use crate::providers::openai::passthrough::render_request;

fn render(body: &[u8], model: &Model) -> Value {
    let parsed = crate::api::openai_chat::parse(body).unwrap();
    serde_json::from_slice(&render_request(
        &crate::wire::json::parse_object(body).unwrap(),
        &parsed.request,
        model,
    ))
    .unwrap()
}

#[test]
fn request_keeps_unknown_fields_and_drops_gateway_ones() {
    let m = test_model(ProviderKind::OpenAi, Quirks::default());
    let v = render(br#"{"model":"alias","messages":[{"role":"user","content":"hi"}],"logprobs":true,"fallback":["x"],"metadata":{"a":1},"stream":true,"stream_options":{"include_usage":false,"x":1},"max_tokens":9}"#, &m);
    assert_eq!(v["model"], "up-m");
    assert_eq!(v["logprobs"], true);
    assert!(v.get("fallback").is_none() && v.get("metadata").is_none());
    assert_eq!(v["stream_options"], json!({"include_usage": true, "x": 1}));
    assert_eq!(
        v["max_completion_tokens"], 9,
        "OpenAI itself gets max_completion_tokens"
    );
    let v = render(
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"store":true,"metadata":{"a":1}}"#,
        &m,
    );
    assert_eq!(v["metadata"], json!({"a": 1}));
    assert!(v.get("stream_options").is_none());
}

#[test]
fn request_follows_catalog_quirks() {
    let q = Quirks {
        max_tokens_field: Some("max_tokens".into()),
        stream_usage: false,
        developer_role: false,
        drop_fields: vec!["parallel_tool_calls".into()],
        reasoning_field: None,
    };
    let m = test_model(ProviderKind::OpenAiCompatible, q);
    let v = render(br#"{"model":"m","messages":[{"role":"developer","content":"be terse"},{"role":"user","content":"hi"}],"max_completion_tokens":5,"stream":true,"parallel_tool_calls":false}"#, &m);
    assert_eq!(v["max_tokens"], 5);
    assert!(v.get("max_completion_tokens").is_none());
    assert!(v.get("stream_options").is_none());
    assert!(v.get("parallel_tool_calls").is_none());
    assert_eq!(v["messages"][0]["role"], "system");
    assert_eq!(v["messages"][1]["content"], "hi");
}

mod refusals {
    //! The refusal mapping through the translation core: an OpenAI-schema provider's refusal, whole
    //! or streamed, reaches each client schema in its own place and never as the answer's text.

    use proptest::prelude::*;
    use serde_json::{json, Value};
    use switchyard_sdk::ir::ChatRequest;

    use crate::api::{self, Schema};
    use crate::config::raw::Quirks;
    use crate::config::{test_model, ProviderKind};
    use crate::providers::openai::OpenAi;
    use crate::translate::{stream_translator, translate_json, Plan};
    use crate::wire::sse::SseParser;
    use crate::wire::testing::Fin;

    fn plan(schema: Schema) -> Plan {
        Plan::Translate {
            codec: api::codec(schema),
            adapter: &OpenAi,
        }
    }

    fn events(out: &[u8]) -> Vec<(Option<String>, Value)> {
        let mut v = Vec::new();
        SseParser::new(1 << 20)
            .push(out, |e| {
                if let Ok(d) = serde_json::from_str(&e.data) {
                    v.push((e.event.clone(), d));
                }
            })
            .unwrap();
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn refusals_keep_their_place(refusal in "[a-zA-Z ,.']{1,40}", split in 1usize..4) {
            let m = test_model(ProviderKind::OpenAi, Quirks::default());
            let body = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "up",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": null, "refusal": refusal}}]});
            let body = body.to_string();
            let whole = |s: Schema| -> Value {
                serde_json::from_slice(&translate_json(plan(s), body.as_bytes(), &m, &mut Fin(0)).unwrap()).unwrap()
            };
            let r = whole(Schema::OpenAiResponses);
            prop_assert_eq!(&r["output"][0]["content"], &json!([{"type": "refusal", "refusal": refusal}]));
            let a = whole(Schema::AnthropicMessages);
            prop_assert_eq!(&a["stop_reason"], "refusal");
            prop_assert_eq!(&a["content"][0]["text"], &json!(refusal));
            let c = whole(Schema::OpenAiChat);
            prop_assert_eq!(&c["choices"][0]["message"]["refusal"], &json!(refusal));
            prop_assert!(c["choices"][0]["message"]["content"].is_null());

            // Streamed in `split` pieces.
            let cut = refusal.len() / split;
            let pieces: Vec<&str> = (0..split)
                .map(|i| &refusal[i * cut..if i + 1 == split { refusal.len() } else { (i + 1) * cut }])
                .collect();
            let mut sse = String::new();
            for p in &pieces {
                let ev = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up",
                                "choices": [{"index": 0, "delta": {"refusal": p}, "finish_reason": null}]});
                sse.push_str(&format!("data: {ev}\n\n"));
            }
            sse.push_str("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
            let req = ChatRequest { stream: true, ..Default::default() };
            let run = |s: Schema| {
                let mut t = stream_translator(plan(s), &req, &m);
                let mut out = Vec::new();
                let mut fin = Fin(0);
                SseParser::new(1 << 20).push(sse.as_bytes(), |e| t.event(&e, &mut out, &mut fin)).unwrap();
                t.end(&mut out, &mut fin).unwrap();
                events(&out)
            };
            let ev = run(Schema::OpenAiResponses);
            let deltas: String = ev.iter()
                .filter(|(n, _)| n.as_deref() == Some("response.refusal.delta"))
                .map(|(_, d)| d["delta"].as_str().unwrap_or_default().to_string())
                .collect();
            prop_assert_eq!(&deltas, &refusal);
            prop_assert!(!ev.iter().any(|(n, _)| n.as_deref() == Some("response.output_text.delta")));
            let done = ev.iter().find(|(n, _)| n.as_deref() == Some("response.refusal.done")).map(|(_, d)| d["refusal"].clone());
            prop_assert_eq!(done, Some(json!(refusal)));
            let ev = run(Schema::AnthropicMessages);
            let stop = ev.iter().find(|(n, _)| n.as_deref() == Some("message_delta")).map(|(_, d)| d["delta"]["stop_reason"].clone());
            prop_assert_eq!(stop, Some(json!("refusal")));
            let ev = run(Schema::OpenAiChat);
            let chat: String = ev.iter()
                .filter_map(|(_, d)| d["choices"][0]["delta"]["refusal"].as_str().map(str::to_string))
                .collect();
            prop_assert_eq!(&chat, &refusal);
        }
    }
}
