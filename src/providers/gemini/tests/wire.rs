//! The wire helpers: compact arguments, signature tags, names, MIME types and schemas.

use crate::providers::gemini::wire::*;

#[test]
fn compacts_outside_strings_only() {
    assert_eq!(
        compact_json("{\n  \"a b\": [1, 2],\n  \"c\": \"x \\\" y\\\\\" }"),
        r#"{"a b":[1,2],"c":"x \" y\\"}"#
    );
    assert_eq!(compact_json(r#"{"é": "ü ü"}"#), r#"{"é":"ü ü"}"#);
}

#[test]
fn signatures_are_tagged_per_model() {
    let t = tag_signature("gemini-2.5-flash", "Cikx/+=");
    assert_eq!(own_signature(&t, "gemini-2.5-flash"), Some("Cikx/+="));
    assert_eq!(own_signature(&t, "gemini-2.5-pro"), None);
    assert_eq!(own_signature(&t, "gemini-2.5"), None);
    assert_eq!(own_signature("EqQBCkgB", "gemini-2.5-flash"), None);
}

#[test]
fn names_mimes_and_schemas() {
    assert!(valid_function_name("get_weather.v2:x-y"));
    assert!(!valid_function_name("2fast"));
    assert!(!valid_function_name("has space"));
    assert!(!valid_function_name(&"a".repeat(129)));
    assert_eq!(image_mime_from_url("https://x.io/a/b.JPG?sig=1.2"), Some("image/jpeg"));
    assert_eq!(image_mime_from_url("https://x.io/a.b/c"), None);
    assert_eq!(image_mime_from_url("https://x.io/anim.gif"), None);
    assert!(is_empty_object_schema(r#"{"type": "object", "properties": {}}"#));
    assert!(!is_empty_object_schema(r#"{"type": "object", "required": []}"#));
    assert!(is_empty_object_schema(r#"{"$schema": "x", "properties": { }}"#));
    assert!(!is_empty_object_schema(r#"{"type": "string"}"#));
    assert!(!is_empty_object_schema(
        r#"{"type": "object", "properties": {"a": {}}}"#
    ));
    assert!(!is_empty_object_schema(
        r#"{"type": "object", "properties": {"\u0061": {}}}"#
    ));
    assert!(is_empty_object_schema(r#"{"type": "object"}"#));
    assert!(is_empty_object_schema("{}"));
    assert!(!is_empty_object_schema(r#"{"type": "object", "properties": null}"#));
    assert!(!is_empty_object_schema(
        r#"{"properties": {}, "type": ["object", "null"]}"#
    ));
    let s = serde_json::json!({"$schema": "x", "type": "object"});
    assert_eq!(serde_json::to_string(&Schema(&s)).unwrap(), r#"{"type":"object"}"#);
    let tool = r#"{"$schema": "x", "type": "object", "properties": {"a": {"$schema": "y"}}}"#;
    assert_eq!(
        crate::wire::json_out::to_vec(&ToolSchema(tool)).unwrap(),
        br#"{"type":"object","properties":{"a":{"$schema":"y"}}}"#,
        "only the top-level $schema is left out"
    );
    let verbatim = r#"{ "type": "object", "properties": {"a": {"type": "string"}} }"#;
    assert_eq!(
        crate::wire::json_out::to_vec(&ToolSchema(verbatim)).unwrap(),
        verbatim.as_bytes()
    );
}
