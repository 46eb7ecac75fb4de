//! `POST /v1/auto/route`: the prompt (and conversation) is classified, routed like `model: auto` (or to
//! the model it names), called, and answered with the whole decision: classification, model, reason,
//! price comparison, the model's OpenAI chat completion as `result`, timing and context. Image tasks
//! (`task: image_generation`, an image model named, or a prompt classified as one) go to the images
//! flow. `POST /v1/models/route`: the caller's explicit filters (`filter.task_type`,
//! `filter.capabilities`, `maxCost`) narrow the models `auto` could use, the best remaining one by the
//! mode is called, and the answer has the same shape.

use std::sync::Arc;

use serde_json::{Map, Value};
use switchyard_sdk::ir::{ChatRequest, Usage};
use switchyard_sdk::Money;

use super::super::ctx::Ctx;
use super::super::response::router_json;
use super::super::Gateway;
use super::call::{self, Job, Outgoing};
use super::images::{self, ImageAsk};
use super::input::{self, Ask, Object, RouteEndpoint};
use super::report::{self, Entry};
use crate::api::{ParsedRequest, Schema};
use crate::config::{Model, CAPABILITIES, PRICE_TIERS};
use crate::error::GatewayError;
use crate::router::auto::rank_models;
use crate::router::classify::Task;
use crate::router::score::{self, deciding_term, scored_json, Candidate};
use crate::router::{self, Route, RouteInput, DEFAULT_OUTPUT_ESTIMATE};
use crate::translate;
use crate::wire::Finalizer;
use pingora::proxy::Session;

/// How many scored models the `router` metadata lists (as `auto` does).
const SCORED_SHOWN: usize = 5;

pub async fn auto_route(s: &mut Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Value, GatewayError> {
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
        return image_route(s, ctx, gw, &ask, &requested, &|_, _| None, class, "auto.route").await;
    }
    let (mut parsed, body) = input::parse_chat(&ask)?;
    ctx.body = body;
    parsed.request.routing.task = task.map(|t| t.as_str().to_string());
    let mut class = ctx.snap.routing.classifier.classify_request(&parsed.request);
    if task.is_none() && auto && class.task == Task::ImageGeneration {
        return image_route(s, ctx, gw, &ask, &requested, &|_, _| None, class.to_json(), "auto.route").await;
    }
    if let Some(t) = task {
        class.task = t;
        class.confidence = 1.0;
        class.reasons = vec!["task given by the request"];
    }
    chat_flow(s, ctx, gw, parsed, &ask.from_input, None, class.to_json(), "auto.route").await
}

pub async fn models_route(s: &mut Session, ctx: &mut Ctx, gw: &Gateway, body: &[u8]) -> Result<Value, GatewayError> {
    let o = input::object(body)?;
    let filters = Filters::parse(&o)?;
    let ask = input::ask(&o, RouteEndpoint::Models)?;
    if filters.task == Some(Task::ImageGeneration) {
        let class = serde_json::json!({"task": "image_generation", "confidence": 1.0,
                                       "reasons": ["filter.task_type given by the request"]});
        let filter = |m: &Model, cost: Money| filters.reject(m, cost);
        return image_route(s, ctx, gw, &ask, "auto", &filter, class, "models.route").await;
    }
    let (mut parsed, body) = input::parse_chat(&ask)?;
    ctx.body = body;
    parsed.request.routing.task = filters.task.map(|t| t.as_str().to_string());
    let mut class = ctx.snap.routing.classifier.classify_request(&parsed.request);
    if let Some(t) = filters.task {
        class.task = t;
        class.confidence = 1.0;
        class.reasons = vec!["filter.task_type given by the request"];
    }
    chat_flow(
        s,
        ctx,
        gw,
        parsed,
        &ask.from_input,
        Some(&filters),
        class.to_json(),
        "models.route",
    )
    .await
}

