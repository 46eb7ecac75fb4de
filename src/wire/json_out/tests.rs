//! Unit tests of the JSON output helpers: escapes, raw objects, round trips.

use super::*;

#[test]
fn strings_escape_like_serde_json() {
    let nasty = "plain \"quoted\" back\\slash\nnew\tline \u{1} \u{1f} résumé 日本 \u{7f} </script>";
    let long = nasty.repeat(40);
    for s in [nasty, &long, "", "a"] {
        let mut out = Vec::new();
        write_str(&mut out, s);
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, s);
        assert_eq!(out, serde_json::to_vec(s).unwrap(), "byte-identical to serde_json");
    }
}

#[test]
fn raw_objects_pass_verbatim() {
    #[derive(Serialize)]
    struct Call<'a> {
        input: Raw<'a>,
    }
    let text = r#"{ "a" : [1, 2.50, "x"] }"#;
    let out = to_vec(&Call {
        input: raw_object(text).unwrap(),
    })
    .unwrap();
    assert_eq!(out, format!(r#"{{"input":{text}}}"#).into_bytes());
    assert!(raw_object("[1]").is_none());
    assert!(raw_object("{\"a\":").is_none());
    assert!(raw_object("not json").is_none());
    assert!(raw_object("{} trailing").is_none());
    for invalid in [
        r#"{"a":tru}"#,
        r#"{"a":"\x"}"#,
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        "{\"a\":\"\u{1}\"}",
    ] {
        assert!(raw_object(invalid).is_none(), "{invalid} is not JSON");
    }
}

#[test]
fn values_round_trip() {
    let v = serde_json::json!({"b": 1, "a": [true, null, 0.7, -3, 1e300, "s"], "m": {"z": {}, "y": []}});
    let out = to_vec(&v).unwrap();
    assert_eq!(
        out,
        serde_json::to_vec(&v).unwrap(),
        "same keys in the same order, same numbers"
    );
}
