//! OpenAI Responses API, client side (`POST /v1/responses`): the request (instructions, input items,
//! function tools, text format) parsed into the canonical IR, and canonical answers rendered back as a
//! `response` object or as the Responses streaming events. Wire format: the API reference
//! (platform.openai.com/docs/api-reference/responses) and the official `openai` Python SDK's types and
//! stream accumulator (`lib/streaming/responses`), which must be able to consume what is written here.
//!
//! Refused with a 400 that names the field: stored state (`previous_response_id`, `conversation`,
//! `background`, `item_reference` items, stored `prompt`s), because the gateway keeps no responses; and
//! built-in tools (web search, file search, computer use, ...), which only OpenAI's own servers run.
//! Clients such as Codex that send the whole conversation each turn (`store: false`) need neither.

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, ChatResponse};

use super::{ClientCodec, Finalizer, ParsedRequest, Schema, StreamEncoder};
use crate::error::GatewayError;

pub struct ResponsesCodec;

impl ClientCodec for ResponsesCodec {
    fn schema(&self) -> Schema {
        Schema::OpenAiResponses
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        parse::parse(body)
    }

    fn render_response(&self, resp: &ChatResponse, req: Option<&ChatRequest>, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
        render::render_response(resp, req, model_id, fin)
    }

    fn stream_encoder(&self, req: &ChatRequest, model_id: &str) -> Box<dyn StreamEncoder> {
        Box::new(stream::Encoder::new(req, model_id))
    }

    // `error_body` keeps the default: the public error object already has OpenAI's `{"error": {...}}`
    // shape, which the SDK turns into its typed `APIStatusError`s.

    /// A stream that broke after it started ends with in-band failure events the SDK raises on.
    fn stream_error(&self, error: &Value, out: &mut Vec<u8>) {
        stream::write_failure(error, out);
    }
}

mod wire {
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
    }

    #[derive(Deserialize)]
    pub(super) struct WireTool {
        #[serde(rename = "type")]
        pub(super) kind: String,
        pub(super) name: Option<String>,
        pub(super) description: Option<String>,
        pub(super) parameters: Option<Value>,
        pub(super) strict: Option<bool>,
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
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
}

mod parse {
    //! Request body → canonical request: which fields each item kind needs, how a Responses
    //! conversation maps onto canonical messages, and what is refused.

    use std::collections::HashSet;

    use serde::de::DeserializeOwned;
    use serde_json::value::RawValue;
    use serde_json::{Map, Value};
    use switchyard_sdk::ir::{ChatRequest, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice};
    use switchyard_sdk::Money;

    use crate::api::json::{field, missing, parse_object};
    use crate::api::openai_chat::image_source;
    use crate::api::ParsedRequest;
    use crate::error::GatewayError;

    use super::wire::{
        ItemKind, OneOrMany, PartKind, TextOr, WireFormat, WireItem, WirePart, WireReasoning, WireRole, WireText,
        WireTool, WireToolChoice,
    };

    /// A 400 for something the Responses API has but the gateway cannot honour.
    fn unsupported(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
        GatewayError::InvalidRequest {
            code: "unsupported_parameter",
            message: message.into(),
            param: Some(param.into()),
        }
    }

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

    fn convert_content(c: TextOr<WirePart>, item: usize, list: &'static str) -> Result<Vec<Part>, GatewayError> {
        match c {
            TextOr::Text(t) => Ok(vec![Part::Text(t)]),
            TextOr::List(parts) => parts
                .into_iter()
                .enumerate()
                .map(|(part, p)| convert_part(p, &Loc { item, list, part }))
                .collect(),
        }
    }

    /// Input items → canonical messages. One assistant turn of the Responses API is several items
    /// (reasoning, a message, function calls); canonical has one assistant message with text and tool
    /// calls, so function calls join the assistant message they follow (parallel calls become one
    /// message with several `tool_calls`, as Chat Completions and Anthropic expect). Reasoning items
    /// wait for the output they led to: an assistant message starts with them, function calls append
    /// them to the open assistant message's content (the IR orders reasoning among the content, not
    /// among the calls).
    #[derive(Default)]
    struct Conversation {
        msgs: Vec<Message>,
        /// Reasoning items waiting for the assistant output they led to.
        reasoning: Vec<Part>,
        /// The last message is an assistant turn that function calls may still join.
        assistant_open: bool,
        /// The input index of each function_call_output, in order (for `check_outputs`).
        outputs: Vec<usize>,
    }

    fn message(role: Role, content: Vec<Part>) -> Message {
        Message {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            is_error: false,
        }
    }

    impl Conversation {
        /// A reasoning item that led nowhere (no assistant output follows it before the next
        /// user or tool item) gives a provider nothing to continue from, so it is dropped here.
        fn close(&mut self) {
            self.assistant_open = false;
            self.reasoning.clear();
        }

        fn push(&mut self, m: Message) {
            self.close();
            self.msgs.push(m);
        }

        /// A new assistant message: the pending reasoning comes first, as it came first in the turn.
        fn start_assistant(&mut self, content: Vec<Part>) {
            let mut parts = std::mem::take(&mut self.reasoning);
            parts.extend(content);
            self.msgs.push(message(Role::Assistant, parts));
            self.assistant_open = true;
        }

        /// The open assistant message (a new one if none is open), with pending reasoning appended.
        fn assistant(&mut self) -> &mut Message {
            if !self.assistant_open || self.msgs.is_empty() {
                self.start_assistant(Vec::new());
            } else if !self.reasoning.is_empty() {
                let pending = std::mem::take(&mut self.reasoning);
                let last = self.msgs.len() - 1;
                self.msgs[last].content.extend(pending);
            }
            let last = self.msgs.len() - 1;
            &mut self.msgs[last]
        }

        fn item(&mut self, i: usize, it: WireItem) -> Result<(), GatewayError> {
            let kind = match it.kind {
                Some(k) => k,
                // `{role, content}` without a type is the SDK's "easy input message".
                None if it.role.is_some() => ItemKind::Message,
                None => return Err(missing(&format!("input[{i}].type"))),
            };
            match kind {
                ItemKind::Message => {
                    let role = it.role.ok_or_else(|| missing(&format!("input[{i}].role")))?;
                    let content = it.content.ok_or_else(|| missing(&format!("input[{i}].content")))?;
                    let content = convert_content(content, i, "content")?;
                    match role {
                        WireRole::Assistant => self.start_assistant(content),
                        WireRole::User => self.push(message(Role::User, content)),
                        WireRole::System => self.push(message(Role::System, content)),
                        WireRole::Developer => self.push(message(Role::Developer, content)),
                    }
                }
                ItemKind::FunctionCall => {
                    let id = it.call_id.ok_or_else(|| missing(&format!("input[{i}].call_id")))?;
                    let name = it.name.ok_or_else(|| missing(&format!("input[{i}].name")))?;
                    let arguments = it.arguments.ok_or_else(|| missing(&format!("input[{i}].arguments")))?;
                    self.assistant().tool_calls.push(ToolCall { id, name, arguments });
                }
                ItemKind::FunctionCallOutput => {
                    let id = it.call_id.ok_or_else(|| missing(&format!("input[{i}].call_id")))?;
                    self.outputs.push(i);
                    let output = it.output.ok_or_else(|| missing(&format!("input[{i}].output")))?;
                    let mut m = message(Role::Tool, convert_content(output, i, "output")?);
                    m.tool_call_id = Some(id);
                    self.push(m);
                }
                ItemKind::Reasoning => {
                    // Raw reasoning (`content`) when given, else the summary: the text a provider that
                    // takes earlier reasoning back (Anthropic thinking) needs. `encrypted_content` is
                    // where this gateway puts a thinking block's signature (see render), so it goes back
                    // as that. An item with neither text nor signature carries nothing and is dropped.
                    let mut text = String::new();
                    if let Some(TextOr::List(parts)) = it.content {
                        for p in parts {
                            text.push_str(p.text.as_deref().unwrap_or_default());
                        }
                    }
                    if text.is_empty() {
                        for (k, s) in it.summary.into_iter().flatten().enumerate() {
                            if k > 0 {
                                text.push_str("\n\n");
                            }
                            text.push_str(&s.text);
                        }
                    }
                    if !text.is_empty() || it.encrypted_content.is_some() {
                        self.reasoning.push(Part::Reasoning {
                            text,
                            signature: it.encrypted_content,
                        });
                    }
                }
                ItemKind::Other(t) if t == "item_reference" => {
                    return Err(unsupported(
                        format!("input[{i}].type"),
                        "item_reference items point at stored responses, which are not implemented; send the \
                         items themselves",
                    ))
                }
                ItemKind::Other(t) => {
                    return Err(unsupported(
                        format!("input[{i}].type"),
                        format!(
                            "input item type {t:?} is not supported; use message, function_call, \
                             function_call_output and reasoning items"
                        ),
                    ))
                }
            }
            Ok(())
        }
    }

