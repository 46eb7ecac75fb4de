//! JSON output for the bodies the gateway renders. sonic-rs's serializer escapes strings with SIMD;
//! serde_json's escapes byte by byte, and that loop was the largest single cost of a request render
//! (a fifth of `chat → anthropic`, see load-tests/RESULTS.md).
//!
//! Raw JSON spliced into an output must be a [`Raw`]: serde_json's `RawValue` is recognised only by
//! serde_json's own serializer and would come out as a wrapper object here.

use serde::Serialize;

/// A JSON value kept as its text and written verbatim.
pub type Raw<'a> = sonic_rs::LazyValue<'a>;

/// `text` as a [`Raw`] when it is one valid JSON object (the only raw form the renderers splice in).
pub fn raw_object(text: &str) -> Option<Raw<'_>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    sonic_rs::from_str::<Raw>(text).ok()
}

/// Valid JSON text (a [`JsonText`](switchyard_sdk::ir::JsonText)), serialized verbatim.
pub struct Verbatim<'a>(pub &'a str);

impl Serialize for Verbatim<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        sonic_rs::from_str::<Raw>(self.0).map_err(S::Error::custom)?.serialize(s)
    }
}

/// Serialize `value` to the end of `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    sonic_rs::to_writer(out, value).map_err(|e| e.to_string())
}

/// `value` as a new buffer.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    sonic_rs::to_vec(value).map_err(|e| e.to_string())
}

/// `s` as a JSON string literal, appended to `out`.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // A string into a Vec cannot fail.
    let _ = sonic_rs::to_writer(out, s);
}

#[cfg(test)]
mod tests {
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
        let out = to_vec(&Call { input: raw_object(text).unwrap() }).unwrap();
        assert_eq!(out, format!(r#"{{"input":{text}}}"#).into_bytes());
        assert!(raw_object("[1]").is_none());
        assert!(raw_object("{\"a\":").is_none());
        assert!(raw_object("not json").is_none());
        assert!(raw_object("{} trailing").is_none());
        for invalid in [r#"{"a":tru}"#, r#"{"a":"\x"}"#, r#"{"a":1,}"#, r#"{"a" 1}"#, "{\"a\":\"\u{1}\"}"] {
            assert!(raw_object(invalid).is_none(), "{invalid} is not JSON");
        }
    }

    #[test]
    fn values_round_trip() {
        let v = serde_json::json!({"b": 1, "a": [true, null, 0.7, -3, 1e300, "s"], "m": {"z": {}, "y": []}});
        let out = to_vec(&v).unwrap();
        assert_eq!(out, serde_json::to_vec(&v).unwrap(), "same keys in the same order, same numbers");
    }
}
