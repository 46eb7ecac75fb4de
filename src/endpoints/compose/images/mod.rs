//! `POST /v1/images/generations`: the OpenAI Images API. `model` pins an image model of the catalog
//! (capability `image_generation`, an OpenAI-schema provider; the built-in simulator plays one for
//! `mock` providers), or `auto` / `auto:<mode>` chooses among the image models by the mode, with the
//! per-image price as the cost term. The request reaches `{base}/images/generations` with the model's
//! upstream name; the answer keeps the provider's fields, with `model` the catalog id, `usage.images`
//! and `usage.cost` (images returned × the catalog's per-image price) and a `router` object. Images
//! come back as the client asked: `url` turns a base64-only image into a `data:` URL.

use std::sync::Arc;

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{json, Map, Value};
use switchyard_sdk::ir::{ChatRequest, Message, Role, RoutingHints, Usage};
use switchyard_sdk::Money;

use crate::config::Model;
use crate::endpoints::compose::input::{self, Object, IMAGE_FIELDS};
use crate::endpoints::compose::report::{self, Entry};
use crate::endpoints::compose::Composer;
use crate::error::GatewayError;
use crate::phases::Verdict;
use crate::proxy::ctx::Ctx;
use crate::proxy::response::router_json;
use crate::proxy::Gateway;
use crate::translate::{Plan, Prepared};
use route::{cannot_draw, route};

pub(super) const TASK: &str = "image_generation";
/// Most images one request may ask for (OpenAI's limit).
mod route;

const MAX_IMAGES: u64 = 10;
/// How many scored models the `router` metadata lists.
pub(super) const SCORED_SHOWN: usize = 5;
/// Switchyard's own fields: read by the gateway, never sent to a provider.
const GATEWAY_FIELDS: &[&str] = &[
    "fallback",
    "budget_dollars",
    "session_id",
    "router_mode",
    "optimization",
    "metadata",
    "stream",
];

/// `n` images at `price` each.
pub fn times(price: Money, n: u64) -> Money {
    Money(price.0.saturating_mul(n))
}

/// One image request, checked.
pub struct ImageAsk {
    /// A catalog id or alias, or `auto` / `auto:<mode>`.
    pub model: String,
    pub prompt: String,
    pub n: u64,
    /// The client asked for URLs.
    pub url: bool,
    pub output_format: Option<String>,
    /// The body for the provider, `model` aside.
    pub forward: Object,
    pub mode: Option<String>,
    pub budget: Option<Money>,
    pub fallback: Vec<String>,
    pub session_id: Option<String>,
    pub metadata: Map<String, Value>,
    pub user: Option<String>,
}

impl ImageAsk {
    /// An Images API body. Fields Switchyard does not know are sent to the provider as they are.
    pub fn parse(o: &Object) -> Result<ImageAsk, GatewayError> {
        input::refuse_stream(o, "stream")?;
        let prompt = match input::opt_str(o, "prompt", "prompt")? {
            Some(p) if !p.trim().is_empty() => p.to_string(),
            Some(_) => return Err(GatewayError::invalid("prompt", "prompt must not be empty")),
            None => {
                return Err(input::missing(
                    "prompt",
                    "prompt is required: the description of the image",
                ))
            }
        };
        let model = input::opt_str(o, "model", "model")?
            .unwrap_or("auto")
            .trim()
            .to_string();
        if model.is_empty() {
            return Err(GatewayError::invalid("model", "model must not be empty"));
        }
        let n = input::opt_int(o, "n", "n", 1, MAX_IMAGES)?.unwrap_or(1);
        let url = match input::opt_str(o, "response_format", "response_format")? {
            None | Some("b64_json") => false,
            Some("url") => true,
            Some(f) => {
                return Err(GatewayError::invalid(
                    "response_format",
                    format!("response_format {f:?} must be url or b64_json"),
                ))
            }
        };
        for k in IMAGE_FIELDS.iter().chain(&["user"]) {
            if *k == "output_compression" {
                input::opt_int(o, k, k, 0, 100)?;
            } else {
                input::opt_str(o, k, k)?;
            }
        }
        let mode = match input::opt_str(o, "router_mode", "router_mode")? {
            Some(m) => Some(m.to_string()),
            None => input::opt_str(o, "optimization", "optimization")?.map(str::to_string),
        };
        let metadata = match o.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(GatewayError::invalid("metadata", "metadata must be an object")),
        };
        let mut forward = o.clone();
        forward.remove("model");
        for k in GATEWAY_FIELDS {
            forward.remove(*k);
        }
        Ok(ImageAsk {
            prompt,
            n,
            url,
            output_format: input::opt_str(o, "output_format", "output_format")?.map(str::to_string),
            mode,
            budget: input::budget(o)?,
            fallback: input::fallback(o)?,
            session_id: input::opt_str(o, "session_id", "session_id")?.map(str::to_string),
            user: input::opt_str(o, "user", "user")?.map(str::to_string),
            metadata,
            forward,
            model,
        })
    }
}

