//! Content parts of input items (text, refusals, images, files, audio) in canonical terms, with the
//! prompt-cache breakpoints a client set on them; errors name the part (`input[2].content[1].text`).

use serde_json::{Map, Value};
use switchyard_sdk::ir::Part;

use crate::api::fields::missing;
use crate::api::openai_chat::image_source;
use crate::error::GatewayError;

use super::super::wire::{PartKind, TextOr, WirePart};
use super::unsupported;

/// Where a content part sits, for error params (`input[2].content[1].image_url`).
struct Loc {
    item: usize,
    list: &'static str,
    part: usize,
}

impl Loc {
    fn at(&self, name: &str) -> String {
        format!("input[{}].{}[{}].{name}", self.item, self.list, self.part)
    }
}

fn convert_part(p: WirePart, loc: &Loc) -> Result<Part, GatewayError> {
    Ok(match p.kind {
        PartKind::InputText | PartKind::OutputText | PartKind::SummaryText => {
            Part::Text(p.text.ok_or_else(|| missing(&loc.at("text")))?)
        }
        PartKind::Refusal => Part::Text(p.refusal.or(p.text).ok_or_else(|| missing(&loc.at("refusal")))?),
        PartKind::InputImage => match (p.image_url, p.file_id) {
            (Some(url), _) => Part::Image {
                source: image_source(&url),
                detail: p.detail,
            },
            (None, Some(_)) => {
                return Err(unsupported(
                    loc.at("file_id"),
                    "images given by file_id need OpenAI's file store, which the gateway does not have; \
                     send image_url (a URL or a data: URL)",
                ))
            }
            (None, None) => return Err(missing(&loc.at("image_url"))),
        },
        PartKind::InputFile => {
            if p.file_url.is_some() {
                return Err(unsupported(
                    loc.at("file_url"),
                    "file_url is not supported; send file_data (a data: URL) or file_id",
                ));
            }
            if p.file_id.is_none() && p.file_data.is_none() {
                return Err(missing(&loc.at("file_data")));
            }
            // Chat Completions' `file` part has exactly these fields: providers render it as is.
            let mut raw = Map::new();
            for (k, v) in [
                ("file_id", p.file_id),
                ("file_data", p.file_data),
                ("filename", p.filename),
            ] {
                if let Some(v) = v {
                    raw.insert(k.into(), Value::String(v));
                }
            }
            Part::Other {
                kind: "file".into(),
                raw: Value::Object(raw),
            }
        }
        PartKind::InputAudio => Part::Other {
            kind: "input_audio".into(),
            raw: p.input_audio.ok_or_else(|| missing(&loc.at("input_audio")))?,
        },
        PartKind::ReasoningText => {
            return Err(GatewayError::invalid(
                loc.at("type"),
                "reasoning_text parts belong in reasoning items, not in messages",
            ))
        }
    })
}

pub(super) fn convert_content(c: TextOr<WirePart>, item: usize, list: &'static str) -> Result<Vec<Part>, GatewayError> {
    Ok(convert_cached(c, item, list)?.0)
}

/// Content parts, and the prompt-cache breakpoints set on them (index, `cache_control`).
pub(super) type Cached = (Vec<Part>, Vec<(usize, Value)>);

pub(super) fn convert_cached(c: TextOr<WirePart>, item: usize, list: &'static str) -> Result<Cached, GatewayError> {
    match c {
        TextOr::Text(t) => Ok((vec![Part::Text(t)], Vec::new())),
        TextOr::List(parts) => {
            let mut cache = Vec::new();
            let mut out = Vec::with_capacity(parts.len());
            for (part, mut p) in parts.into_iter().enumerate() {
                if let Some(c) = p.cache_control.take().filter(|c| !c.is_null()) {
                    cache.push((part, c));
                }
                out.push(convert_part(p, &Loc { item, list, part })?);
            }
            Ok((out, cache))
        }
    }
}
