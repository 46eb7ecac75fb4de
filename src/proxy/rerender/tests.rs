//! Unit tests of `rerender`.

use super::*;

#[test]
fn editable_fields_are_replaced_and_the_rest_kept_in_order() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":"a@b.c"}],"logprobs":true,"tools":[1]}"#;
    let rendered = br#"{"model":"x","messages":[{"role":"user","content":"[EMAIL]"}],"temperature":1}"#;
    let out = splice(body, rendered, EDITABLE).unwrap();
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"model":"m","messages":[{"role":"user","content":"[EMAIL]"}],"logprobs":true}"#
    );
}
