//! JSON Schemas (draft 2020-12) of what a client sends to one model through Switchyard and of what it
//! gets back, and validation against them.
//!
//! The input schema is OpenAI's Chat Completions request with Switchyard's own fields (`fallback`,
//! `budget_dollars`, `session_id`, `router_mode`, `optimization`), shaped by the model:
//! - `model` is the model's id or one of its aliases;
//! - `tools`, `tool_choice`, `parallel_tool_calls`, assistant `tool_calls` and `tool` messages only
//!   with the `tools` capability; `image_url` content parts only with `vision`; `response_format`
//!   `json_object` only with `json_mode` or `json_schema`, `json_schema` only with `json_schema`;
//!   `reasoning_effort` only with `reasoning`;
//! - `max_tokens`/`max_completion_tokens` at most the model's `max_output`;
//! - what the provider's API cannot carry at all (the cases that make the gateway answer 422): on
//!   Anthropic and Gemini providers no `logprobs`/`top_logprobs` and `n` at most 1; on Anthropic no
//!   `json_object`; on Gemini image URLs must be `https:` or `data:`.
//!
//! The schema is closed (`additionalProperties: false`): it describes the fields Switchyard models.
//! The gateway itself forwards unknown fields to OpenAI-schema providers as they are, so a vendor
//! extension that this schema reports may still reach such a provider.
//!
//! The output schema is the non-streaming `chat.completion` answer: `usage` with `cost` (dollars) and
//! the `router` object; it is open, since providers add fields of their own.

use serde_json::{json, Map, Value};

use super::fields::{parse_json, percent_decode};
use super::Call;
use crate::config::{Model, ProviderKind};
use crate::error::GatewayError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    InputSchema,
    OutputSchema,
    ValidateInput,
    ValidateOutput,
}

/// At most this many validation errors are listed.
const MAX_ERRORS: usize = 50;

/// `GET /v1/models/{id}/input-schema`.
pub fn input_schema(call: &Call) -> Result<Value, GatewayError> {
    handle(call, "/input-schema", Op::InputSchema)
}

/// `GET /v1/models/{id}/output-schema`.
pub fn output_schema(call: &Call) -> Result<Value, GatewayError> {
    handle(call, "/output-schema", Op::OutputSchema)
}

/// `POST /v1/models/{id}/validate-input`.
pub fn validate_input(call: &Call) -> Result<Value, GatewayError> {
    handle(call, "/validate-input", Op::ValidateInput)
}

/// `POST /v1/models/{id}/validate-output`.
pub fn validate_output(call: &Call) -> Result<Value, GatewayError> {
    handle(call, "/validate-output", Op::ValidateOutput)
}

/// The model the path names (`/v1/models/{id}{suffix}`, the id percent-decoded).
fn handle(call: &Call, suffix: &str, op: Op) -> Result<Value, GatewayError> {
    let name = percent_decode(call.path.trim_start_matches("/v1/models/").trim_end_matches(suffix));
    let name = name.as_str();
    let m = match call.snap.catalog.get(name) {
        Some(m) if super::models::visible(m, call.identity) => m,
        _ => {
            return Err(GatewayError::UnknownModel {
                model: name.to_string(),
                param: "model",
                closest: String::new(),
            })
        }
    };
    match op {
        Op::InputSchema => Ok(input_schema_of(m)),
        Op::OutputSchema => Ok(output_schema_of(m)),
        Op::ValidateInput | Op::ValidateOutput => {
            let (schema, which) = if op == Op::ValidateInput {
                (input_schema_of(m), "input")
            } else {
                (output_schema_of(m), "output")
            };
            let instance = parse_json(call.body)?;
            let errors = validate(&schema, &instance)?;
            Ok(json!({
                "object": "validation",
                "model": m.id,
                "schema": which,
                "valid": errors.is_empty(),
                "errors": errors,
            }))
        }
    }
}

/// Validate `instance` against `schema`: each error with its `path` (`messages[0].content`, empty
/// for the root), its JSON Pointer, the schema keyword that failed and a message.
pub fn validate(schema: &Value, instance: &Value) -> Result<Vec<Value>, GatewayError> {
    let v = jsonschema::validator_for(schema)
        .map_err(|e| GatewayError::Internal(format!("the generated schema does not compile: {e}")))?;
    Ok(v.iter_errors(instance)
        .take(MAX_ERRORS)
        .map(|e| {
            let pointer = e.instance_path().as_str().to_string();
            let keyword = e
                .schema_path()
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            json!({
                "path": pointer_to_path(&pointer),
                "pointer": pointer,
                "keyword": keyword,
                "message": e.to_string(),
            })
        })
        .collect())
}

