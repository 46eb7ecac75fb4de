//! Anthropic Messages wire types of the provider side: the request body the adapter renders (typed
//! structs that borrow from the canonical request), the `usage` object Anthropic reports, and its stop
//! reasons in canonical terms. The content blocks an answer carries are read by the shared reader in
//! `crate::wire::anthropic`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_sdk::ir::{FinishReason, Usage};

use crate::wire::anthropic::ToolInput;
use crate::wire::json_out::Verbatim;

/// `usage` as Anthropic reports it. In `message_delta` every figure is cumulative and any may be
/// absent, hence all optional.
#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputDetails {
    pub thinking_tokens: Option<u64>,
}

impl WireUsage {
    /// Fold in a later report: its figures are cumulative, so each one present replaces ours.
    pub fn merge(&mut self, later: &WireUsage) {
        let pick = |a: &mut Option<u64>, b: Option<u64>| {
            if b.is_some() {
                *a = b;
            }
        };
        pick(&mut self.input_tokens, later.input_tokens);
        pick(&mut self.output_tokens, later.output_tokens);
        pick(&mut self.cache_creation_input_tokens, later.cache_creation_input_tokens);
        pick(&mut self.cache_read_input_tokens, later.cache_read_input_tokens);
        if later.output_tokens_details.is_some() {
            self.output_tokens_details = later.output_tokens_details;
        }
    }

    /// Canonical terms: Anthropic's `input_tokens` excludes cache reads and writes; ours includes both.
    pub fn canonical(&self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0) + read + write,
            cached_input_tokens: read,
            cache_write_tokens: write,
            output_tokens: self.output_tokens.unwrap_or(0),
            reasoning_tokens: self.output_tokens_details.and_then(|d| d.thinking_tokens).unwrap_or(0),
            // Anthropic counts thinking in output_tokens and, unless it says, not apart.
            reasoning_unknown: self.output_tokens_details.and_then(|d| d.thinking_tokens).is_none(),
        }
    }
}

pub fn finish_reason(stop: &str) -> FinishReason {
    match stop {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        // Running out of context is an output limit too (OpenAI reports it as `length`).
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// The request body.

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
pub struct Body<'a> {
    pub model: &'a str,
    pub max_tokens: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemText<'a>>,
    pub messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfigOut<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    pub stream: bool,
    /// Automatic prompt caching: Anthropic puts the breakpoint on the last cacheable block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

#[derive(Serialize)]
pub struct SystemText<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<&'a Value>,
}

#[derive(Serialize)]
pub struct Turn<'a> {
    pub role: &'static str,
    pub content: Vec<Out<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum Out<'a> {
    Block(BlockOut<'a>),
    /// An Anthropic block the client sent, carried whole.
    Raw(&'a Value),
    /// A block written out already: one with a prompt-cache breakpoint added.
    Written(Written),
}

/// A block's JSON text, written verbatim.
pub struct Written(String);

impl Serialize for Written {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Verbatim(&self.0).serialize(s)
    }
}

impl Out<'_> {
    /// This block with `cache_control` (a breakpoint: Anthropic caches the prompt up to here).
    pub fn cached(self, cache_control: &Value) -> Out<'static> {
        let mut text = crate::wire::json_out::to_vec(&self).unwrap_or_default();
        if text.last() == Some(&b'}') && text.len() > 2 {
            text.pop();
            text.extend_from_slice(b",\"cache_control\":");
            text.extend_from_slice(cache_control.to_string().as_bytes());
            text.push(b'}');
        }
        Out::Written(Written(String::from_utf8(text).unwrap_or_default()))
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockOut<'a> {
    Text {
        text: Cow<'a, str>,
    },
    Image {
        source: SourceOut<'a>,
    },
    Document {
        source: SourceOut<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: ToolInput<'a>,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<ResultOut<'a>>,
        #[serde(skip_serializing_if = "is_false")]
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceOut<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum ResultOut<'a> {
    Text(&'a str),
    Blocks(Vec<Out<'a>>),
}

#[derive(Serialize)]
pub struct ToolOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub input_schema: Verbatim<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Serialize)]
pub struct OutputConfigOut<'a> {
    pub format: FormatOut<'a>,
}

#[derive(Serialize)]
pub struct FormatOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: &'a Value,
}
