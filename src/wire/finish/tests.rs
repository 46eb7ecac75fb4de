use proptest::prelude::*;
use switchyard_sdk::ir::FinishReason;

use super::*;

/// Every provider's documented reasons (OpenAI chat, Anthropic `stop_reason`, Gemini
/// `FinishReason`) and arbitrary words.
fn reason() -> impl Strategy<Value = FinishReason> {
    let known = prop::sample::select(vec![
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "function_call",
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
        "model_context_window_exceeded",
        "FINISH_REASON_UNSPECIFIED",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_SAFETY",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
    ])
    .prop_map(|s| FinishReason::Other(s.to_string()));
    prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::ContentFilter),
        known,
        "[A-Za-z_]{1,24}".prop_map(FinishReason::Other),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn every_reason_lands_in_each_schemas_enum(f in reason()) {
        let (c, chat_note) = chat(Some(&f));
        prop_assert!(["stop", "length", "tool_calls", "content_filter"].contains(&c));
        let (m, msg_note) = messages(Some(&f));
        prop_assert!(["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal",
                      "model_context_window_exceeded"].contains(&m));
        let o = responses(Some(&f));
        prop_assert!(["completed", "incomplete", "failed"].contains(&o.status));
        prop_assert!(matches!(o.incomplete, None | Some("max_output_tokens" | "content_filter")));
        prop_assert_eq!(o.error.is_some(), o.status == "failed");
        // The original is named whenever it is not one of the canonical four.
        if let FinishReason::Other(orig) = &f {
            let named = |n: &Option<String>| n.as_deref().is_some_and(|n| n.contains(orig.as_str()));
            prop_assert!(named(&chat_note), "{:?}", chat_note);
            prop_assert!(named(&o.note), "{:?}", o.note);
            prop_assert!(m == orig || named(&msg_note), "{:?}", msg_note);
        } else {
            prop_assert!(chat_note.is_none() && msg_note.is_none() && o.note.is_none());
        }
    }
}

#[test]
fn nearest_values() {
    let other = |s: &str| FinishReason::Other(s.into());
    assert_eq!(chat(Some(&other("MALFORMED_FUNCTION_CALL"))).0, "stop");
    assert_eq!(chat(Some(&other("pause_turn"))).0, "stop");
    assert_eq!(chat(Some(&other("BLOCKLIST"))).0, "content_filter");
    assert_eq!(chat(Some(&FinishReason::ToolCalls)), ("tool_calls", None));
    assert_eq!(messages(Some(&other("pause_turn"))), ("pause_turn", None));
    assert_eq!(messages(Some(&other("LANGUAGE"))).0, "end_turn");
    assert_eq!(messages(Some(&FinishReason::ContentFilter)), ("refusal", None));
    let o = responses(Some(&other("MALFORMED_FUNCTION_CALL")));
    assert_eq!((o.status, o.incomplete), ("failed", None));
    assert!(o.error.unwrap().contains("MALFORMED_FUNCTION_CALL"));
    assert_eq!(responses(Some(&other("pause_turn"))).status, "incomplete");
    assert_eq!(
        responses(Some(&FinishReason::Length)).incomplete,
        Some("max_output_tokens")
    );
    assert_eq!(responses(None).status, "completed");
}