/// `/messages/0/content` → `messages[0].content`, the way the gateway's errors name fields.
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A discriminated union: `field` must be one of the keys of `variants`, and the object then
/// matches that variant's schema. (`if`/`then` rather than `oneOf`, so errors point at the field
/// that is wrong instead of at the whole object.)
fn tagged(field: &str, variants: Vec<(&str, Value)>) -> Value {
    let names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
    let branches: Vec<Value> = variants
        .iter()
        .map(|(n, s)| {
            json!({
                "if": {"properties": {field: {"const": n}}, "required": [field]},
                "then": s,
            })
        })
        .collect();
    json!({
        "type": "object",
        "required": [field],
        "properties": {field: {"enum": names}},
        "allOf": branches,
    })
}

fn text_part() -> Value {
    json!({
        "type": "object",
        "required": ["type", "text"],
        "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
        "additionalProperties": false,
    })
}

pub fn input_schema_of(m: &Model) -> Value {
    let kind = m.provider.kind;
    let translated = matches!(kind, ProviderKind::Anthropic | ProviderKind::Gemini);
    let tools = m.has("tools");
    let vision = m.has("vision");
    let url_pattern = if kind == ProviderKind::Gemini {
        "^(https:|data:)"
    } else {
        "^(https?:|data:)"
    };

    let mut user_parts = vec![("text", text_part())];
    if vision {
        user_parts.push((
            "image_url",
            json!({
                "type": "object",
                "required": ["type", "image_url"],
                "properties": {
                    "type": {"const": "image_url"},
                    "image_url": {
                        "type": "object",
                        "required": ["url"],
                        "properties": {
                            "url": {"type": "string", "pattern": url_pattern},
                            "detail": {"enum": ["auto", "low", "high"]},
                        },
                        "additionalProperties": false,
                    },
                },
                "additionalProperties": false,
            }),
        ));
    }
    let text_content = json!({"type": ["string", "array"], "minItems": 1, "items": {"$ref": "#/$defs/text_part"}});
    let name = json!({"type": "string"});

    let mut assistant = obj(vec![
        ("role", json!({"const": "assistant"})),
        (
            "content",
            json!({"type": ["string", "array", "null"], "items": tagged("type", vec![
                ("text", text_part()),
                ("refusal", json!({"type": "object", "required": ["type", "refusal"],
                    "properties": {"type": {"const": "refusal"}, "refusal": {"type": "string"}},
                    "additionalProperties": false})),
            ])}),
        ),
        ("refusal", json!({"type": ["string", "null"]})),
        ("name", name.clone()),
    ]);
    if tools {
        assistant.insert(
            "tool_calls".into(),
            json!({"type": "array", "items": {"$ref": "#/$defs/tool_call"}}),
        );
    }
    let mut roles = vec![
        (
            "system",
            json!({"type": "object", "required": ["role", "content"], "additionalProperties": false,
                   "properties": {"role": {"const": "system"}, "content": text_content, "name": name}}),
        ),
        (
            "developer",
            json!({"type": "object", "required": ["role", "content"], "additionalProperties": false,
                   "properties": {"role": {"const": "developer"}, "content": text_content, "name": name}}),
        ),
        (
            "user",
            json!({"type": "object", "required": ["role", "content"], "additionalProperties": false,
            "properties": {
                "role": {"const": "user"},
                "content": {"type": ["string", "array"], "minItems": 1, "items": tagged("type", user_parts)},
                "name": name,
            }}),
        ),
        (
            "assistant",
            json!({"type": "object", "required": ["role"], "additionalProperties": false, "properties": assistant}),
        ),
    ];
    if tools {
        roles.push((
            "tool",
            json!({"type": "object", "required": ["role", "tool_call_id", "content"], "additionalProperties": false,
                   "properties": {"role": {"const": "tool"}, "tool_call_id": {"type": "string"}, "content": text_content}}),
        ));
    }

    let mut names = vec![m.id.clone()];
    names.extend(m.aliases.iter().cloned());
    let modes = json!({"type": "string", "enum": [
        "quality", "cost", "latency", "balanced", "balance", "output-optimized", "price-optimized", "price", "speed"
    ]});
    let mut props = obj(vec![
        (
            "model",
            json!({"type": "string", "enum": names, "description": "this model's catalog id or an alias"}),
        ),
        (
            "messages",
            json!({"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/message"}}),
        ),
        (
            "max_tokens",
            json!({"type": "integer", "minimum": 1, "maximum": m.max_output}),
        ),
        (
            "max_completion_tokens",
            json!({"type": "integer", "minimum": 1, "maximum": m.max_output}),
        ),
        ("temperature", json!({"type": "number", "minimum": 0, "maximum": 2})),
        ("top_p", json!({"type": "number", "minimum": 0, "maximum": 1})),
        ("top_k", json!({"type": "integer", "minimum": 0})),
        (
            "stop",
            json!({"type": ["string", "array"], "maxItems": 4, "items": {"type": "string"}}),
        ),
        ("seed", json!({"type": "integer"})),
        (
            "presence_penalty",
            json!({"type": "number", "minimum": -2, "maximum": 2}),
        ),
        (
            "frequency_penalty",
            json!({"type": "number", "minimum": -2, "maximum": 2}),
        ),
        (
            "n",
            json!({"type": "integer", "minimum": 1, "maximum": if translated { 1 } else { 128 }}),
        ),
        ("stream", json!({"type": "boolean"})),
        (
            "stream_options",
            json!({"type": "object", "properties": {"include_usage": {"type": "boolean"}}, "additionalProperties": false}),
        ),
        ("user", json!({"type": "string"})),
        ("store", json!({"type": "boolean"})),
        ("metadata", json!({"type": "object"})),
        (
            "fallback",
            json!({"type": ["string", "array"], "items": {"type": "string"},
                   "description": "Switchyard: models to try in order if this one fails"}),
        ),
        (
            "budget_dollars",
            json!({"type": "number", "minimum": 0, "maximum": 10_000_000,
                   "description": "Switchyard: models whose estimated cost exceeds it are not eligible"}),
        ),
        (
            "session_id",
            json!({"type": "string", "description": "Switchyard: keep a conversation on one model"}),
        ),
        ("router_mode", modes.clone()),
        ("optimization", modes),
    ]);
    if !translated {
        props.insert("logprobs".into(), json!({"type": "boolean"}));
        props.insert(
            "top_logprobs".into(),
            json!({"type": "integer", "minimum": 0, "maximum": 20}),
        );
    }
    let mut formats = vec![(
        "text",
        json!({"type": "object", "properties": {"type": {"const": "text"}}, "additionalProperties": false}),
    )];
    if (m.has("json_mode") || m.has("json_schema")) && kind != ProviderKind::Anthropic {
        formats.push((
            "json_object",
            json!({"type": "object", "properties": {"type": {"const": "json_object"}}, "additionalProperties": false}),
        ));
    }
    if m.has("json_schema") {
        formats.push((
            "json_schema",
            json!({
                "type": "object",
                "required": ["type", "json_schema"],
                "additionalProperties": false,
                "properties": {
                    "type": {"const": "json_schema"},
                    "json_schema": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": false,
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                            "description": {"type": "string"},
                            "schema": {"type": "object"},
                            "strict": {"type": ["boolean", "null"]},
                        },
                    },
                },
            }),
        ));
    }
    props.insert("response_format".into(), tagged("type", formats));
    if m.has("reasoning") {
        props.insert(
            "reasoning_effort".into(),
            json!({"enum": ["minimal", "low", "medium", "high"]}),
        );
    }
    let mut defs = obj(vec![("text_part", text_part()), ("message", tagged("role", roles))]);
    if tools {
        props.insert(
            "tools".into(),
            json!({"type": "array", "items": {
                "type": "object",
                "required": ["type", "function"],
                "additionalProperties": false,
                "properties": {
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": false,
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                            "description": {"type": "string"},
                            "parameters": {"type": "object"},
                            "strict": {"type": ["boolean", "null"]},
                        },
                    },
                },
            }}),
        );
        props.insert(
            "tool_choice".into(),
            json!({"anyOf": [
                {"enum": ["none", "auto", "required"]},
                {"type": "object", "required": ["type", "function"], "additionalProperties": false,
                 "properties": {"type": {"const": "function"},
                                "function": {"type": "object", "required": ["name"],
                                             "properties": {"name": {"type": "string"}}}}},
            ]}),
        );
        props.insert("parallel_tool_calls".into(), json!({"type": "boolean"}));
        defs.insert(
            "tool_call".into(),
            json!({
                "type": "object",
                "required": ["id", "type", "function"],
                "additionalProperties": false,
                "properties": {
                    "id": {"type": "string"},
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name", "arguments"],
                        "additionalProperties": false,
                        "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
                    },
                },
            }),
        );
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("POST /v1/chat/completions for {}", m.id),
        "description": format!(
            "An OpenAI Chat Completions request for {} ({} provider {}) through Switchyard; capabilities: {}",
            m.id,
            kind.as_str(),
            m.provider.name,
            m.capabilities.join(", ")
        ),
        "type": "object",
        "required": ["model", "messages"],
        "properties": props,
        "additionalProperties": false,
        "$defs": defs,
    })
}

