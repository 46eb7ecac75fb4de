//! Gemini `generateContent` wire types and the small pure helpers around them. Requests are typed
//! structs that borrow from the canonical request (no `serde_json::Value` is built); responses are
//! read into borrowed structs that keep only what the IR can carry, so unknown fields (safety
//! ratings, token details, citation metadata) cost nothing but skipping.
//! Reference: ai.google.dev/api/generate-content and ai.google.dev/api/caching (Content, Part, Tool).

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_sdk::ir::{FinishReason, Usage};

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<'a> {
    pub contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemInstruction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<[Tools<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    pub generation_config: GenerationConfig<'a>,
}

#[derive(Serialize)]
pub struct SystemInstruction<'a> {
    pub parts: Vec<TextPart<'a>>,
}

#[derive(Serialize)]
pub struct TextPart<'a> {
    pub text: &'a str,
}

#[derive(Serialize)]
pub struct Content<'a> {
    /// `user` or `model`.
    pub role: &'static str,
    pub parts: Vec<Part<'a>>,
}

/// One request part. Gemini wants exactly one data field per part; the constructors guarantee it.
/// `thoughtSignature` rides along on whichever part the model attached it to.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<&'a str>,
}

impl<'a> Part<'a> {
    pub fn text(text: &'a str) -> Self {
        Part {
            text: Some(text),
            ..Part::default()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob<'a> {
    pub mime_type: &'a str,
    pub data: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileData<'a> {
    pub mime_type: &'a str,
    pub file_uri: &'a str,
}

#[derive(Serialize)]
pub struct FunctionCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub args: Args<'a>,
}

/// A call's arguments: the model's JSON object verbatim, or `{}` when it gave none (or none usable).
pub enum Args<'a> {
    Raw(crate::wire::json_out::Raw<'a>),
    Empty,
}

impl Serialize for Args<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Args::Raw(r) => r.serialize(s),
            Args::Empty => s.serialize_map(Some(0))?.end(),
        }
    }
}

#[derive(Serialize)]
pub struct FunctionResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub response: ToolOutput<'a>,
}

/// `response` must be an object; the API reads `output` as the result and `error` as a failure
/// (FunctionResponse.response in the API reference), so tool text goes under one of those keys.
#[derive(Serialize)]
pub struct ToolOutput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tools<'a> {
    pub function_declarations: Vec<FunctionDeclaration<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_json_schema: Option<ToolSchema<'a>>,
}

/// A tool's JSON Schema text, sent like [`Schema`]: verbatim unless it names a `$schema`.
pub struct ToolSchema<'a>(pub &'a str);

impl Serialize for ToolSchema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.contains("\"$schema\"") {
            let v: Value = serde_json::from_str(self.0).map_err(serde::ser::Error::custom)?;
            Schema(&v).serialize(s)
        } else {
            crate::wire::json_out::Verbatim(self.0).serialize(s)
        }
    }
}

/// A client's JSON Schema, sent as `parametersJsonSchema` / `responseJsonSchema` (plain JSON Schema,
/// v1beta) rather than the OpenAPI-subset `parameters` / `responseSchema`, whose proto parser rejects
/// the whole request over one unknown keyword (`additionalProperties`, `exclusiveMinimum`, type
/// arrays, ...). Only the top-level `$schema` meta keyword is left out: it describes the document,
/// not the arguments, and Google's parsers have refused it.
pub struct Schema<'a>(pub &'a Value);

impl Serialize for Schema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) if m.contains_key("$schema") => {
                let mut map = s.serialize_map(Some(m.len() - 1))?;
                for (k, v) in m.iter().filter(|(k, _)| *k != "$schema") {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            v => v.serialize(s),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig<'a> {
    pub function_calling_config: FunctionCallingConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig<'a> {
    /// `AUTO`, `ANY` or `NONE`.
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<[&'a str; 1]>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<Schema<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
}

impl GenerationConfig<'_> {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_none()
            && self.candidate_count.is_none()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.response_mime_type.is_none()
            && self.response_json_schema.is_none()
            && self.thinking_config.is_none()
            && self.response_logprobs.is_none()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    pub thinking_budget: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Responses (whole, or one SSE chunk: the same `GenerateContentResponse` shape)
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response<'a> {
    #[serde(default, borrow)]
    pub candidates: Vec<Candidate<'a>>,
    #[serde(default, borrow)]
    pub prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default, borrow)]
    pub model_version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub response_id: Option<Cow<'a, str>>,
    /// Streams report a failure after the 200 as an event carrying an error object.
    #[serde(default, borrow)]
    pub error: Option<ErrorBody<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate<'a> {
    #[serde(default, borrow)]
    pub content: Option<ContentIn<'a>>,
    #[serde(default, borrow)]
    pub finish_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    pub logprobs_result: Option<LogprobsResult>,
}

/// `logprobsResult`: per decoding step, the chosen token and the top candidates.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LogprobsResult {
    #[serde(default)]
    pub top_candidates: Vec<TopCandidates>,
    #[serde(default)]
    pub chosen_candidates: Vec<LogprobCandidate>,
}

