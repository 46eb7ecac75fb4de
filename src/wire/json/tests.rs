//! Unit tests of the raw top-level split.

use super::*;

fn code_param(e: GatewayError) -> (&'static str, Option<String>) {
    (e.code(), e.param().map(str::to_string))
}

#[test]
fn object_scan() {
    let o = parse_object(br#" {"a": [1, {"b": 2}], "c": "x"} "#).unwrap();
    assert_eq!(o.len(), 2);
    assert_eq!(o[0].1.get(), r#"[1, {"b": 2}]"#);
    assert_eq!(code_param(parse_object(b"").unwrap_err()).0, "invalid_json");
    assert_eq!(code_param(parse_object(b"[1]").unwrap_err()).0, "invalid_json");
    assert_eq!(
        code_param(parse_object(b"{\"a\":1,\"a\":2}").unwrap_err()).0,
        "invalid_json"
    );
    assert_eq!(code_param(parse_object(b"{\"a\":1} x").unwrap_err()).0, "invalid_json");
    assert_eq!(
        code_param(parse_object(b"{\"a\":\"\xff\"}").unwrap_err()).0,
        "invalid_json"
    );
}
