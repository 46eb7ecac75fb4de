//! Endpoints answered whole: `/v1/auto/route`, `/v1/models/route`, `/v1/images/generations`. (Being
//! written: replaced wholesale.)

use pingora::proxy::Session;

use super::ctx::Ctx;
use super::request::Flow;
use crate::error::GatewayError;
use crate::router::RouterState;

pub async fn handle(s: &mut Session, _ctx: &mut Ctx, _router: &RouterState) -> Result<Flow, GatewayError> {
    Err(GatewayError::UnknownEndpoint {
        method: s.req_header().method.to_string(),
        path: s.req_header().uri.path().to_string(),
    })
}
