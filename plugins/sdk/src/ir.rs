//! The canonical request IR. Every client schema (OpenAI chat, OpenAI Responses, Anthropic Messages)
//! parses into [`ChatRequest`]; every provider adapter renders from it. What a schema cannot express
//! is named by the renderer as a lossy conversion, never dropped silently.

use serde_json::Value;

use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    Url(String),
    Base64 { media_type: String, data: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// A model's reasoning from an earlier turn (Anthropic thinking blocks carry a signature that must
    /// go back verbatim).
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    Image {
        source: ImageSource,
        detail: Option<String>,
    },
    /// A part only same-schema pass-through can carry (audio, files); other providers are ineligible.
    Other {
        kind: String,
        raw: Value,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the JSON text the model produced (not re-parsed: models emit invalid JSON too).
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    pub tool_call_id: Option<String>,
    pub name: Option<String>,
    /// For `Role::Tool`: the tool reported an error (Anthropic's `is_error`).
    pub is_error: bool,
    /// Prompt-cache breakpoints the client set on content parts (`cache_control`, Anthropic's
    /// explicit caching): the index in `content` of each marked part, with its `cache_control`.
    pub cache_breakpoints: Vec<(usize, Value)>,
}

impl Message {
    /// A message with these parts and nothing else (no tool calls, id or name).
    pub fn new(role: Role, content: Vec<Part>) -> Self {
        Message {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            is_error: false,
            cache_breakpoints: Vec::new(),
        }
    }

    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message::new(role, vec![Part::Text(text.into())])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments, as the client wrote it.
    pub parameters: JsonText,
    pub strict: Option<bool>,
}

/// Tools a client schema declares that are not plain functions (the Responses API's `custom`,
/// `namespace` and built-in tools). Custom and namespaced tools are also in `ChatRequest::tools` as
/// functions (a named lossy conversion for providers without them); this says how to name their
/// calls back in the client's schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolForms {
    /// Function names that stand for a freeform (`custom`) tool: one string argument, `input`.
    pub custom: Vec<String>,
    /// Namespaced functions: (the function name sent to the provider, namespace, name in it).
    pub namespaced: Vec<(String, String, String)>,
    /// Built-in tools, run by the provider (`web_search`, `file_search`, ...): their `type` and
    /// the whole declaration as the client wrote it.
    pub builtin: Vec<(String, JsonText)>,
}

impl ToolForms {
    pub fn is_empty(&self) -> bool {
        self.custom.is_empty() && self.namespaced.is_empty() && self.builtin.is_empty()
    }

    /// Whether `name` is a freeform tool's function.
    pub fn is_custom(&self, name: &str) -> bool {
        self.custom.iter().any(|c| c == name)
    }

    /// The (namespace, name) a flattened function name stands for.
    pub fn namespace_of(&self, flat: &str) -> Option<(&str, &str)> {
        self.namespaced
            .iter()
            .find(|(f, _, _)| f == flat)
            .map(|(_, ns, n)| (ns.as_str(), n.as_str()))
    }

    /// The flattened function name of `name` in `namespace`.
    pub fn flat_name(&self, namespace: &str, name: &str) -> Option<&str> {
        self.namespaced
            .iter()
            .find(|(_, ns, n)| ns == namespace && n == name)
            .map(|(f, _, _)| f.as_str())
    }
}

/// A JSON value kept as its text: a client's tool schema passes to every provider verbatim, and
/// building a `Value` tree of it cost more than parsing all the messages' text (load-tests/RESULTS.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(Box<str>);

