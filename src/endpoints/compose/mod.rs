//! Endpoints whose answer the gateway composes around one upstream call: `POST /v1/auto/route`,
//! `POST /v1/models/route` and `POST /v1/images/generations`. They read and check their own body,
//! run the request phases and route like any chat request; the upstream call then goes through the
//! proxy's hooks and its attempt engine like every other (fallback, health, metrics, log), and when
//! the provider's answer is complete a [`Composer`] builds the client's answer around it (the
//! decision, price comparison, timing, context; or the Images API answer). An unusable answer still
//! falls back to the next candidate while the client has no byte of it.
//!
//! - `auto_route`: `/v1/auto/route` (classify, route like `auto` or the model named, answer with the
//!   whole decision) and `/v1/models/route` (explicit filters, see `filters`);
//! - `images`: `/v1/images/generations` (pinned image model or `auto`), also where the two routes
//!   send image tasks;
//! - `input`: the request bodies, merged and checked, errors naming their field;
//! - `report`: the parts of the answer both flows share (price comparison, timing, context).

mod auto_route;
pub mod count_tokens;
mod filters;
mod images;
pub mod input;
pub mod report;

use std::sync::Arc;

use pingora::proxy::Session;
use switchyard_sdk::Money;

use crate::config::Model;
use crate::error::GatewayError;
use crate::phases::{Pipeline, Stage, Verdict};
use crate::proxy::ctx::Ctx;
use crate::proxy::Gateway;
use crate::translate::Prepared;

/// Which composed endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AutoRoute,
    ModelsRoute,
    Images,
}

/// A composed endpoint's part in the upstream call.
pub trait Composer: Send + Sync {
    /// The attempt's upstream request for `model`, when the endpoint renders its own (images);
    /// `None`: the canonical chat request, rendered for the model's provider like any other.
    fn render(&self, _ctx: &Ctx, _model: &Arc<Model>) -> Result<Option<Prepared>, GatewayError> {
        Ok(None)
    }

    /// Whether the provider's answer is a chat completion, translated for an OpenAI chat client
    /// (through the phases watching answers) before [`Composer::compose`] sees it.
    fn translates_chat(&self) -> bool {
        true
    }

    /// The client's answer from the upstream's (translated when [`Composer::translates_chat`]);
    /// usage and cost are in `ctx.answer`. `Err` says why the upstream's answer is unusable.
    fn compose(&mut self, ctx: &mut Ctx, answer: &[u8]) -> Result<Vec<u8>, String>;

    /// The cost the response header carries before the answer is known, when it is not the chat
    /// estimate (an image's price).
    fn estimated_cost(&self, _ctx: &Ctx) -> Option<Money> {
        None
    }
}

/// `request_filter`'s work for a composed endpoint: its body checked, the request phases run, the
/// route and the composer in `ctx`. The upstream call is then the proxy's.
pub fn prepare(kind: Kind, s: &Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Verdict, GatewayError> {
    match kind {
        Kind::AutoRoute => auto_route::auto_route(s, ctx, gw, body),
        Kind::ModelsRoute => auto_route::models_route(s, ctx, gw, body),
        Kind::Images => images::generations(s, ctx, gw, body),
    }
}

/// The request-stage phases on the canonical request in `ctx.ex`, with errors' fields named as the
/// client wrote them (`from_input`: fields that came from `input`).
pub(super) fn request_phases(s: &Session, ctx: &mut Ctx, from_input: &[String]) -> Result<Verdict, GatewayError> {
    crate::proxy::request::header_mode_into_hints(s, &mut ctx.ex);
    let snap = ctx.snap.clone();
    Pipeline::new(&snap.phases)
        .run(Stage::Request, s.req_header(), &mut ctx.ex)
        .map_err(|e| input::remap(e, from_input))
}

pub(super) fn header<'a>(s: &'a Session, name: &str) -> Option<&'a str> {
    s.req_header().headers.get(name).and_then(|v| v.to_str().ok())
}

/// The chain from a ranking, as `auto` orders its chains (spread across providers), at most `limit` long.
pub(super) fn chain(ranked: Vec<crate::router::score::Scored>, limit: usize) -> Vec<Arc<Model>> {
    crate::router::auto::diversify(ranked)
        .into_iter()
        .take(limit)
        .map(|s| s.model)
        .collect()
}
