//! Canonical stream events → Responses streaming events (`event: <type>` and `data:` JSON with the
//! same `type` and a running `sequence_number`). The order is OpenAI's: `response.created`,
//! `response.in_progress`, then per item `output_item.added`, its part and delta events, its
//! `.done` events and `output_item.done`, and last `response.completed` (or `response.incomplete`)
//! with the whole response. One item is open at a time, as at OpenAI: an item is closed when the
//! next one starts or at the end. Deltas are written straight into the output buffer; only the
//! lifecycle events build JSON values.

use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, FinishReason, StreamEvent, ToolForms, Usage};

use super::render::{
    self, call_kind, custom_input, echo, json_str, json_u64, json_value, now_secs, outcome, response_id, usage_json,
    write_response, Head, Item, Kind, State,
};
use crate::api::StreamEncoder;
use crate::wire::Finalizer;

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
    /// How the client declared its tools (custom and namespaced calls are named back).
    forms: ToolForms,
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
            forms: req.tool_forms.clone(),
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
        if it.is_message() || it.is_refusal() {
            let part = if it.is_refusal() {
                render::refusal_part("")
            } else {
                render::output_text("")
            };
            begin(out, &mut self.seq, "response.content_part.added");
            item_ref(out, &it, pos);
            num_field(out, "content_index", 0);
            value_field(out, "part", &part);
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
            Kind::Refusal => {
                begin(out, seq, "response.refusal.done");
                item_ref(out, it, pos);
                num_field(out, "content_index", 0);
                str_field(out, "refusal", &it.text);
                end(out);
                begin(out, seq, "response.content_part.done");
                item_ref(out, it, pos);
                num_field(out, "content_index", 0);
                value_field(out, "part", &render::refusal_part(&it.text));
                end(out);
            }
            Kind::FunctionCall { .. } => {
                begin(out, seq, "response.function_call_arguments.done");
                item_ref(out, it, pos);
                str_field(out, "arguments", &it.text);
                end(out);
            }
            // The input is known once the function's arguments are whole: one delta, then done.
            Kind::CustomToolCall { .. } => {
                let input = custom_input(&it.text);
                begin(out, seq, "response.custom_tool_call_input.delta");
                item_ref(out, it, pos);
                str_field(out, "delta", &input);
                end(out);
                begin(out, seq, "response.custom_tool_call_input.done");
                item_ref(out, it, pos);
                str_field(out, "input", &input);
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

    /// A refusal is a message item of its own whose one content part is a `refusal`, streamed with
    /// `response.refusal.delta` events.
    fn refusal(&mut self, out: &mut Vec<u8>, t: &str) {
        if t.is_empty() {
            return;
        }
        self.ensure_started(out);
        let pos = self.item_for(out, Item::is_refusal, Kind::Refusal);
        let Some(it) = self.items.get_mut(pos) else {
            return;
        };
        begin(out, &mut self.seq, "response.refusal.delta");
        item_ref(out, it, pos);
        num_field(out, "content_index", 0);
        str_field(out, "delta", t);
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
        let kind = call_kind(&self.forms, call_id, &name);
        let pos = self.add_item(out, kind);
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
        if self.open == Some(pos) && matches!(it.kind, Kind::FunctionCall { .. }) {
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
            StreamEvent::RefusalDelta(t) => self.refusal(out, &t),
            StreamEvent::ReasoningDelta(t) => self.reasoning(out, &t),
            StreamEvent::ReasoningSignature(s) => self.signature(out, s),
            StreamEvent::ToolCallStart { index, id, name } => self.tool_start(out, index, id, name),
            StreamEvent::ToolCallDelta { index, arguments } => self.tool_delta(out, index, &arguments),
            StreamEvent::Logprobs(l) => {
                if let Some(it) = self
                    .open
                    .and_then(|p| self.items.get_mut(p))
                    .filter(|it| it.is_message())
                {
                    let more = render::logprobs_json(&l);
                    match (&mut it.logprobs, more) {
                        (Some(Value::Array(have)), Value::Array(new)) => have.extend(new),
                        (slot, new) => *slot = Some(new),
                    }
                }
            }
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
        let (o, error) = outcome(self.finish.as_ref(), fin);
        render::note_unknown_reasoning(self.usage.as_ref(), fin);
        self.close_open(
            out,
            if o.status == "completed" {
                "completed"
            } else {
                "incomplete"
            },
        );
        let (router, cost) = fin.finish(self.usage);
        let usage = self.usage.as_ref().map(|u| usage_json(u, cost));
        let ty = match o.status {
            "failed" => "response.failed",
            "incomplete" => "response.incomplete",
            _ => "response.completed",
        };
        begin(out, &mut self.seq, ty);
        key(out, "response");
        let state = State {
            status: o.status,
            incomplete: o.incomplete,
            error: error.as_ref(),
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
