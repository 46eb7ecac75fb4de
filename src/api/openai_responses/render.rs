//! Canonical answers → Responses objects: output items, usage, the echo of the request's settings
//! and the `response` object itself. Whole answers and the stream's lifecycle events share these,
//! so a stream's final `response` says exactly what the non-streaming answer would.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{
    ChatRequest, ChatResponse, FinishReason, OutPart, Part, ResponseFormat, Role, ToolChoice, ToolForms, Usage,
};
use switchyard_sdk::Money;

use crate::wire::{finish, Finalizer};

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
    /// A function's call; `namespace` when the function is a namespace's (its `name` is then its
    /// own, not the flattened one the provider saw).
    FunctionCall {
        call_id: String,
        name: String,
        namespace: Option<String>,
    },
    /// A freeform tool's call: the item's text is the function's JSON arguments, whose one string
    /// is the call's `input`.
    CustomToolCall {
        call_id: String,
        name: String,
        namespace: Option<String>,
    },
    Reasoning {
        signature: Option<String>,
    },
    /// A message whose one content part is a `refusal` (the model declined, in its own words).
    Refusal,
}

/// The item kind a canonical tool call comes back as, in the client's terms (the lossy conversion
/// of custom and namespaced tools undone): a custom tool's call, or a function call with its
/// namespace.
pub(super) fn call_kind(forms: &ToolForms, call_id: String, name: &str) -> Kind {
    let (namespace, own) = match forms.namespace_of(name) {
        Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
        None => (None, name.to_string()),
    };
    if forms.is_custom(name) {
        Kind::CustomToolCall {
            call_id,
            name: own,
            namespace,
        }
    } else {
        Kind::FunctionCall {
            call_id,
            name: own,
            namespace,
        }
    }
}

/// A custom tool call's input, from the arguments of the function it was sent as (as they are
/// when a model did not keep to the schema).
pub(super) fn custom_input(arguments: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Args {
        input: String,
    }
    serde_json::from_str::<Args>(arguments).map_or_else(|_| arguments.to_string(), |a| a.input)
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
    /// A message's token log probabilities (`output_text.logprobs`), when asked for.
    pub logprobs: Option<Value>,
}

impl Item {
    pub fn new(mut kind: Kind, response_id: &str, index: usize, text: String) -> Item {
        let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
        let prefix = match &mut kind {
            Kind::Message | Kind::Refusal => "msg",
            Kind::FunctionCall { call_id, .. } | Kind::CustomToolCall { call_id, .. } => {
                if call_id.is_empty() {
                    // The client answers by call_id: a provider that gave none still needs one.
                    *call_id = format!("call_{base}_{index}");
                }
                if matches!(kind, Kind::CustomToolCall { .. }) {
                    "ctc"
                } else {
                    "fc"
                }
            }
            Kind::Reasoning { .. } => "rs",
        };
        Item {
            id: format!("{prefix}_{base}_{index}"),
            kind,
            text,
            status: "completed",
            logprobs: None,
        }
    }

    pub fn is_message(&self) -> bool {
        matches!(self.kind, Kind::Message)
    }

    pub fn is_refusal(&self) -> bool {
        matches!(self.kind, Kind::Refusal)
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
                    let mut part = output_text(text);
                    if let Some(lp) = &self.logprobs {
                        part["logprobs"] = lp.clone();
                    }
                    json!([part])
                };
                json!({"id": self.id, "type": "message", "status": status, "content": content,
                       "role": "assistant"})
            }
            Kind::Refusal => {
                let content = if status == "in_progress" {
                    json!([])
                } else {
                    json!([refusal_part(text)])
                };
                json!({"id": self.id, "type": "message", "status": status, "content": content,
                       "role": "assistant"})
            }
            Kind::FunctionCall {
                call_id,
                name,
                namespace,
            } => {
                let mut v = json!({"id": self.id, "type": "function_call", "status": status, "arguments": text,
                                   "call_id": call_id, "name": name});
                if let Some(ns) = namespace {
                    v["namespace"] = json!(ns);
                }
                v
            }
            Kind::CustomToolCall {
                call_id,
                name,
                namespace,
            } => {
                let input = if text.is_empty() {
                    String::new()
                } else {
                    custom_input(text)
                };
                let mut v = json!({"id": self.id, "type": "custom_tool_call", "status": status, "input": input,
                                   "call_id": call_id, "name": name});
                if let Some(ns) = namespace {
                    v["namespace"] = json!(ns);
                }
                v
            }
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