#[derive(Deserialize, Default)]
pub struct TopCandidates {
    #[serde(default)]
    pub candidates: Vec<LogprobCandidate>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LogprobCandidate {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub log_probability: f64,
}

impl LogprobsResult {
    pub fn canonical(self) -> Vec<switchyard_sdk::ir::TokenLogprob> {
        let mut tops = self.top_candidates.into_iter();
        self.chosen_candidates
            .into_iter()
            .map(|c| switchyard_sdk::ir::TokenLogprob {
                token: c.token,
                logprob: c.log_probability,
                top: tops
                    .next()
                    .map(|t| t.candidates.into_iter().map(|c| (c.token, c.log_probability)).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

#[derive(Deserialize)]
pub struct ContentIn<'a> {
    #[serde(default, borrow)]
    pub parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartIn<'a> {
    #[serde(default, borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(default)]
    pub thought: bool,
    #[serde(default, borrow)]
    pub thought_signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub function_call: Option<FunctionCallIn<'a>>,
}

#[derive(Deserialize)]
pub struct FunctionCallIn<'a> {
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub args: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback<'a> {
    #[serde(default, borrow)]
    pub block_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
}

#[derive(Deserialize)]
pub struct ErrorBody<'a> {
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub status: Option<Cow<'a, str>>,
}

/// `{"error": {...}}`, the body of every non-2xx answer.
#[derive(Deserialize)]
pub struct ErrorEnvelope<'a> {
    #[serde(borrow)]
    pub error: ErrorBody<'a>,
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Canonical usage: `usageMetadata` counts thoughts apart from candidates (total = prompt +
/// candidates + thoughts + tool-use prompt), while the IR counts reasoning inside output; the
/// tool-use prompt (results of server-side tools) is input Google bills.
pub fn usage(u: &UsageMetadata) -> Usage {
    Usage {
        input_tokens: u.prompt_token_count + u.tool_use_prompt_token_count,
        cached_input_tokens: u.cached_content_token_count,
        cache_write_tokens: 0,
        output_tokens: u.candidates_token_count + u.thoughts_token_count,
        reasoning_tokens: u.thoughts_token_count,
        reasoning_unknown: false,
    }
}

/// `finishReason` in canonical terms. Gemini says STOP after function calls too, so `calls` (any
/// function call in the answer) turns it into `ToolCalls`, which is what clients branch on.
pub fn finish(reason: &str, calls: bool) -> FinishReason {
    match reason {
        "STOP" if calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

/// A stable id for a function call: the API's own when it sent one, else one derived from the
/// response id and the call's position, unique across the turns of a conversation (Anthropic-style
/// clients reject repeated tool ids) and the same for the streamed and the whole answer.
pub fn call_id(api_id: Option<&str>, response_id: &str, index: usize) -> String {
    match api_id.filter(|i| !i.is_empty()) {
        Some(id) => id.to_string(),
        None if response_id.is_empty() => format!("call_{index}"),
        None => format!("call_{response_id}_{index}"),
    }
}

const SIGNATURE_PREFIX: &str = "gemini:";

/// Thought signatures leave the gateway tagged with the model that made them: a signature is only
/// valid for that model (another Gemini model answers 400 "invalid thought signature", and other
/// providers' signatures are no Gemini bytes at all), so on the way back in only our own model's
/// are sent, and everything else is recognisably foreign.
pub fn tag_signature(model: &str, sig: &str) -> String {
    let mut s = String::with_capacity(SIGNATURE_PREFIX.len() + model.len() + 1 + sig.len());
    s.push_str(SIGNATURE_PREFIX);
    s.push_str(model);
    s.push(':');
    s.push_str(sig);
    s
}

/// The raw signature inside `tagged` if it was made by `model`.
pub fn own_signature<'s>(tagged: &'s str, model: &str) -> Option<&'s str> {
    tagged
        .strip_prefix(SIGNATURE_PREFIX)?
        .strip_prefix(model)?
        .strip_prefix(':')
        .filter(|s| !s.is_empty())
}

/// The MIME type of an image URL, from its extension. Gemini fetches https URLs itself but needs
/// the type up front (`fileData.mimeType` is required); the types are those its docs list for
/// images (ai.google.dev/gemini-api/docs/file-input-methods, image-understanding).
pub fn image_mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1;
    if ext.contains('/') {
        return None;
    }
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "bmp" => "image/bmp",
        _ => return None,
    })
}

/// Gemini's rule for function names (FunctionDeclaration.name): a letter or underscore first, then
/// letters, digits, `_ . : -`, at most 128 in all.
pub fn valid_function_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
}

/// `raw` (valid JSON) without the whitespace outside strings: Gemini pretty-prints `args` in whole
/// answers and spaces them in stream chunks, while canonical arguments are compact JSON text.
pub fn compact_json(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped, mut start) = (false, false, 0);
    for (i, &c) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            // Only ASCII bytes are skipped, so every slice boundary is a char boundary.
            out.push_str(&raw[start..i]);
            start = i + 1;
        }
    }
    out.push_str(&raw[start..]);
    out
}

/// Whether a tool's parameter schema says nothing (an object without properties): Gemini wants the
/// field left out for functions without parameters.
pub fn is_empty_object_schema(text: &str) -> bool {
    // Read until the first sign of a real schema (nearly every one shows it in its first key or its
    // first property), not through the whole text: any such sign is an error here, and so is a key
    // with escapes, which does not borrow.
    struct Schema;
    struct NoKeys;

    fn not_empty<E: serde::de::Error>() -> E {
        E::custom("a schema that says something")
    }

    impl<'de> serde::de::Visitor<'de> for Schema {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a schema object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<&'de str>()? {
                match key {
                    "type" => {
                        if map.next_value::<&'de RawValue>()?.get() != "\"object\"" {
                            return Err(not_empty());
                        }
                    }
                    "properties" => map.next_value_seed(NoKeys)?,
                    "$schema" => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                    _ => return Err(not_empty()),
                }
            }
            Ok(())
        }
    }

    impl<'de> serde::de::DeserializeSeed<'de> for NoKeys {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> serde::de::Visitor<'de> for NoKeys {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an empty object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            match map.next_key::<serde::de::IgnoredAny>()? {
                Some(_) => Err(not_empty()),
                None => Ok(()),
            }
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Schema).is_ok() && de.end().is_ok()
}
