//! `POST /v1/auto/route`: the prompt (and conversation) is classified, routed like `model: auto` (or to
//! the model it names), called, and answered with the whole decision: classification, model, reason,
//! price comparison, the model's OpenAI chat completion as `result`, timing and context. Image tasks
//! (`task: image_generation`, an image model named, or a prompt classified as one) go to the images
//! flow. `POST /v1/models/route`: the caller's explicit filters (`filter.task_type`,
//! `filter.capabilities`, `maxCost`, see `filters`) narrow the models `auto` could use, the best
//! remaining one by the mode is called, and the answer has the same shape.

use serde_json::Value;
use switchyard_sdk::ir::ChatRequest;
use switchyard_sdk::Money;

use super::filters::{filtered_route, Filters};
use super::images::{self, ImageAsk};
use super::input::{self, Ask, Object, RouteEndpoint};
use super::report::{self, entries, Entry};
use super::{header, request_phases, Composer};
use crate::api::Schema;
use crate::config::Model;
use crate::error::GatewayError;
use crate::phases::Verdict;
use crate::proxy::ctx::Ctx;
use crate::proxy::response::router_json;
use crate::proxy::Gateway;
use crate::router::auto::rank_models;
use crate::router::classify::{Classification, Task};
use crate::router::{self, RouteInput};
use pingora::proxy::Session;

/// How many scored models the `router` metadata lists (as `auto` does).
pub(super) const SCORED_SHOWN: usize = 5;

