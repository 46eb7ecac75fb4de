//! `input` as the one pass reads it: each item goes into the conversation as the parser meets it,
//! its strings moved straight into canonical parts, with no wire structs in between (reading
//! without them made the Responses parse about 30% faster: load-tests/RESULTS.md).
//!
//! This reader takes the shapes clients send: messages of text, refusal and image parts, function
//! calls, their outputs, and reasoning items with a summary. Anything else (another item or part
//! kind, a field missing, a key twice, a key with escapes) fails it, and then the whole body is
//! read again on the checked path, by the wire structs, which name the error. So where this reader
//! succeeds it must give what the checked path gives; `api::fields`' agreement test holds it to that
//! on every fixture and bad-request body.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use switchyard_sdk::ir::{Part, ToolCall};

use super::parse::{summary_text, Conversation};
use super::wire::{PartKind, WireRole, WireSummary};
use crate::api::openai_chat::image_source;

/// A read this reader does not take; the checked path will read the body instead.
fn fail<E: de::Error>() -> E {
    E::custom("not a one-pass shape")
}

/// Set `slot` once: a key seen twice fails (the wire structs refuse duplicate fields).
fn once<T, E: de::Error>(slot: &mut Option<T>, v: Option<T>, seen: &mut bool) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(fail());
    }
    *slot = v;
    Ok(())
}

pub(super) struct OnePassInput(pub(super) Conversation);

impl<'de> Deserialize<'de> for OnePassInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InputVisitor)
    }
}

struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
    type Value = OnePassInput;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of items")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<OnePassInput, E> {
        self.visit_string(s.to_string())
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<OnePassInput, E> {
        let mut c = Conversation::default();
        c.text(s);
        Ok(OnePassInput(c))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OnePassInput, A::Error> {
        let mut c = Conversation::default();
        c.reserve(seq.size_hint().unwrap_or(16));
        let mut i = 0;
        while seq.next_element_seed(Item { c: &mut c, i })?.is_some() {
            i += 1;
        }
        Ok(OnePassInput(c))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Message,
    FunctionCall,
    FunctionCallOutput,
    Reasoning,
}

/// Input item `i`, added to `c`.
struct Item<'c> {
    c: &'c mut Conversation,
    i: usize,
}

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an input item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut kind, mut role, mut content, mut output) = (None, None, None, None);
        let (mut call_id, mut name, mut arguments, mut encrypted) = (None, None, None, None);
        let mut summary: Option<Vec<WireSummary>> = None;
        let mut seen = [false; 9];
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "type" => {
                    let k = map.next_value::<Option<&'de str>>()?.map(|t| match t {
                        "message" => Ok(Kind::Message),
                        "function_call" => Ok(Kind::FunctionCall),
                        "function_call_output" => Ok(Kind::FunctionCallOutput),
                        "reasoning" => Ok(Kind::Reasoning),
                        _ => Err(fail()),
                    });
                    once(&mut kind, k.transpose()?, &mut seen[0])?
                }
                "role" => once(&mut role, map.next_value::<Option<WireRole>>()?, &mut seen[1])?,
                "content" => once(&mut content, map.next_value_seed(Content)?, &mut seen[2])?,
                "output" => once(&mut output, map.next_value_seed(Content)?, &mut seen[3])?,
                "call_id" => once(&mut call_id, map.next_value()?, &mut seen[4])?,
                "name" => once(&mut name, map.next_value()?, &mut seen[5])?,
                "arguments" => once(&mut arguments, map.next_value()?, &mut seen[6])?,
                "encrypted_content" => once(&mut encrypted, map.next_value()?, &mut seen[7])?,
                "summary" => once(&mut summary, map.next_value()?, &mut seen[8])?,
                // A namespaced call, and the fields of item kinds left to the checked path.
                "namespace" | "input" | "tools" => return Err(fail()),
                // `id`, `status`, and whatever else: the wire structs ignore them too.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // The kinds' required fields, as `Conversation::item` checks them.
        let kind = match kind {
            Some(k) => k,
            None if role.is_some() => Kind::Message,
            None => return Err(fail()),
        };
        let c = self.c;
        match kind {
            Kind::Message => c.message(role.ok_or_else(fail)?, content.ok_or_else(fail)?),
            Kind::FunctionCall => c.function_call(ToolCall {
                id: call_id.ok_or_else(fail)?,
                name: name.ok_or_else(fail)?,
                arguments: arguments.ok_or_else(fail)?,
            }),
            Kind::FunctionCallOutput => {
                c.function_call_output(self.i, call_id.ok_or_else(fail)?, output.ok_or_else(fail)?)
            }
            // Raw reasoning text (`content`) is left to the checked path.
            Kind::Reasoning if content.is_some() => return Err(fail()),
            Kind::Reasoning => c.reasoning(summary_text(summary.unwrap_or_default()), encrypted),
        }
        Ok(())
    }
}

/// A message's `content` or an output's `output`: a string or a list of parts, as message parts.
struct Content;

impl<'de> DeserializeSeed<'de> for Content {
    type Value = Option<Vec<Part>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Content {
    type Value = Option<Vec<Part>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of parts")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(vec![Part::Text(s.to_string())]))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Some(vec![Part::Text(s)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(p) = seq.next_element_seed(PartSeed)? {
            parts.push(p);
        }
        Ok(Some(parts))
    }
}

/// One content part, converted as `parse::convert_part` converts it.
struct PartSeed;

impl<'de> DeserializeSeed<'de> for PartSeed {
    type Value = Part;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Part, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PartSeed {
    type Value = Part;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a content part")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Part, A::Error> {
        let (mut kind, mut text, mut refusal, mut image_url, mut detail) = (None, None, None, None, None);
        let mut seen = [false; 5];
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "type" => {
                    let k: PartKind = map.next_value()?;
                    once(&mut kind, Some(k), &mut seen[0])?
                }
                "text" => once(&mut text, map.next_value()?, &mut seen[1])?,
                "refusal" => once(&mut refusal, map.next_value()?, &mut seen[2])?,
                "image_url" => once(&mut image_url, map.next_value()?, &mut seen[3])?,
                "detail" => once(&mut detail, map.next_value()?, &mut seen[4])?,
                // Fields of the part kinds left to the checked path (files, audio).
                // (and cache breakpoints, which the checked path keeps).
                "file_id" | "file_data" | "filename" | "file_url" | "input_audio" | "cache_control" => {
                    return Err(fail())
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind.ok_or_else(fail)? {
            PartKind::InputText | PartKind::OutputText | PartKind::SummaryText => {
                Ok(Part::Text(text.ok_or_else(fail)?))
            }
            PartKind::Refusal => Ok(Part::Text(refusal.or(text).ok_or_else(fail)?)),
            PartKind::InputImage => {
                let url: String = image_url.ok_or_else(fail)?;
                Ok(Part::Image {
                    source: image_source(&url),
                    detail,
                })
            }
            PartKind::InputFile | PartKind::InputAudio | PartKind::ReasoningText => Err(fail()),
        }
    }
}

#[cfg(test)]
mod tests;
