//! Canonical → Gemini wire → canonical: what both sides support survives the trip (proptest).

use proptest::prelude::*;
use serde_json::{json, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Part, Role, Tool};

use super::*;
use crate::providers::gemini::Gemini;
use crate::providers::ProviderAdapter;

// ---- canonical → Gemini wire → canonical ------------------------------------------------

/// A test-only reader of Gemini request bodies back into canonical terms: what both sides
/// support must survive the trip.
fn parse_gemini_request(v: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    let system: Vec<Part> = v["systemInstruction"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| text(p["text"].as_str().unwrap()))
        .collect();
    if !system.is_empty() {
        messages.push(Message::new(Role::System, system));
    }
    for c in v["contents"].as_array().unwrap() {
        let model_turn = c["role"] == "model";
        if model_turn {
            messages.push(Message::new(Role::Assistant, Vec::new()));
        }
        for p in c["parts"].as_array().unwrap() {
            if let Some(t) = p["text"].as_str() {
                match messages.last_mut() {
                    Some(m) if m.role == Role::User || model_turn => m.content.push(text(t)),
                    _ => messages.push(Message::new(Role::User, vec![text(t)])),
                }
            } else if let Some(fc) = p.get("functionCall") {
                let m = messages.last_mut().unwrap();
                m.tool_calls.push(call(
                    fc["id"].as_str().unwrap(),
                    fc["name"].as_str().unwrap(),
                    &fc["args"].to_string(),
                ));
            } else if let Some(fr) = p.get("functionResponse") {
                let r = &fr["response"];
                let mut m = Message::new(
                    Role::Tool,
                    vec![text(r["output"].as_str().or(r["error"].as_str()).unwrap())],
                );
                m.tool_call_id = fr["id"].as_str().map(str::to_string);
                m.is_error = r.get("error").is_some();
                messages.push(m);
            }
        }
    }
    let g = &v["generationConfig"];
    ChatRequest {
        messages,
        temperature: g["temperature"].as_f64(),
        max_tokens: g["maxOutputTokens"].as_u64().map(|n| n as u32),
        stop: g["stopSequences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        ..Default::default()
    }
}

/// The canonical form both sides agree on: system text first, neighbouring user (and
/// assistant) messages as one, developer as system.
fn normalize(msgs: &[Message]) -> Vec<Message> {
    let system: Vec<Part> = msgs
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
        .flat_map(|m| m.content.clone())
        .collect();
    let mut out: Vec<Message> = Vec::new();
    if !system.is_empty() {
        out.push(Message::new(Role::System, system));
    }
    for m in msgs
        .iter()
        .filter(|m| !matches!(m.role, Role::System | Role::Developer))
    {
        match out.last_mut() {
            Some(last) if last.role == m.role && m.role != Role::Tool => {
                last.content.extend(m.content.iter().cloned());
                last.tool_calls.extend(m.tool_calls.iter().cloned());
            }
            _ => out.push(m.clone()),
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Round {
    system: Option<(bool, String)>,
    users: Vec<String>,
    reply: Option<String>,
    calls: Vec<(usize, String, bool, String)>,
}

fn some_text() -> impl Strategy<Value = String> {
    "[ -~éü😀\n]{1,24}"
}

fn some_args() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<i32>().prop_map(Value::from),
        some_text().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    prop::collection::btree_map("[a-z_]{1,8}", value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()).to_string())
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::option::of((any::<bool>(), some_text())),
        prop::collection::vec(some_text(), 1..3),
        prop::option::of(some_text()),
        prop::collection::vec((0..3usize, some_args(), any::<bool>(), some_text()), 0..3),
    )
        .prop_map(|(system, users, reply, calls)| Round {
            system,
            users,
            reply,
            calls,
        })
}

const TOOLS: [&str; 3] = ["get_weather", "search", "lookup.v2"];

fn conversation(rounds: &[Round]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut n = 0;
    for r in rounds {
        if let Some((developer, s)) = &r.system {
            let role = if *developer { Role::Developer } else { Role::System };
            out.push(Message::new(role, vec![text(s)]));
        }
        out.extend(r.users.iter().map(|u| Message::new(Role::User, vec![text(u)])));
        if r.reply.is_none() && r.calls.is_empty() {
            continue;
        }
        let mut a = Message::new(Role::Assistant, r.reply.iter().map(|t| text(t)).collect());
        let mut results = Vec::new();
        for (tool, args, is_error, result) in &r.calls {
            n += 1;
            let id = format!("call_{n}");
            a.tool_calls.push(call(&id, TOOLS[*tool], args));
            let mut t = Message::new(Role::Tool, vec![text(result)]);
            t.tool_call_id = Some(id);
            t.is_error = *is_error;
            results.push(t);
        }
        out.push(a);
        out.extend(results);
    }
    out
}

proptest! {
    #[test]
    fn canonical_survives_the_gemini_wire(
        rounds in prop::collection::vec(round(), 1..5),
        stop in prop::collection::vec("[a-z]{1,5}", 0..=5),
        temperature in prop::option::of((0u32..=200).prop_map(|t| f64::from(t) / 100.0)),
        max_tokens in prop::option::of(1u32..100_000),
    ) {
        let req = ChatRequest {
            messages: conversation(&rounds),
            tools: TOOLS
                .iter()
                .map(|n| Tool {
                    name: n.to_string(),
                    description: None,
                    parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}).into(),
                    strict: None,
                })
                .collect(),
            stop,
            temperature,
            max_tokens,
            ..Default::default()
        };
        let m = model();
        prop_assert!(Gemini.check(&req, &m).is_ok());
        let r = Gemini.render(&req, &m).unwrap();
        let back = parse_gemini_request(&serde_json::from_slice(&r.body).unwrap());
        prop_assert_eq!(back.messages, normalize(&req.messages));
        prop_assert_eq!(back.stop, req.stop);
        prop_assert_eq!(back.temperature, req.temperature);
        prop_assert_eq!(back.max_tokens, req.max_tokens);
    }
}
