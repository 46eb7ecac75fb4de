//! A request body's top-level object split into raw fields, values kept as JSON text: what the
//! same-schema pass-throughs forward field by field, and what the codecs' checked path types one
//! field at a time.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use crate::error::GatewayError;

/// A JSON object's top-level fields in client order, values kept as raw JSON text.
pub type RawObject = Vec<(String, Box<RawValue>)>;

struct RawObjectVisitor;

impl<'de> Visitor<'de> for RawObjectVisitor {
    type Value = RawObject;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
        let mut out: RawObject = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
            if out.iter().any(|(seen, _)| *seen == k) {
                return Err(serde::de::Error::custom(format!("duplicate field `{k}`")));
            }
            out.push((k, v));
        }
        Ok(out)
    }
}

/// A request body that is not JSON at all (`invalid_json`, without a `param`).
pub fn invalid_json(message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "invalid_json",
        message,
        param: None,
    }
}

/// The body as text: refused when empty or not UTF-8.
pub fn body_text(body: &[u8]) -> Result<&str, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid_json("the request body is empty; send a JSON object".into()));
    }
    std::str::from_utf8(body).map_err(|_| invalid_json("the request body is not valid UTF-8".into()))
}

/// Split a request body into its top-level fields without parsing their values.
pub fn parse_object(body: &[u8]) -> Result<RawObject, GatewayError> {
    let text = body_text(body)?;
    // From the validated text, so the raw field values are not validated a second time.
    let mut de = serde_json::Deserializer::from_str(text);
    let obj = de.deserialize_map(RawObjectVisitor).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            invalid_json(format!("the request body must be a JSON object: {e}"))
        } else {
            invalid_json(format!("malformed JSON: {e}"))
        }
    })?;
    de.end().map_err(|e| invalid_json(format!("malformed JSON: {e}")))?;
    Ok(obj)
}

#[cfg(test)]
mod tests;