    /// Every function_call_output must answer a function_call before it: every provider refuses a
    /// result for a call it never saw, so the error is given here, naming the item. Checked once the
    /// messages are built, borrowing their ids rather than copying each one.
    fn check_outputs(msgs: &[Message], outputs: &[usize]) -> Result<(), GatewayError> {
        if outputs.is_empty() {
            return Ok(());
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut items = outputs.iter();
        for m in msgs {
            seen.extend(m.tool_calls.iter().map(|c| c.id.as_str()));
            if m.role != Role::Tool {
                continue;
            }
            let (Some(id), Some(i)) = (m.tool_call_id.as_deref(), items.next()) else {
                continue;
            };
            if !seen.contains(id) {
                return Err(GatewayError::invalid(
                    format!("input[{i}].call_id"),
                    format!(
                        "no function_call item with call_id {id:?} comes before this output; send the whole \
                         conversation (stored responses are not implemented)"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn convert_input(instructions: Option<String>, input: TextOr<WireItem>) -> Result<Vec<Message>, GatewayError> {
        let mut c = Conversation::default();
        if let Some(text) = instructions.filter(|t| !t.is_empty()) {
            c.msgs.push(message(Role::System, vec![Part::Text(text)]));
        }
        match input {
            TextOr::Text(t) => c.msgs.push(message(Role::User, vec![Part::Text(t)])),
            TextOr::List(items) => {
                if items.is_empty() {
                    return Err(GatewayError::invalid("input", "input has no items"));
                }
                c.msgs.reserve(items.len());
                for (i, it) in items.into_iter().enumerate() {
                    c.item(i, it)?;
                }
            }
        }
        check_outputs(&c.msgs, &c.outputs)?;
        Ok(c.msgs)
    }

    fn convert_tools(tools: Vec<WireTool>) -> Result<Vec<Tool>, GatewayError> {
        tools
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                if t.kind != "function" {
                    return Err(unsupported(
                        format!("tools[{i}].type"),
                        format!(
                            "tool type {:?} is not supported: built-in tools run on OpenAI's servers only; \
                             declare a function tool instead",
                            t.kind
                        ),
                    ));
                }
                Ok(Tool {
                    name: t.name.ok_or_else(|| missing(&format!("tools[{i}].name")))?,
                    description: t.description,
                    parameters: t
                        .parameters
                        .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
                    // Absent stays absent: each provider's own default applies.
                    strict: t.strict,
                })
            })
            .collect()
    }

    fn convert_tool_choice(c: WireToolChoice) -> Result<ToolChoice, GatewayError> {
        Ok(match c {
            WireToolChoice::Mode(m) => match m.as_str() {
                "auto" => ToolChoice::Auto,
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                _ => {
                    return Err(GatewayError::invalid(
                        "tool_choice",
                        format!("tool_choice {m:?} must be auto, none, required or a function"),
                    ))
                }
            },
            WireToolChoice::Object { kind, name } if kind == "function" => {
                ToolChoice::Named(name.ok_or_else(|| missing("tool_choice.name"))?)
            }
            WireToolChoice::Object { kind, .. } => {
                return Err(unsupported(
                    "tool_choice.type",
                    format!("tool_choice type {kind:?} is not supported; use auto, none, required or a function"),
                ))
            }
        })
    }

    fn convert_format(f: WireFormat) -> Result<ResponseFormat, GatewayError> {
        Ok(match f {
            WireFormat::Text => ResponseFormat::Text,
            WireFormat::JsonObject => ResponseFormat::JsonObject,
            WireFormat::JsonSchema { name, schema, strict } => ResponseFormat::JsonSchema {
                name: name.ok_or_else(|| missing("text.format.name"))?,
                schema: schema.ok_or_else(|| missing("text.format.schema"))?,
                strict,
            },
        })
    }

    /// `field` without path tracking on the happy path: tracking each value's path costs about as much
    /// as the parse itself, so it is paid only when the fast parse fails and the error needs its `param`.
    fn typed<T: DeserializeOwned>(name: &str, raw: &RawValue) -> Result<T, GatewayError> {
        serde_json::from_str(raw.get()).or_else(|_| field(name, raw))
    }

    const NOT_STORED: &str = "stored responses are not implemented: Switchyard keeps no responses; send the whole \
                              conversation in `input` (as clients using store: false do)";

    /// Parse a Responses request body.
    pub(super) fn parse(body: &[u8]) -> Result<ParsedRequest, GatewayError> {
        let raw = parse_object(body)?;
        let mut r = ChatRequest::default();
        let mut have_model = false;
        let mut instructions: Option<String> = None;
        let mut input: Option<TextOr<WireItem>> = None;
        for (k, v) in &raw {
            let v: &RawValue = v;
            if v.get() == "null" {
                continue; // OpenAI treats an explicit null like an absent optional field
            }
            match k.as_str() {
                "model" => {
                    r.model = field(k, v)?;
                    have_model = true;
                }
                "input" => input = Some(typed(k, v)?),
                "instructions" => instructions = Some(field(k, v)?),
                "tools" => r.tools = convert_tools(typed(k, v)?)?,
                "tool_choice" => r.tool_choice = Some(convert_tool_choice(field(k, v)?)?),
                "parallel_tool_calls" => r.parallel_tool_calls = Some(field(k, v)?),
                "text" => {
                    let t: WireText = field(k, v)?;
                    if let Some(f) = t.format {
                        r.response_format = Some(convert_format(f)?);
                    }
                    if t.verbosity.is_some() {
                        r.unknown_fields.push("text.verbosity".into());
                    }
                }
                "max_output_tokens" => r.max_tokens = Some(field(k, v)?),
                "temperature" => r.temperature = Some(field(k, v)?),
                "top_p" => r.top_p = Some(field(k, v)?),
                // `summary` needs nothing: reasoning text a model gives is always returned as a summary.
                "reasoning" => r.reasoning_effort = field::<WireReasoning>(k, v)?.effort,
                "metadata" => r.metadata = field::<Map<String, Value>>(k, v)?,
                "user" => r.user = Some(field(k, v)?),
                "stream" => r.stream = field(k, v)?,
                // Nothing is ever stored, so `store` (true by default at OpenAI) changes nothing; refusing it
                // would break every client that leaves the default.
                "store" => {
                    let _: bool = field(k, v)?;
                }
                // Only reasoning.encrypted_content matters to a routed answer, and it is always given
                // when there is a signature; the other includes concern built-in tools or logprobs.
                "include" => {
                    let inc: Vec<String> = field(k, v)?;
                    if inc.iter().any(|i| i != "reasoning.encrypted_content") {
                        r.unknown_fields.push(k.clone());
                    }
                }
                "stream_options" => {
                    let _: Map<String, Value> = field(k, v)?;
                }
                "truncation" => match field::<String>(k, v)?.as_str() {
                    "disabled" => {}
                    "auto" => r.unknown_fields.push(k.clone()),
                    other => {
                        return Err(GatewayError::invalid(
                            k,
                            format!("truncation {other:?} must be auto or disabled"),
                        ))
                    }
                },
                "previous_response_id" | "conversation" => return Err(unsupported(k, NOT_STORED)),
                "background" => {
                    if field::<bool>(k, v)? {
                        return Err(unsupported(k, NOT_STORED));
                    }
                }
                "prompt" => {
                    return Err(unsupported(
                        k,
                        "stored prompt templates are not supported; send instructions and input",
                    ))
                }
                "fallback" => {
                    r.routing.fallback = match field::<OneOrMany>(k, v)? {
                        OneOrMany::One(s) => vec![s],
                        OneOrMany::Many(v) => v,
                    }
                }
                "budget_dollars" => {
                    let d: f64 = field(k, v)?;
                    r.routing.budget = Some(
                        Money::from_dollars(d)
                            .ok_or_else(|| GatewayError::invalid(k, "budget_dollars must be a non-negative amount"))?,
                    );
                }
                "session_id" => r.routing.session_id = Some(field(k, v)?),
                "router_mode" | "optimization" => r.routing.mode = Some(field(k, v)?),
                // Named as lossy by the provider adapters (no Responses-schema provider to pass them to).
                _ => r.unknown_fields.push(k.clone()),
            }
        }
        if !have_model {
            return Err(missing("model"));
        }
        let input = input.ok_or_else(|| missing("input"))?;
        r.messages = convert_input(instructions, input)?;
        // A Responses stream always ends with usage (in `response.completed`), so ask the provider for it.
        r.stream_include_usage = r.stream;
        Ok(ParsedRequest { request: r, raw })
    }
}

mod render {
    //! Canonical answers → Responses objects: output items, usage, the echo of the request's settings
    //! and the `response` object itself. Whole answers and the stream's lifecycle events share these,
    //! so a stream's final `response` says exactly what the non-streaming answer would.

    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::LazyLock;

    use serde_json::{json, Map, Value};
    use switchyard_sdk::ir::{
        ChatRequest, ChatResponse, FinishReason, OutPart, Part, ResponseFormat, Role, ToolChoice, Usage,
    };
    use switchyard_sdk::Money;

    use crate::api::Finalizer;

    pub(super) fn now_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Generated ids: a per-process random prefix and a counter (unique without a syscall each).
    static ID_PREFIX: LazyLock<u64> = LazyLock::new(|| {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

    /// The response id: the provider's answer id behind `resp_` (traceable to the upstream's logs),
    /// or a generated one when the provider gave none.
    pub(super) fn response_id(upstream: &str) -> String {
        if upstream.is_empty() {
            format!(
                "resp_{:016x}{:08x}",
                *ID_PREFIX,
                ID_COUNTER.fetch_add(1, Ordering::Relaxed)
            )
        } else if upstream.starts_with("resp_") {
            upstream.to_string()
        } else {
            format!("resp_{upstream}")
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Kind {
        Message,
        FunctionCall { call_id: String, name: String },
        Reasoning { signature: Option<String> },
    }

    /// One output item. Ids are derived from the response id and the item's position, so the stream
    /// and the whole answer agree, and the SDK's accumulator (which matches items by id) never sees two
    /// items with one id.
    #[derive(Debug, Clone)]
    pub(super) struct Item {
        pub id: String,
        pub kind: Kind,
        /// The message text, the call's arguments, or the reasoning text.
        pub text: String,
        pub status: &'static str,
    }

    impl Item {
        pub fn new(mut kind: Kind, response_id: &str, index: usize, text: String) -> Item {
            let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
            let prefix = match &mut kind {
                Kind::Message => "msg",
                Kind::FunctionCall { call_id, .. } => {
                    if call_id.is_empty() {
                        // The client answers by call_id: a provider that gave none still needs one.
                        *call_id = format!("call_{base}_{index}");
                    }
                    "fc"
                }
                Kind::Reasoning { .. } => "rs",
            };
            Item {
                id: format!("{prefix}_{base}_{index}"),
                kind,
                text,
                status: "completed",
            }
        }

        pub fn is_message(&self) -> bool {
            matches!(self.kind, Kind::Message)
        }

        pub fn is_reasoning(&self) -> bool {
            matches!(self.kind, Kind::Reasoning { .. })
        }

        /// The item complete (in `output_item.done` and the final `output`).
        pub fn to_json(&self) -> Value {
            self.json(&self.text, self.status)
        }

        /// The item as `output_item.added` announces it: nothing generated yet.
        pub fn added_json(&self) -> Value {
            self.json("", "in_progress")
        }

        fn json(&self, text: &str, status: &str) -> Value {
            match &self.kind {
                Kind::Message => {
                    let content = if status == "in_progress" {
                        json!([])
                    } else {
                        json!([output_text(text)])
                    };
                    json!({"id": self.id, "type": "message", "status": status, "content": content,
                           "role": "assistant"})
                }
                Kind::FunctionCall { call_id, name } => json!({"id": self.id, "type": "function_call",
                    "status": status, "arguments": text, "call_id": call_id, "name": name}),
                Kind::Reasoning { signature } => {
                    let summary = if text.is_empty() {
                        json!([])
                    } else {
                        json!([{"type": "summary_text", "text": text}])
                    };
                    let mut v = json!({"id": self.id, "type": "reasoning", "summary": summary});
                    if let (Some(s), false) = (signature, status == "in_progress") {
                        v["encrypted_content"] = json!(s);
                    }
                    v
                }
            }
        }
    }

    pub(super) fn output_text(text: &str) -> Value {
        json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
    }

    /// Canonical answer parts → output items, in order. Text parts in a row are one message (a
    /// stream's text deltas are one message too); each reasoning block is its own item, so its
    /// signature stays with its text.
    pub(super) fn items_of(parts: &[OutPart], response_id: &str, incomplete: bool) -> Vec<Item> {
        let mut items: Vec<Item> = Vec::with_capacity(parts.len());
        for p in parts {
            match p {
                OutPart::Text(t) => match items.last_mut() {
                    Some(it) if it.is_message() => it.text.push_str(t),
                    _ if t.is_empty() => {}
                    _ => items.push(Item::new(Kind::Message, response_id, items.len(), t.clone())),
                },
                OutPart::Reasoning { text, signature } => {
                    if !text.is_empty() || signature.is_some() {
                        let kind = Kind::Reasoning {
                            signature: signature.clone(),
                        };
                        items.push(Item::new(kind, response_id, items.len(), text.clone()));
                    }
                }
                OutPart::ToolCall(c) => {
                    let kind = Kind::FunctionCall {
                        call_id: c.id.clone(),
                        name: c.name.clone(),
                    };
                    items.push(Item::new(kind, response_id, items.len(), c.arguments.clone()));
                }
            }
        }
        if incomplete {
            if let Some(last) = items.last_mut() {
                last.status = "incomplete";
            }
        }
        items
    }

    /// The response's `status` and `incomplete_details.reason` for a finish reason.
    pub(super) fn outcome(f: Option<&FinishReason>) -> (&'static str, Option<&'static str>) {
        match f {
            Some(FinishReason::Length) => ("incomplete", Some("max_output_tokens")),
            Some(FinishReason::ContentFilter) => ("incomplete", Some("content_filter")),
            _ => ("completed", None),
        }
    }

    /// Canonical usage in Responses terms, with the exact cost (API.md: `usage.cost`, dollars).
    pub(super) fn usage_json(u: &Usage, cost: Option<Money>) -> Value {
        let mut v = json!({
            "input_tokens": u.input_tokens,
            "input_tokens_details": {"cached_tokens": u.cached_input_tokens,
                                     "cache_write_tokens": u.cache_write_tokens},
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.input_tokens + u.output_tokens,
        });
        if let Some(c) = cost {
            v["cost"] = json!(c.as_dollars_f64());
        }
        v
    }

    fn format_json(f: Option<&ResponseFormat>) -> Value {
        match f {
            None | Some(ResponseFormat::Text) => json!({"type": "text"}),
            Some(ResponseFormat::JsonObject) => json!({"type": "json_object"}),
            Some(ResponseFormat::JsonSchema { name, schema, strict }) => {
                let mut v = json!({"type": "json_schema", "name": name, "schema": schema});
                if let Some(s) = strict {
                    v["strict"] = json!(s);
                }
                v
            }
        }
    }

    /// The request settings a `response` object echoes (the SDK's `Response` requires
    /// `parallel_tool_calls`, `tool_choice` and `tools`), as JSON members without the braces: built
    /// once per answer and spliced into each response object, so a stream does not re-serialize the
    /// tools for each lifecycle event. `instructions` echoes a leading system message: the IR does not
    /// record whether it came from `instructions` or from a system item.
    pub(super) fn echo(req: &ChatRequest) -> String {
        let instructions = match req.messages.first() {
            Some(m) if m.role == Role::System => {
                let text: String = m
                    .content
                    .iter()
                    .filter_map(|p| if let Part::Text(t) = p { Some(t.as_str()) } else { None })
                    .collect();
                json!(text)
            }
            _ => Value::Null,
        };
        let tool_choice = match &req.tool_choice {
            None | Some(ToolChoice::Auto) => json!("auto"),
            Some(ToolChoice::None) => json!("none"),
            Some(ToolChoice::Required) => json!("required"),
            Some(ToolChoice::Named(n)) => json!({"type": "function", "name": n}),
        };
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "name": t.name, "description": t.description,
                       "parameters": t.parameters, "strict": t.strict})
            })
            .collect();
        let mut m = Map::new();
        m.insert("background".into(), json!(false));
        m.insert("instructions".into(), instructions);
        m.insert("max_output_tokens".into(), json!(req.max_tokens));
        m.insert("max_tool_calls".into(), Value::Null);
        m.insert(
            "parallel_tool_calls".into(),
            json!(req.parallel_tool_calls.unwrap_or(true)),
        );
        m.insert("previous_response_id".into(), Value::Null);
        m.insert(
            "reasoning".into(),
            json!({"effort": req.reasoning_effort, "summary": null}),
        );
        // Truthful: nothing is stored, whatever the request asked.
        m.insert("store".into(), json!(false));
        m.insert("temperature".into(), json!(req.temperature));
        m.insert(
            "text".into(),
            json!({"format": format_json(req.response_format.as_ref())}),
        );
        m.insert("tool_choice".into(), tool_choice);
        m.insert("tools".into(), Value::Array(tools));
        m.insert("top_p".into(), json!(req.top_p));
        m.insert("truncation".into(), json!("disabled"));
        m.insert("user".into(), json!(req.user));
        m.insert("metadata".into(), Value::Object(req.metadata.clone()));
        let s = Value::Object(m).to_string();
        s.strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or_default()
            .to_string()
    }

    /// The echo for a whole answer: `render_response` is not given the request, so it echoes the
    /// defaults (a request with no tools, `tool_choice: auto`, ...).
    pub(super) fn default_echo() -> &'static str {
        static DEFAULT: LazyLock<String> = LazyLock::new(|| echo(&ChatRequest::default()));
        &DEFAULT
    }

    /// What every `response` object of one answer shares.
    pub(super) struct Head<'a> {
        pub id: &'a str,
        pub created_at: u64,
        pub model: &'a str,
        pub echo: &'a str,
    }

    /// The state of a response at one moment.
    pub(super) struct State<'a> {
        pub status: &'a str,
        pub incomplete: Option<&'a str>,
        pub error: Option<&'a Value>,
        pub items: &'a [Item],
        pub usage: Option<&'a Value>,
        pub router: Option<&'a Value>,
    }

    pub(super) fn json_str(out: &mut Vec<u8>, s: &str) {
        let _ = serde_json::to_writer(&mut *out, s);
    }

    pub(super) fn json_value(out: &mut Vec<u8>, v: &Value) {
        let _ = serde_json::to_writer(&mut *out, v);
    }

    pub(super) fn json_u64(out: &mut Vec<u8>, n: u64) {
        let _ = write!(out, "{n}");
    }

    /// Write one `response` object.
    pub(super) fn write_response(out: &mut Vec<u8>, h: &Head, s: &State) {
        out.extend_from_slice(b"{\"id\":");
        json_str(out, h.id);
        out.extend_from_slice(b",\"object\":\"response\",\"created_at\":");
        json_u64(out, h.created_at);
        out.extend_from_slice(b",\"status\":");
        json_str(out, s.status);
        out.extend_from_slice(b",\"error\":");
        match s.error {
            Some(e) => json_value(out, e),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"incomplete_details\":");
        match s.incomplete {
            Some(r) => {
                out.extend_from_slice(b"{\"reason\":");
                json_str(out, r);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"model\":");
        json_str(out, h.model);
        out.extend_from_slice(b",\"output\":[");
        for (i, it) in s.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_value(out, &it.to_json());
        }
        out.extend_from_slice(b"],\"usage\":");
        match s.usage {
            Some(u) => json_value(out, u),
            None => out.extend_from_slice(b"null"),
        }
        if !h.echo.is_empty() {
            out.push(b',');
            out.extend_from_slice(h.echo.as_bytes());
        }
        if let Some(r) = s.router {
            out.extend_from_slice(b",\"router\":");
            json_value(out, r);
        }
        out.push(b'}');
    }

    pub(super) fn render_response(resp: &ChatResponse, req: Option<&ChatRequest>, model_id: &str, fin: &mut dyn Finalizer) -> Vec<u8> {
        let echoed = req.map(echo);
        let id = response_id(&resp.id);
        let (status, incomplete) = outcome(resp.finish.as_ref());
        let items = items_of(&resp.parts, &id, incomplete.is_some());
        let (router, cost) = fin.finish(resp.usage);
        let usage = resp.usage.as_ref().map(|u| usage_json(u, cost));
        let head = Head {
            id: &id,
            created_at: if resp.created > 0 { resp.created } else { now_secs() },
            model: model_id,
            echo: echoed.as_deref().unwrap_or_else(|| default_echo()),
        };
        let state = State {
            status,
            incomplete,
            error: None,
            items: &items,
            usage: usage.as_ref(),
            router: Some(&router),
        };
        let mut out = Vec::with_capacity(1024 + resp.parts.len() * 256);
        write_response(&mut out, &head, &state);
        out
    }
}

mod stream {
    //! Canonical stream events → Responses streaming events (`event: <type>` and `data:` JSON with the
    //! same `type` and a running `sequence_number`). The order is OpenAI's: `response.created`,
    //! `response.in_progress`, then per item `output_item.added`, its part and delta events, its
    //! `.done` events and `output_item.done`, and last `response.completed` (or `response.incomplete`)
    //! with the whole response. One item is open at a time, as at OpenAI: an item is closed when the
    //! next one starts or at the end. Deltas are written straight into the output buffer; only the
    //! lifecycle events build JSON values.

    use serde_json::{json, Value};
    use switchyard_sdk::ir::{ChatRequest, FinishReason, StreamEvent, Usage};

    use super::render::{
        self, echo, json_str, json_u64, json_value, now_secs, outcome, response_id, usage_json, write_response, Head,
        Item, Kind, State,
    };
    use crate::api::{Finalizer, StreamEncoder};

    pub(super) struct Encoder {
        id: String,
        created_at: u64,
        model: String,
        echo: String,
        seq: u64,
        started: bool,
        finished: bool,
        items: Vec<Item>,
        /// The item still receiving deltas.
        open: Option<usize>,
        /// Canonical tool-call index → position in `items`.
        calls: Vec<(usize, usize)>,
        /// The open reasoning item got its signature: more reasoning is a new block, a new item.
        sealed: bool,
        finish: Option<FinishReason>,
        usage: Option<Usage>,
    }

    /// Start an event: `event:` line and the data object's `type` and `sequence_number`.
    fn begin(out: &mut Vec<u8>, seq: &mut u64, ty: &str) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\ndata: {\"type\":\"");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\",\"sequence_number\":");
        json_u64(out, *seq);
        *seq += 1;
    }

