//! The benchmark's inputs: a deterministic ~2,000-token conversation with tools, tool calls and
//! results, its body in each client schema, and each provider kind's answer, whole and streamed.

use serde_json::{json, Value};

/// Deterministic filler prose: words, punctuation, the odd quote and newline (escaping matters).
pub(crate) struct Prose(pub(crate) u64);

impl Prose {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn text(&mut self, bytes: usize) -> String {
        const WORDS: &[&str] = &[
            "the",
            "gateway",
            "routes",
            "each",
            "request",
            "to",
            "a",
            "model",
            "that",
            "fits",
            "budget",
            "and",
            "latency",
            "weather",
            "forecast",
            "in",
            "Paris",
            "is",
            "mild",
            "with",
            "light",
            "rain",
            "expected",
            "later",
            "today",
            "documentation",
            "says",
            "configure",
            "providers",
            "under",
            "keys",
            "please",
            "check",
            "whether",
            "stream",
            "usage",
            "tokens",
            "cost",
            "fallback",
            "retry",
            "after",
            "timeout",
            "résumé",
            "naïve",
            "\"quoted\"",
            "value",
            "function",
            "arguments",
            "schema",
            "result",
            "error",
        ];
        let mut s = String::with_capacity(bytes + 16);
        while s.len() < bytes {
            let r = self.next();
            s += WORDS[(r % WORDS.len() as u64) as usize];
            s += match r >> 59 {
                0 => ".\n",
                1 | 2 => ". ",
                3 => ", ",
                _ => " ",
            };
        }
        s.trim_end().to_string()
    }
}

pub(crate) enum Turn {
    User(String),
    Assistant(String),
    /// Assistant text, then a call.
    Call {
        text: String,
        id: String,
        name: &'static str,
        args: Value,
    },
    Result {
        id: String,
        content: String,
    },
}

pub(crate) struct Conversation {
    pub(crate) system: String,
    pub(crate) turns: Vec<Turn>,
}

pub(crate) fn conversation() -> Conversation {
    let mut p = Prose(0x9e37_79b9_7f4a_7c15);
    let mut turns = Vec::new();
    for i in 0..10 {
        turns.push(Turn::User(p.text(if i % 2 == 0 { 260 } else { 180 })));
        if i % 2 == 0 {
            let (name, args) = if i % 4 == 0 {
                ("get_weather", json!({"location": "Paris, France", "unit": "celsius"}))
            } else {
                ("search_docs", json!({"query": p.text(40), "max_results": 5}))
            };
            let id = format!("call_{i:02}_kL3nW0cD9Qh2bXo1VyT5");
            turns.push(Turn::Call {
                text: p.text(90),
                id: id.clone(),
                name,
                args,
            });
            turns.push(Turn::Result {
                id,
                content: p.text(330),
            });
        }
        turns.push(Turn::Assistant(p.text(if i % 2 == 0 { 230 } else { 330 })));
    }
    Conversation {
        system: p.text(600),
        turns,
    }
}

pub(crate) fn tools_params() -> [(&'static str, &'static str, Value); 2] {
    [
        (
            "get_weather",
            "Current weather and a short forecast for a location.",
            json!({"type": "object", "properties": {
                "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                "required": ["location"], "additionalProperties": false}),
        ),
        (
            "search_docs",
            "Search the product documentation; returns the best matching passages.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 20}},
                "required": ["query"], "additionalProperties": false}),
        ),
    ]
}

pub(crate) fn chat_body(c: &Conversation) -> Vec<u8> {
    let mut msgs = vec![json!({"role": "system", "content": c.system})];
    for t in &c.turns {
        msgs.push(match t {
            Turn::User(s) => json!({"role": "user", "content": s}),
            Turn::Assistant(s) => json!({"role": "assistant", "content": s}),
            Turn::Call { text, id, name, args } => json!({"role": "assistant", "content": text, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}),
            Turn::Result { id, content } => json!({"role": "tool", "tool_call_id": id, "content": content}),
        });
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"type": "function", "function": {"name": n, "description": d, "parameters": p}}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "messages": msgs, "tools": tools, "tool_choice": "auto",
        "temperature": 0.2, "max_tokens": 1024}),
    )
    .unwrap()
}

