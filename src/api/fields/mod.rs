//! Typed parsing of a client request's top-level fields, shared by the client codecs: one fast pass
//! when the body is valid, and a checked path whose errors name the field path as the error's
//! `param` (`messages[2].content`). The raw top-level split itself is `wire::json`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use switchyard_sdk::ir::RoutingHints;
use switchyard_sdk::Money;

use crate::error::GatewayError;
use crate::wire::json::{body_text, invalid_json, parse_object};

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

/// Parse `raw` as `T`; an error names the path below `prefix` (built only on error), and a missing
/// field is named itself (`messages[0].content[1].source`) with code `missing_field`. Tracking the
/// path doubles the cost of a parse, so it is done only to explain a failure.
pub fn parse_at<T: DeserializeOwned>(raw: &str, prefix: impl FnOnce() -> String) -> Result<T, GatewayError> {
    if let Ok(v) = serde_json::from_str(raw) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let sub = e.path().to_string();
        let name = prefix();
        let mut param = match sub.as_str() {
            "." | "" => name,
            s if s.starts_with('[') => format!("{name}{s}"),
            s => format!("{name}.{s}"),
        };
        let mut inner = e.into_inner().to_string();
        if let Some(i) = inner.find(" at line ") {
            inner.truncate(i);
        }
        let mut code = "invalid_type";
        if let Some(f) = inner.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
            param = format!("{param}.{f}");
            code = "missing_field";
        }
        GatewayError::InvalidRequest {
            code,
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
    let one_pass = |t: &str| {
        if tests::CHECKED_ONLY.get() {
            None
        } else {
            one_pass::<F>(t)
        }
    };
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
        "fallback" => {
            hints.fallback = value
                .read::<OneOrMany>(name)?
                .map(OneOrMany::into_vec)
                .unwrap_or_default()
        }
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

/// Note `param` as a field billed outside token pricing (see `BilledExtra`).
pub fn billed(
    r: &mut switchyard_sdk::ir::ChatRequest,
    param: impl Into<String>,
    feature: &'static str,
    needs: Option<&'static str>,
) {
    r.billed_extras.push(switchyard_sdk::ir::BilledExtra {
        param: param.into(),
        feature,
        needs,
    });
}

pub fn missing(param: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "missing_field",
        message: format!("missing required field `{param}`"),
        param: Some(param.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests;