    fn end(out: &mut Vec<u8>) {
        out.extend_from_slice(b"}\n\n");
    }

    fn key(out: &mut Vec<u8>, k: &str) {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
    }

    fn str_field(out: &mut Vec<u8>, k: &str, v: &str) {
        key(out, k);
        json_str(out, v);
    }

    fn num_field(out: &mut Vec<u8>, k: &str, n: u64) {
        key(out, k);
        json_u64(out, n);
    }

    fn value_field(out: &mut Vec<u8>, k: &str, v: &Value) {
        key(out, k);
        json_value(out, v);
    }

    /// `item_id` and `output_index`, which every per-item event carries.
    fn item_ref(out: &mut Vec<u8>, it: &Item, pos: usize) {
        str_field(out, "item_id", &it.id);
        num_field(out, "output_index", pos as u64);
    }

    impl Encoder {
        pub fn new(req: &ChatRequest, model_id: &str) -> Encoder {
            Encoder {
                id: String::new(),
                created_at: now_secs(),
                model: model_id.to_string(),
                echo: echo(req),
                seq: 0,
                started: false,
                finished: false,
                items: Vec::new(),
                open: None,
                calls: Vec::new(),
                sealed: false,
                finish: None,
                usage: None,
            }
        }

        fn head(&self) -> Head<'_> {
            Head {
                id: &self.id,
                created_at: self.created_at,
                model: &self.model,
                echo: &self.echo,
            }
        }

