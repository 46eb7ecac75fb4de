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
                        Part::Text(t) => texts.push(json!({"type": "output_text", "text": t, "annotations": []})),
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

const ITEM_KEYS: [&str; 10] = [
    "type",
    "role",
    "content",
    "call_id",
    "name",
    "arguments",
    "output",
    "summary",
    "encrypted_content",
    "id",
];
const PART_KEYS: [&str; 6] = ["type", "text", "refusal", "image_url", "detail", "file_id"];
const NAMES: [&str; 14] = [
    "refusal",
    "input_image",
    "input_file",
    "reasoning_text",
    "summary_text",
    "bogus",
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
    "user",
    "assistant",
    "developer",
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
        6 => {
            Some(json!([{"type": "input_text", "text": "t"}, {"type": "input_image", "image_url": "https://x/i.png"}]))
        }
        _ => Some(json!(NAMES[action / 8 % NAMES.len()])),
    }
}

/// Change one key of one input item, or of one of its content parts.
fn mutate(body: &mut Value, (item, key, action, in_part): (usize, usize, usize, bool)) {
    let Some(items) = body["input"].as_array_mut().filter(|i| !i.is_empty()) else {
        return;
    };
    let n = items.len();
    let it = &mut items[item % n];
    let parts = ["content", "output"]
        .into_iter()
        .find_map(|k| it.get(k).and_then(Value::as_array).map(|_| k));
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