/// Token log probabilities as `output_text.logprobs` (token, bytes, logprob, top_logprobs).
pub(super) fn logprobs_json(tokens: &[switchyard_sdk::ir::TokenLogprob]) -> Value {
    let entry = |token: &str, logprob: f64| json!({"token": token, "bytes": token.as_bytes(), "logprob": logprob});
    tokens
        .iter()
        .map(|t| {
            let mut e = entry(&t.token, t.logprob);
            e["top_logprobs"] = t.top.iter().map(|(tok, lp)| entry(tok, *lp)).collect();
            e
        })
        .collect()
}

/// A `refusal` content part (the SDK's `ResponseOutputRefusal`).
pub(super) fn refusal_part(text: &str) -> Value {
    json!({"type": "refusal", "refusal": text})
}

pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// Canonical answer parts → output items, in order. Text parts in a row are one message (a
/// stream's text deltas are one message too); each reasoning block is its own item, so its
/// signature stays with its text.
pub(super) fn items_of(parts: &[OutPart], response_id: &str, incomplete: bool, forms: &ToolForms) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            OutPart::Text(t) => match items.last_mut() {
                Some(it) if it.is_message() => it.text.push_str(t),
                _ if t.is_empty() => {}
                _ => items.push(Item::new(Kind::Message, response_id, items.len(), t.clone())),
            },
            OutPart::Refusal(t) => match items.last_mut() {
                Some(it) if it.is_refusal() => it.text.push_str(t),
                _ => items.push(Item::new(Kind::Refusal, response_id, items.len(), t.clone())),
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
                let kind = call_kind(forms, c.id.clone(), &c.name);
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

/// The response's `status`, `incomplete_details.reason` and `error` for a finish reason; a reason
/// outside Responses' values is named in `router.lossy`.
pub(super) fn outcome(f: Option<&FinishReason>, fin: &mut dyn Finalizer) -> (finish::Outcome, Option<Value>) {
    let mut o = finish::responses(f);
    if let Some(n) = o.note.take() {
        fin.note(n);
    }
    let error = o.error.as_ref().map(|m| json!({"code": "server_error", "message": m}));
    (o, error)
}

/// Responses' `output_tokens_details.reasoning_tokens` is a required number: when the provider did
/// not count reasoning apart, the 0 there is named as unknown.
pub(super) fn note_unknown_reasoning(u: Option<&Usage>, fin: &mut dyn Finalizer) {
    if u.is_some_and(|u| u.reasoning_unknown) {
        fin.note(
            "usage.output_tokens_details.reasoning_tokens: the provider does not count reasoning apart from output_tokens; 0 there means unknown".into(),
        );
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
                   "parameters": t.parameters.to_value(), "strict": t.strict})
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

pub(super) fn render_response(
    resp: &ChatResponse,
    req: Option<&ChatRequest>,
    model_id: &str,
    fin: &mut dyn Finalizer,
) -> Vec<u8> {
    let echoed = req.map(echo);
    let id = response_id(&resp.id);
    let (o, error) = outcome(resp.finish.as_ref(), fin);
    note_unknown_reasoning(resp.usage.as_ref(), fin);
    let no_forms = ToolForms::default();
    let forms = req.map_or(&no_forms, |r| &r.tool_forms);
    let mut items = items_of(&resp.parts, &id, o.status != "completed", forms);
    if let (Some(lp), Some(msg)) = (&resp.logprobs, items.iter_mut().find(|i| i.is_message())) {
        msg.logprobs = Some(logprobs_json(lp));
    }
    let (router, cost) = fin.finish(resp.usage);
    let usage = resp.usage.as_ref().map(|u| usage_json(u, cost));
    let head = Head {
        id: &id,
        created_at: if resp.created > 0 { resp.created } else { now_secs() },
        model: model_id,
        echo: echoed.as_deref().unwrap_or_else(|| default_echo()),
    };
    let state = State {
        status: o.status,
        incomplete: o.incomplete,
        error: error.as_ref(),
        items: &items,
        usage: usage.as_ref(),
        router: Some(&router),
    };
    let mut out = Vec::with_capacity(1024 + resp.parts.len() * 256);
    write_response(&mut out, &head, &state);
    out
}