        /// `response.created` and `response.in_progress`, before anything else.
        fn ensure_started(&mut self, out: &mut Vec<u8>) {
            if self.started {
                return;
            }
            self.started = true;
            if self.id.is_empty() {
                self.id = response_id("");
            }
            for ty in ["response.created", "response.in_progress"] {
                begin(out, &mut self.seq, ty);
                key(out, "response");
                let state = State {
                    status: "in_progress",
                    incomplete: None,
                    error: None,
                    items: &[],
                    usage: None,
                    router: None,
                };
                write_response(out, &self.head(), &state);
                end(out);
            }
        }

        /// Announce a new item (and a message's one content part) and make it the open one.
        fn add_item(&mut self, out: &mut Vec<u8>, kind: Kind) -> usize {
            let pos = self.items.len();
            let it = Item::new(kind, &self.id, pos, String::new());
            begin(out, &mut self.seq, "response.output_item.added");
            num_field(out, "output_index", pos as u64);
            value_field(out, "item", &it.added_json());
            end(out);
            if it.is_message() {
                begin(out, &mut self.seq, "response.content_part.added");
                item_ref(out, &it, pos);
                num_field(out, "content_index", 0);
                value_field(out, "part", &render::output_text(""));
                end(out);
            }
            self.items.push(it);
            self.open = Some(pos);
            self.sealed = false;
            pos
        }

        /// Close the open item: its `.done` events carry the full text or arguments.
        fn close_open(&mut self, out: &mut Vec<u8>, status: &'static str) {
            let Some(pos) = self.open.take() else {
                return;
            };
            let Some(it) = self.items.get_mut(pos) else {
                return;
            };
            it.status = status;
            let seq = &mut self.seq;
            match &it.kind {
                Kind::Message => {
                    begin(out, seq, "response.output_text.done");
                    item_ref(out, it, pos);
                    num_field(out, "content_index", 0);
                    str_field(out, "text", &it.text);
                    out.extend_from_slice(b",\"logprobs\":[]");
                    end(out);
                    begin(out, seq, "response.content_part.done");
                    item_ref(out, it, pos);
                    num_field(out, "content_index", 0);
                    value_field(out, "part", &render::output_text(&it.text));
                    end(out);
                }
                Kind::FunctionCall { .. } => {
                    begin(out, seq, "response.function_call_arguments.done");
                    item_ref(out, it, pos);
                    str_field(out, "arguments", &it.text);
                    end(out);
                }
                Kind::Reasoning { .. } => {
                    if !it.text.is_empty() {
                        begin(out, seq, "response.reasoning_summary_text.done");
                        item_ref(out, it, pos);
                        num_field(out, "summary_index", 0);
                        str_field(out, "text", &it.text);
                        end(out);
                        begin(out, seq, "response.reasoning_summary_part.done");
                        item_ref(out, it, pos);
                        num_field(out, "summary_index", 0);
                        value_field(out, "part", &json!({"type": "summary_text", "text": it.text}));
                        end(out);
                    }
                }
            }
            begin(out, seq, "response.output_item.done");
            num_field(out, "output_index", pos as u64);
            value_field(out, "item", &it.to_json());
            end(out);
            self.sealed = false;
        }

        /// The open item if `want` accepts it, else close it and open a new one of `kind`.
        fn item_for(&mut self, out: &mut Vec<u8>, want: fn(&Item) -> bool, kind: Kind) -> usize {
            match self.open {
                Some(p) if self.items.get(p).is_some_and(want) && !self.sealed => p,
                _ => {
                    self.close_open(out, "completed");
                    self.add_item(out, kind)
                }
            }
        }

        fn text(&mut self, out: &mut Vec<u8>, t: &str) {
            if t.is_empty() {
                return;
            }
            self.ensure_started(out);
            let pos = self.item_for(out, Item::is_message, Kind::Message);
            let Some(it) = self.items.get_mut(pos) else {
                return;
            };
            begin(out, &mut self.seq, "response.output_text.delta");
            item_ref(out, it, pos);
            num_field(out, "content_index", 0);
            str_field(out, "delta", t);
            out.extend_from_slice(b",\"logprobs\":[]");
            end(out);
            it.text.push_str(t);
        }

        /// Reasoning text is streamed as the item's one summary part (what Codex and the SDK show as
        /// reasoning); its first delta announces the part.
        fn reasoning(&mut self, out: &mut Vec<u8>, t: &str) {
            if t.is_empty() {
                return;
            }
            self.ensure_started(out);
            let pos = self.item_for(out, Item::is_reasoning, Kind::Reasoning { signature: None });
            let Some(it) = self.items.get_mut(pos) else {
                return;
            };
            if it.text.is_empty() {
                begin(out, &mut self.seq, "response.reasoning_summary_part.added");
                item_ref(out, it, pos);
                num_field(out, "summary_index", 0);
                value_field(out, "part", &json!({"type": "summary_text", "text": ""}));
                end(out);
            }
            begin(out, &mut self.seq, "response.reasoning_summary_text.delta");
            item_ref(out, it, pos);
            num_field(out, "summary_index", 0);
            str_field(out, "delta", t);
            end(out);
            it.text.push_str(t);
        }

        /// A block's signature ends the block; a signature with no text before it (a redacted block)
        /// is an item of its own.
        fn signature(&mut self, out: &mut Vec<u8>, s: String) {
            self.ensure_started(out);
            let pos = self.item_for(out, Item::is_reasoning, Kind::Reasoning { signature: None });
            if let Some(Item {
                kind: Kind::Reasoning { signature },
                ..
            }) = self.items.get_mut(pos)
            {
                *signature = Some(s);
            }
            self.sealed = true;
        }

        fn tool_start(&mut self, out: &mut Vec<u8>, index: usize, call_id: String, name: String) {
            self.ensure_started(out);
            self.close_open(out, "completed");
            let pos = self.add_item(out, Kind::FunctionCall { call_id, name });
            self.calls.push((index, pos));
        }

