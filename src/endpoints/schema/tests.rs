//! Unit tests of `schema`.

use super::*;
use crate::config::raw::Quirks;
use crate::config::test_model;

#[test]
fn pointers_become_params() {
    assert_eq!(pointer_to_path(""), "");
    assert_eq!(pointer_to_path("/max_tokens"), "max_tokens");
    assert_eq!(
        pointer_to_path("/messages/0/content/1/type"),
        "messages[0].content[1].type"
    );
    assert_eq!(pointer_to_path("/a~1b"), "a/b");
}

#[test]
fn schemas_follow_capabilities() {
    let full = test_model(ProviderKind::OpenAi, Quirks::default());
    let mut plain = (*full).clone();
    plain.capabilities = vec!["chat".into()];
    let good = json!({"model": "p/m", "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"},
                      {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]});
    assert_eq!(validate(&input_schema_of(&full), &good).unwrap(), Vec::<Value>::new());
    let errs = validate(&input_schema_of(&plain), &good).unwrap();
    let paths: Vec<&str> = errs.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"messages[0].content[1].type"), "{errs:?}");
    assert!(paths.contains(&""), "tools is not a property: {errs:?}");
    let too_long = json!({"model": "p/m", "max_tokens": 5000, "messages": [{"role": "user", "content": "hi"}]});
    let errs = validate(&input_schema_of(&full), &too_long).unwrap();
    assert_eq!(errs[0]["path"], "max_tokens", "{errs:?}");
    let out = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "p/m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cost": 0.00001},
        "router": {"request_id": "r", "model": "p/m", "provider": "p", "mode": "pinned", "attempts": [],
                   "cost": {"estimated_dollars": 0.1, "actual_dollars": 0.1}}});
    assert!(validate(&output_schema_of(&full), &out).unwrap().is_empty());
    let mut bad = out.clone();
    bad["usage"].as_object_mut().unwrap().remove("cost");
    let errs = validate(&output_schema_of(&full), &bad).unwrap();
    assert_eq!(errs[0]["path"], "usage");
}
