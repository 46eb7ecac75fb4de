//! Unit tests of `input`.

use super::*;
use serde_json::json;

fn obj(v: Value) -> Object {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

#[test]
fn prompt_and_input_merge_into_one_chat_body() {
    let a = ask(
        &obj(
            json!({"prompt": "hi", "max_tokens": 5, "input": {"temperature": 0.5, "max_tokens": 9,
            "messages": [{"role": "system", "content": "be brief"}]}}),
        ),
        RouteEndpoint::Auto,
    )
    .unwrap();
    assert_eq!(a.chat["model"], "auto");
    assert_eq!(a.chat["max_tokens"], 5, "the top level wins");
    assert_eq!(a.chat["temperature"], 0.5);
    assert_eq!(a.chat["messages"].as_array().unwrap().len(), 2);
    assert_eq!(a.prompt, "hi");
    assert!(a.from_input.contains(&"temperature".to_string()));
    assert!(!a.from_input.contains(&"max_tokens".to_string()));
}

#[test]
fn the_prompt_is_not_repeated_and_image_fields_stay_out_of_chat() {
    let a = ask(
        &obj(json!({"prompt": "draw", "size": "1024x1024", "response_format": "url",
            "input": {"messages": [{"role": "user", "content": "draw"}]}})),
        RouteEndpoint::Auto,
    )
    .unwrap();
    assert_eq!(a.chat["messages"].as_array().unwrap().len(), 1);
    assert!(a.chat.get("size").is_none() && a.chat.get("response_format").is_none());
    assert_eq!(a.image["size"], "1024x1024");
    assert_eq!(a.image["response_format"], "url");
}

#[test]
fn refusals_name_their_field() {
    let p = |v: Value, ep| ask(&obj(v), ep).err().and_then(|e| e.param().map(str::to_string));
    assert_eq!(p(json!({"input": {}}), RouteEndpoint::Auto).as_deref(), Some("prompt"));
    assert_eq!(
        p(json!({"prompt": "x", "stream": true}), RouteEndpoint::Auto).as_deref(),
        Some("stream")
    );
    assert_eq!(
        p(json!({"prompt": "x", "input": {"stream": true}}), RouteEndpoint::Auto).as_deref(),
        Some("input.stream")
    );
    assert_eq!(p(json!({"prompt": 3}), RouteEndpoint::Auto).as_deref(), Some("prompt"));
    assert_eq!(p(json!({"promt": "x"}), RouteEndpoint::Auto).as_deref(), Some("promt"));
    assert_eq!(
        p(json!({"query": "x", "model": "a"}), RouteEndpoint::Models).as_deref(),
        Some("model")
    );
    assert_eq!(p(json!({"input": []}), RouteEndpoint::Auto).as_deref(), Some("input"));
    let a = ask(
        &obj(json!({"input": {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}})),
        RouteEndpoint::Auto,
    )
    .unwrap();
    let e = parse_chat(&a).unwrap_err();
    assert_eq!(e.param(), Some("input.temperature"));
}
