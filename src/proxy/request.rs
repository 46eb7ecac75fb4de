//! `request_filter`'s work: which endpoint, the header-stage phases, endpoints the gateway answers
//! itself, then for inference the body, its parse into the canonical request, the request-stage
//! phases and the route. Anything that fails becomes a `GatewayError` answered in the public shape.

use http::Method;
use pingora::proxy::Session;
use switchyard_sdk::{Decision, Endpoint};

use super::ctx::Ctx;
use super::{body, respond};
use crate::api::{codec, Schema};
use crate::error::GatewayError;
use crate::router::{RouteInput, RouterState};
use crate::{admin, router};

/// What `request_filter` should tell Pingora.
pub enum Flow {
    /// Go on to `upstream_peer`.
    Proxy,
    /// The response was written here.
    Answered,
}

fn endpoint(method: &Method, path: &str) -> Result<Endpoint, GatewayError> {
    use Endpoint as E;
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let models_sub = |suffixes: &[&str]| path.starts_with("/v1/models/") && suffixes.iter().any(|s| path.ends_with(s));
    let (ep, post) = match path {
        "/healthz" => (E::Health, false),
        "/v1/models" => (E::Models, false),
        "/v1/chat/completions" => (E::ChatCompletions, true),
        "/v1/responses" => (E::Responses, true),
        "/v1/messages" => (E::Messages, true),
        "/v1/auto/route" => (E::AutoRoute, true),
        "/v1/models/route" => (E::ModelsRoute, true),
        "/v1/images/generations" => (E::Images, true),
        "/v1/auto/feedback" => (E::Feedback, true),
        "/v1/auto/suggest" | "/v1/models/price-comparison" | "/v1/models/recommend" | "/v1/models/query" => {
            (E::Catalog, true)
        }
        "/v1/models/tags"
        | "/v1/models/price-tiers"
        | "/v1/catalog/taxonomy"
        | "/v1/catalog/families"
        | "/v1/model-health" => (E::Catalog, false),
        p if p.starts_with("/v1/catalog/families/") => (E::Catalog, false),
        _ if models_sub(&["/input-schema", "/output-schema"]) => (E::Catalog, false),
        _ if models_sub(&["/validate-input", "/validate-output"]) => (E::Catalog, true),
        p if p.starts_with("/v1/models/") => (E::ModelInfo, false),
        _ => {
            return Err(GatewayError::UnknownEndpoint {
                method: method.to_string(),
                path: path.to_string(),
            })
        }
    };
    let ok = if post {
        *method == Method::POST
    } else {
        *method == Method::GET || *method == Method::HEAD
    };
    if ok {
        Ok(ep)
    } else {
        Err(GatewayError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_string(),
            allowed: if post { "POST" } else { "GET" },
        })
    }
}

/// Anthropic clients opt into beta features by header; an Anthropic provider must see them.
fn schema_forwards_betas(schema: Schema) -> bool {
    schema == Schema::AnthropicMessages
}

#[derive(Clone, Copy)]
enum Stage {
    Headers,
    Request,
}

/// Run every phase of `stage` in registration order; the first refusal wins.
fn run_phases(ctx: &mut Ctx, head: &http::request::Parts, stage: Stage) -> Result<(), GatewayError> {
    for p in ctx.snap.phases.iter() {
        let d = match stage {
            Stage::Headers => p.on_headers(head, &mut ctx.ex),
            Stage::Request => p.on_request(head, &mut ctx.ex),
        };
        if let Decision::Respond(r) = d {
            return Err(r.into());
        }
    }
    Ok(())
}

