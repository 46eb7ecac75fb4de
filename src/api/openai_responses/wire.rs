//! The request's wire structs: typed serde, flat where the wire has many item and part kinds. One
//! struct with optional fields deserializes without buffering each element (as an internally
//! tagged enum would), and a wrong field still gets its exact `param` path (`input[3].call_id`);
//! which fields a kind needs is checked in `parse`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// `input`, a message's `content` and a tool result's `output`: a string or a list.
pub(super) enum TextOr<T> {
    Text(String),
    List(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TextOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = TextOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TextOr<T>, E> {
                Ok(TextOr::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<TextOr<T>, E> {
                Ok(TextOr::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TextOr<T>, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(TextOr::List)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An input item's `type`. Kept as a name when unknown, so the refusal can say which.
pub(super) enum ItemKind {
    Message,
    FunctionCall,
    FunctionCallOutput,
    Reasoning,
    /// Tools declared inside the input (Codex), rather than in `tools`.
    AdditionalTools,
    /// A call of a freeform (`custom`) tool, and its output.
    CustomToolCall,
    CustomToolCallOutput,
    Other(String),
}

impl<'de> Deserialize<'de> for ItemKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ItemKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item type")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ItemKind, E> {
                Ok(match s {
                    "message" => ItemKind::Message,
                    "function_call" => ItemKind::FunctionCall,
                    "function_call_output" => ItemKind::FunctionCallOutput,
                    "reasoning" => ItemKind::Reasoning,
                    "additional_tools" => ItemKind::AdditionalTools,
                    "custom_tool_call" => ItemKind::CustomToolCall,
                    "custom_tool_call_output" => ItemKind::CustomToolCallOutput,
                    other => ItemKind::Other(other.to_string()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum WireRole {
    User,
    Assistant,
    System,
    Developer,
}

/// Every input item kind in one struct; which fields must be there depends on `type`. Ids and
/// `status` are ignored: the gateway never looks items up.
#[derive(Deserialize)]
pub(super) struct WireItem {
    #[serde(rename = "type")]
    pub(super) kind: Option<ItemKind>,
    pub(super) role: Option<WireRole>,
    pub(super) content: Option<TextOr<WirePart>>,
    pub(super) call_id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) arguments: Option<String>,
    pub(super) output: Option<TextOr<WirePart>>,
    pub(super) summary: Option<Vec<WireSummary>>,
    pub(super) encrypted_content: Option<String>,
    /// A function call's namespace (a `namespace` tool's function).
    pub(super) namespace: Option<String>,
    /// A custom tool call's freeform input.
    pub(super) input: Option<String>,
    /// An `additional_tools` item's tools, each as written (see [`WireTool`]).
    pub(super) tools: Option<Vec<Box<serde_json::value::RawValue>>>,
}

#[derive(Deserialize)]
pub(super) struct WireSummary {
    pub(super) text: String,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub(super) enum PartKind {
    /// `text` is the Chat Completions name; some clients mix the two.
    #[serde(alias = "text")]
    InputText,
    OutputText,
    Refusal,
    InputImage,
    InputFile,
    InputAudio,
    SummaryText,
    ReasoningText,
}

#[derive(Deserialize)]
pub(super) struct WirePart {
    #[serde(rename = "type")]
    pub(super) kind: PartKind,
    pub(super) text: Option<String>,
    pub(super) refusal: Option<String>,
    pub(super) image_url: Option<String>,
    pub(super) file_id: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) file_data: Option<String>,
    pub(super) filename: Option<String>,
    pub(super) file_url: Option<String>,
    pub(super) input_audio: Option<Value>,
    /// Anthropic's prompt-cache breakpoint, as some clients of Anthropic models write it.
    pub(super) cache_control: Option<Value>,
}

/// A tool declaration: a function, a namespace of functions, a freeform (`custom`) tool, or a
/// built-in tool (whose declaration is kept whole, as written).
#[derive(Deserialize)]
pub(super) struct WireTool {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) parameters: Option<Box<serde_json::value::RawValue>>,
    pub(super) strict: Option<bool>,
    /// A namespace's functions.
    pub(super) tools: Option<Vec<WireTool>>,
    /// A custom tool's input format (`text`, or a `grammar` with `syntax` and `definition`).
    pub(super) format: Option<WireCustomFormat>,
}

#[derive(Deserialize)]
pub(super) struct WireCustomFormat {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) syntax: Option<String>,
    pub(super) definition: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum WireToolChoice {
    Mode(String),
    Object {
        #[serde(rename = "type")]
        kind: String,
        name: Option<String>,
    },
}

#[derive(Deserialize)]
pub(super) struct WireText {
    pub(super) format: Option<WireFormat>,
    pub(super) verbosity: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum WireFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: Option<String>,
        schema: Option<Value>,
        strict: Option<bool>,
    },
}

#[derive(Deserialize)]
pub(super) struct WireReasoning {
    pub(super) effort: Option<String>,
    pub(super) summary: Option<String>,
}