/// An image task reached through a route endpoint: the merged body becomes an Images API request.
#[allow(clippy::too_many_arguments)]
async fn image_route(
    s: &mut Session,
    ctx: &mut Ctx,
    gw: &Gateway,
    ask: &Ask,
    model: &str,
    filter: &(dyn Fn(&Model, Money) -> Option<String> + Sync),
    classification: Value,
    object: &str,
) -> Result<Value, GatewayError> {
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
    let n = image_ask.n;
    let done = images::run(s, ctx, gw, image_ask, filter, classification.clone()).await?;
    let count = done.images;
    let comparison = report::comparison(ctx, done.entries, &|m: &Model| {
        m.pricing.image.map(|p| images::times(p, count))
    });
    let router = images::router(ctx, n);
    Ok(report::route_answer(
        ctx,
        object,
        classification,
        comparison,
        done.response,
        router,
    ))
}

/// Route, call and answer a chat request: `filters` for `/v1/models/route`, else `auto`'s (or the
/// named model's) route.
#[allow(clippy::too_many_arguments)]
async fn chat_flow(
    s: &mut Session,
    ctx: &mut Ctx,
    gw: &Gateway,
    parsed: ParsedRequest,
    from_input: &[String],
    filters: Option<&Filters>,
    classification: Value,
    object: &str,
) -> Result<Value, GatewayError> {
    ctx.ex.request = Some(parsed.request);
    super::request_phases(s, ctx).map_err(|e| input::remap(e, from_input))?;
    let (route, entries) = {
        let Some(req) = ctx.ex.request.as_ref() else {
            return Err(GatewayError::Internal("route before parse".into()));
        };
        let input = RouteInput {
            snap: &ctx.snap,
            ex: &ctx.ex,
            schema: Schema::OpenAiChat,
            header_mode: super::header(s, "x-jt-route"),
            no_fallback: ctx.no_fallback,
            state: &gw.router,
        };
        match filters {
            None => (router::resolve(&input)?, compared(&input, req)),
            Some(f) => filtered_route(&input, req, f)?,
        }
    };
    ctx.route = Some(route);
    let result = call::run(ctx, gw, &mut ChatJob).await?;
    let usage = ctx.usage;
    let comparison = report::comparison(ctx, entries, &|m: &Model| usage.map(|u| m.pricing.cost(&u)));
    let router = router_json(ctx, ctx.cost);
    Ok(report::route_answer(ctx, object, classification, comparison, result, router))
}

