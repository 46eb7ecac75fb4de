//! `request_filter`'s work: the route (from the one route table), the header-stage phases, then per
//! handler: answered here (health, local endpoints), or read the body, parse it into the canonical
//! request, run the request-stage phases and route it (chat endpoints; composed endpoints through
//! their own body reader). A phase may answer instead of the upstream. Anything that fails becomes a
//! `GatewayError` answered in the public shape.

use http::Method;
use pingora::proxy::Session;

use super::ctx::Ctx;
use super::idempotency::{self, Begin};
use super::{answered, body, respond};
use crate::api::{codec, Schema};
use crate::config::routing::ContentMode;
use crate::endpoints::{self, compose, Call, Handler, Listener, Reply};
use crate::error::GatewayError;
use crate::phases::{Pipeline, Stage, Verdict};
use crate::router::{self, RouteInput};

/// What `request_filter` should tell Pingora.
pub enum Flow {
    /// Go on to `upstream_peer`.
    Proxy,
    /// The response was written here.
    Answered,
}

fn header<'a>(s: &'a Session, name: &str) -> Option<&'a str> {
    s.req_header().headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Upgrade: websocket` (any case, possibly among other protocols).
fn is_websocket_upgrade(s: &Session) -> bool {
    header(s, "upgrade").is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

fn client_schema_name(schema: Schema) -> &'static str {
    match schema {
        Schema::OpenAiChat => "chat",
        Schema::OpenAiResponses => "responses",
        Schema::AnthropicMessages => "messages",
    }
}

pub async fn handle(s: &mut Session, ctx: &mut Ctx, gw: &super::Gateway) -> Result<Flow, GatewayError> {
    if is_websocket_upgrade(s) {
        let path = endpoints::normalize(s.req_header().uri.path()).to_string();
        // Counted under the endpoint the client meant (POST is the HTTP form of every upgrade we see).
        ctx.ex.endpoint = endpoints::find(Listener::Client, &Method::POST, &path)
            .or_else(|_| endpoints::find(Listener::Client, &Method::GET, &path))
            .map_or(switchyard_sdk::Endpoint::Unknown, |r| r.endpoint);
        return Err(GatewayError::WebSocketNotSupported { path });
    }
    let route = match endpoints::find(Listener::Client, &s.req_header().method, s.req_header().uri.path()) {
        Ok(r) => r,
        Err(e) => {
            if let GatewayError::MethodNotAllowed { path, .. } = &e {
                // A known path: count it under its endpoint.
                if let Ok(r) = endpoints::find(Listener::Client, &Method::POST, path)
                    .or_else(|_| endpoints::find(Listener::Client, &Method::GET, path))
                {
                    ctx.ex.endpoint = r.endpoint;
                }
            }
            return Err(e);
        }
    };
    ctx.ex.endpoint = route.endpoint;
    if let Handler::Chat(schema) = route.handler {
        ctx.request.schema = schema;
        ctx.ex.client_schema = client_schema_name(schema);
        if schema == Schema::AnthropicMessages {
            // Anthropic clients opt into beta features by header; an Anthropic provider must see them.
            if let Some(v) = header(s, "anthropic-beta") {
                ctx.request.forwarded_headers.push(("anthropic-beta", v.to_string()));
            }
        }
    }
    ctx.ex.declared_body_len = body::declared_len(s);
    ctx.ex.client_ip = s.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip());
    ctx.request.no_fallback = header(s, "x-jt-no-fallback").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let snap = ctx.snap.clone();
    let pipeline = Pipeline::new(&snap.phases);
    if let Verdict::Answered { phase, answer } = pipeline.run(Stage::Headers, s.req_header(), &mut ctx.ex)? {
        answered::write(s, ctx, phase, *answer).await?;
        return Ok(Flow::Answered);
    }
    if ctx.ex.endpoint.is_inference() {
        ctx.request.byok = super::byok::ProviderKeys::read(&s.req_header().headers, &snap);
        super::byok::check_scope(&ctx.request.byok, &ctx.ex)?;
        ctx.ex.byok_providers = ctx.request.byok.providers();
    }
    let limits = body::Limits {
        max_bytes: snap.server.max_body_bytes,
        timeout: snap.server.client_body_timeout,
        max_in_flight: snap.server.max_body_bytes_in_flight,
    };
    match route.handler {
        Handler::Health => {
            let v = serde_json::json!({"status": "ok", "config_generation": snap.generation});
            let _ = respond::json(s, ctx, 200, &v).await;
            Ok(Flow::Answered)
        }
        Handler::Local(_) | Handler::Async(_) => {
            let method = s.req_header().method.clone();
            let body = if method == Method::POST || method == Method::PUT {
                body::read_whole(s, limits, &mut ctx.request.body_budget).await?
            } else {
                bytes::Bytes::new()
            };
            let path = endpoints::normalize(s.req_header().uri.path()).to_string();
            let query = s.req_header().uri.query().map(str::to_string);
            let headers = s.req_header().headers.clone();
            let call = Call {
                head: s.req_header(),
                path: &path,
                query: query.as_deref(),
                body: &body,
                snap: &snap,
                identity: ctx.ex.identity.as_ref(),
                router: &gw.router,
                request_id: &ctx.ex.request_id,
                method: &method,
                headers: &headers,
                store: gw.store.as_ref(),
            };
            let reply = match route.handler {
                Handler::Local(f) => Reply::Json(200, f(&call)?),
                Handler::Async(f) => f(&call).await?,
                _ => return Err(GatewayError::Internal("not a local handler".into())),
            };
            match reply {
                Reply::Json(status, v) => {
                    let _ = respond::json(s, ctx, status, &v).await;
                }
                Reply::Body {
                    status,
                    content_type,
                    body,
                    headers,
                } => {
                    let _ = respond::send(s, ctx, status, content_type, bytes::Bytes::from(body), &headers).await;
                }
            }
            Ok(Flow::Answered)
        }
        Handler::Compose(kind) => {
            let bytes = body::read(s, limits, &mut ctx.request.body_budget).await?;
            if replayed(s, ctx, gw, &bytes).await? {
                return Ok(Flow::Answered);
            }
            let verdict = compose::prepare(kind, s, ctx, gw, &bytes)?;
            proceed(s, ctx, gw, &pipeline, verdict).await
        }
        Handler::CountTokens => {
            let bytes = body::read(s, limits, &mut ctx.request.body_budget).await?;
            match compose::count_tokens::prepare(s, ctx, gw, &bytes)? {
                compose::count_tokens::Count::Upstream(verdict) => proceed(s, ctx, gw, &pipeline, verdict).await,
                compose::count_tokens::Count::Estimate(body) => {
                    let headers = [("x-jt-token-count", "estimate".to_string())];
                    let _ = respond::send(s, ctx, 200, "application/json", bytes::Bytes::from(body), &headers).await;
                    Ok(Flow::Answered)
                }
            }
        }
        Handler::Chat(schema) => {
            let bytes = body::read(s, limits, &mut ctx.request.body_budget).await?;
            if replayed(s, ctx, gw, &bytes).await? {
                return Ok(Flow::Answered);
            }
            let parsed = codec(schema).parse(&bytes)?;
            ctx.ex.set_request(parsed.request);
            ctx.request.body = bytes;
            header_mode_into_hints(s, &mut ctx.ex);
            let verdict = pipeline.run(Stage::Request, s.req_header(), &mut ctx.ex)?;
            if let Verdict::Continue = verdict {
                let input = RouteInput {
                    snap: &snap,
                    ex: &ctx.ex,
                    schema,
                    header_mode: header(s, "x-jt-route"),
                    no_fallback: ctx.request.no_fallback,
                    state: &gw.router,
                };
                let route = router::resolve(&input)?;
                builtin_tools_allowed(&snap, &ctx.ex, schema, &route)?;
                ctx.decision.route = Some(route);
            }
            proceed(s, ctx, gw, &pipeline, verdict).await
        }
        Handler::Metrics | Handler::Reload => {
            Err(GatewayError::Internal("an admin route on the client listener".into()))
        }
    }
}

/// A request carrying built-in tools (`web_search`, ...) routed to a provider that does not run them
/// (anything but a Responses pass-through) is refused when its route (`routing.builtin_tools`, or
/// the matching policy's) says `reject`; by default they are dropped and named
/// (`translate::dropped_builtin_tools`).
fn builtin_tools_allowed(
    snap: &crate::config::Snapshot,
    ex: &switchyard_sdk::Exchange,
    schema: Schema,
    route: &router::Route,
) -> Result<(), GatewayError> {
    let Some(req) = ex.request() else { return Ok(()) };
    let runs = route
        .candidates
        .first()
        .is_some_and(|m| crate::translate::passes_responses(schema, m));
    if runs {
        return Ok(());
    }
    let Some(kind) = crate::translate::dropped_builtin_tools(req, None).next() else {
        return Ok(());
    };
    let id = ex.identity.as_ref();
    let policy = snap.routing.policy_for(
        id.map(|i| &*i.key_name),
        id.map(|i| &*i.workspace),
        &req.model,
        &req.metadata,
    );
    let rule = policy
        .and_then(|p| p.builtin_tools)
        .unwrap_or(snap.routing.builtin_tools);
    if rule == crate::config::routing::BuiltinTools::Reject {
        return Err(GatewayError::InvalidRequest {
            code: "unsupported_tool",
            message: format!(
                "built-in tool {kind:?} runs only at a provider that offers it, and this route rejects \
                 built-in tools (routing.builtin_tools: reject); remove it or declare a function tool"
            ),
            param: Some("tools".into()),
        });
    }
    Ok(())
}

/// The `x-jt-route` header (which wins over body fields) becomes the request's mode hint before the
/// phases run, so that a rule may still override it; `auto:<mode>` in `model` gives way to it.
pub fn header_mode_into_hints(s: &Session, ex: &mut switchyard_sdk::Exchange) {
    let Some(h) = header(s, "x-jt-route").map(str::trim).filter(|h| !h.is_empty()) else {
        return;
    };
    let h = h.to_string();
    if let Some((model, hints)) = ex.routing_mut() {
        hints.mode = Some(h);
        if model.starts_with("auto:") {
            *model = "auto".to_string();
        }
    }
}

/// A request with an `Idempotency-Key`: a repeat is answered here with the first answer (after
/// waiting for it if it is still running); a first request goes on holding the key. `true`: answered.
async fn replayed(s: &mut Session, ctx: &mut Ctx, gw: &super::Gateway, body: &[u8]) -> Result<bool, GatewayError> {
    let Some(v) = header(s, "idempotency-key") else {
        return Ok(false);
    };
    let key = idempotency::key_of(v)?;
    let ws = ctx.ex.identity.as_ref().map_or("", |i| &*i.workspace).to_string();
    let head = s.req_header();
    let fp = idempotency::fingerprint(head.method.as_str(), endpoints::normalize(head.uri.path()), body);
    match gw.idempotency.begin(&ws, key, fp).await? {
        Begin::Fresh(claim) => {
            ctx.decision.idempotency = Some(claim);
            Ok(false)
        }
        Begin::Replay(kept) => {
            ctx.decision.answered_by = Some("idempotency");
            ctx.answer.cost = Some(switchyard_sdk::Money::ZERO);
            let ctype = kept
                .headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map_or("application/json", |(_, v)| v.as_str())
                .to_string();
            let mut extra: Vec<(&str, String)> = kept
                .headers
                .iter()
                .filter(|(k, _)| k != "content-type")
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            extra.push(("idempotent-replayed", "true".into()));
            let body = bytes::Bytes::from(kept.body.clone());
            let _ = respond::send(s, ctx, kept.status, &ctype, body, &extra).await;
            Ok(true)
        }
    }
}

/// After the request stage: a phase's answer is written now; otherwise the phases that check the
/// chosen route run (a wallet's balance), the phases watching the answer are noted, and the request
/// goes upstream.
async fn proceed(
    s: &mut Session,
    ctx: &mut Ctx,
    gw: &super::Gateway,
    pipeline: &Pipeline<'_>,
    verdict: Verdict,
) -> Result<Flow, GatewayError> {
    let verdict = match verdict {
        Verdict::Continue => routed(s, ctx, pipeline)?,
        answered => answered,
    };
    match verdict {
        Verdict::Answered { phase, answer } => {
            answered::write(s, ctx, phase, *answer).await?;
            Ok(Flow::Answered)
        }
        Verdict::Continue => {
            ctx.decision.hooks = pipeline.watch(&ctx.ex);
            if gw.router.content_mode(&ctx.snap, ctx.ex.identity.as_ref()) == ContentMode::Full {
                // The request log keeps this workspace's answers: the core assembles them.
                ctx.decision.hooks.collect_too();
            }
            Ok(Flow::Proxy)
        }
    }
}

/// The route is chosen: tell the phases (`ex.routed`) and run their routed stage.
fn routed(s: &Session, ctx: &mut Ctx, pipeline: &Pipeline<'_>) -> Result<Verdict, GatewayError> {
    let Some(route) = ctx.decision.route.as_ref() else {
        return Ok(Verdict::Continue);
    };
    let Some(first) = route.candidates.first() else {
        return Ok(Verdict::Continue);
    };
    // The most any candidate of the chain is estimated at: a fallback to a dearer model stays covered.
    let chain_max = ctx
        .ex
        .request()
        .and_then(|r| route.candidates.iter().map(|m| router::estimate_cost(m, r)).max())
        .unwrap_or(route.estimated_cost)
        .max(route.estimated_cost);
    let estimated_cost = ctx
        .decision
        .composer
        .as_ref()
        .and_then(|c| c.estimated_cost(ctx))
        .unwrap_or(chain_max);
    let max_cost = ctx
        .decision
        .composer
        .as_ref()
        .and_then(|c| c.estimated_cost(ctx))
        .or_else(|| {
            let r = ctx.ex.request()?;
            route.candidates.iter().map(|m| router::max_cost(m, r)).max()
        })
        .unwrap_or(estimated_cost)
        .max(estimated_cost);
    ctx.ex.byok = ctx.ex.byok_providers.contains(&first.provider.name);
    if ctx.ex.byok {
        ctx.ex.response_headers.push(("x-jt-billing", "byok".to_string()));
    }
    ctx.ex.routed = Some(switchyard_sdk::Routed {
        model: first.id.clone(),
        provider: first.provider.name.clone(),
        candidates: route.candidates.len(),
        estimated_cost,
        max_cost,
        policy: route.policy.clone(),
    });
    pipeline.run(Stage::Routed, s.req_header(), &mut ctx.ex)
}
