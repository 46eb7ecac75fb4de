//! Request body → canonical request: which fields each item kind needs, how a Responses
//! conversation maps onto canonical messages, and what is refused.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolForms};

use crate::api::fields::{billed, missing, parse_fields, routing_field, FieldValue, Fields, Naming};
use crate::api::ParsedRequest;
use crate::error::GatewayError;

use super::one_pass::OnePassInput;
use super::wire::{ItemKind, TextOr, WireFormat, WireItem, WireReasoning, WireRole, WireSummary, WireText};

mod parts;
mod tools;

use parts::{convert_cached, convert_content};
use tools::{add_tools, check_tool_names, convert_tool_choice, flat_name};

/// A 400 for something the Responses API has but the gateway cannot honour.
fn unsupported(param: impl Into<String>, message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "unsupported_parameter",
        message: message.into(),
        param: Some(param.into()),
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
pub(super) struct Conversation {
    msgs: Vec<Message>,
    /// Reasoning items waiting for the assistant output they led to.
    reasoning: Vec<Part>,
    /// The last message is an assistant turn that function calls may still join.
    assistant_open: bool,
    /// The input index of each function_call_output, in order (for `check_outputs`).
    outputs: Vec<usize>,
    /// Items taken so far.
    pub(super) items: usize,
    /// Tools declared in `additional_tools` items.
    tools: Vec<Tool>,
    forms: ToolForms,
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
        let parts = if self.reasoning.is_empty() {
            content
        } else {
            let mut parts = std::mem::take(&mut self.reasoning);
            parts.extend(content);
            parts
        };
        self.msgs.push(Message::new(Role::Assistant, parts));
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

    pub(super) fn reserve(&mut self, items: usize) {
        self.msgs.reserve(items);
    }

    /// The whole input as one string: a single user message.
    pub(super) fn text(&mut self, text: String) {
        self.items += 1;
        self.msgs.push(Message::new(Role::User, vec![Part::Text(text)]));
    }

    /// A message item.
    pub(super) fn message(&mut self, role: WireRole, content: Vec<Part>) {
        self.items += 1;
        match role {
            WireRole::Assistant => self.start_assistant(content),
            WireRole::User => self.push(Message::new(Role::User, content)),
            WireRole::System => self.push(Message::new(Role::System, content)),
            WireRole::Developer => self.push(Message::new(Role::Developer, content)),
        }
    }

    /// Cache breakpoints of the message item just taken, of `parts` content parts (indexes of its
    /// own parts: an assistant message starts with the reasoning that led to it).
    pub(super) fn cache_breakpoints(&mut self, cache: Vec<(usize, Value)>, parts: usize) {
        if cache.is_empty() {
            return;
        }
        if let Some(m) = self.msgs.last_mut() {
            let offset = m.content.len().saturating_sub(parts);
            m.cache_breakpoints
                .extend(cache.into_iter().map(|(i, c)| (i + offset, c)));
        }
    }

    /// A function_call item: joins the open assistant message.
    pub(super) fn function_call(&mut self, call: ToolCall) {
        self.items += 1;
        self.assistant().tool_calls.push(call);
    }

    /// A function_call_output item, input item `i`.
    pub(super) fn function_call_output(&mut self, i: usize, call_id: String, content: Vec<Part>) {
        self.items += 1;
        self.outputs.push(i);
        let mut m = Message::new(Role::Tool, content);
        m.tool_call_id = Some(call_id);
        self.push(m);
    }

    /// A reasoning item. `encrypted_content` is where this gateway puts a thinking block's signature
    /// (see render), so it goes back as that. An item with neither text nor signature carries
    /// nothing and is dropped.
    pub(super) fn reasoning(&mut self, text: String, signature: Option<String>) {
        self.items += 1;
        if !text.is_empty() || signature.is_some() {
            self.reasoning.push(Part::Reasoning { text, signature });
        }
    }

    /// An input item as the wire structs read it: the fields its kind needs are checked here.
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
                let (content, cache) = convert_cached(content, i, "content")?;
                let parts = content.len();
                self.message(role, content);
                self.cache_breakpoints(cache, parts);
            }
            ItemKind::FunctionCall => {
                let id = it.call_id.ok_or_else(|| missing(&format!("input[{i}].call_id")))?;
                let name = it.name.ok_or_else(|| missing(&format!("input[{i}].name")))?;
                let arguments = it.arguments.ok_or_else(|| missing(&format!("input[{i}].arguments")))?;
                let name = match it.namespace {
                    Some(ns) => flat_name(&ns, &name),
                    None => name,
                };
                self.function_call(ToolCall { id, name, arguments });
            }
            ItemKind::CustomToolCall => {
                let id = it.call_id.ok_or_else(|| missing(&format!("input[{i}].call_id")))?;
                let name = it.name.ok_or_else(|| missing(&format!("input[{i}].name")))?;
                let input = it.input.ok_or_else(|| missing(&format!("input[{i}].input")))?;
                let name = match it.namespace {
                    Some(ns) => flat_name(&ns, &name),
                    None => name,
                };
                let arguments = serde_json::json!({ CUSTOM_INPUT: input }).to_string();
                self.function_call(ToolCall { id, name, arguments });
            }
            ItemKind::FunctionCallOutput | ItemKind::CustomToolCallOutput => {
                let id = it.call_id.ok_or_else(|| missing(&format!("input[{i}].call_id")))?;
                let output = it.output.ok_or_else(|| missing(&format!("input[{i}].output")))?;
                self.function_call_output(i, id, convert_content(output, i, "output")?);
            }
            ItemKind::AdditionalTools => {
                let tools = it.tools.ok_or_else(|| missing(&format!("input[{i}].tools")))?;
                add_tools(tools, &format!("input[{i}].tools"), &mut self.tools, &mut self.forms)?;
            }
            ItemKind::Reasoning => {
                // Raw reasoning (`content`) when given, else the summary: the text a provider that
                // takes earlier reasoning back (Anthropic thinking) needs.
                let mut text = String::new();
                if let Some(TextOr::List(parts)) = it.content {
                    for p in parts {
                        text.push_str(p.text.as_deref().unwrap_or_default());
                    }
                }
                if text.is_empty() {
                    text = summary_text(it.summary.unwrap_or_default());
                }
                self.reasoning(text, it.encrypted_content);
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
                         function_call_output, custom_tool_call, custom_tool_call_output, reasoning and \
                         additional_tools items"
                    ),
                ))
            }
        }
        Ok(())
    }

    /// The canonical messages: `instructions` first, as a system message. The tools declared in
    /// the input join the request's.
    fn finish(mut self, instructions: Option<String>, r: &mut ChatRequest) -> Result<(), GatewayError> {
        if self.items == 0 {
            return Err(GatewayError::invalid("input", "input has no items"));
        }
        check_outputs(&self.msgs, &self.outputs)?;
        if let Some(text) = instructions.filter(|t| !t.is_empty()) {
            self.msgs.insert(0, Message::new(Role::System, vec![Part::Text(text)]));
        }
        r.messages = self.msgs;
        r.tools.append(&mut self.tools);
        let f = &mut r.tool_forms;
        f.custom.append(&mut self.forms.custom);
        f.namespaced.append(&mut self.forms.namespaced);
        f.builtin.append(&mut self.forms.builtin);
        Ok(())
    }
}