pub(crate) fn responses_body(c: &Conversation) -> Vec<u8> {
    let mut input = Vec::new();
    for t in &c.turns {
        match t {
            Turn::User(s) => {
                input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": s}]}))
            }
            Turn::Assistant(s) => input
                .push(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": s}]})),
            Turn::Call { text, id, name, args } => {
                input.push(
                    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}),
                );
                input
                    .push(json!({"type": "function_call", "call_id": id, "name": name, "arguments": args.to_string()}));
            }
            Turn::Result { id, content } => {
                input.push(json!({"type": "function_call_output", "call_id": id, "output": content}))
            }
        }
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"type": "function", "name": n, "description": d, "parameters": p}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "instructions": c.system, "input": input, "tools": tools,
        "tool_choice": "auto", "temperature": 0.2, "max_output_tokens": 1024, "store": false}),
    )
    .unwrap()
}

pub(crate) fn messages_body(c: &Conversation) -> Vec<u8> {
    let mut msgs = Vec::new();
    for t in &c.turns {
        msgs.push(match t {
            Turn::User(s) => json!({"role": "user", "content": s}),
            Turn::Assistant(s) => json!({"role": "assistant", "content": [{"type": "text", "text": s}]}),
            Turn::Call { text, id, name, args } => json!({"role": "assistant", "content": [
                {"type": "text", "text": text}, {"type": "tool_use", "id": id, "name": name, "input": args}]}),
            Turn::Result { id, content } => json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": content}]}),
        });
    }
    let tools: Vec<Value> = tools_params()
        .into_iter()
        .map(|(n, d, p)| json!({"name": n, "description": d, "input_schema": p}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "auto", "system": c.system, "messages": msgs, "tools": tools,
        "tool_choice": {"type": "auto"}, "temperature": 0.2, "max_tokens": 1024}),
    )
    .unwrap()
}

pub(crate) fn text_bytes(c: &Conversation) -> usize {
    c.system.len()
        + c.turns
            .iter()
            .map(|t| match t {
                Turn::User(s) | Turn::Assistant(s) => s.len(),
                Turn::Call { text, args, .. } => text.len() + args.to_string().len(),
                Turn::Result { content, .. } => content.len(),
            })
            .sum::<usize>()
}

// ---- provider answers, whole and streamed -----------------------------------------------------

pub(crate) const ANSWER_TEXT_BYTES: usize = 700;

pub(crate) fn provider_response(kind: &str, p: &mut Prose) -> Vec<u8> {
    let text = p.text(ANSWER_TEXT_BYTES);
    let args = json!({"location": "Lyon, France", "unit": "celsius"});
    let v = match kind {
        "anthropic" => json!({"id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": text},
            {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather", "input": args}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 2104,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 212, "service_tier": "standard"}}),
        "gemini" => json!({"candidates": [{"content": {"parts": [{"text": text},
            {"functionCall": {"name": "get_weather", "args": args}, "thoughtSignature": "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwpl"}],
            "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 2104,
            "candidatesTokenCount": 212, "totalTokenCount": 2316, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2104}]},
            "modelVersion": "gemini-2.5-flash", "responseId": "qpc2afWVFJK4vr0Pq6WiyAU"}),
        _ => json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion", "created": 1756493000,
            "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
            "tool_calls": [{"id": "call_kL3nW0cD9Qh2bXo1VyT5uR8e", "type": "function", "function": {"name": "get_weather",
            "arguments": args.to_string()}}], "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 2104, "completion_tokens": 212, "total_tokens": 2316,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_07871e2ad8"}),
    };
    serde_json::to_vec(&v).unwrap()
}