pub fn auto_route(s: &Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Verdict, GatewayError> {
    let o = input::object(body)?;
    let ask = input::ask(&o, RouteEndpoint::Auto)?;
    let task = input::task(&o, "task", "task")?;
    let requested = ask
        .chat
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("auto")
        .to_string();
    let auto = input::is_auto(&requested);
    let pinned_image = !auto
        && ctx
            .snap
            .catalog
            .get(&requested)
            .is_some_and(|m| m.has("image_generation"));
    if task == Some(Task::ImageGeneration) || pinned_image {
        let why = if task.is_some() {
            "task given by the request"
        } else {
            "an image model was named"
        };
        let class = serde_json::json!({"task": "image_generation", "confidence": 1.0, "reasons": [why]});
        return image_route(s, ctx, gw, &ask, &requested, Box::new(|_, _| None), class, "auto.route");
    }
    let (mut parsed, body) = input::parse_chat(&ask)?;
    ctx.request.body = body;
    parsed.request.routing.task = task.map(|t| t.as_str().to_string());
    ctx.ex.set_request(parsed.request);
    let mut class = classification(ctx);
    if task.is_none() && auto && class.task == Task::ImageGeneration {
        return image_route(
            s,
            ctx,
            gw,
            &ask,
            &requested,
            Box::new(|_, _| None),
            class.to_json(),
            "auto.route",
        );
    }
    if let Some(t) = task {
        class.task = t;
        class.confidence = 1.0;
        class.reasons = vec!["task given by the request"];
        ctx.ex.set_classification(class.to_sdk());
    }
    chat_flow(s, ctx, gw, &ask.from_input, None, class.to_json(), "auto.route")
}

pub fn models_route(s: &Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Verdict, GatewayError> {
    let o = input::object(body)?;
    let filters = Filters::parse(&o)?;
    let ask = input::ask(&o, RouteEndpoint::Models)?;
    if filters.task == Some(Task::ImageGeneration) {
        let class = serde_json::json!({"task": "image_generation", "confidence": 1.0,
                                       "reasons": ["filter.task_type given by the request"]});
        let filter = Box::new(move |m: &Model, cost: Money| filters.reject(m, cost));
        return image_route(s, ctx, gw, &ask, "auto", filter, class, "models.route");
    }
    let (mut parsed, body) = input::parse_chat(&ask)?;
    ctx.request.body = body;
    parsed.request.routing.task = filters.task.map(|t| t.as_str().to_string());
    ctx.ex.set_request(parsed.request);
    let mut class = classification(ctx);
    if let Some(t) = filters.task {
        class.task = t;
        class.confidence = 1.0;
        class.reasons = vec!["filter.task_type given by the request"];
        ctx.ex.set_classification(class.to_sdk());
    }
    chat_flow(
        s,
        ctx,
        gw,
        &ask.from_input,
        Some(&filters),
        class.to_json(),
        "models.route",
    )
}

/// The request's classification, computed once (the router and the phases share it).
fn classification(ctx: &mut Ctx) -> Classification {
    match ctx.ex.classification() {
        Some(c) => Classification::from_sdk(&c),
        None => Classification::from_sdk(&ctx.snap.classifier.classify(&ChatRequest::default())),
    }
}

/// An image task reached through a route endpoint: the merged body becomes an Images API request.
#[allow(clippy::too_many_arguments)]
fn image_route(
    s: &Session,
    ctx: &mut Ctx,
    gw: &Gateway,
    ask: &Ask,
    model: &str,
    filter: images::Filter,
    classification: Value,
    object: &'static str,
) -> Result<Verdict, GatewayError> {
    let mut io: Object = ask.image.clone();
    io.insert("prompt".into(), Value::String(ask.prompt.clone()));
    io.insert("model".into(), Value::String(model.to_string()));
    for k in [
        "user",
        "budget_dollars",
        "session_id",
        "router_mode",
        "optimization",
        "metadata",
        "fallback",
    ] {
        if let Some(v) = ask.chat.get(k) {
            io.insert(k.into(), v.clone());
        }
    }
    let image_ask = ImageAsk::parse(&io).map_err(|e| input::remap(e, &ask.from_input))?;
    images::prepare(s, ctx, gw, image_ask, filter, classification, Some(object))
}

/// Run the phases on the parsed chat request, route it (`filters` for `/v1/models/route`, else
/// `auto`'s or the named model's route), and leave the answer to a [`RouteComposer`].
fn chat_flow(
    s: &Session,
    ctx: &mut Ctx,
    gw: &Gateway,
    from_input: &[String],
    filters: Option<&Filters>,
    classification: Value,
    object: &'static str,
) -> Result<Verdict, GatewayError> {
    if let v @ Verdict::Answered { .. } = request_phases(s, ctx, from_input)? {
        ctx.decision.composer = Some(Box::new(RouteComposer {
            object,
            classification,
            entries: Some(Vec::new()),
        }));
        return Ok(v);
    }
    let (route, entries) = {
        let Some(req) = ctx.ex.request() else {
            return Err(GatewayError::Internal("route before parse".into()));
        };
        let input = RouteInput {
            snap: &ctx.snap,
            ex: &ctx.ex,
            schema: Schema::OpenAiChat,
            header_mode: header(s, "x-jt-route"),
            no_fallback: ctx.request.no_fallback,
            state: &gw.router,
        };
        match filters {
            None => (router::resolve(&input)?, compared(&input, req)),
            Some(f) => filtered_route(&input, req, f)?,
        }
    };
    ctx.decision.route = Some(route);
    ctx.decision.composer = Some(Box::new(RouteComposer {
        object,
        classification,
        entries: Some(entries),
    }));
    Ok(Verdict::Continue)
}

/// The `/v1/auto/route` and `/v1/models/route` envelope around the model's chat completion.
struct RouteComposer {
    object: &'static str,
    classification: Value,
    entries: Option<Vec<Entry>>,
}

impl Composer for RouteComposer {
    fn compose(&mut self, ctx: &mut Ctx, answer: &[u8]) -> Result<Vec<u8>, String> {
        let mut result: Value = serde_json::from_slice(answer).map_err(|e| format!("unreadable translation: {e}"))?;
        if let Some(o) = result.as_object_mut() {
            o.remove("router");
        }
        let usage = ctx.answer.usage;
        let entries = self.entries.take().unwrap_or_default();
        let comparison = report::comparison(ctx, entries, &|m: &Model| usage.map(|u| m.pricing.cost(&u)));
        let router = router_json(ctx, ctx.answer.cost);
        let v = report::route_answer(
            ctx,
            self.object,
            self.classification.clone(),
            comparison,
            result,
            router,
        );
        serde_json::to_vec(&v).map_err(|e| e.to_string())
    }
}

/// The models `auto` could have used for this request, for the price comparison (none when it could
/// use none, e.g. a pinned model the caller's filters would not route to).
fn compared(input: &RouteInput, req: &ChatRequest) -> Vec<Entry> {
    let ranking = if input::is_auto(&req.model) {
        rank_models(input, req, None)
    } else {
        let mut auto = req.clone();
        auto.model = "auto".into();
        rank_models(input, &auto, None)
    };
    ranking.map(|r| entries(&r.ranked)).unwrap_or_default()
}
