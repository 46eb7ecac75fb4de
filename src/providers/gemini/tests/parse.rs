//! Whole answers, finish reasons, retry delays and error messages.

use switchyard_sdk::ir::{ChatResponse, FinishReason, OutPart, Usage};

use super::*;
use crate::providers::gemini::{wire, Gemini};
use crate::providers::{ProviderAdapter, ProviderError};

fn resp(parts: Vec<OutPart>, finish: Option<FinishReason>, id: &str, model: &str, u: [u64; 4]) -> ChatResponse {
    ChatResponse {
        id: id.into(),
        created: 0,
        model: model.into(),
        parts,
        finish,
        usage: Some(Usage {
            input_tokens: u[0],
            cached_input_tokens: u[1],
            cache_write_tokens: 0,
            output_tokens: u[2],
            reasoning_tokens: u[3],
            reasoning_unknown: false,
        }),
        more_choices: Vec::new(),
        logprobs: None,
    }
}

fn tool_call(id: &str, name: &str, args: &str) -> OutPart {
    OutPart::ToolCall(call(id, name, args))
}

#[test]
fn parses_whole_answers() {
    let sig = |s: &str| Some(wire::tag_signature("up-m", s));
    let cases = [
        (
            fixture!("text.json"),
            resp(
                vec![OutPart::Text("AI learns patterns from data to make predictions or decisions.".into())],
                Some(FinishReason::Stop),
                "65E2aavdMaiU1e8P246LmAc",
                "gemini-2.5-flash",
                [2056, 2048, 527, 515],
            ),
        ),
        (
            fixture!("thinking.json"),
            resp(
                vec![
                    OutPart::Reasoning {
                        text: "**Calculating the product**\n\nI need 6 times 7. That is 42.\n".into(),
                        signature: sig("CpcBAdHtim9+Nqa0yLVPq1AbwYl3xxyi2EmxV9YEhVA3fRz+ccrW4ZldZrhJjbuDuRNX4dVR5kw2zH1Q+bM5WoiZnfAs6qhHJqeEIu3hY5BeA5R8Q=="),
                    },
                    OutPart::Text("6 × 7 = **42**.".into()),
                ],
                Some(FinishReason::Stop),
                "Vf9faKf1HuvjmtkP8eGc0A4",
                "gemini-2.5-pro",
                [9, 0, 112, 103],
            ),
        ),
        (
            fixture!("function_calls.json"),
            resp(
                vec![
                    OutPart::Reasoning {
                        text: String::new(),
                        signature: sig("CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwplAXLI2nyA/pIFcnZwFm+7WFmLyMd8R4DXwsjqaeAAfCKo5G1xIkbAlJp8VevnIWRZ9SyMmiiqmY6linicJ5dg3rVLHM9wwSQ8FEvAxgO3Ave1rRlh"),
                    },
                    tool_call("call_qpc2afWVFJK4vr0Pq6WiyAU_0", "get_weather", r#"{"location":"Tokyo","unit":"celsius"}"#),
                    tool_call(
                        "call_qpc2afWVFJK4vr0Pq6WiyAU_1",
                        "get_weather",
                        r#"{"location":"Paris, \"Île-de-France\"","unit":"celsius"}"#,
                    ),
                ],
                Some(FinishReason::ToolCalls),
                "qpc2afWVFJK4vr0Pq6WiyAU",
                "gemini-2.5-flash",
                [83, 0, 132, 104],
            ),
        ),
        (
            fixture!("function_call_ids.json"),
            resp(
                vec![
                    OutPart::Text("Let me look that up.".into()),
                    OutPart::Reasoning {
                        text: String::new(),
                        signature: sig("EqQBCkgBHtim8z7uTqQ1n3xZ0bU2Lq9Jm5v2e3Lr0P1sZ3GQv9mJtq4kR8aXo2w="),
                    },
                    tool_call("8x2kq1vd", "search_docs", r#"{"query":"retry budget","limit":3}"#),
                    tool_call("3nf0s7ab", "get_time", "{}"),
                ],
                Some(FinishReason::ToolCalls),
                "c3RyZWFtLWlkLTk4NzY1",
                "gemini-3-flash-preview",
                [412, 0, 186, 145],
            ),
        ),
        (
            fixture!("max_tokens.json"),
            resp(
                vec![OutPart::Text("Once upon a time, in a valley hidden between two".into())],
                Some(FinishReason::Length),
                "Xk1faOLyAu3Vz7IP9pSmwQo",
                "gemini-2.5-flash-lite",
                [7, 0, 10, 0],
            ),
        ),
        (
            fixture!("safety.json"),
            resp(
                vec![],
                Some(FinishReason::ContentFilter),
                "L0dfaMz3Bq6Lz7IP4LihwAg",
                "gemini-2.5-flash",
                [24, 0, 0, 0],
            ),
        ),
        (
            fixture!("prompt_blocked.json"),
            resp(
                vec![],
                Some(FinishReason::ContentFilter),
                "Bk9faJ3nJMqQz7IP_aSNwA4",
                "gemini-2.5-flash",
                [11, 0, 0, 0],
            ),
        ),
        (
            fixture!("malformed_call.json"),
            resp(
                vec![],
                Some(FinishReason::Other("MALFORMED_FUNCTION_CALL".into())),
                "mVBfaNmUGvPtz7IP0qiV4A0",
                "gemini-2.5-flash",
                [95, 0, 0, 0],
            ),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(Gemini.parse_response(body.as_bytes(), &model()).unwrap(), expected);
    }
    let m = model();
    assert!(Gemini
        .parse_response(b"{}", &m)
        .unwrap_err()
        .to_string()
        .contains("no candidates"));
    assert!(Gemini.parse_response(b"<html>", &m).is_err());
    assert_eq!(
        Gemini
            .parse_response(fixture!("error_400.json").as_bytes(), &m)
            .unwrap_err(),
        ProviderError::InvalidResponse("API key not valid. Please pass a valid API key.".into())
    );
    let bare = Gemini
        .parse_response(br#"{"candidates":[{"content":{"parts":[{"text":"x"}]}}]}"#, &m)
        .unwrap();
    assert_eq!((bare.model.as_str(), bare.finish, bare.usage), ("up-m", None, None));
}

#[test]
fn finish_reasons() {
    use FinishReason as F;
    for (reason, calls, want) in [
        ("STOP", false, F::Stop),
        ("STOP", true, F::ToolCalls),
        ("MAX_TOKENS", true, F::Length),
        ("SAFETY", false, F::ContentFilter),
        ("RECITATION", false, F::ContentFilter),
        ("PROHIBITED_CONTENT", false, F::ContentFilter),
        ("BLOCKLIST", false, F::ContentFilter),
        ("SPII", false, F::ContentFilter),
        ("LANGUAGE", false, F::Other("LANGUAGE".into())),
        ("OTHER", false, F::Other("OTHER".into())),
    ] {
        assert_eq!(wire::finish(reason, calls), want, "{reason}");
    }
}

#[test]
fn retry_delay_from_the_body() {
    assert_eq!(Gemini.retry_after(fixture!("error_429.json").as_bytes()), Some(21));
    assert_eq!(
        Gemini.retry_after(br#"{"error":{"details":[{"retryDelay":"1.2s"}]}}"#),
        Some(2)
    );
    assert_eq!(Gemini.retry_after(fixture!("error_400.json").as_bytes()), None);
}

#[test]
fn error_messages() {
    let cases = [
        (fixture!("error_400.json"), "API key not valid. Please pass a valid API key."),
        (
            fixture!("error_429.json"),
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        ),
        (r#"{"error":{"code":503,"status":"UNAVAILABLE"}}"#, "UNAVAILABLE"),
        ("upstream connect error\n", "upstream connect error"),
    ];
    for (body, want) in cases {
        assert_eq!(Gemini.error_message(body.as_bytes()), want);
    }
    assert_eq!(Gemini.auth_headers("k1"), vec![("x-goog-api-key", "k1".to_string())]);
}