/// A streamed answer in `kind`'s wire format, one SSE event per chunk: ~120 text deltas of a token
/// or so, then a tool call whose arguments come in 8 fragments (Gemini: ~5 tokens per event, the
/// call whole, as Gemini sends them).
pub(crate) fn provider_stream(kind: &str, p: &mut Prose) -> Vec<Vec<u8>> {
    let text = p.text(ANSWER_TEXT_BYTES);
    let deltas: Vec<String> = text.split_inclusive(' ').map(str::to_string).collect();
    let args = json!({"location": "Lyon, France", "unit": "celsius"}).to_string();
    let frags: Vec<String> = args
        .as_bytes()
        .chunks(args.len().div_ceil(8))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let ev = |name: Option<&str>, data: Value| {
        let mut out = Vec::new();
        switchyard::wire::sse::write_event(&mut out, name, data.to_string().as_bytes());
        out
    };
    let mut out = Vec::new();
    match kind {
        "anthropic" => {
            let e = |name: &str, data: Value| ev(Some(name), data);
            out.push(e("message_start", json!({"type": "message_start", "message": {"id": "msg_019Q1hrJbZG26Fb9BQhrkHEr",
                "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 2104, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1024, "output_tokens": 1, "service_tier": "standard"}}})));
            out.push(e(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            out.push(e("ping", json!({"type": "ping"})));
            for d in &deltas {
                out.push(e(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
                ));
            }
            out.push(e(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ));
            out.push(e(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}}}),
            ));
            for f in &frags {
                out.push(e(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": f}}),
                ));
            }
            out.push(e(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ));
            out.push(e(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"output_tokens": 212}}),
            ));
            out.push(e("message_stop", json!({"type": "message_stop"})));
        }
        "gemini" => {
            let chunk = |parts: Value, finish: Option<&str>, out_tokens: Option<u64>| {
                let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
                if let Some(f) = finish {
                    cand["finishReason"] = json!(f);
                }
                let mut usage = json!({"promptTokenCount": 2104, "totalTokenCount": 2104,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2104}]});
                if let Some(n) = out_tokens {
                    usage["candidatesTokenCount"] = json!(n);
                    usage["totalTokenCount"] = json!(2104 + n);
                }
                ev(
                    None,
                    json!({"candidates": [cand], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
                    "responseId": "qpc2afWVFJK4vr0Pq6WiyAU"}),
                )
            };
            for d in deltas.chunks(5) {
                out.push(chunk(json!([{"text": d.concat()}]), None, None));
            }
            out.push(chunk(
                json!([{"functionCall": {"name": "get_weather", "args": {"location": "Lyon, France", "unit": "celsius"}},
                    "thoughtSignature": "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwpl"}]),
                Some("STOP"),
                Some(212),
            ));
        }
        _ => {
            let chunk = |delta: Value, finish: Value| {
                ev(
                    None,
                    json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion.chunk", "created": 1756493000,
                    "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_07871e2ad8",
                    "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}], "usage": null}),
                )
            };
            out.push(chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ));
            for d in &deltas {
                out.push(chunk(json!({"content": d}), Value::Null));
            }
            out.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_kL3nW0cD9Qh2bXo1VyT5uR8e", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
                Value::Null,
            ));
            for f in &frags {
                out.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}),
                    Value::Null,
                ));
            }
            out.push(chunk(json!({}), json!("tool_calls")));
            out.push(ev(None, json!({"id": "chatcmpl-C2x9f3Yq8d1", "object": "chat.completion.chunk", "created": 1756493000,
                "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_07871e2ad8", "choices": [],
                "usage": {"prompt_tokens": 2104, "completion_tokens": 212, "total_tokens": 2316,
                "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 0}}})));
            out.push(b"data: [DONE]\n\n".to_vec());
        }
    }
    out
}
