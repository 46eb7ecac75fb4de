//! Anthropic Messages wire pieces that both sides read or write: the `/v1/messages` client codec
//! (`api::anthropic_messages`) and the Anthropic provider (`providers::anthropic`, pass-through
//! included). Here: the content-block reader (requests carry blocks, and so do answers), tool `input`
//! as Anthropic requires it, compact tool arguments, and the error body and event Anthropic clients
//! read. Wire format: platform.claude.com/docs/en/api/messages (API version 2023-06-01).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::sse::write_event;

/// A tool call's `input`. Anthropic requires a JSON object, while canonical arguments are the text a
/// model produced, which may be empty or not JSON at all.
pub enum ToolInput<'a> {
    Raw(super::json_out::Raw<'a>),
    Empty,
    /// Not a JSON object: carried as a string under [`INVALID_ARGUMENTS_KEY`].
    Wrapped(&'a str),
}

/// The key under which arguments that are not a JSON object travel inside `input`.
pub const INVALID_ARGUMENTS_KEY: &str = "_raw_arguments";

impl<'a> ToolInput<'a> {
    pub fn new(arguments: &'a str) -> Self {
        if arguments.trim().is_empty() {
            return ToolInput::Empty;
        }
        match super::json_out::raw_object(arguments) {
            Some(raw) => ToolInput::Raw(raw),
            None => ToolInput::Wrapped(arguments),
        }
    }

    pub fn is_faithful(&self) -> bool {
        !matches!(self, ToolInput::Wrapped(_))
    }
}

impl Serialize for ToolInput<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ToolInput::Raw(r) => r.serialize(s),
            ToolInput::Empty => s.serialize_map(Some(0))?.end(),
            ToolInput::Wrapped(text) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(INVALID_ARGUMENTS_KEY, text)?;
                m.end()
            }
        }
    }
}

/// Valid JSON text without insignificant whitespace (tool `input` → canonical arguments), copied
/// as is when it has none.
pub fn compact_json(json: &str) -> String {
    let b = json.as_bytes();
    let (mut in_str, mut esc) = (false, false);
    let mut needs = false;
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c.is_ascii_whitespace() {
            needs = true;
            break;
        }
    }
    if !needs {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut esc) = (false, false);
    for ch in json.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
            }
        } else if ch == '"' {
            in_str = true;
        } else if ch.is_ascii_whitespace() {
            continue;
        }
        out.push(ch);
    }
    out
}

/// The Anthropic error body wrapping the public error object: `{"type": "error", "error": {…}}`,
/// every field of ours kept, plus Anthropic's top-level `request_id`.
pub fn error_json(error: &Value) -> Value {
    let inner = error.get("error").unwrap_or(error);
    let mut m = Map::new();
    m.insert("type".into(), Value::from("error"));
    m.insert("error".into(), inner.clone());
    if let Some(id) = inner.get("request_id").filter(|v| !v.is_null()) {
        m.insert("request_id".into(), id.clone());
    }
    Value::Object(m)
}

/// The in-band `error` event that ends an Anthropic stream which broke after it started.
pub fn write_error_event(error: &Value, out: &mut Vec<u8>) {
    let data = serde_json::to_vec(&error_json(error)).unwrap_or_default();
    write_event(out, Some("error"), &data);
}

// ---------------------------------------------------------------------------------------------
// Content blocks, as requests (the client codec) and responses (the provider adapter) carry them.

/// Image `source`.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSourceIn {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    /// A Files API id: meaningful to Anthropic only.
    File {
        file_id: String,
    },
}

/// `content`: a string, or an array of blocks.
#[derive(Debug)]
pub enum ContentIn {
    Text(String),
    Blocks(Vec<Block>),
}

/// One content block. `Other` keeps every block type the canonical IR does not model (documents,
/// redacted thinking, server tools' results, …) whole, `type` included.
#[derive(Debug)]
pub enum Block {
    Text(TextIn),
    Image(ImageIn),
    ToolUse(ToolUseIn),
    ToolResult(ToolResultIn),
    Thinking(ThinkingIn),
    /// Mid-conversation system instructions (`mid_conv_system`).
    System(SystemIn),
    Other {
        kind: String,
        raw: Value,
    },
}