fn entries(ranked: &[score::Scored]) -> Vec<Entry> {
    ranked
        .iter()
        .map(|s| Entry {
            model: s.model.clone(),
            estimate: s.cost,
            quality: s.terms.quality,
        })
        .collect()
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

/// `maxCost`: a price tier (the tier and the cheaper ones) or a dollar amount (the request's estimated
/// cost on the model).
#[derive(Debug, Clone, PartialEq)]
enum MaxCost {
    Tier(usize),
    Dollars(Money),
}

/// `/v1/models/route`'s explicit filters.
#[derive(Debug, Default)]
pub struct Filters {
    task: Option<Task>,
    capabilities: Vec<String>,
    max_cost: Option<MaxCost>,
}

fn tier_index(t: &str) -> Option<usize> {
    PRICE_TIERS.iter().position(|x| *x == t)
}

impl Filters {
    fn parse(o: &Object) -> Result<Filters, GatewayError> {
        let f = match o.get("filter") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(f)) => f.clone(),
            Some(_) => {
                return Err(GatewayError::InvalidRequest {
                    code: "invalid_type",
                    message: "filter must be an object: {task_type?, capabilities?}".into(),
                    param: Some("filter".into()),
                })
            }
        };
        if let Some(k) = f.keys().find(|k| *k != "task_type" && *k != "capabilities") {
            return Err(GatewayError::invalid(
                format!("filter.{k}"),
                format!("unknown filter {k:?}; filters are task_type and capabilities"),
            ));
        }
        let task = input::task(&f, "task_type", "filter.task_type")?;
        let capabilities: Vec<String> = match f.get("capabilities") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    GatewayError::invalid("filter.capabilities", "filter.capabilities must be a list of names")
                })?,
            Some(_) => {
                return Err(GatewayError::invalid(
                    "filter.capabilities",
                    "filter.capabilities must be a list of names",
                ))
            }
        };
        if let Some(c) = capabilities.iter().find(|c| !CAPABILITIES.contains(&c.as_str())) {
            return Err(GatewayError::invalid(
                "filter.capabilities",
                format!("unknown capability {c:?}; known: {}", CAPABILITIES.join(", ")),
            ));
        }
        let bad_cost = || {
            GatewayError::invalid(
                "maxCost",
                format!(
                    "maxCost is a price tier ({}) or a non-negative amount of dollars",
                    PRICE_TIERS.join(", ")
                ),
            )
        };
        let max_cost = match o.get("maxCost") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => {
                let t = t.trim().to_ascii_lowercase();
                match tier_index(&t) {
                    Some(i) => Some(MaxCost::Tier(i)),
                    None => Some(MaxCost::Dollars(
                        t.trim_start_matches('$')
                            .parse::<f64>()
                            .ok()
                            .and_then(Money::from_dollars)
                            .ok_or_else(bad_cost)?,
                    )),
                }
            }
            Some(v) => Some(MaxCost::Dollars(
                v.as_f64().and_then(Money::from_dollars).ok_or_else(bad_cost)?,
            )),
        };
        Ok(Filters {
            task,
            capabilities,
            max_cost,
        })
    }

    /// Why `m` (at an estimated `cost` for this request) does not pass the filters, if it does not.
    pub fn reject(&self, m: &Model, cost: Money) -> Option<String> {
        if let Some(c) = self.capabilities.iter().find(|c| !m.has(c)) {
            return Some(format!("filter.capabilities: the catalog does not list {c}"));
        }
        if let Some(t) = self.task.filter(|t| t.modality() == "text") {
            if !m.quality.contains_key(t.as_str()) {
                return Some(format!("filter.task_type: no quality score for {}", t.as_str()));
            }
        }
        match &self.max_cost {
            Some(MaxCost::Tier(i)) if tier_index(&m.price_tier).is_none_or(|mi| mi > *i) => Some(format!(
                "maxCost: price tier {} is above {}",
                m.price_tier,
                PRICE_TIERS.get(*i).copied().unwrap_or("?")
            )),
            Some(MaxCost::Dollars(d)) if cost > *d => Some(format!("maxCost: estimated ${cost} is over ${d}")),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.task {
            parts.push(format!("task_type {}", t.as_str()));
        }
        if !self.capabilities.is_empty() {
            parts.push(format!("capabilities {}", self.capabilities.join("+")));
        }
        match &self.max_cost {
            Some(MaxCost::Tier(i)) => parts.push(format!("maxCost {}", PRICE_TIERS.get(*i).copied().unwrap_or("?"))),
            Some(MaxCost::Dollars(d)) => parts.push(format!("maxCost ${d}")),
            None => {}
        }
        if parts.is_empty() {
            "no filters".into()
        } else {
            parts.join(", ")
        }
    }
}

