//! Canonical messages → a Responses `input` list, for a pass-through body whose text a phase edited
//! (`proxy::rerender`): the edited conversation replaces the client's `input` and `instructions`,
//! and every other field of the client's body still passes as it came. The parse's conversions are
//! undone: system text becomes `system`/`developer` messages (the `instructions` they came from), a
//! namespaced function's call gets its namespace back, a custom tool's call and output their own
//! item kinds, reasoning its item with the signature as `encrypted_content`.

use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, ImageSource, Part, Role};

use super::render::{call_kind, custom_input, Kind};

fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url(u) => u.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

/// One content part as an input part (`output_text` in an assistant's message).
fn part(p: &Part, assistant: bool) -> Option<Value> {
    Some(match p {
        Part::Text(t) if assistant => json!({"type": "output_text", "text": t, "annotations": []}),
        Part::Text(t) => json!({"type": "input_text", "text": t}),
        Part::Image { source, detail } => {
            let mut v = json!({"type": "input_image", "image_url": image_url(source)});
            v["detail"] = json!(detail.as_deref().unwrap_or("auto"));
            v
        }
        Part::Other { kind, raw } if kind == "file" => {
            let mut v = raw.as_object().cloned().unwrap_or_default();
            v.insert("type".into(), json!("input_file"));
            Value::Object(v)
        }
        Part::Other { kind, raw } if kind == "input_audio" => json!({"type": "input_audio", "input_audio": raw}),
        Part::Other { .. } | Part::Reasoning { .. } => return None,
    })
}

/// The client's `additional_tools` items in its `input` (the tools they declare are not part of the
/// canonical conversation, so they are copied as they were).
pub fn declared_tools(body: &[u8]) -> Vec<Box<serde_json::value::RawValue>> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        input: Option<Box<serde_json::value::RawValue>>,
    }
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    let Some(input) = serde_json::from_slice::<Body>(body).ok().and_then(|b| b.input) else {
        return Vec::new();
    };
    let items: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(input.get()).unwrap_or_default();
    items
        .into_iter()
        .filter(|i| serde_json::from_str::<Kind>(i.get()).is_ok_and(|k| k.kind.as_deref() == Some("additional_tools")))
        .collect()
}

/// `{"input": [...]}`: the request's conversation as Responses input items, after `declared` (the
/// client's `additional_tools` items, see [`declared_tools`]).
pub fn render(req: &ChatRequest, declared: Vec<Box<serde_json::value::RawValue>>) -> Vec<u8> {
    let forms = &req.tool_forms;
    // Call id → whether it is a custom tool's call (its output is then a custom_tool_call_output).
    let mut custom_calls: Vec<&str> = Vec::new();
    let mut items: Vec<Value> = Vec::with_capacity(req.messages.len() + declared.len() + 4);
    for d in declared {
        items.push(serde_json::from_str(d.get()).unwrap_or(Value::Null));
    }
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer | Role::User => {
                let role = match m.role {
                    Role::System => "system",
                    Role::Developer => "developer",
                    _ => "user",
                };
                let content: Vec<Value> = m.content.iter().filter_map(|p| part(p, false)).collect();
                items.push(json!({"type": "message", "role": role, "content": content}));
            }
            Role::Assistant => {
                let mut text: Vec<Value> = Vec::new();
                for p in &m.content {
                    match p {
                        Part::Reasoning { text: t, signature } => {
                            let mut r = Map::new();
                            r.insert("type".into(), json!("reasoning"));
                            let summary = if t.is_empty() {
                                json!([])
                            } else {
                                json!([{"type": "summary_text", "text": t}])
                            };
                            r.insert("summary".into(), summary);
                            if let Some(s) = signature {
                                r.insert("encrypted_content".into(), json!(s));
                            }
                            items.push(Value::Object(r));
                        }
                        other => text.extend(part(other, true)),
                    }
                }
                if !text.is_empty() {
                    items.push(json!({"type": "message", "role": "assistant", "content": text}));
                }
                for c in &m.tool_calls {
                    let item = match call_kind(forms, c.id.clone(), &c.name) {
                        Kind::CustomToolCall {
                            call_id,
                            name,
                            namespace,
                        } => {
                            custom_calls.push(c.id.as_str());
                            let mut v = json!({"type": "custom_tool_call", "call_id": call_id, "name": name,
                                               "input": custom_input(&c.arguments)});
                            if let Some(ns) = namespace {
                                v["namespace"] = json!(ns);
                            }
                            v
                        }
                        Kind::FunctionCall {
                            call_id,
                            name,
                            namespace,
                        } => {
                            let mut v = json!({"type": "function_call", "call_id": call_id, "name": name,
                                               "arguments": c.arguments});
                            if let Some(ns) = namespace {
                                v["namespace"] = json!(ns);
                            }
                            v
                        }
                        Kind::Message | Kind::Refusal | Kind::Reasoning { .. } => continue,
                    };
                    items.push(item);
                }
            }
            Role::Tool => {
                let id = m.tool_call_id.clone().unwrap_or_default();
                let output: String = m
                    .content
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                let kind = if custom_calls.contains(&id.as_str()) {
                    "custom_tool_call_output"
                } else {
                    "function_call_output"
                };
                items.push(json!({"type": kind, "call_id": id, "output": output}));
            }
        }
    }
    serde_json::to_vec(&json!({ "input": items })).unwrap_or_default()
}