impl Block {
    /// Whether the block carries `cache_control` or `citations`: meaningful to Anthropic only, named
    /// as lossy for other providers.
    pub fn extras(&self) -> bool {
        match self {
            Block::Text(b) => b.cache_control.is_some() || b.citations.is_some(),
            Block::Image(b) => b.cache_control.is_some(),
            Block::ToolUse(b) => b.cache_control.is_some(),
            Block::ToolResult(b) => b.cache_control.is_some(),
            Block::Thinking(_) | Block::System(_) | Block::Other { .. } => false,
        }
    }
}

#[derive(Deserialize, Debug)]
pub struct TextIn {
    pub text: String,
    cache_control: Option<IgnoredAny>,
    citations: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ImageIn {
    pub source: ImageSourceIn,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ToolUseIn {
    pub id: String,
    pub name: String,
    pub input: Box<RawValue>,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ToolResultIn {
    pub tool_use_id: String,
    pub content: Option<ContentIn>,
    #[serde(default)]
    pub is_error: bool,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
pub struct ThinkingIn {
    pub thinking: String,
    pub signature: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct SystemIn {
    pub content: Vec<TextIn>,
}

/// The block types read into structs; any other is kept whole.
const KINDS: &[&str] = &[
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "mid_conv_system",
];

/// A block's first key, not allocated when it is `type` (as it nearly always is): the reader runs
/// once per block of every request, where allocations are most of the cost.
struct FirstKey(Option<String>);

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FirstKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FirstKey, E> {
                Ok(FirstKey((s != "type").then(|| s.to_string())))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A block's `type`, borrowed from [`KINDS`] when known.
struct KindName(Cow<'static, str>);

impl<'de> Deserialize<'de> for KindName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KindName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content block type")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KindName, E> {
                Ok(KindName(match KINDS.iter().find(|k| **k == s) {
                    Some(k) => Cow::Borrowed(*k),
                    None => Cow::Owned(s.to_string()),
                }))
            }
        }
        d.deserialize_str(V)
    }
}

fn block_of<'de, D: Deserializer<'de>>(kind: Cow<'static, str>, d: D) -> Result<Block, D::Error> {
    Ok(match &*kind {
        "text" => Block::Text(TextIn::deserialize(d)?),
        "image" => Block::Image(ImageIn::deserialize(d)?),
        "tool_use" => Block::ToolUse(ToolUseIn::deserialize(d)?),
        "tool_result" => Block::ToolResult(ToolResultIn::deserialize(d)?),
        "thinking" => Block::Thinking(ThinkingIn::deserialize(d)?),
        "mid_conv_system" => Block::System(SystemIn::deserialize(d)?),
        _ => {
            let kind = kind.into_owned();
            let mut raw = Map::new();
            raw.insert("type".into(), Value::String(kind.clone()));
            raw.extend(Map::<String, Value>::deserialize(d)?);
            Block::Other {
                kind,
                raw: Value::Object(raw),
            }
        }
    })
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a content block object")
    }

    /// One pass when `type` comes first (as every SDK writes it): the rest of the object goes
    /// straight into the block's struct, so error paths reach inside the block. Otherwise the
    /// object is collected first.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        match map.next_key::<FirstKey>()? {
            None => Err(de::Error::missing_field("type")),
            Some(FirstKey(None)) => {
                let KindName(kind) = map.next_value()?;
                block_of(kind, de::value::MapAccessDeserializer::new(map))
            }
            Some(FirstKey(Some(first))) => {
                let mut obj = Map::new();
                obj.insert(first, map.next_value()?);
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    obj.insert(k, v);
                }
                let kind = match obj.remove("type") {
                    Some(Value::String(s)) => Cow::Owned(s),
                    Some(_) => return Err(de::Error::custom("`type` must be a string")),
                    None => return Err(de::Error::missing_field("type")),
                };
                // Through text again: a raw `input` cannot be read from a `Value`.
                let text = Value::Object(obj).to_string();
                block_of(kind, &mut serde_json::Deserializer::from_str(&text)).map_err(de::Error::custom)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BlockVisitor)
    }
}

impl<'de> Deserialize<'de> for ContentIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ContentIn, E> {
                Ok(ContentIn::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ContentIn, E> {
                Ok(ContentIn::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContentIn, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(b) = seq.next_element::<Block>()? {
                    out.push(b);
                }
                Ok(ContentIn::Blocks(out))
            }
        }
        d.deserialize_any(V)
    }
}