pub fn output_schema_of(m: &Model) -> Value {
    let tools = m.has("tools");
    let mut message = obj(vec![
        ("role", json!({"const": "assistant"})),
        ("content", json!({"type": ["string", "null"]})),
        ("refusal", json!({"type": ["string", "null"]})),
    ]);
    if tools {
        message.insert(
            "tool_calls".into(),
            json!({"type": "array", "items": {
                "type": "object",
                "required": ["id", "type", "function"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"const": "function"},
                    "function": {"type": "object", "required": ["name", "arguments"],
                                 "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}},
                },
            }}),
        );
    }
    if m.has("reasoning") {
        message.insert("reasoning_content".into(), json!({"type": "string"}));
    }
    let mut finish = vec!["stop", "length", "content_filter"];
    if tools {
        finish.push("tool_calls");
    }
    let count = json!({"type": "integer", "minimum": 0});
    let dollars = json!({"type": ["number", "null"], "minimum": 0});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("chat.completion from {} through Switchyard", m.id),
        "description": "A non-streaming Chat Completions answer: the provider's fields, `model` set to the catalog \
                        id that answered (this model, or a fallback), the exact cost in usage.cost (US dollars) \
                        and the router object.",
        "type": "object",
        "required": ["id", "object", "created", "model", "choices", "usage", "router"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "chat.completion"},
            "created": {"type": "integer", "minimum": 0},
            "model": {"type": "string", "description": "the catalog id that answered"},
            "system_fingerprint": {"type": ["string", "null"]},
            "choices": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["index", "message", "finish_reason"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "message": {"type": "object", "required": ["role"], "properties": message},
                        "logprobs": {"type": ["object", "null"]},
                        "finish_reason": {
                            "type": ["string", "null"],
                            "description": "stop, length, tool_calls or content_filter; other reasons a provider reports are kept verbatim",
                            "examples": finish,
                        },
                    },
                },
            },
            "usage": {
                "type": "object",
                "required": ["prompt_tokens", "completion_tokens", "total_tokens", "cost"],
                "properties": {
                    "prompt_tokens": count,
                    "completion_tokens": count,
                    "total_tokens": count,
                    "prompt_tokens_details": {"type": "object"},
                    "completion_tokens_details": {"type": "object"},
                    "cost": {"type": "number", "minimum": 0, "description": "US dollars, for the model that answered"},
                },
            },
            "router": {
                "type": "object",
                "required": ["request_id", "model", "provider", "mode", "attempts", "cost"],
                "properties": {
                    "request_id": {"type": "string"},
                    "model": {"type": ["string", "null"]},
                    "provider": {"type": ["string", "null"]},
                    "upstream_model": {"type": ["string", "null"]},
                    "requested_model": {"type": ["string", "null"]},
                    "mode": {"type": ["string", "null"]},
                    "reason": {"type": ["string", "null"]},
                    "classification": {"type": ["object", "null"]},
                    "candidates": {"type": "array"},
                    "filtered": {"type": "array"},
                    "policy": {"type": ["string", "null"]},
                    "fallback": {"type": "boolean"},
                    "attempts": {"type": "array", "items": {"type": "object"}},
                    "cost": {
                        "type": "object",
                        "properties": {"estimated_dollars": dollars, "actual_dollars": dollars},
                    },
                    "rule_trace": {"type": "array"},
                    "firewall": {"type": "array"},
                    "lossy": {"type": "array"},
                },
            },
        },
    })
}

#[cfg(test)]
mod tests;