/// The caller's own conditions on a model (and its estimated cost): `Some(why)` leaves it out.
pub type Filter = Box<dyn Fn(&Model, Money) -> Option<String> + Send + Sync>;

/// `POST /v1/images/generations`.
pub fn generations(s: &Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Verdict, GatewayError> {
    let o = input::object(body)?;
    let ask = ImageAsk::parse(&o)?;
    let class = json!({"task": TASK, "confidence": 1.0, "reasons": ["images endpoint"]});
    prepare(s, ctx, gw, ask, Box::new(|_, _| None), class, None)
}

/// Run the phases on an image request, route it among the image models, and leave the upstream call
/// to the proxy with an [`ImageComposer`]. `object`: the route endpoint whose envelope wraps the
/// answer (`None`: the Images API answer itself).
pub fn prepare(
    s: &Session,
    ctx: &mut Ctx,
    gw: &Gateway,
    ask: ImageAsk,
    filter: Filter,
    classification: Value,
    object: Option<&'static str>,
) -> Result<Verdict, GatewayError> {
    // The phases (firewall, rules, limits) see the prompt as a one-message conversation.
    ctx.ex.set_request(ChatRequest {
        model: ask.model.clone(),
        messages: vec![Message::text(Role::User, ask.prompt.clone())],
        user: ask.user.clone(),
        metadata: ask.metadata.clone(),
        routing: RoutingHints {
            fallback: ask.fallback.clone(),
            budget: ask.budget,
            session_id: ask.session_id.clone(),
            mode: ask.mode.clone(),
            task: Some(TASK.into()),
            ..Default::default()
        },
        ..Default::default()
    });
    if let v @ Verdict::Answered { .. } = crate::endpoints::compose::request_phases(s, ctx, &[])? {
        return Ok(v);
    }
    let (route, entries) = route(
        ctx,
        &gw.router,
        &ask,
        crate::endpoints::compose::header(s, "x-jt-route"),
        &*filter,
        classification.clone(),
    )?;
    ctx.decision.route = Some(route);
    ctx.decision.composer = Some(Box::new(ImageComposer {
        ask,
        entries: Some(entries),
        classification,
        object,
    }));
    Ok(Verdict::Continue)
}

/// The `router` object, with the estimate per image rather than per token.
pub fn router(ctx: &Ctx, n: u64) -> Value {
    let mut r = router_json(ctx, ctx.answer.cost);
    if let Some(m) = ctx.current_model() {
        r["cost"]["estimated_dollars"] = json!(m.pricing.image.map(|p| times(p, n).as_dollars_f64()));
    }
    r
}

/// One image request to an OpenAI-schema provider, and its answer: the provider's fields, with
/// `model` the catalog id, `usage.images` and `usage.cost`, and a `router` object (inside the route
/// endpoints' envelope when one asked).
struct ImageComposer {
    ask: ImageAsk,
    entries: Option<Vec<Entry>>,
    classification: Value,
    object: Option<&'static str>,
}

fn media_type(format: Option<&str>) -> &'static str {
    match format {
        Some("jpeg" | "jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => "image/png",
    }
}

impl Composer for ImageComposer {
    fn render(&self, _ctx: &Ctx, model: &Arc<Model>) -> Result<Option<Prepared>, GatewayError> {
        if let Some(reason) = cannot_draw(model) {
            return Err(GatewayError::Unsupported {
                model: model.id.clone(),
                reason,
            });
        }
        let mut body = Map::new();
        body.insert("model".into(), Value::String(model.upstream_model.clone()));
        for (k, v) in &self.ask.forward {
            body.insert(k.clone(), v.clone());
        }
        let mut lossy = Vec::new();
        for f in &model.quirks.drop_fields {
            if body.remove(f).is_some() {
                lossy.push(format!("{f}: not supported by {}", model.id));
            }
        }
        let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| GatewayError::Internal(e.to_string()))?;
        Ok(Some(Prepared {
            path: format!("{}/images/generations", model.provider.origin.base_path()),
            headers: Vec::new(),
            body: Bytes::from(bytes),
            // Errors come back in OpenAI's shape.
            plan: Plan::PassOpenAi,
            lossy,
        }))
    }

    fn translates_chat(&self) -> bool {
        false
    }

    fn estimated_cost(&self, ctx: &Ctx) -> Option<Money> {
        ctx.current_model()?.pricing.image.map(|p| times(p, self.ask.n))
    }

    fn compose(&mut self, ctx: &mut Ctx, body: &[u8]) -> Result<Vec<u8>, String> {
        let Some(model) = ctx.current_model().cloned() else {
            return Err("no attempt".into());
        };
        let mut v: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| format!("response is not a JSON object: {e}"))?;
        let media = media_type(self.ask.output_format.as_deref());
        let data = v
            .get_mut("data")
            .and_then(Value::as_array_mut)
            .ok_or("response has no `data` list")?;
        if data.is_empty() {
            return Err("response holds no image".into());
        }
        for item in data.iter_mut() {
            let o = item.as_object_mut().ok_or("an image is not an object")?;
            let url = o.get("url").and_then(Value::as_str).is_some();
            let b64 = o.get("b64_json").and_then(Value::as_str).map(str::to_string);
            match (url, b64) {
                (false, None) => return Err("an image has neither url nor b64_json".into()),
                (false, Some(b)) if self.ask.url => {
                    o.remove("b64_json");
                    o.insert("url".into(), Value::String(format!("data:{media};base64,{b}")));
                }
                _ => {}
            }
        }
        let count = data.len() as u64;
        let cost = model.pricing.image.map(|p| times(p, count));
        let upstream_usage = v.get("usage").and_then(Value::as_object).cloned();
        let n = |u: &Map<String, Value>, k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        ctx.answer.usage = upstream_usage.as_ref().map(|u| Usage {
            input_tokens: n(u, "input_tokens"),
            output_tokens: n(u, "output_tokens"),
            ..Default::default()
        });
        ctx.answer.cost = cost;
        let mut usage = upstream_usage.unwrap_or_default();
        usage.insert("images".into(), json!(count));
        usage.insert("cost".into(), json!(cost.map(Money::as_dollars_f64)));
        v.insert("usage".into(), Value::Object(usage));
        v.insert("model".into(), Value::String(model.id.clone()));
        let mut response = Value::Object(v);
        let router = router(ctx, self.ask.n);
        let out = match self.object {
            None => {
                if let Some(r) = response.as_object_mut() {
                    r.insert("router".into(), router);
                }
                response
            }
            Some(object) => {
                let entries = self.entries.take().unwrap_or_default();
                let comparison =
                    report::comparison(ctx, entries, &|m: &Model| m.pricing.image.map(|p| times(p, count)));
                report::route_answer(ctx, object, self.classification.clone(), comparison, response, router)
            }
        };
        serde_json::to_vec(&out).map_err(|e| e.to_string())
    }
}
