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
        sonic_rs::from_str::<Raw>(self.0)
            .map_err(S::Error::custom)?
            .serialize(s)
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
mod tests;
