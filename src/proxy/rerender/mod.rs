//! An attempt's upstream request for a chat endpoint, with the phases' edits in it. A same-schema
//! provider gets the client's own body with only `model` changed (the fast path: nothing the client
//! sent is lost, fields the gateway does not model included). When a phase edited the canonical
//! request (masked text, for instance), that body would carry the unedited text, so the parts a phase
//! can edit (`messages`, `system`, `tools`) are rendered again from the canonical request by the
//! provider's adapter and put in place of the client's; every other field still passes as it came.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::value::RawValue;

use super::ctx::Ctx;
use crate::api::Schema;
use crate::config::Model;
use crate::error::GatewayError;
use crate::providers;
use crate::translate::{self, Plan, Prepared};
use crate::wire::json::parse_object;
use switchyard_sdk::Exchange;

/// The fields of a chat body that carry text a phase may have edited.
const EDITABLE: &[&str] = &["messages", "system", "tools"];
/// Likewise in a Responses body: the conversation is rendered again as `input` (its system text
/// included), so `instructions` goes; tools keep the client's own forms.
const EDITABLE_RESPONSES: &[&str] = &["input", "instructions"];

/// The current attempt's request for `model`.
pub fn prepare(ctx: &Ctx, model: &Arc<Model>) -> Result<Prepared, GatewayError> {
    prepare_watched(
        ctx.request.schema,
        &ctx.ex,
        &ctx.request.body,
        model,
        !ctx.decision.hooks.is_empty(),
    )
}

/// The request in `ex` (the client's `body` in `schema`) as `model`'s provider would receive it.
pub fn prepare_for(schema: Schema, ex: &Exchange, body: &[u8], model: &Arc<Model>) -> Result<Prepared, GatewayError> {
    prepare_watched(schema, ex, body, model, false)
}

/// Like [`prepare_for`]; `watched`: a phase reads the answer in canonical terms, so a Responses body
/// is translated rather than passed through (the answer must be parsed by a provider adapter). An
/// edited Responses body passes with its conversation rendered again from the canonical request.
fn prepare_watched(
    schema: Schema,
    ex: &Exchange,
    body: &[u8],
    model: &Arc<Model>,
    watched: bool,
) -> Result<Prepared, GatewayError> {
    let req = ex
        .request()
        .ok_or_else(|| GatewayError::Internal("no parsed request".into()))?;
    let mut p = translate::prepare_with(schema, model, req, body, !watched)?;
    if ex.request_modified() && matches!(p.plan, Plan::PassResponses) {
        use crate::api::openai_responses::input;
        let rendered = input::render(req, input::declared_tools(body));
        p.body = splice(&p.body, &rendered, EDITABLE_RESPONSES)?;
        return Ok(p);
    }
    if ex.request_modified() && matches!(p.plan, Plan::PassOpenAi | Plan::PassAnthropic) {
        let adapter = providers::adapter(model.provider.kind);
        let unsupported = |reason: String| GatewayError::Unsupported {
            model: model.id.clone(),
            reason: format!("a phase edited the request, and it cannot be rendered again: {reason}"),
        };
        let rendered = adapter.render(req, model).map_err(|e| unsupported(e.to_string()))?;
        p.body = splice(&p.body, &rendered.body, EDITABLE)?;
    }
    Ok(p)
}

/// `body` with its editable fields taken from `rendered` (a field `rendered` lacks is dropped: the
/// edit removed it).
fn splice(body: &[u8], rendered: &[u8], editable: &[&str]) -> Result<Bytes, GatewayError> {
    let fresh = parse_object(rendered)?;
    let take = |k: &str| -> Option<&RawValue> { fresh.iter().find(|(f, _)| f == k).map(|(_, v)| &**v) };
    let mut out = Vec::with_capacity(body.len() + rendered.len() / 4);
    out.push(b'{');
    let mut first = true;
    let mut put = |out: &mut Vec<u8>, k: &str, v: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        crate::wire::json_out::write_str(out, k);
        out.push(b':');
        out.extend_from_slice(v.as_bytes());
    };
    for (k, v) in parse_object(body)? {
        if editable.contains(&k.as_str()) {
            if let Some(new) = take(&k) {
                put(&mut out, &k, new.get());
            }
        } else {
            put(&mut out, &k, v.get());
        }
    }
    out.push(b'}');
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests;
