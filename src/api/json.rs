//! JSON helpers shared by the codecs: the top-level scan into raw fields, and typed field parsing
//! whose errors name the field path as the error's `param`.

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use switchyard_sdk::ir::RoutingHints;
use switchyard_sdk::Money;

use super::RawObject;
use crate::error::GatewayError;

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

fn invalid_json(message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "invalid_json",
        message,
        param: None,
    }
}

/// Split a request body into its top-level fields without parsing their values.
pub fn parse_object(body: &[u8]) -> Result<RawObject, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid_json("the request body is empty; send a JSON object".into()));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(invalid_json("the request body is not valid UTF-8".into()));
    };
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

/// Parse one field's raw value as `T`; an error names the exact path (`messages[2].content`).
pub fn field<T: DeserializeOwned>(name: &str, raw: &RawValue) -> Result<T, GatewayError> {
    // Path tracking doubles the cost of a parse; valid requests (nearly all) skip it, and only a
    // failed parse is repeated with it to name the field.
    if let Ok(v) = serde_json::from_str(raw.get()) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let sub = e.path().to_string();
        let param = match sub.as_str() {
            "." | "" => name.to_string(),
            s if s.starts_with('[') => format!("{name}{s}"),
            s => format!("{name}.{s}"),
        };
        let inner = e.into_inner().to_string();
        let inner = match inner.find(" at line ") {
            Some(i) => inner[..i].to_string(),
            None => inner,
        };
        GatewayError::InvalidRequest {
            code: "invalid_type",
            message: format!("{param}: {inner}"),
            param: Some(param),
        }
    })
}

/// A string or a list of strings (`stop`, `fallback`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Reads one of Switchyard's own request fields (`GATEWAY_FIELDS`) into `hints`; `Ok(false)` when
/// `name` is not one of them.
pub fn routing_field(name: &str, raw: &RawValue, hints: &mut RoutingHints) -> Result<bool, GatewayError> {
    match name {
        "fallback" => hints.fallback = field::<OneOrMany>(name, raw)?.into_vec(),
        "budget_dollars" => {
            let d: f64 = field(name, raw)?;
            hints.budget = Some(
                Money::from_dollars(d)
                    .ok_or_else(|| GatewayError::invalid(name, "budget_dollars must be a non-negative amount"))?,
            );
        }
        "session_id" => hints.session_id = Some(field(name, raw)?),
        "router_mode" | "optimization" => hints.mode = Some(field(name, raw)?),
        _ => return Ok(false),
    }
    Ok(true)
}

pub fn missing(param: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "missing_field",
        message: format!("missing required field `{param}`"),
        param: Some(param.into()),
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn field_paths() {
        #[derive(serde::Deserialize, Debug)]
        struct M {
            #[allow(dead_code)]
            content: String,
        }
        let raw = RawValue::from_string(r#"[{"content":"a"},{"content":5}]"#.into()).unwrap();
        let e = field::<Vec<M>>("messages", &raw).unwrap_err();
        assert_eq!(code_param(e), ("invalid_type", Some("messages[1].content".into())));
        let raw = RawValue::from_string("\"x\"".into()).unwrap();
        assert_eq!(
            code_param(field::<u32>("max_tokens", &raw).unwrap_err()).1.as_deref(),
            Some("max_tokens")
        );
    }
}