        /// Arguments for the open call are streamed. Providers send calls one after the other; were a
        /// delta to come for a call already closed, it is kept for the final response only (its
        /// `output_item.done` has gone out).
        fn tool_delta(&mut self, out: &mut Vec<u8>, index: usize, args: &str) {
            if args.is_empty() {
                return;
            }
            let Some(&(_, pos)) = self.calls.iter().rev().find(|(i, _)| *i == index) else {
                return; // a delta for a call that never started: no item to put it in
            };
            let Some(it) = self.items.get_mut(pos) else {
                return;
            };
            if self.open == Some(pos) {
                begin(out, &mut self.seq, "response.function_call_arguments.delta");
                item_ref(out, it, pos);
                str_field(out, "delta", args);
                end(out);
            }
            it.text.push_str(args);
        }
    }

    impl StreamEncoder for Encoder {
        fn event(&mut self, ev: StreamEvent, out: &mut Vec<u8>) {
            if self.finished {
                return;
            }
            match ev {
                StreamEvent::Start { id, .. } => {
                    if !self.started {
                        self.id = response_id(&id);
                    }
                    self.ensure_started(out);
                }
                StreamEvent::TextDelta(t) => self.text(out, &t),
                StreamEvent::ReasoningDelta(t) => self.reasoning(out, &t),
                StreamEvent::ReasoningSignature(s) => self.signature(out, s),
                StreamEvent::ToolCallStart { index, id, name } => self.tool_start(out, index, id, name),
                StreamEvent::ToolCallDelta { index, arguments } => self.tool_delta(out, index, &arguments),
                StreamEvent::Finish(f) => self.finish = Some(f),
                StreamEvent::Usage(u) => self.usage = Some(u),
                // The pipeline ends the stream itself on provider errors (see `write_failure`).
                StreamEvent::Error { .. } => {}
            }
        }

        /// Close the open item, then `response.completed` (or `response.incomplete` when the output
        /// limit or a content filter cut the answer) with the whole response, usage with cost, and
        /// the `router` object.
        fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
            if self.finished {
                return;
            }
            self.ensure_started(out);
            self.finished = true;
            self.close_open(out, "incomplete");
            let head = Head {
                id: &self.id,
                created_at: self.created_at,
                model: &self.model,
                echo: &self.echo,
            };
            write_failure_at(error, out, &mut self.seq, &head, &self.items);
        }

        fn finish(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) {
            if self.finished {
                return;
            }
            self.ensure_started(out);
            self.finished = true;
            let (status, incomplete) = outcome(self.finish.as_ref());
            self.close_open(
                out,
                if incomplete.is_some() {
                    "incomplete"
                } else {
                    "completed"
                },
            );
            let (router, cost) = fin.finish(self.usage);
            let usage = self.usage.as_ref().map(|u| usage_json(u, cost));
            let ty = if incomplete.is_some() {
                "response.incomplete"
            } else {
                "response.completed"
            };
            begin(out, &mut self.seq, ty);
            key(out, "response");
            let state = State {
                status,
                incomplete,
                error: None,
                items: &self.items,
                usage: usage.as_ref(),
                router: Some(&router),
            };
            write_response(out, &self.head(), &state);
            end(out);
        }
    }

    /// The `sequence_number`s of the two failure events. `stream_error` is given no encoder state, so
    /// it cannot continue the stream's numbering; numbers past any real stream keep the sequence
    /// increasing (and fit a client's 32-bit integer).
    pub(super) const FAILURE_SEQ: u64 = i32::MAX as u64 - 1;

    /// End a stream that broke after it started, given the public error object. Two events:
    /// - `error`, with the documented fields (`code`, `message`, `param`) and the gateway's whole
    ///   error object under `error`. The official SDK raises `APIError` on any event whose data has a
    ///   truthy `error` member (legacy stream mode, which `responses.create(stream=True)` and
    ///   `responses.stream()` use), with our object as the exception's body;
    /// - `response.failed` with `status: failed` and `error: {code, message}`, for clients that follow
    ///   the response lifecycle instead (Codex reads `response.error` from it; it ignores `error`).
    ///   That `code` is an enum in OpenAI's schema, so ours maps onto it (`rate_limit_exceeded` or
    ///   `server_error`; the stable code is in the `error` event). Its response id cannot be the
    ///   stream's (no state here): it is made from the request id.
    pub(super) fn write_failure(error: &Value, out: &mut Vec<u8>) {
        let request_id = error
            .get("error")
            .unwrap_or(error)
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let id = response_id(request_id);
        let head = Head {
            id: &id,
            created_at: now_secs(),
            model: "",
            echo: render::default_echo(),
        };
        let mut seq = FAILURE_SEQ;
        write_failure_at(error, out, &mut seq, &head, &[]);
    }

    /// The failure events of a stream in progress: its own response id, sequence numbers and the
    /// output it had produced.
    pub(super) fn write_failure_at(error: &Value, out: &mut Vec<u8>, seq: &mut u64, head: &Head, items: &[Item]) {
        let e = error.get("error").unwrap_or(error);
        let code = e.get("code").and_then(Value::as_str).unwrap_or("upstream_error");
        let openai_code = if e.get("http_status").and_then(Value::as_u64) == Some(429) || code.contains("rate_limit") {
            "rate_limit_exceeded"
        } else {
            "server_error"
        };
        let message = e.get("message").and_then(Value::as_str).unwrap_or("the stream failed");
        begin(out, seq, "error");
        str_field(out, "code", code);
        str_field(out, "message", message);
        value_field(out, "param", e.get("param").unwrap_or(&Value::Null));
        value_field(out, "error", e);
        end(out);
        begin(out, seq, "response.failed");
        key(out, "response");
        let err = json!({"code": openai_code, "message": message, "param": e.get("param"), "type": e.get("type")});
        let state = State {
            status: "failed",
            incomplete: None,
            error: Some(&err),
            items,
            usage: None,
            router: None,
        };
        write_response(out, head, &state);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    //! Table-driven over the real-shaped payloads in `tests/fixtures/responses/`.

    use std::collections::{BTreeSet, HashMap};

    use proptest::prelude::*;
    use serde_json::{json, Map};
    use switchyard_sdk::ir::{
        FinishReason, ImageSource, Message, OutPart, Part, ResponseFormat, Role, StreamEvent, ToolCall, ToolChoice,
        Usage,
    };
    use switchyard_sdk::Money;

    use super::*;

    const STRING_INPUT: &str = include_str!("../../tests/fixtures/responses/request_string_input.json");
    const AGENT_TURN: &str = include_str!("../../tests/fixtures/responses/request_agent_turn.json");
    const IMAGES: &str = include_str!("../../tests/fixtures/responses/request_images_and_files.json");
    const STRUCTURED: &str = include_str!("../../tests/fixtures/responses/request_structured_output.json");
    const BAD: &str = include_str!("../../tests/fixtures/responses/bad_requests.json");
    const OPENAI_RESPONSE: &str = include_str!("../../tests/fixtures/responses/openai_response.json");
    const OPENAI_STREAM: &str = include_str!("../../tests/fixtures/responses/openai_stream.sse");

    /// Fields of OpenAI's objects the gateway does not model, so does not send.
    const NOT_MODELLED: &[&str] = &[
        "prompt_cache_key",
        "safety_identifier",
        "service_tier",
        "top_logprobs",
        "verbosity",
        "obfuscation",
    ];

    fn parse_ok(body: &str) -> ChatRequest {
        match ResponsesCodec.parse(body.as_bytes()) {
            Ok(p) => p.request,
            Err(e) => panic!("parse failed: {e} (param {:?})", e.param()),
        }
    }

    fn text(m: &Message) -> String {
        m.content
            .iter()
            .filter_map(|p| if let Part::Text(t) = p { Some(t.as_str()) } else { None })
            .collect()
    }

    struct Fin;
    impl Finalizer for Fin {
        fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
            (
                json!({"model": "openai/gpt-4.1", "routing_mode": "quality"}),
                usage.map(|_| Money(2_500_000)),
            )
        }
    }

    /// Every key path of `reference` (object members, array elements merged) that `ours` lacks.
    fn missing_keys(reference: &Value, ours: &Value, path: &str, acc: &mut BTreeSet<String>) {
        match (reference, ours) {
            (Value::Object(r), Value::Object(o)) => {
                for (k, rv) in r {
                    if NOT_MODELLED.contains(&k.as_str()) {
                        continue;
                    }
                    match o.get(k) {
                        None => {
                            acc.insert(format!("{path}.{k}"));
                        }
                        Some(ov) => missing_keys(rv, ov, &format!("{path}.{k}"), acc),
                    }
                }
            }
            (Value::Array(r), Value::Array(o)) => {
                for rv in r {
                    // Compare with our element of the same `type`, if elements are typed.
                    let twin = o.iter().find(|ov| ov.get("type") == rv.get("type")).or(o.first());
                    if let Some(ov) = twin {
                        missing_keys(rv, ov, &format!("{path}[]"), acc);
                    }
                }
            }
            _ => {}
        }
    }

    /// `(event line, data)` of each SSE event, checking the framing.
    fn sse(bytes: &[u8]) -> Vec<Value> {
        let s = std::str::from_utf8(bytes).unwrap();
        assert!(s.ends_with("\n\n"));
        s.split_terminator("\n\n")
            .map(|ev| {
                let (event, data) = ev.split_once('\n').unwrap();
                let event = event.strip_prefix("event: ").unwrap();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(data["type"], event, "the event line names the data's type");
                data
            })
            .collect()
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    mod parse {
        //! Requests: the fixtures, refusals with their `param`, reasoning placement.

        use super::*;

        type Check = fn(&ChatRequest);

        #[test]
        fn parses_the_fixture_requests() {
            let table: [(&str, &str, Check); 4] = [
                ("string input", STRING_INPUT, |r| {
                    assert_eq!(r.model, "openai/gpt-4o-mini");
                    assert_eq!(r.messages.len(), 1);
                    assert_eq!(r.messages[0].role, Role::User);
                    assert_eq!(text(&r.messages[0]), "What's a good name for a routing gateway?");
                    assert!(!r.stream);
                }),
                ("agent turn", AGENT_TURN, |r| {
                    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
                    use Role::*;
                    assert_eq!(
                        roles,
                        [System, Developer, User, User, Assistant, Tool, Tool, Assistant, User]
                    );
                    assert!(text(&r.messages[0]).starts_with("You are a coding agent"));
                    let calls = &r.messages[4];
                    assert_eq!(calls.tool_calls.len(), 2, "parallel calls are one assistant message");
                    assert_eq!(calls.tool_calls[0].id, "call_kL3nW0cD9Qh2bXo1VyT5uR8e");
                    assert_eq!(calls.tool_calls[1].name, "read_file");
                    assert_eq!(calls.tool_calls[1].arguments, "{\"path\":\"src/config/raw.rs\"}");
                    match &calls.content[..] {
                        [Part::Reasoning { text, signature }] => {
                            assert!(text.starts_with("**Running the failing tests**"));
                            assert!(signature.as_deref().is_some_and(|s| s.starts_with("EqQB")));
                        }
                        other => panic!("expected the reasoning before the calls, got {other:?}"),
                    }
                    assert_eq!(
                        r.messages[5].tool_call_id.as_deref(),
                        Some("call_kL3nW0cD9Qh2bXo1VyT5uR8e")
                    );
                    assert!(text(&r.messages[5]).contains("exit_code"));
                    assert!(
                        text(&r.messages[6]).contains("RawListener"),
                        "list outputs become parts"
                    );
                    assert!(text(&r.messages[7]).contains("deny_unknown_fields"));
                    assert_eq!(text(&r.messages[8]), "Fix it.");
                    assert_eq!(r.tools.len(), 2);
                    assert_eq!(r.tools[0].strict, Some(false));
                    assert_eq!(r.tools[0].parameters["required"], json!(["command"]));
                    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
                    assert_eq!(r.parallel_tool_calls, Some(true));
                    assert_eq!(r.reasoning_effort.as_deref(), Some("medium"));
                    assert!(r.stream && r.stream_include_usage);
                    assert_eq!(r.unknown_fields, ["prompt_cache_key"]);
                }),
                ("images and files", IMAGES, |r| {
                    let parts = &r.messages[0].content;
                    assert_eq!(parts.len(), 4);
                    assert_eq!(
                        parts[1],
                        Part::Image {
                            source: ImageSource::Url("https://example.com/charts/q1.png".into()),
                            detail: Some("high".into())
                        }
                    );
                    assert!(matches!(
                        &parts[2],
                        Part::Image { source: ImageSource::Base64 { media_type, .. }, .. } if media_type == "image/png"
                    ));
                    match &parts[3] {
                        Part::Other { kind, raw } => {
                            assert_eq!(kind, "file");
                            assert_eq!(raw["filename"], "report.pdf");
                            assert!(raw["file_data"]
                                .as_str()
                                .is_some_and(|d| d.starts_with("data:application/pdf")));
                        }
                        other => panic!("expected a file part, got {other:?}"),
                    }
                    assert_eq!((r.temperature, r.max_tokens), (Some(0.2), Some(800)));
                }),
                ("structured output", STRUCTURED, |r| {
                    assert_eq!(r.messages[0].role, Role::System);
                    assert_eq!(text(&r.messages[0]), "Extract the event.");
                    assert_eq!(r.messages[1].role, Role::System);
                    match &r.response_format {
                        Some(ResponseFormat::JsonSchema { name, schema, strict }) => {
                            assert_eq!(name, "calendar_event");
                            assert_eq!(schema["required"], json!(["name", "date", "participants"]));
                            assert_eq!(*strict, Some(true));
                        }
                        other => panic!("expected a json_schema format, got {other:?}"),
                    }
                    assert_eq!(r.tool_choice, Some(ToolChoice::Named("save_event".into())));
                    assert_eq!(r.tools[0].strict, None);
                    assert_eq!(r.parallel_tool_calls, Some(false));
                    assert_eq!(
                        (r.max_tokens, r.temperature, r.top_p),
                        (Some(1024), Some(0.5), Some(0.9))
                    );
                    assert_eq!(r.user.as_deref(), Some("user_8c1f"));
                    assert_eq!(r.metadata["ticket"], "CAL-88");
                    assert_eq!(r.routing.fallback, ["openai/gpt-4.1", "google/gemini-2.5-pro"]);
                    assert_eq!(r.routing.budget, Money::from_dollars(0.25));
                    assert_eq!(r.routing.session_id.as_deref(), Some("sess_42"));
                    assert_eq!(r.routing.mode.as_deref(), Some("quality"));
                    assert_eq!(r.unknown_fields, ["text.verbosity", "service_tier"]);
                }),
            ];
            for (name, body, check) in table {
                let p = ResponsesCodec
                    .parse(body.as_bytes())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    p.raw.len(),
                    serde_json::from_str::<Map<String, Value>>(body).unwrap().len(),
                    "{name}: raw keeps every field"
                );
                check(&p.request);
            }
        }

        #[test]
        fn bad_requests_name_the_param() {
            let table: Vec<Value> = serde_json::from_str(BAD).unwrap();
            assert!(table.len() > 30);
            for case in table {
                let body = match &case["body"] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let name = case["case"].as_str().unwrap();
                let e = match ResponsesCodec.parse(body.as_bytes()) {
                    Ok(_) => panic!("{name}: accepted"),
                    Err(e) => e,
                };
                assert_eq!(e.status(), 400, "{name}");
                assert_eq!(e.code(), case["code"].as_str().unwrap(), "{name}: {e}");
                assert_eq!(e.param(), case["param"].as_str(), "{name}: {e}");
            }
        }

        #[test]
        fn stored_state_is_refused_with_a_clear_message() {
            let e = ResponsesCodec
                .parse(br#"{"model":"auto","input":"more","previous_response_id":"resp_1"}"#)
                .unwrap_err();
            assert!(e.to_string().contains("stored responses are not implemented"), "{e}");
            let e = ResponsesCodec
                .parse(br#"{"model":"auto","input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}"#)
                .unwrap_err();
            assert!(e.to_string().contains("\"code_interpreter\""), "{e}");
            // Explicit nulls and the defaults clients always send are fine.
            let r = parse_ok(
                r#"{"model":"auto","input":"x","previous_response_id":null,"background":false,"store":true,
                    "truncation":"disabled","stream_options":{"include_obfuscation":false}}"#,
            );
            assert!(r.unknown_fields.is_empty());
        }

        #[test]
        fn reasoning_items_join_the_assistant_turn_they_precede() {
            let r = parse_ok(
                r#"{"model":"auto","input":[
                    {"role":"user","content":"hi"},
                    {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}]},
                    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello"}]},
                    {"type":"reasoning","id":"rs_2","summary":[],"content":[{"type":"reasoning_text","text":"raw"}],"encrypted_content":"sig"},
                    {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
                    {"type":"reasoning","id":"rs_3","summary":[],"encrypted_content":null},
                    {"type":"function_call_output","call_id":"c1","output":"ok"},
                    {"type":"reasoning","id":"rs_4","summary":[{"type":"summary_text","text":"lost"}]},
                    {"role":"user","content":"next"}]}"#,
            );
            assert_eq!(r.messages.len(), 4);
            let a = &r.messages[1];
            assert_eq!(
                a.content,
                [
                    Part::Reasoning {
                        text: "a\n\nb".into(),
                        signature: None
                    },
                    Part::Text("Hello".into()),
                    Part::Reasoning {
                        text: "raw".into(),
                        signature: Some("sig".into())
                    },
                ]
            );
            assert_eq!(a.tool_calls.len(), 1);
            assert_eq!(r.messages[2].role, Role::Tool);
            assert_eq!(
                text(&r.messages[3]),
                "next",
                "reasoning with no output after it is dropped"
            );
        }
    }

    mod output {
        //! Whole answers, streams and stream failures, against OpenAI-shaped references.

        use super::*;

        fn parts_response(parts: Vec<OutPart>, finish: FinishReason) -> ChatResponse {
            ChatResponse {
                id: "chatcmpl-Bx7".into(),
                created: 1_756_492_706,
                model: "gpt-4.1-2025-04-14".into(),
                parts,
                finish: Some(finish),
                usage: Some(Usage {
                    input_tokens: 61,
                    cached_input_tokens: 12,
                    output_tokens: 24,
                    reasoning_tokens: 5,
                    ..Default::default()
                }),
            }
        }

        fn call(id: &str, name: &str, args: &str) -> OutPart {
            OutPart::ToolCall(ToolCall {
                id: id.into(),
                name: name.into(),
                arguments: args.into(),
            })
        }

        fn rendered(resp: &ChatResponse) -> Value {
            serde_json::from_slice(&ResponsesCodec.render_response(resp, None, "openai/gpt-4.1", &mut Fin)).unwrap()
        }

        #[test]
        fn renders_message_function_calls_usage_cost_and_router() {
            let resp = parts_response(
                vec![
                    OutPart::Reasoning {
                        text: "Checking the tool".into(),
                        signature: Some("sig1".into()),
                    },
                    OutPart::Text("Let me ".into()),
                    OutPart::Text("look.".into()),
                    call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                    call("", "get_time", "{}"),
                ],
                FinishReason::ToolCalls,
            );
            let v = rendered(&resp);
            assert_eq!(v["id"], "resp_chatcmpl-Bx7");
            assert_eq!(v["object"], "response");
            assert_eq!(v["created_at"], 1_756_492_706);
            assert_eq!(v["status"], "completed");
            assert_eq!(v["model"], "openai/gpt-4.1", "the catalog id that answered");
            assert_eq!((&v["error"], &v["incomplete_details"]), (&Value::Null, &Value::Null));
            let out = v["output"].as_array().unwrap();
            let types: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
            assert_eq!(types, ["reasoning", "message", "function_call", "function_call"]);
            assert_eq!(
                out[0]["summary"],
                json!([{"type": "summary_text", "text": "Checking the tool"}])
            );
            assert_eq!(out[0]["encrypted_content"], "sig1");
            assert_eq!(out[1]["content"][0]["text"], "Let me look.");
            assert_eq!(out[1]["role"], "assistant");
            assert_eq!(out[2]["call_id"], "call_1");
            assert_eq!(out[2]["arguments"], "{\"city\":\"Paris\"}");
            assert!(out[2]["id"].as_str().unwrap().starts_with("fc_"));
            assert_ne!(out[2]["id"], out[3]["id"]);
            assert!(
                !out[3]["call_id"].as_str().unwrap().is_empty(),
                "a missing call id is made up"
            );
            let u = &v["usage"];
            assert_eq!(
                (u["input_tokens"].as_u64(), u["output_tokens"].as_u64()),
                (Some(61), Some(24))
            );
            assert_eq!(u["total_tokens"], 85);
            assert_eq!(u["input_tokens_details"]["cached_tokens"], 12);
            assert_eq!(u["output_tokens_details"]["reasoning_tokens"], 5);
            assert_eq!(u["cost"], json!(0.0000025));
            assert_eq!(v["router"]["routing_mode"], "quality");
            // The echo of a request `render_response` is not given: the defaults.
            assert_eq!((&v["tools"], &v["tool_choice"]), (&json!([]), &json!("auto")));
            assert_eq!(v["parallel_tool_calls"], true);
            assert_eq!(v["text"], json!({"format": {"type": "text"}}));
        }

        #[test]
        fn length_and_content_filter_are_incomplete() {
            for (finish, reason) in [
                (FinishReason::Length, "max_output_tokens"),
                (FinishReason::ContentFilter, "content_filter"),
            ] {
                let v = rendered(&parts_response(vec![OutPart::Text("Once upon".into())], finish));
                assert_eq!(v["status"], "incomplete");
                assert_eq!(v["incomplete_details"], json!({"reason": reason}));
                assert_eq!(v["output"][0]["status"], "incomplete");
            }
            let v = rendered(&ChatResponse::default());
            assert_eq!(
                (&v["status"], &v["output"], &v["usage"]),
                (&json!("completed"), &json!([]), &Value::Null)
            );
            assert!(v["id"].as_str().unwrap().starts_with("resp_"));
        }

        #[test]
        fn rendered_response_has_the_shape_of_openais() {
            let reference: Value = serde_json::from_str(OPENAI_RESPONSE).unwrap();
            let resp = parts_response(
                vec![
                    OutPart::Reasoning {
                        text: "Checking".into(),
                        signature: None,
                    },
                    OutPart::Text("Let me look that up.".into()),
                    call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                ],
                FinishReason::ToolCalls,
            );
            let mut acc = BTreeSet::new();
            missing_keys(&reference, &rendered(&resp), "", &mut acc);
            assert!(acc.is_empty(), "keys OpenAI sends and we do not: {acc:?}");
        }

        fn run(req: &ChatRequest, events: Vec<StreamEvent>) -> Vec<Value> {
            let mut e = ResponsesCodec.stream_encoder(req, "openai/gpt-4.1");
            let mut out = Vec::new();
            for ev in events {
                e.event(ev, &mut out);
            }
            e.finish(&mut out, &mut Fin);
            let n = out.len();
            e.finish(&mut out, &mut Fin);
            assert_eq!(out.len(), n, "finish is idempotent");
            sse(&out)
        }

        fn usage() -> Usage {
            Usage {
                input_tokens: 61,
                cached_input_tokens: 12,
                output_tokens: 24,
                reasoning_tokens: 5,
                ..Default::default()
            }
        }

        fn text_and_two_calls() -> Vec<StreamEvent> {
            vec![
                StreamEvent::Start {
                    id: "chatcmpl-Bx7".into(),
                    model: "gpt-4.1-2025-04-14".into(),
                },
                StreamEvent::TextDelta("Let me ".into()),
                StreamEvent::TextDelta("look.".into()),
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "call_1".into(),
                    name: "get_weather".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "{\"city\":".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "\"Paris\"}".into(),
                },
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "call_2".into(),
                    name: "get_time".into(),
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "{}".into(),
                },
                StreamEvent::Finish(FinishReason::ToolCalls),
                StreamEvent::Usage(usage()),
            ]
        }

        /// Sequence numbers count up from 0; every per-item event names the item its `output_index`
        /// announced.
        fn check_consistency(events: &[Value]) {
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e["sequence_number"], i, "{e}");
            }
            let mut ids: HashMap<u64, Value> = HashMap::new();
            for e in events {
                let Some(oi) = e["output_index"].as_u64() else { continue };
                if e["type"] == "response.output_item.added" {
                    assert!(
                        ids.insert(oi, e["item"].clone()).is_none(),
                        "output_index {oi} announced twice"
                    );
                    continue;
                }
                let added = &ids[&oi];
                if let Some(id) = e.get("item_id") {
                    assert_eq!(id, &added["id"], "{e}");
                }
                if e["type"] == "response.output_item.done" {
                    assert_eq!(e["item"]["id"], added["id"]);
                    assert_eq!(e["item"]["call_id"], added["call_id"]);
                }
            }
        }

        fn without_created_at(mut v: Value) -> Value {
            v.as_object_mut().unwrap().remove("created_at");
            v
        }

        #[test]
        fn streams_text_and_parallel_calls_then_the_whole_response() {
            let events = run(&ChatRequest::default(), text_and_two_calls());
            assert_eq!(
                types(&events),
                [
                    "response.created",
                    "response.in_progress",
                    "response.output_item.added",
                    "response.content_part.added",
                    "response.output_text.delta",
                    "response.output_text.delta",
                    "response.output_text.done",
                    "response.content_part.done",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.function_call_arguments.delta",
                    "response.function_call_arguments.delta",
                    "response.function_call_arguments.done",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.function_call_arguments.delta",
                    "response.function_call_arguments.done",
                    "response.output_item.done",
                    "response.completed",
                ]
            );
            check_consistency(&events);
            assert_eq!(events[0]["response"]["status"], "in_progress");
            assert_eq!(events[0]["response"]["id"], "resp_chatcmpl-Bx7");
            assert_eq!(events[6]["text"], "Let me look.");
            assert_eq!(events[12]["arguments"], "{\"city\":\"Paris\"}");
            assert_eq!(events[9]["item"]["call_id"], "call_1");
            assert_eq!(events[14]["item"]["name"], "get_time");
            let done = &events[18]["response"];
            assert_eq!(done["id"], events[0]["response"]["id"]);
            assert_eq!(done["usage"]["cost"], json!(0.0000025));
            assert_eq!(done["router"]["routing_mode"], "quality");
            // The final response is what the non-streaming answer would be.
            let whole = rendered(&parts_response(
                vec![
                    OutPart::Text("Let me look.".into()),
                    call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                    call("call_2", "get_time", "{}"),
                ],
                FinishReason::ToolCalls,
            ));
            assert_eq!(without_created_at(done.clone()), without_created_at(whole));
        }

        #[test]
        fn stream_events_have_the_shape_of_openais() {
            let reference = sse(OPENAI_STREAM.as_bytes());
            let ours = run(&ChatRequest::default(), text_and_two_calls());
            assert_eq!(
                types(&reference).iter().collect::<BTreeSet<_>>(),
                types(&ours[..18])
                    .iter()
                    .chain(["response.completed"].iter())
                    .collect::<BTreeSet<_>>(),
            );
            let mut acc = BTreeSet::new();
            for r in &reference {
                let twin = ours
                    .iter()
                    .find(|o| o["type"] == r["type"] && o["item"]["type"] == r["item"]["type"])
                    .unwrap();
                missing_keys(r, twin, r["type"].as_str().unwrap(), &mut acc);
            }
            assert!(acc.is_empty(), "keys OpenAI sends and we do not: {acc:?}");
        }

        #[test]
        fn streams_reasoning_as_summary_items() {
            let events = run(
                &ChatRequest::default(),
                vec![
                    StreamEvent::ReasoningDelta("Think".into()),
                    StreamEvent::ReasoningDelta("ing".into()),
                    StreamEvent::ReasoningSignature("sig1".into()),
                    StreamEvent::ReasoningSignature("redacted".into()),
                    StreamEvent::TextDelta("Hi".into()),
                    StreamEvent::Finish(FinishReason::Stop),
                ],
            );
            assert_eq!(
                types(&events),
                [
                    "response.created",
                    "response.in_progress",
                    "response.output_item.added",
                    "response.reasoning_summary_part.added",
                    "response.reasoning_summary_text.delta",
                    "response.reasoning_summary_text.delta",
                    "response.reasoning_summary_text.done",
                    "response.reasoning_summary_part.done",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.content_part.added",
                    "response.output_text.delta",
                    "response.output_text.done",
                    "response.content_part.done",
                    "response.output_item.done",
                    "response.completed",
                ]
            );
            check_consistency(&events);
            assert_eq!(events[6]["text"], "Thinking");
            assert_eq!(events[8]["item"]["encrypted_content"], "sig1");
            assert_eq!(events[10]["item"]["summary"], json!([]));
            assert_eq!(events[10]["item"]["encrypted_content"], "redacted");
            let done = &events[17]["response"];
            assert_eq!(done["usage"], Value::Null, "no usage reported, none invented");
            let whole = rendered(&ChatResponse {
                id: events[0]["response"]["id"].as_str().unwrap().into(),
                parts: vec![
                    OutPart::Reasoning {
                        text: "Thinking".into(),
                        signature: Some("sig1".into()),
                    },
                    OutPart::Reasoning {
                        text: String::new(),
                        signature: Some("redacted".into()),
                    },
                    OutPart::Text("Hi".into()),
                ],
                finish: Some(FinishReason::Stop),
                ..Default::default()
            });
            assert_eq!(without_created_at(done.clone()), without_created_at(whole));
        }

        #[test]
        fn a_cut_off_stream_ends_incomplete() {
            let events = run(
                &ChatRequest::default(),
                vec![
                    StreamEvent::TextDelta("Once upon".into()),
                    StreamEvent::Finish(FinishReason::Length),
                    StreamEvent::Usage(usage()),
                ],
            );
            let last = events.last().unwrap();
            assert_eq!(last["type"], "response.incomplete");
            assert_eq!(last["response"]["status"], "incomplete");
            assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
            assert_eq!(events[events.len() - 2]["item"]["status"], "incomplete");
            // An answer with nothing in it still has the whole lifecycle.
            let events = run(&ChatRequest::default(), vec![]);
            assert_eq!(
                types(&events),
                ["response.created", "response.in_progress", "response.completed"]
            );
        }

        #[test]
        fn the_stream_echoes_the_request() {
            let r = parse_ok(STRUCTURED);
            let events = run(&r, text_and_two_calls());
            for e in [&events[0], events.last().unwrap()] {
                let resp = &e["response"];
                assert_eq!(resp["instructions"], "Extract the event.");
                assert_eq!(resp["tool_choice"], json!({"type": "function", "name": "save_event"}));
                assert_eq!(resp["tools"][0]["name"], "save_event");
                assert_eq!(resp["parallel_tool_calls"], false);
                assert_eq!(resp["text"]["format"]["name"], "calendar_event");
                assert_eq!((&resp["temperature"], &resp["top_p"]), (&json!(0.5), &json!(0.9)));
                assert_eq!(resp["max_output_tokens"], 1024);
                assert_eq!(resp["metadata"]["team"], "calendar");
                assert_eq!(resp["user"], "user_8c1f");
                assert_eq!(resp["store"], false);
            }
        }

        #[test]
        fn a_broken_stream_fails_the_way_the_sdk_raises() {
            let err = json!({"error": {"type": "upstream_error", "code": "upstream_stream_error",
                "message": "provider x reported an error mid-stream: overloaded", "param": null, "http_status": 502,
                "provider": "x", "request_id": "req_7", "rule_trace": []}});
            let mut out = Vec::new();
            ResponsesCodec.stream_error(&err, &mut out);
            let events = sse(&out);
            assert_eq!(types(&events), ["error", "response.failed"]);
            // The SDK raises APIError on an event whose data has a truthy `error`, with it as the body.
            assert_eq!(events[0]["error"], err["error"]);
            assert_eq!(events[0]["code"], "upstream_stream_error");
            assert!(events[0]["message"].as_str().unwrap().contains("overloaded"));
            assert!(events[1]["sequence_number"].as_u64() > events[0]["sequence_number"].as_u64());
            let failed = &events[1]["response"];
            assert_eq!(failed["status"], "failed");
            assert_eq!(
                failed["error"]["code"], "server_error",
                "OpenAI's enum of response error codes"
            );
            assert_eq!(failed["error"]["type"], "upstream_error");
            assert!(failed["error"]["message"].as_str().unwrap().contains("overloaded"));
            assert_eq!(failed["id"], "resp_req_7");
            // A rate limit maps onto OpenAI's own code, which Codex reads a retry delay with.
            let mut limited = err.clone();
            limited["error"]["http_status"] = json!(429);
            let mut out = Vec::new();
            ResponsesCodec.stream_error(&limited, &mut out);
            assert_eq!(sse(&out)[1]["response"]["error"]["code"], "rate_limit_exceeded");
        }

        #[test]
        fn late_arguments_and_text_after_calls_land_in_the_final_response() {
            let events = run(
                &ChatRequest::default(),
                vec![
                    StreamEvent::ToolCallStart {
                        index: 0,
                        id: "call_1".into(),
                        name: "f".into(),
                    },
                    StreamEvent::ToolCallDelta {
                        index: 0,
                        arguments: "{\"a\":".into(),
                    },
                    StreamEvent::ToolCallStart {
                        index: 1,
                        id: "call_2".into(),
                        name: "g".into(),
                    },
                    StreamEvent::ToolCallDelta {
                        index: 0,
                        arguments: "1}".into(),
                    },
                    StreamEvent::ToolCallDelta {
                        index: 7,
                        arguments: "lost".into(),
                    },
                    StreamEvent::TextDelta("Done.".into()),
                ],
            );
            check_consistency(&events);
            let deltas = events
                .iter()
                .filter(|e| e["type"] == "response.function_call_arguments.delta")
                .count();
            assert_eq!(deltas, 1, "no delta after an item's done event");
            let out = &events.last().unwrap()["response"]["output"];
            assert_eq!(out[0]["arguments"], "{\"a\":1}");
            assert_eq!(out[1]["arguments"], "");
            assert_eq!(out[2]["type"], "message");
            assert_ne!(out[2]["id"], out[0]["id"]);
        }
    }

    mod round_trip {
        //! Canonical → Responses JSON (a small test-only renderer) → canonical keeps the conversation.

        use super::*;

        /// The Responses input a client would send for `r`'s conversation.
        fn to_responses_json(r: &ChatRequest) -> Value {
            let mut input = Vec::new();
            let mut body = Map::new();
            for (i, m) in r.messages.iter().enumerate() {
                match m.role {
                    Role::System if i == 0 => {
                        body.insert("instructions".into(), json!(text(m)));
                    }
                    Role::System | Role::Developer | Role::User => {
                        // Both content shapes: a plain string and a list of parts.
                        let content = if text(m).len() % 2 == 0 {
                            json!(text(m))
                        } else {
                            json!([{"type": "input_text", "text": text(m)}])
                        };
                        input.push(json!({"type": "message", "role": m.role.as_str(), "content": content}));
                    }
                    Role::Assistant => {
                        let mut texts = Vec::new();
                        for p in &m.content {
                            match p {
                                Part::Reasoning { text, signature } => input.push(json!({
                                    "type": "reasoning", "id": format!("rs_{i}"),
                                    "summary": [{"type": "summary_text", "text": text}],
                                    "encrypted_content": signature})),
                                Part::Text(t) => {
                                    texts.push(json!({"type": "output_text", "text": t, "annotations": []}))
                                }
                                _ => unreachable!("not generated"),
                            }
                        }
                        if !texts.is_empty() {
                            input.push(json!({"type": "message", "role": "assistant", "content": texts}));
                        }
                        for c in &m.tool_calls {
                            input.push(json!({"type": "function_call", "call_id": c.id, "name": c.name,
                                              "arguments": c.arguments}));
                        }
                    }
                    Role::Tool => input.push(json!({"type": "function_call_output", "call_id": m.tool_call_id,
                                                    "output": text(m)})),
                }
            }
            body.insert("model".into(), json!(r.model));
            body.insert("input".into(), Value::Array(input));
            Value::Object(body)
        }

        /// One exchange: a user message, and maybe an answer (reasoning, text, calls with their results).
        type Exchange = (
            String,
            Option<(
                Option<(String, Option<String>)>,
                Option<String>,
                Vec<(String, String, String)>,
            )>,
        );

        fn exchange() -> impl Strategy<Value = Exchange> {
            let reasoning = proptest::option::of(("\\PC{1,20}", proptest::option::of("[A-Za-z0-9+/=]{4,24}")));
            let calls = proptest::collection::vec(("[a-z_]{1,12}", "\\PC{0,30}", "\\PC{0,30}"), 0..4);
            let answer = (reasoning, proptest::option::of("\\PC{0,40}"), calls)
                .prop_filter("an answer says something", |(_, t, c)| t.is_some() || !c.is_empty());
            ("\\PC{0,40}", proptest::option::of(answer))
        }

        fn conversation(system: Option<String>, exchanges: Vec<Exchange>) -> ChatRequest {
            let mut msgs = Vec::new();
            if let Some(s) = system {
                msgs.push(Message::text(Role::System, s));
            }
            let mut n = 0;
            for (user, answer) in exchanges {
                msgs.push(Message::text(Role::User, user));
                let Some((reasoning, text, calls)) = answer else {
                    continue;
                };
                let mut a = Message::text(Role::Assistant, "");
                a.content.clear();
                if let Some((text, signature)) = reasoning {
                    a.content.push(Part::Reasoning { text, signature });
                }
                if let Some(t) = text {
                    a.content.push(Part::Text(t));
                }
                let mut results = Vec::new();
                for (name, arguments, result) in calls {
                    n += 1;
                    let id = format!("call_{n}");
                    let mut m = Message::text(Role::Tool, result);
                    m.tool_call_id = Some(id.clone());
                    results.push(m);
                    a.tool_calls.push(ToolCall { id, name, arguments });
                }
                msgs.push(a);
                msgs.extend(results);
            }
            ChatRequest {
                model: "auto".into(),
                messages: msgs,
                ..Default::default()
            }
        }

        proptest! {
            #[test]
            fn conversations_survive_a_round_trip(
                system in proptest::option::of("\\PC{1,40}"),
                exchanges in proptest::collection::vec(exchange(), 1..6),
            ) {
                let original = conversation(system, exchanges);
                let body = to_responses_json(&original).to_string();
                let parsed = ResponsesCodec.parse(body.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&parsed.request.messages, &original.messages);
            }
        }
    }
}
