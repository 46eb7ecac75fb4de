//! Endpoints answered whole: `POST /v1/auto/route`, `POST /v1/models/route` and
//! `POST /v1/images/generations`. The gateway makes the upstream call itself (`call`, with Pingora's
//! HTTP client, pooled connections and the same fallback rules as the proxy path), so the whole answer
//! is known before the client gets a byte: the response carries the actual cost in `x-jt-cost-usd`
//! (`x-jt-cost-basis: actual`) and an exact `Content-Length`, and an unusable answer can still fall
//! back to the next candidate. Attempts, usage, cost and status are kept in the context exactly as the
//! proxy path keeps them, so health, metrics and the access log see these requests the same way.
//!
//! - `chat`: `/v1/auto/route` (classify, route, call, answer with the whole decision) and
//!   `/v1/models/route` (explicit filters, then the best remaining model by the mode);
//! - `images`: `/v1/images/generations` (pinned image model or `auto`), also where the two routes send
//!   image tasks;
//! - `input`: the request bodies, merged and checked, errors naming their field;
//! - `report`: the parts of the answer both flows share (price comparison, timing, context, headers).

mod call;
mod chat;
mod images;
mod input;
mod report;


use bytes::Bytes;
use pingora::proxy::Session;
use switchyard_sdk::{Decision, Endpoint};

use super::ctx::Ctx;
use super::request::Flow;
use super::Gateway;
use crate::error::GatewayError;

pub async fn handle(s: &mut Session, ctx: &mut Ctx, gw: &Gateway) -> Result<Flow, GatewayError> {
    let body = super::body::read_whole(s, ctx.snap.server.max_body_bytes, ctx.snap.server.client_body_timeout).await?;
    ctx.no_fallback = header(s, "x-jt-no-fallback").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let answer = match ctx.ex.endpoint {
        Endpoint::AutoRoute => chat::auto_route(s, ctx, gw, &body).await?,
        Endpoint::ModelsRoute => chat::models_route(s, ctx, gw, &body).await?,
        _ => images::generations(s, ctx, gw, &body).await?,
    };
    let extra = report::headers(ctx);
    let _ = super::respond::send(s, ctx, 200, "application/json", Bytes::from(answer.to_string()), &extra).await;
    Ok(Flow::Answered)
}

fn header<'a>(s: &'a Session, name: &str) -> Option<&'a str> {
    s.req_header().headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request-stage phases (validation, limits, plugins) on the canonical request in `ctx.ex`.
fn request_phases(s: &Session, ctx: &mut Ctx) -> Result<(), GatewayError> {
    for p in ctx.snap.phases.iter() {
        if let Decision::Respond(r) = p.on_request(s.req_header(), &mut ctx.ex) {
            return Err(r.into());
        }
    }
    Ok(())
}

/// The chain from a ranking, as `auto` orders its chains (spread across providers), at most `limit` long.
fn chain(ranked: Vec<crate::router::score::Scored>, limit: usize) -> Vec<std::sync::Arc<crate::config::Model>> {
    crate::router::auto::diversify(ranked)
        .into_iter()
        .take(limit)
        .map(|s| s.model)
        .collect()
}
