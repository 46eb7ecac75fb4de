//! JSON helpers shared by the codecs: the top-level scan into raw fields, and typed field parsing
//! whose errors name the field path as the error's `param`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use switchyard_sdk::ir::RoutingHints;
use switchyard_sdk::Money;

use super::RawObject;
use crate::error::GatewayError;
use crate::providers::anthropic::wire::parse_at;

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

fn body_text(body: &[u8]) -> Result<&str, GatewayError> {
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

/// A request's top-level fields, gathered one by one: each codec's request state.
pub trait Fields: Default {
    /// Take field `name`. Its value must be read at most once.
    fn set<V: FieldValue>(&mut self, name: &str, value: &mut V) -> Result<(), GatewayError>;
}

/// A top-level field's value, read as a type. `None` is an explicit null, which OpenAI and
/// Anthropic treat like an absent field.
pub trait FieldValue {
    /// Whether a read's error reaches the client. The one pass's do not (any failure there reads the
    /// body again on the checked path), so a codec may read a field there with a faster reader that
    /// takes only the common shapes and fails on the rest.
    const PRECISE_ERRORS: bool;

    fn read<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, GatewayError>;
}

/// How an error on the checked path names what is missing.
#[derive(Clone, Copy)]
pub enum Naming {
    /// `param` is the path of the value that failed ([`field`]).
    Path,
    /// A missing field is named itself with code `missing_field` (Anthropic's style).
    MissingField,
}

/// The checked path's value: raw text, typed on demand with the exact path of an error.
pub struct Checked<'a> {
    raw: &'a RawValue,
    naming: Naming,
}

impl FieldValue for Checked<'_> {
    const PRECISE_ERRORS: bool = true;

    fn read<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, GatewayError> {
        if self.raw.get() == "null" {
            return Ok(None);
        }
        match self.naming {
            Naming::Path => field(name, self.raw).map(Some),
            Naming::MissingField => parse_at(self.raw.get(), || name.to_string()).map(Some),
        }
    }
}

/// The fast path's value: typed straight from the parser, in the same pass as the object.
struct Streamed<'m, A> {
    map: &'m mut A,
    read: bool,
}

impl<'de, A: MapAccess<'de>> FieldValue for Streamed<'_, A> {
    const PRECISE_ERRORS: bool = false;

    fn read<T: DeserializeOwned>(&mut self, _name: &str) -> Result<Option<T>, GatewayError> {
        self.read = true;
        // Any failure sends the whole body down the checked path, which names the field.
        self.map
            .next_value::<Option<T>>()
            .map_err(|e| invalid_json(e.to_string()))
    }
}

/// Parse a request body's top-level object into `F`, field by field.
///
/// A valid body (nearly all) is parsed in one pass, each field typed straight from the parser. If
/// anything fails, the body is parsed again on the checked path: split into raw fields, each then
/// typed with path tracking, so the error names the exact field (`messages[2].content`). Both paths
/// run the same [`Fields::set`], so what a valid body gives does not depend on the path. The one pass
/// saves the raw split, about a quarter of a parse (load-tests/RESULTS.md).
pub fn parse_fields<F: Fields>(body: &[u8], naming: Naming) -> Result<F, GatewayError> {
    let text = body_text(body)?;
    #[cfg(test)]
    let one_pass = |t: &str| if tests::CHECKED_ONLY.get() { None } else { one_pass::<F>(t) };
    if let Some(fields) = one_pass(text) {
        return Ok(fields);
    }
    let raw = parse_object(body)?;
    let mut fields = F::default();
    for (name, raw) in &raw {
        fields.set(name, &mut Checked { raw, naming })?;
    }
    Ok(fields)
}