/// `auto`'s eligible models narrowed by the filters, ranked again among themselves in the mode, and
/// ordered into a chain.
fn filtered_route(input: &RouteInput, req: &ChatRequest, f: &Filters) -> Result<(Route, Vec<Entry>), GatewayError> {
    let ranking = rank_models(input, req, None)?;
    let eligible = ranking.ranked.len();
    // The filters' own refusals first: they are what the caller controls.
    let mut filtered = Vec::new();
    let mut kept = Vec::new();
    let mut only_cost = true;
    for s in &ranking.ranked {
        match f.reject(&s.model, s.cost) {
            Some(why) => {
                only_cost &= why.starts_with("maxCost");
                filtered.push((s.model.id.clone(), why));
            }
            None => {
                let out = req
                    .max_tokens
                    .map_or(DEFAULT_OUTPUT_ESTIMATE, u64::from)
                    .min(s.model.max_output);
                kept.push(Candidate {
                    model: s.model.clone(),
                    cost: s.cost,
                    needed_tokens: ranking.input_tokens + out,
                });
            }
        }
    }
    filtered.extend(ranking.filtered.iter().cloned());
    if kept.is_empty() {
        return Err(GatewayError::NoEligibleModel {
            reasons: filtered,
            param: if only_cost { "maxCost" } else { "filter" },
        });
    }
    let task = ranking.class.task;
    let health = &input.state.health;
    let preferred = input
        .ex
        .identity
        .as_ref()
        .and_then(|i| input.snap.routing.workspaces.get(&*i.workspace))
        .map(|p| p.preferred_providers.clone())
        .unwrap_or_default();
    let ranked = score::rank(&kept, task.as_str(), ranking.weights, health, &preferred);
    let mut reason = format!(
        "{} prompt ({}); {} kept {} of {} eligible models; mode {}",
        task.as_str(),
        ranking.class.complexity_tier.as_str(),
        f.describe(),
        ranked.len(),
        eligible,
        ranking.mode.as_str()
    );
    reason.push_str(&match ranked.get(1) {
        Some(second) => format!(
            "; chose {} by {}",
            ranked[0].model.id,
            deciding_term(ranking.weights, &ranked[0], second)
        ),
        None => format!("; {} is the only model left", ranked[0].model.id),
    });
    let compared = entries(&ranked);
    let scored = ranked.iter().take(SCORED_SHOWN).map(scored_json).collect();
    let estimated_cost = ranked[0].cost;
    let limit = if input.no_fallback {
        1
    } else {
        input.snap.server.max_attempts
    };
    let candidates: Vec<Arc<Model>> = super::chain(ranked, limit);
    Ok((
        Route {
            candidates,
            mode: ranking.mode.as_str(),
            reason,
            estimated_cost,
            classification: Some(ranking.class.to_json()),
            scored,
            filtered,
            policy: ranking.policy.map(|p| p.name.clone()),
            split_arm: None,
            sticky: false,
        },
        compared,
    ))
}

/// Keeps usage and cost of the answer; the `router` object goes at the top of the envelope.
struct Priced<'a> {
    model: &'a Model,
    usage: Option<Usage>,
    cost: Option<Money>,
}

impl Finalizer for Priced<'_> {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        self.usage = usage;
        self.cost = usage.map(|u| self.model.pricing.cost(&u));
        (Value::Null, self.cost)
    }
}

/// A chat completion, rendered per provider as the proxy path renders it (OpenAI chat client schema).
struct ChatJob;

impl Job for ChatJob {
    type Out = Value;

    fn render(&mut self, ctx: &mut Ctx, model: &Arc<Model>) -> Result<Outgoing, GatewayError> {
        let Some(req) = ctx.ex.request.as_ref() else {
            return Err(GatewayError::Internal("no parsed request".into()));
        };
        let p = translate::prepare(Schema::OpenAiChat, model, req, &ctx.body)?;
        ctx.plan = Some(p.plan);
        if let Some(a) = ctx.attempts.last_mut() {
            a.lossy = p.lossy;
        }
        Ok(Outgoing {
            path: p.path,
            headers: p.headers,
            body: p.body,
        })
    }

    fn accept(&mut self, ctx: &mut Ctx, model: &Arc<Model>, body: &[u8]) -> Result<Value, String> {
        let plan = ctx.plan.ok_or("no plan for the attempt")?;
        let mut fin = Priced {
            model,
            usage: None,
            cost: None,
        };
        let out = translate::translate_json(plan, body, model, &mut fin)?;
        let mut v: Value = serde_json::from_slice(&out).map_err(|e| format!("unreadable translation: {e}"))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("router");
        }
        ctx.usage = fin.usage;
        ctx.cost = fin.cost;
        Ok(v)
    }

    fn error_message(&self, ctx: &Ctx, body: &[u8]) -> String {
        match ctx.plan {
            Some(plan) => translate::error_message(plan, body),
            None => crate::providers::openai::error_message(body),
        }
    }
}