impl JsonText {
    /// `text` when it is one valid JSON value.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let raw: &serde_json::value::RawValue = serde_json::from_str(text)?;
        Ok(JsonText(raw.get().into()))
    }

    /// Already validated JSON (a `RawValue` from a typed parse).
    pub fn from_raw(raw: Box<serde_json::value::RawValue>) -> Self {
        JsonText(raw.into())
    }

    /// `{"type":"object","properties":{}}`: the schema of a function without parameters.
    pub fn empty_object_schema() -> Self {
        JsonText(r#"{"type":"object","properties":{}}"#.into())
    }

    pub fn get(&self) -> &str {
        &self.0
    }

    /// The value as a tree, for the few places that inspect or edit it.
    pub fn to_value(&self) -> Value {
        // Constructed from valid JSON only, so this cannot fail; Null would be the harmless fallback.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl From<&Value> for JsonText {
    fn from(v: &Value) -> Self {
        JsonText(v.to_string().into())
    }
}

impl From<Value> for JsonText {
    fn from(v: Value) -> Self {
        JsonText::from(&v)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Switchyard's own request controls (API.md), whichever schema carried them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingHints {
    pub fallback: Vec<String>,
    pub budget: Option<Money>,
    pub session_id: Option<String>,
    pub mode: Option<String>,
    /// The caller's task (`/v1/auto/route`'s `task`, `/v1/models/route`'s `filter.task_type`): it
    /// replaces the classifier's task when routing.
    pub task: Option<String>,
    /// Only this provider's models (a rule's `pin_provider`).
    pub provider: Option<String>,
    /// Providers whose models are not eligible.
    pub exclude_providers: Vec<String>,
    /// The lowest quality score (0..1) for the task a model may have to be eligible.
    pub quality_floor: Option<f64>,
}

/// A request field that switches on a provider feature billed outside token pricing: a server-side
/// tool (web search, code execution), MCP servers, a priority tier, audio output, a stored completion.
/// A key needs the `costly_features` scope to send one, and a model the capability it `needs`.
#[derive(Debug, Clone, PartialEq)]
pub struct BilledExtra {
    /// The field as a request parameter path (`tools[1]`, `service_tier`).
    pub param: String,
    /// The feature, a stable word (`web_search`, `priority_tier`, ...): metric label and message.
    pub feature: &'static str,
    /// The catalog capability a model needs to take it, if any (`tools` for server tools).
    pub needs: Option<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model as the client named it: catalog id, alias, or a routing word such as `auto`.
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    /// What `tools` does not say about the client's tools (custom, namespaced, built-in).
    pub tool_forms: ToolForms,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub n: Option<u32>,
    pub response_format: Option<ResponseFormat>,
    pub reasoning_effort: Option<String>,
    /// An explicit reasoning budget in tokens (Anthropic `thinking.budget_tokens`, Gemini
    /// `thinkingBudget`).
    pub reasoning_budget: Option<u32>,
    pub top_k: Option<u32>,
    pub logprobs: Option<bool>,
    pub top_logprobs: Option<u32>,
    pub stream: bool,
    /// The client asked for a usage event at the end of a stream.
    pub stream_include_usage: bool,
    pub user: Option<String>,
    pub metadata: serde_json::Map<String, Value>,
    pub routing: RoutingHints,
    /// Fields of the client's body the gateway does not model: passed through to a provider of the
    /// same schema, named as lossy for any other.
    pub unknown_fields: Vec<String>,
    /// Fields that turn on features billed outside token pricing (also in `unknown_fields` when the
    /// gateway does not model them).
    pub billed_extras: Vec<BilledExtra>,
    /// Fields of a Responses request that OpenAI's chat completions takes under these names
    /// (`prompt_cache_key`, `safety_identifier`, `service_tier`, and `text.verbosity` as
    /// `verbosity`): sent to OpenAI-schema providers, named as lossy for the others.
    pub chat_extras: serde_json::Map<String, Value>,
    /// Responses' `reasoning.summary`, as asked.
    pub reasoning_summary: Option<String>,
    /// Responses' `include` asked for `reasoning.encrypted_content`.
    pub encrypted_reasoning: bool,
}

impl ChatRequest {
    /// Every piece of text a prompt carries, in order (for firewall, classification, estimates).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().flat_map(|m| {
            m.content
                .iter()
                .filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    Part::Image { .. } | Part::Other { .. } | Part::Reasoning { .. } => None,
                })
                .chain(m.tool_calls.iter().map(|c| c.arguments.as_str()))
        })
    }

    /// A cheap input-token estimate (about four bytes a token, plus per-message overhead), used
    /// before the provider reports real usage.
    pub fn estimated_input_tokens(&self) -> u64 {
        let text: usize = self.texts().map(str::len).sum();
        let images = self
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .filter(|p| matches!(p, Part::Image { .. }))
            .count();
        let tools: usize = self
            .tools
            .iter()
            .map(|t| t.name.len() + t.description.as_ref().map_or(0, String::len) + t.parameters.get().len())
            .sum();
        ((text + tools) / 4 + 4 * self.messages.len() + 765 * images) as u64
    }

    pub fn has_images(&self) -> bool {
        self.messages
            .iter()
            .flat_map(|m| &m.content)
            .any(|p| matches!(p, Part::Image { .. }))
    }
}