fn header<'a>(s: &'a Session, name: &str) -> Option<&'a str> {
    s.req_header().headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn handle(s: &mut Session, ctx: &mut Ctx, gw: &super::Gateway) -> Result<Flow, GatewayError> {
    let router: &RouterState = &gw.router;
    let ep = endpoint(&s.req_header().method, s.req_header().uri.path())?;
    ctx.ex.endpoint = ep;
    if let Some(schema) = Schema::for_endpoint(ep) {
        ctx.schema = schema;
    }
    if schema_forwards_betas(ctx.schema) {
        if let Some(v) = s
            .req_header()
            .headers
            .get("anthropic-beta")
            .and_then(|v| v.to_str().ok())
        {
            ctx.forwarded_headers.push(("anthropic-beta", v.to_string()));
        }
    }
    ctx.ex.declared_body_len = body::declared_len(s);
    run_phases(ctx, s.req_header(), Stage::Headers)?;
    match ep {
        Endpoint::Health => {
            let _ = respond::json(
                s,
                ctx,
                200,
                &serde_json::json!({"status": "ok", "config_generation": ctx.snap.generation}),
            )
            .await;
            return Ok(Flow::Answered);
        }
        Endpoint::Models => {
            let list = admin::catalog::models_list(&ctx.snap, ctx.ex.identity.as_ref(), s.req_header().uri.query());
            let _ = respond::json(s, ctx, 200, &list).await;
            return Ok(Flow::Answered);
        }
        Endpoint::ModelInfo => {
            let name = s
                .req_header()
                .uri
                .path()
                .trim_start_matches("/v1/models/")
                .trim_end_matches('/')
                .to_string();
            let one = admin::catalog::model_info_live(&ctx.snap, ctx.ex.identity.as_ref(), &name, router)?;
            let _ = respond::json(s, ctx, 200, &one).await;
            return Ok(Flow::Answered);
        }
        Endpoint::Catalog | Endpoint::Feedback => {
            let body = if s.req_header().method == Method::POST {
                body::read(s, ctx.snap.server.max_body_bytes, ctx.snap.server.client_body_timeout).await?
            } else {
                bytes::Bytes::new()
            };
            let (path, query) = (
                s.req_header().uri.path().trim_end_matches('/').to_string(),
                s.req_header().uri.query().map(str::to_string),
            );
            let call = admin::api::Call {
                path: &path,
                query: query.as_deref(),
                body: &body,
                snap: &ctx.snap,
                identity: ctx.ex.identity.as_ref(),
                router,
                request_id: &ctx.ex.request_id,
            };
            let answer = admin::api::handle(&call)?;
            let _ = respond::json(s, ctx, 200, &answer).await;
            return Ok(Flow::Answered);
        }
        Endpoint::AutoRoute | Endpoint::ModelsRoute | Endpoint::Images => {
            return super::complete::handle(s, ctx, gw).await
        }
        _ => {}
    }
    let bytes = body::read(s, ctx.snap.server.max_body_bytes, ctx.snap.server.client_body_timeout).await?;
    let parsed = codec(ctx.schema).parse(&bytes)?;
    ctx.ex.request = Some(parsed.request);
    ctx.body = bytes;
    run_phases(ctx, s.req_header(), Stage::Request)?;
    ctx.no_fallback = header(s, "x-jt-no-fallback").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let input = RouteInput {
        snap: &ctx.snap,
        ex: &ctx.ex,
        schema: ctx.schema,
        header_mode: header(s, "x-jt-route"),
        no_fallback: ctx.no_fallback,
        state: router,
    };
    ctx.route = Some(router::resolve(&input)?);
    Ok(Flow::Proxy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_methods() {
        assert!(matches!(
            endpoint(&Method::POST, "/v1/chat/completions"),
            Ok(Endpoint::ChatCompletions)
        ));
        assert!(matches!(
            endpoint(&Method::POST, "/v1/chat/completions/"),
            Ok(Endpoint::ChatCompletions)
        ));
        assert!(matches!(endpoint(&Method::HEAD, "/healthz"), Ok(Endpoint::Health)));
        assert_eq!(
            endpoint(&Method::GET, "/v1/chat/completions").unwrap_err().status(),
            405
        );
        assert_eq!(endpoint(&Method::GET, "/v2/nothing").unwrap_err().status(), 404);
    }
}