/// A reasoning item's summary parts as one text, a blank line between parts.
pub(super) fn summary_text(summary: Vec<WireSummary>) -> String {
    let mut text = String::new();
    for (k, s) in summary.into_iter().enumerate() {
        if k > 0 {
            text.push_str("\n\n");
        }
        text.push_str(&s.text);
    }
    text
}

/// Every function_call_output must answer a function_call before it: every provider refuses a
/// result for a call it never saw, so the error is given here, naming the item. Checked once the
/// messages are built, on their ids sorted (borrowed, not copied; no hashing for a handful).
fn check_outputs(msgs: &[Message], outputs: &[usize]) -> Result<(), GatewayError> {
    if outputs.is_empty() {
        return Ok(());
    }
    // Each call id with the first message that makes the call.
    let mut calls: Vec<(&str, usize)> = msgs
        .iter()
        .enumerate()
        .flat_map(|(at, m)| m.tool_calls.iter().map(move |c| (c.id.as_str(), at)))
        .collect();
    calls.sort_unstable();
    let tool_msgs = msgs.iter().enumerate().filter(|(_, m)| m.role == Role::Tool);
    for ((at, m), i) in tool_msgs.zip(outputs) {
        let Some(id) = m.tool_call_id.as_deref() else { continue };
        let first = calls.partition_point(|(c, _)| *c < id);
        if !calls.get(first).is_some_and(|&(c, made)| c == id && made < at) {
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

/// The input as the wire structs read it (the checked path).
fn read_input(input: TextOr<WireItem>) -> Result<Conversation, GatewayError> {
    let mut c = Conversation::default();
    match input {
        TextOr::Text(t) => c.text(t),
        TextOr::List(items) => {
            c.reserve(items.len());
            for (i, it) in items.into_iter().enumerate() {
                c.item(i, it)?;
            }
        }
    }
    Ok(c)
}

/// The argument a freeform (`custom`) tool's function takes: its whole input, as one string.
pub(super) const CUSTOM_INPUT: &str = "input";

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

const NOT_STORED: &str = "stored responses are not implemented: Switchyard keeps no responses; send the whole \
                          conversation in `input` (as clients using store: false do)";

/// `input` as it was read.
enum Input {
    /// By the wire structs (the checked path): converted once every field is in, so that errors
    /// come in the same order as the fields are checked.
    Wire(TextOr<WireItem>),
    /// By the one pass's reader, straight into the conversation.
    Read(Conversation),
}

/// The request as its fields arrive.
#[derive(Default)]
struct ResponsesFields {
    r: ChatRequest,
    have_model: bool,
    instructions: Option<String>,
    input: Option<Input>,
}

impl Fields for ResponsesFields {
    fn set<V: FieldValue>(&mut self, k: &str, v: &mut V) -> Result<(), GatewayError> {
        let r = &mut self.r;
        match k {
            "model" => {
                if let Some(m) = v.read(k)? {
                    r.model = m;
                    self.have_model = true;
                }
            }
            "input" if V::PRECISE_ERRORS => self.input = v.read(k)?.map(Input::Wire),
            "input" => self.input = v.read::<OnePassInput>(k)?.map(|i| Input::Read(i.0)),
            "instructions" => self.instructions = v.read(k)?,
            "tools" => {
                let raw: Vec<Box<RawValue>> = v.read(k)?.unwrap_or_default();
                let mut tools = Vec::with_capacity(raw.len());
                add_tools(raw, k, &mut tools, &mut r.tool_forms)?;
                // Input-declared tools may have come first.
                tools.append(&mut r.tools);
                r.tools = tools;
            }
            "tool_choice" => r.tool_choice = v.read(k)?.map(convert_tool_choice).transpose()?,
            "parallel_tool_calls" => r.parallel_tool_calls = v.read(k)?,
            "text" => {
                let Some(t) = v.read::<WireText>(k)? else { return Ok(()) };
                if let Some(f) = t.format {
                    r.response_format = Some(convert_format(f)?);
                }
                if let Some(verbosity) = t.verbosity {
                    r.chat_extras.insert("verbosity".into(), Value::String(verbosity));
                }
            }
            "max_output_tokens" => r.max_tokens = v.read(k)?,
            "temperature" => r.temperature = v.read(k)?,
            "top_p" => r.top_p = v.read(k)?,
            // Reasoning text a model gives is always returned as a summary; `summary` is kept so that
            // a provider whose answers carry none can say so.
            "reasoning" => {
                if let Some(w) = v.read::<WireReasoning>(k)? {
                    r.reasoning_effort = w.effort;
                    r.reasoning_summary = w.summary;
                }
            }
            // For the gateway's rules, and for OpenAI's chat completions, which takes it too.
            "metadata" => {
                r.metadata = v.read::<Map<String, Value>>(k)?.unwrap_or_default();
                if !r.metadata.is_empty() {
                    r.chat_extras.insert(k.into(), Value::Object(r.metadata.clone()));
                }
            }
            "user" => r.user = v.read(k)?,
            "stream" => r.stream = v.read(k)?.unwrap_or_default(),
            // Nothing is ever stored, so `store` (true by default at OpenAI) changes nothing; refusing it
            // would break every client that leaves the default.
            "store" => {
                let _: Option<bool> = v.read(k)?;
            }
            // Only reasoning.encrypted_content matters to a routed answer, and it is always given
            // when there is a signature; the other includes concern built-in tools or logprobs.
            "include" => {
                let inc: Vec<String> = v.read(k)?.unwrap_or_default();
                r.encrypted_reasoning = inc.iter().any(|i| i == "reasoning.encrypted_content");
                if inc.iter().any(|i| i == "message.output_text.logprobs") {
                    r.logprobs = Some(true);
                }
                const KNOWN: &[&str] = &["reasoning.encrypted_content", "message.output_text.logprobs"];
                if inc.iter().any(|i| !KNOWN.contains(&i.as_str())) {
                    r.unknown_fields.push(k.to_string());
                }
            }
            // Chat completions and Gemini take it (with `logprobs`, which it implies).
            "top_logprobs" => {
                r.top_logprobs = v.read(k)?;
                if r.top_logprobs.is_some() {
                    r.logprobs = Some(true);
                }
            }
            // Chat completions takes these under the same names.
            "prompt_cache_key" | "safety_identifier" => {
                if let Some(s) = v.read::<String>(k)? {
                    r.chat_extras.insert(k.into(), Value::String(s));
                }
            }
            // OpenAI's priority (and scale) tier costs more per token than the catalog price.
            "service_tier" => {
                if let Some(tier) = v.read::<String>(k)? {
                    if !matches!(tier.as_str(), "auto" | "default" | "flex") {
                        billed(r, k, "priority_tier", None);
                    }
                    r.chat_extras.insert(k.into(), Value::String(tier));
                }
            }
            "stream_options" => {
                let _: Option<Map<String, Value>> = v.read(k)?;
            }
            "truncation" => match v.read::<String>(k)?.as_deref() {
                None | Some("disabled") => {}
                Some("auto") => r.unknown_fields.push(k.to_string()),
                Some(other) => {
                    return Err(GatewayError::invalid(
                        k,
                        format!("truncation {other:?} must be auto or disabled"),
                    ))
                }
            },
            "previous_response_id" | "conversation" => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    return Err(unsupported(k, NOT_STORED));
                }
            }
            "background" => {
                if v.read::<bool>(k)? == Some(true) {
                    return Err(unsupported(k, NOT_STORED));
                }
            }
            "prompt" => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    return Err(unsupported(
                        k,
                        "stored prompt templates are not supported; send instructions and input",
                    ));
                }
            }
            _ if routing_field(k, v, &mut r.routing)? => {}
            // Named as lossy by the provider adapters (no Responses-schema provider to pass them to).
            _ => {
                if v.read::<IgnoredAny>(k)?.is_some() {
                    r.unknown_fields.push(k.to_string());
                }
            }
        }
        Ok(())
    }
}

/// Parse a Responses request body.
pub(super) fn parse(body: &[u8]) -> Result<ParsedRequest, GatewayError> {
    let ResponsesFields {
        mut r,
        have_model,
        instructions,
        input,
    } = parse_fields(body, Naming::Path)?;
    if !have_model {
        return Err(missing("model"));
    }
    let conversation = match input.ok_or_else(|| missing("input"))? {
        Input::Wire(items) => read_input(items)?,
        Input::Read(c) => c,
    };
    conversation.finish(instructions, &mut r)?;
    if !r.tool_forms.namespaced.is_empty() {
        check_tool_names(&r.tools)?;
    }
    // A Responses stream always ends with usage (in `response.completed`), so ask the provider for it.
    r.stream_include_usage = r.stream;
    Ok(ParsedRequest { request: r })
}