/// Token usage as reported by a provider, in canonical terms. `input_tokens` includes cached ones;
/// `output_tokens` includes reasoning ones (the way OpenAI reports; adapters convert).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    /// Input tokens read from a prompt cache (billed at the cached-input price).
    pub cached_input_tokens: u64,
    /// Input tokens written to a prompt cache (Anthropic; billed at the cache-write price).
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// The provider did not say how many output tokens were reasoning (Anthropic counts thinking
    /// in `output_tokens` only): `reasoning_tokens` is then 0 but unknown, and is not reported.
    #[serde(default)]
    pub reasoning_unknown: bool,
}

/// Why a model stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FinishReason {
    Stop,
    /// The output limit was reached.
    Length,
    ToolCalls,
    ContentFilter,
    /// Anything else a provider reports, kept verbatim.
    Other(String),
}

/// One piece of a model's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OutPart {
    Text(String),
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    ToolCall(ToolCall),
    /// The model declined to answer, in its own words (OpenAI's `message.refusal`): clients whose
    /// schema has a place for it (Responses `refusal` parts, chat `refusal`, Messages
    /// `stop_reason: "refusal"`) get it there, never as the answer's text.
    Refusal(String),
}

/// A complete (non-streaming) answer in canonical terms.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChatResponse {
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The model name the provider reported.
    pub model: String,
    pub parts: Vec<OutPart>,
    pub finish: Option<FinishReason>,
    pub usage: Option<Usage>,
    /// The further answers when the client asked for several (`n`, Gemini's `candidateCount`);
    /// `parts` and `finish` are the first. `usage` covers them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_choices: Vec<Choice>,
    /// The log probabilities of the answer's tokens, when the client asked (`logprobs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<TokenLogprob>>,
}

/// One of several answers to a request (see [`ChatResponse::more_choices`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub parts: Vec<OutPart>,
    pub finish: Option<FinishReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<TokenLogprob>>,
}

/// A generated token with its log probability and the most likely alternatives at its position.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    #[serde(default)]
    pub top: Vec<(String, f64)>,
}

impl ChatResponse {
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                OutPart::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.parts.iter().filter_map(|p| match p {
            OutPart::ToolCall(c) => Some(c),
            _ => None,
        })
    }
}

/// One event of a streamed answer in canonical terms. Provider stream decoders produce these;
/// client stream encoders consume them.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer began (id and model as the provider reported them).
    Start {
        id: String,
        model: String,
    },
    TextDelta(String),
    /// A piece of a refusal (see [`OutPart::Refusal`]).
    RefusalDelta(String),
    ReasoningDelta(String),
    /// A reasoning block's signature (Anthropic), sent once the block is complete.
    ReasoningSignature(String),
    /// A tool call began; `index` orders the calls of this answer (0, 1, ...).
    ToolCallStart {
        index: usize,
        id: String,
        name: String,
    },
    ToolCallDelta {
        index: usize,
        arguments: String,
    },
    /// Log probabilities of the tokens just streamed (when the client asked for them).
    Logprobs(Vec<TokenLogprob>),
    Finish(FinishReason),
    Usage(Usage),
    /// The provider reported an error inside the stream.
    Error {
        message: String,
    },
}
