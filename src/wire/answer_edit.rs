//! Editing a provider's complete answer for the client as text: the top-level fields are borrowed
//! from the body, not built as a tree, and copied as they are but for `model`, `usage` (which gains
//! `cost`) and `router` (ours, added). On a non-streaming request this is most of the gateway's own
//! work on the answer, so it allocates no more than the output.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

use super::json_out::write_str;
use super::Finalizer;

/// A field name as written: borrowed from the body unless it had escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

pub type Fields<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut out: Fields<'de> = Vec::with_capacity(12);
        while let Some((Name(k), v)) = map.next_entry::<Name<'de>, &'de RawValue>()? {
            if out.iter().any(|(seen, _)| *seen == k) {
                return Err(A::Error::custom(format!("duplicate field `{k}`")));
            }
            out.push((k, v));
        }
        Ok(out)
    }
}

/// The top-level fields of a JSON object, borrowed from its text.
pub fn fields(text: &str) -> Result<Fields<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de.deserialize_map(FieldsVisitor)?;
    de.end()?;
    Ok(fields)
}

/// Writes `"k":v` into an object being built, with the comma when it is not the first field.
pub fn write_field(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &[u8]) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_str(out, k);
    out.push(b':');
    out.extend_from_slice(v);
}

/// Like [`write_field`] for a name read from JSON text: a borrowed name had no escapes in the text,
/// so it goes back as it was.
#[allow(clippy::ptr_arg)] // The variant is the point: borrowed means written without escapes.
fn write_read_field(out: &mut Vec<u8>, first: &mut bool, k: &Cow<str>, v: &[u8]) {
    match k {
        Cow::Borrowed(name) => {
            if !std::mem::take(first) {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(v);
        }
        Cow::Owned(name) => write_field(out, first, name, v),
    }
}

/// A usage object with `cost` added (unchanged when there is no cost or it is not an object).
fn with_cost(usage: &RawValue, cost: Option<Money>) -> Vec<u8> {
    let text = usage.get();
    let (Some(c), Ok(fields)) = (cost, fields(text)) else {
        return text.as_bytes().to_vec();
    };
    let cost = serde_json::to_vec(&c.as_dollars_f64()).unwrap_or_default();
    let mut out = Vec::with_capacity(text.len() + cost.len() + 8);
    write_object(
        &mut out,
        &fields,
        |k, _| if k == "cost" { Edit::Drop } else { Edit::Keep },
        &[("cost", &cost)],
    );
    out
}

/// What becomes of one field when an object is written again.
enum Edit<'a> {
    Keep,
    Drop,
    Write(Cow<'a, [u8]>),
}

/// Writes the object of `fields` into `out`: each field as `edit` says, then the `tail` fields.
fn write_object<'e>(
    out: &mut Vec<u8>,
    fields: &Fields,
    mut edit: impl FnMut(&str, &RawValue) -> Edit<'e>,
    tail: &[(&str, &[u8])],
) {
    out.push(b'{');
    let mut first = true;
    for (k, v) in fields {
        match edit(k, v) {
            Edit::Keep => write_read_field(out, &mut first, k, v.get().as_bytes()),
            Edit::Drop => {}
            Edit::Write(value) => write_read_field(out, &mut first, k, &value),
        }
    }
    for (k, v) in tail {
        write_field(out, &mut first, k, v);
    }
    out.push(b'}');
}

/// `model` set to `model_id` in an object being written: the field's new value, or, when the object
/// has none, the tail field that adds it.
fn model_edit(fields: &Fields, model_id: &str) -> (Vec<u8>, bool) {
    let mut model = Vec::with_capacity(model_id.len() + 2);
    write_str(&mut model, model_id);
    (model, fields.iter().any(|(k, _)| k == "model"))
}

/// The object of `fields` with `model` set to `model_id` (added at the end when absent), every other
/// field as it was written.
pub fn with_model(fields: &Fields, model_id: &str) -> Vec<u8> {
    let (model, has_model) = model_edit(fields, model_id);
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + model.len() + 16);
    let tail: &[(&str, &[u8])] = if has_model { &[] } else { &[("model", &model)] };
    write_object(
        &mut out,
        fields,
        |k, _| {
            if k == "model" {
                Edit::Write(Cow::Borrowed(&model))
            } else {
                Edit::Keep
            }
        },
        tail,
    );
    out
}

/// The object of `fields` with the field `key`'s value replaced by `value` (JSON text).
pub fn with_field(fields: &Fields, key: &str, value: &[u8]) -> Vec<u8> {
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + value.len());
    write_object(
        &mut out,
        fields,
        |k, _| {
            if k == key {
                Edit::Write(Cow::Borrowed(value))
            } else {
                Edit::Keep
            }
        },
        &[],
    );
    out
}

/// The last object of an answer, edited for the client: `model` becomes the catalog id, `usage`
/// becomes `usage` with `cost` added (left as written when `usage` is `None`, added when the object
/// has none), and our `router` object ends it; every other field is copied as raw text, in order.
pub fn finish_object(
    fields: &Fields,
    model_id: &str,
    usage: Option<&RawValue>,
    router: &[u8],
    cost: Option<Money>,
) -> Vec<u8> {
    let (model, has_model) = model_edit(fields, model_id);
    let usage = usage.map(|u| with_cost(u, cost));
    let has_usage = fields.iter().any(|(k, _)| k == "usage");
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + router.len() + model.len() + 64);
    let mut tail: Vec<(&str, &[u8])> = Vec::with_capacity(3);
    if !has_model {
        tail.push(("model", &model));
    }
    if let (Some(u), false) = (&usage, has_usage) {
        tail.push(("usage", u));
    }
    tail.push(("router", router));
    let edit = |k: &str, _: &RawValue| match (k, &usage) {
        ("model", _) => Edit::Write(Cow::Borrowed(&model)),
        ("usage", Some(u)) => Edit::Write(Cow::Borrowed(u)),
        ("router", _) => Edit::Drop,
        _ => Edit::Keep,
    };
    write_object(&mut out, fields, edit, &tail);
    out
}

/// Edits a provider's complete answer for the client ([`finish_object`] with the answer's own
/// usage). `required` is the field without which the body is not an answer; `usage_of` reads the
/// provider's usage object. `Err` says why the body is unusable.
pub fn rewrite_answer(
    body: &[u8],
    required: &str,
    model_id: &str,
    usage_of: impl Fn(&RawValue) -> Option<Usage>,
    fin: &mut dyn Finalizer,
) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "response is not UTF-8".to_string())?;
    let obj = fields(text).map_err(|e| format!("response is not a JSON object: {e}"))?;
    if !obj.iter().any(|(k, _)| k == required) {
        return Err(format!("response has no `{required}`"));
    }
    let usage_raw = obj.iter().find(|(k, _)| k == "usage").map(|(_, v)| *v);
    let (router, cost) = fin.finish_bytes(usage_raw.and_then(&usage_of));
    Ok(finish_object(&obj, model_id, usage_raw, &router, cost))
}
