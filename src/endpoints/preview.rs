//! `POST /v1/rules/preview`: what the gateway would do with a request, without doing it. The body is
//! any client request (OpenAI chat, Responses or Anthropic Messages shape; `?schema=` names it when
//! the shape is ambiguous). It is parsed as that endpoint would parse it, the request-stage phases
//! that have no side effect run on it (the firewall, the rules; not the limits), and it is routed; the
//! answer shows the firewall's actions with the request as the chosen provider would receive it, the
//! rule trace, the classification, the candidates with their scores and the model that would answer.
//! Nothing goes upstream, and nothing is counted or charged.

use std::sync::Arc;

use serde_json::{json, Value};
use switchyard_sdk::{Exchange, Phase};

use super::fields::query_param;
use super::Call;
use crate::api::{codec, Schema};
use crate::error::GatewayError;
use crate::phases::{Pipeline, Stage, Verdict};
use crate::proxy::router_meta::{trace_json, FirewallView};
use crate::router::{self, RouteInput};
use crate::wire::json::parse_object;

/// The client schema a body is written in: `?schema=` when given, else its shape.
fn schema_of(call: &Call) -> Result<Schema, GatewayError> {
    match query_param(call.query, "schema") {
        Some("chat") => return Ok(Schema::OpenAiChat),
        Some("responses") => return Ok(Schema::OpenAiResponses),
        Some("messages") => return Ok(Schema::AnthropicMessages),
        Some(other) => {
            return Err(GatewayError::invalid(
                "schema",
                format!("unknown schema {other:?}; use chat, responses or messages"),
            ))
        }
        None => {}
    }
    let o = parse_object(call.body)?;
    let has = |k: &str| o.iter().any(|(f, _)| f == k);
    if has("input") || has("instructions") {
        return Ok(Schema::OpenAiResponses);
    }
    // Anthropic's top-level system prompt and its stop field; block types only Messages has.
    let messages_like = o.iter().any(|(f, v)| {
        f == "messages"
            && ["\"tool_use\"", "\"tool_result\"", "\"thinking\""]
                .iter()
                .any(|t| v.get().contains(t))
    });
    if has("system") || has("stop_sequences") || messages_like {
        return Ok(Schema::AnthropicMessages);
    }
    Ok(Schema::OpenAiChat)
}

fn schema_name(s: Schema) -> &'static str {
    match s {
        Schema::OpenAiChat => "chat",
        Schema::OpenAiResponses => "responses",
        Schema::AnthropicMessages => "messages",
    }
}

pub fn preview(call: &Call) -> Result<Value, GatewayError> {
    let schema = schema_of(call)?;
    let parsed = codec(schema).parse(call.body)?;
    let mut ex = Exchange::new(call.request_id.to_string(), endpoint_for(schema));
    ex.identity = call.identity.cloned();
    ex.client_schema = schema_name(schema);
    ex.classifier = Some(call.snap.classifier.clone());
    ex.set_request(parsed.request);
    if let Some(h) = call
        .head
        .headers
        .get("x-jt-route")
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.trim().is_empty())
    {
        if let Some((model, hints)) = ex.routing_mut() {
            hints.mode = Some(h.trim().to_string());
            if model.starts_with("auto:") {
                *model = "auto".into();
            }
        }
    }
    let dry: Vec<Arc<dyn Phase>> = call.snap.phases.iter().filter(|p| p.in_preview()).cloned().collect();
    let verdict = Pipeline::new(&dry).run(Stage::Request, call.head, &mut ex);
    let mut out = json!({
        "object": "rules.preview",
        "schema": schema_name(schema),
        "request_id": call.request_id,
    });
    let (blocked, answered_by) = match verdict {
        Ok(Verdict::Continue) => (None, None),
        Ok(Verdict::Answered { phase, .. }) => (None, Some(phase)),
        Err(e) => (Some(e.to_json(call.request_id, &ex.trace)["error"].clone()), None),
    };
    out["blocked"] = blocked.clone().unwrap_or(Value::Null);
    out["answered_by"] = json!(answered_by);
    out["firewall"] =
        serde_json::to_value(ex.firewall.iter().map(FirewallView::from).collect::<Vec<_>>()).unwrap_or_default();
    out["rule_trace"] = trace_json(&ex.trace);
    out["tags"] = ex
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    out["request_modified"] = json!(ex.request_modified());
    if let Some(req) = ex.request() {
        let h = &req.routing;
        out["routing_hints"] = json!({
            "model": req.model, "mode": h.mode, "fallback": h.fallback, "provider": h.provider,
            "exclude_providers": h.exclude_providers, "quality_floor": h.quality_floor,
            "budget_dollars": h.budget.map(switchyard_sdk::Money::as_dollars_f64),
        });
    }
    if blocked.is_some() || answered_by.is_some() {
        return Ok(out);
    }
    if router::auto_mode(ex.request().map_or("", |r| r.model.as_str())).is_some() {
        ex.classification();
    }
    let route = {
        let input = RouteInput {
            snap: call.snap,
            ex: &ex,
            schema,
            header_mode: None,
            no_fallback: false,
            state: call.router,
        };
        router::resolve(&input)
    };
    let route = match route {
        Ok(r) => r,
        Err(e) => {
            out["route_error"] = e.to_json(call.request_id, &ex.trace)["error"].clone();
            return Ok(out);
        }
    };
    out["classification"] = route
        .classification
        .as_ref()
        .map(crate::router::RouteClass::to_json)
        .or_else(|| {
            ex.classification_if_known()
                .map(|c| crate::router::classify::Classification::from_sdk(c).to_json())
        })
        .unwrap_or(Value::Null);
    out["mode"] = json!(route.mode);
    out["reason"] = json!(route.reason);
    out["model"] = json!(route.candidates.first().map(|m| m.id.as_str()));
    out["chain"] = json!(route.candidates.iter().map(|m| m.id.as_str()).collect::<Vec<_>>());
    out["candidates"] = json!(route.scored);
    out["filtered"] = route
        .filtered
        .iter()
        .map(|(m, w)| json!({"model": m, "reason": w}))
        .collect::<Vec<_>>()
        .into();
    out["estimated_cost_dollars"] = json!(route.estimated_cost.as_dollars_f64());
    if let Some(m) = route.candidates.first() {
        out["upstream_request"] = match crate::proxy::rerender::prepare_for(schema, &ex, call.body, m) {
            Ok(p) => json!({
                "model": m.id,
                "provider": &*m.provider.name,
                "path": p.path,
                "lossy": p.lossy,
                "body": serde_json::from_slice::<Value>(&p.body).unwrap_or(Value::Null),
            }),
            Err(e) => json!({"model": m.id, "error": e.to_json(call.request_id, &[])["error"]}),
        };
    }
    Ok(out)
}

fn endpoint_for(s: Schema) -> switchyard_sdk::Endpoint {
    match s {
        Schema::OpenAiChat => switchyard_sdk::Endpoint::ChatCompletions,
        Schema::OpenAiResponses => switchyard_sdk::Endpoint::Responses,
        Schema::AnthropicMessages => switchyard_sdk::Endpoint::Messages,
    }
}