fn one_pass<F: Fields>(text: &str) -> Option<F> {
    struct OnePass<F>(PhantomData<F>);

    impl<'de, F: Fields> Visitor<'de> for OnePass<F> {
        type Value = F;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F, A::Error> {
            let mut fields = F::default();
            let mut seen: Vec<&'de str> = Vec::with_capacity(16);
            // Keys with escapes cannot be borrowed; they fail here and take the checked path.
            while let Some(name) = map.next_key::<&'de str>()? {
                if seen.contains(&name) {
                    return Err(A::Error::custom("duplicate field"));
                }
                seen.push(name);
                let mut value = Streamed {
                    map: &mut map,
                    read: false,
                };
                fields.set(name, &mut value).map_err(|_| A::Error::custom("field"))?;
                if !value.read {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(fields)
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de.deserialize_map(OnePass(PhantomData)).ok()?;
    de.end().ok()?;
    Some(fields)
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
pub fn routing_field<V: FieldValue>(name: &str, value: &mut V, hints: &mut RoutingHints) -> Result<bool, GatewayError> {
    match name {
        "fallback" => hints.fallback = value.read::<OneOrMany>(name)?.map(OneOrMany::into_vec).unwrap_or_default(),
        "budget_dollars" => {
            if let Some(d) = value.read::<f64>(name)? {
                hints.budget = Some(
                    Money::from_dollars(d)
                        .ok_or_else(|| GatewayError::invalid(name, "budget_dollars must be a non-negative amount"))?,
                );
            }
        }
        "session_id" => hints.session_id = value.read(name)?,
        "router_mode" | "optimization" => hints.mode = value.read(name)?,
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
pub(crate) mod tests {
    use super::*;
    use crate::api::{codec, Schema};

    thread_local! {
        /// Parse on the checked path only, to compare it with the one pass.
        pub static CHECKED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Every fixture request, and every body of the bad-request tables, parses to the same request
    /// (or the same error) on the one pass as on the checked path.
    #[test]
    fn one_pass_and_checked_path_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut bodies: Vec<(Schema, String)> = Vec::new();
        for (sub, schema) in [("anthropic", Schema::AnthropicMessages), ("responses", Schema::OpenAiResponses)] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap() {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                let text = std::fs::read_to_string(&path).unwrap();
                if name.starts_with("request") {
                    bodies.push((schema, text));
                } else if name == "parse_errors.json" || name == "bad_requests.json" {
                    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
                    bodies.extend(cases.iter().map(|c| (schema, c["body"].to_string())));
                }
            }
        }
        let chat = ["anthropic/openai_request_tools.json", "gemini/openai_tools_request.json", "gemini/openai_vision_request.json"];
        for f in chat {
            bodies.push((Schema::OpenAiChat, std::fs::read_to_string(dir.join(f)).unwrap()));
        }
        let nulls = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":null,"x":null,"y":[1]}"#;
        bodies.push((Schema::OpenAiChat, nulls.into()));
        // Responses inputs at the edges of its one-pass reader (openai_responses::one_pass).
        let inputs = [
            r#"[{"content":[{"text":"a","type":"input_text"}],"role":"user","type":"message"}]"#,
            r#"[{"type":null,"role":"developer","content":"x","id":null,"status":null}]"#,
            r#"[{"type":"reasoning","summary":[{"text":"s1"},{"text":"s2"}],"encrypted_content":"sig"},
                {"type":"message","role":"assistant","content":[{"type":"refusal","refusal":null,"text":"t"}]},
                {"type":"reasoning","summary":null},{"type":"function_call","call_id":"c","name":"f","arguments":"{}","content":null},
                {"type":"function_call_output","call_id":"c","output":"r"},
                {"type":"function_call_output","call_id":"c","output":[{"type":"output_text","text":"again"}]}]"#,
            r#"[{"type":"reasoning","content":[{"type":"reasoning_text","text":"raw"}],"summary":[{"text":"s"}]},
                {"type":"message","role":"assistant","content":[{"type":"input_text","text":"a","detail":"auto"}]}]"#,
            r#"[{"role":"user","content":[{"type":"input_image","image_url":"https://x/a.png","detail":null},
                {"type":"input_file","file_data":"data:application/pdf;base64,AA","filename":"a.pdf"}]}]"#,
            r#"[{"r\u006fle":"user","content":"x"}]"#,
            r#"[{"role":"user","content":"x","content":"y"}]"#,
            r#"[{"role":"user","content":[{"type":"input_text","text":"a","text":"b"}]}]"#,
            r#"[{"role":"user","content":[{"type":"input_text","text":"a","detail":5}]}]"#,
            r#"[{"type":"function_call_output","call_id":"c","output":"early"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]"#,
            r#"[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","summary":7}]"#,
        ];
        for input in inputs {
            let body = format!(r#"{{"input":{input},"model":"m","instructions":"be brief"}}"#);
            bodies.push((Schema::OpenAiResponses, body));
        }
        assert!(bodies.len() > 30, "{} bodies", bodies.len());
        let (mut ok, mut failed) = (0, 0);
        for (schema, body) in &bodies {
            let one = codec(*schema).parse(body.as_bytes()).map(|p| p.request);
            CHECKED_ONLY.set(true);
            let checked = codec(*schema).parse(body.as_bytes()).map(|p| p.request);
            CHECKED_ONLY.set(false);
            match (one, checked) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{schema:?}: {body}");
                    ok += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!((a.code(), a.param()), (b.code(), b.param()), "{schema:?}: {body}");
                    failed += 1;
                }
                (a, b) => panic!("{schema:?}: one pass {a:?}, checked {b:?}: {body}"),
            }
        }
        assert!(ok >= 8 && failed >= 20, "{ok} parsed, {failed} refused");
    }

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
