//! `POST /v1/messages/count_tokens` (the Anthropic SDK's `messages.countTokens`): the body of a
//! Messages request without `max_tokens`. The model is routed like a Messages request; an Anthropic
//! provider counts (`{base}/messages/count_tokens`, the client's body with the provider's model name,
//! through the proxy's attempt engine like any upstream call). For any other provider the gateway
//! answers itself with an estimate, flagged `x-jt-token-count: estimate`: about four bytes of text
//! a token, plus four tokens a message and 765 an image, tools' names, descriptions and schemas
//! counted as text (`ChatRequest::estimated_input_tokens`). Counting costs nothing.

use std::sync::Arc;

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{json, Value};
use switchyard_sdk::Money;

use crate::api::{codec, Schema};
use crate::config::{Model, ProviderKind};
use crate::endpoints::compose::Composer;
use crate::error::GatewayError;
use crate::phases::{Stage, Verdict};
use crate::providers::anthropic::passthrough as anthropic_passthrough;
use crate::providers::ANTHROPIC_VERSION;
use crate::proxy::ctx::Ctx;
use crate::proxy::Gateway;
use crate::router::{self, RouteInput};
use crate::translate::{Plan, Prepared};
use crate::wire::json::parse_object;

/// What `request_filter` does with a count.
pub enum Count {
    /// Counted by the provider: the upstream call is the proxy's.
    Upstream(Verdict),
    /// Estimated here: the answer body.
    Estimate(Vec<u8>),
}

/// Read, check and route a count; a phase's answer comes back as `Upstream(Answered)`.
pub fn prepare(s: &Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Count, GatewayError> {
    // The Messages parser checks everything a count takes; `max_tokens`, which a count has no use
    // for, is given when absent so that it does not ask for it.
    let parsed = match codec(Schema::AnthropicMessages).parse(body) {
        Err(e) if e.param() == Some("max_tokens") => {
            let mut v: serde_json::Map<String, Value> = serde_json::from_slice(body)
                .map_err(|e| GatewayError::invalid("body", format!("the body is not a JSON object: {e}")))?;
            v.insert("max_tokens".into(), json!(1));
            codec(Schema::AnthropicMessages).parse(&serde_json::to_vec(&v).unwrap_or_default())?
        }
        other => other?,
    };
    ctx.request.schema = Schema::AnthropicMessages;
    ctx.ex.client_schema = "messages";
    ctx.ex.set_request(parsed.request);
    crate::proxy::request::header_mode_into_hints(s, &mut ctx.ex);
    let snap = ctx.snap.clone();
    let verdict = crate::phases::Pipeline::new(&snap.phases).run(Stage::Request, s.req_header(), &mut ctx.ex)?;
    if let v @ Verdict::Answered { .. } = verdict {
        return Ok(Count::Upstream(v));
    }
    let input = RouteInput {
        snap: &snap,
        ex: &ctx.ex,
        schema: Schema::AnthropicMessages,
        header_mode: crate::endpoints::compose::header(s, "x-jt-route"),
        no_fallback: ctx.request.no_fallback,
        state: &gw.router,
    };
    let route = router::resolve(&input)?;
    let counts = route
        .candidates
        .first()
        .is_some_and(|m| m.provider.kind == ProviderKind::Anthropic);
    if !counts {
        let req = ctx
            .ex
            .request()
            .ok_or_else(|| GatewayError::Internal("no parsed request".into()))?;
        let n = req.estimated_input_tokens();
        ctx.answer.cost = Some(Money::ZERO);
        ctx.decision.route = Some(route);
        return Ok(Count::Estimate(json!({ "input_tokens": n }).to_string().into_bytes()));
    }
    ctx.decision.route = Some(route);
    ctx.decision.composer = Some(Box::new(CountComposer {
        body: Bytes::copy_from_slice(body),
    }));
    Ok(Count::Upstream(Verdict::Continue))
}

/// A count at an Anthropic provider: the client's body, its answer as it is.
struct CountComposer {
    body: Bytes,
}

impl Composer for CountComposer {
    fn render(&self, ctx: &Ctx, model: &Arc<Model>) -> Result<Option<Prepared>, GatewayError> {
        if model.provider.kind != ProviderKind::Anthropic {
            return Err(GatewayError::Unsupported {
                model: model.id.clone(),
                reason: "only an Anthropic provider counts tokens".into(),
            });
        }
        let req = ctx
            .ex
            .request()
            .ok_or_else(|| GatewayError::Internal("no parsed request".into()))?;
        let body = anthropic_passthrough::render_request(&parse_object(&self.body)?, req, model);
        Ok(Some(Prepared {
            path: format!("{}/messages/count_tokens", model.provider.origin.base_path()),
            headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
            body: Bytes::from(body),
            plan: Plan::PassAnthropic,
            lossy: Vec::new(),
        }))
    }

    fn translates_chat(&self) -> bool {
        false
    }

    fn estimated_cost(&self, _ctx: &Ctx) -> Option<Money> {
        Some(Money::ZERO)
    }

    fn compose(&mut self, ctx: &mut Ctx, body: &[u8]) -> Result<Vec<u8>, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
        if v.get("input_tokens").and_then(Value::as_u64).is_none() {
            return Err("response has no input_tokens".into());
        }
        ctx.answer.cost = Some(Money::ZERO);
        Ok(body.to_vec())
    }
}
