//! The pairing layer: one attempt's client schema with one provider. Per attempt it picks a lossless
//! same-schema pass-through (OpenAI chat client to an OpenAI-schema provider, Anthropic Messages
//! client to Anthropic) or translation through the canonical IR (a provider adapter's decoder feeding
//! a client codec's encoder), and carries the answer back the same way: whole, as a stream, or as an
//! error message. The only module that knows both `api` and `providers`.

mod pipeline;

use bytes::Bytes;
use switchyard_sdk::ir::ChatRequest;

use crate::api::{self, ClientCodec, Schema};
use crate::config::{Model, Provider, ProviderKind};
use crate::error::GatewayError;
use crate::providers::anthropic::{self, passthrough as anthropic_passthrough};
use crate::providers::openai::passthrough as openai_passthrough;
use crate::providers::openai::responses as responses_passthrough;
use crate::providers::{adapter, openai, ProviderAdapter, ProviderError, ANTHROPIC_VERSION};
use crate::wire::json::parse_object;
use crate::wire::{Finalizer, StreamTranslator};
use pipeline::Pipeline;

/// How one attempt is carried out.
#[derive(Clone, Copy)]
pub enum Plan {
    /// OpenAI chat client and OpenAI-schema provider: the client's body, edited in place.
    PassOpenAi,
    /// Anthropic Messages client and Anthropic provider: likewise.
    PassAnthropic,
    /// OpenAI Responses client and a provider that speaks the Responses API: likewise.
    PassResponses,
    /// Through the canonical IR.
    Translate {
        codec: &'static dyn ClientCodec,
        adapter: &'static dyn ProviderAdapter,
    },
}

/// One attempt's upstream request and how its answer is handled.
pub struct Prepared {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    pub plan: Plan,
    pub lossy: Vec<String>,
}

fn is_openai_schema(kind: ProviderKind) -> bool {
    matches!(
        kind,
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock
    )
}

/// The most stop sequences a provider kind takes, where its API states a limit: OpenAI's chat
/// completions 4, Gemini's `stopSequences` 5. Anthropic states none, and an OpenAI-compatible server
/// decides for itself (the request goes to it as it is).
pub fn stop_limit(kind: ProviderKind) -> Option<usize> {
    match kind {
        ProviderKind::OpenAi => Some(4),
        ProviderKind::Gemini => Some(5),
        ProviderKind::Anthropic | ProviderKind::OpenAiCompatible | ProviderKind::Mock => None,
    }
}

fn check_stop(req: &ChatRequest, model: &Model) -> Result<(), String> {
    match stop_limit(model.provider.kind) {
        Some(max) if req.stop.len() > max => Err(format!(
            "stop: {} takes at most {max} stop sequences, the request has {}",
            model.provider.name,
            req.stop.len()
        )),
        _ => Ok(()),
    }
}

/// Whether `model` can serve `req` at all (see [`ProviderAdapter::check`]). `Err` is the reason as
/// the router reports it: the text of the adapter's [`ProviderError::Unsupported`].
pub fn check(schema: Schema, req: &ChatRequest, model: &Model) -> Result<(), String> {
    check_stop(req, model)?;
    if (schema == Schema::OpenAiChat && is_openai_schema(model.provider.kind))
        || (schema == Schema::AnthropicMessages && model.provider.kind == ProviderKind::Anthropic)
        || passes_responses(schema, model)
    {
        return Ok(());
    }
    adapter(model.provider.kind).check(req, model).map_err(String::from)
}

/// A Responses client and a provider that speaks the Responses API: the body passes through.
pub fn passes_responses(schema: Schema, model: &Model) -> bool {
    schema == Schema::OpenAiResponses && model.provider.responses_api
}

/// Render the client's request for `model`'s provider.
pub fn prepare(schema: Schema, model: &Model, req: &ChatRequest, body: &[u8]) -> Result<Prepared, GatewayError> {
    prepare_with(schema, model, req, body, true)
}

/// Like [`prepare`]; `pass_responses: false` translates a Responses request even for a provider that
/// speaks the Responses API (a phase edited the request, or watches the answer in canonical terms).
pub fn prepare_with(
    schema: Schema,
    model: &Model,
    req: &ChatRequest,
    body: &[u8],
    pass_responses: bool,
) -> Result<Prepared, GatewayError> {
    let p = &model.provider;
    // Whatever stops the adapter (a feature it cannot carry, a body it cannot write) makes the model
    // ineligible for this request.
    let unsupported = |e: ProviderError| GatewayError::Unsupported {
        model: model.id.clone(),
        reason: e.into(),
    };
    check_stop(req, model).map_err(|reason| GatewayError::Unsupported {
        model: model.id.clone(),
        reason,
    })?;
    if schema == Schema::OpenAiChat && is_openai_schema(p.kind) {
        return Ok(Prepared {
            path: format!("{}/chat/completions", p.origin.base_path()),
            headers: Vec::new(),
            body: Bytes::from(openai_passthrough::render_request(&parse_object(body)?, req, model)),
            plan: Plan::PassOpenAi,
            lossy: Vec::new(),
        });
    }
    if schema == Schema::AnthropicMessages && p.kind == ProviderKind::Anthropic {
        let mut lossy = Vec::new();
        let body = anthropic_passthrough::render_request_noting(&parse_object(body)?, req, model, &mut lossy);
        return Ok(Prepared {
            path: format!("{}/messages", p.origin.base_path()),
            headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
            body: Bytes::from(body),
            plan: Plan::PassAnthropic,
            lossy,
        });
    }
    if pass_responses && passes_responses(schema, model) {
        return Ok(Prepared {
            path: format!("{}/responses", p.origin.base_path()),
            headers: Vec::new(),
            body: Bytes::from(responses_passthrough::render_request(&parse_object(body)?, model)),
            plan: Plan::PassResponses,
            lossy: Vec::new(),
        });
    }
    let adapter = adapter(p.kind);
    adapter.check(req, model).map_err(unsupported)?;
    let mut r = adapter.render(req, model).map_err(unsupported)?;
    tool_form_notes(req, model, &mut r.lossy);
    Ok(Prepared {
        path: format!("{}{}", p.origin.base_path(), r.path),
        headers: r.headers,
        body: r.body,
        plan: Plan::Translate {
            codec: api::codec(schema),
            adapter,
        },
        lossy: r.lossy,
    })
}

/// The lossy conversions of the client's tool forms for a provider that has only functions: custom
/// tools become functions of one string argument, namespaces flatten to `namespace__name`, and
/// built-in tools are dropped (when the route does not reject them: see `builtin_tools_rejected`).
fn tool_form_notes(req: &ChatRequest, model: &Model, lossy: &mut Vec<String>) {
    let f = &req.tool_forms;
    if f.is_empty() {
        return;
    }
    for name in &f.custom {
        lossy.push(format!(
            "tools: custom tool {name} sent as a function with one string argument `input`; its calls come \
             back as custom_tool_call items"
        ));
    }
    if !f.namespaced.is_empty() {
        lossy.push(
            "tools: namespaced functions sent as namespace__name; their calls come back with name and namespace".into(),
        );
    }
    for kind in dropped_builtin_tools(req, None) {
        lossy.push(format!(
            "tools: built-in tool {kind} dropped: {} does not run built-in tools",
            model.provider.name
        ));
    }
}

/// The built-in tools (`web_search`, ...) of `req` that its provider will not see under `plan`
/// (`None`: a plan not chosen yet, or a translation): all but with a Responses pass-through, whose
/// provider runs them.
pub fn dropped_builtin_tools(req: &ChatRequest, plan: Option<Plan>) -> impl Iterator<Item = &str> {
    let dropped = !matches!(plan, Some(Plan::PassResponses));
    req.tool_forms
        .builtin
        .iter()
        .filter(move |_| dropped)
        .map(|(kind, _)| kind.as_str())
}

/// Credentials for `p`, as (name, value) pairs.
pub fn auth_headers(p: &Provider) -> Vec<(&'static str, String)> {
    match &p.api_key {
        Some(k) => adapter(p.kind).auth_headers(k),
        None => Vec::new(),
    }
}

/// The credential headers for provider `p` with `key` (a key the client brought) in place of its own.
pub fn auth_headers_with(p: &Provider, key: &str) -> Vec<(&'static str, String)> {
    adapter(p.kind).auth_headers(key)
}

/// Translate a complete answer for the client. `Err` says why the provider's answer is unusable
/// (the text of a [`ProviderError::InvalidResponse`], which the proxy reports as it is).
pub fn translate_json(plan: Plan, body: &[u8], model: &Model, fin: &mut dyn Finalizer) -> Result<Vec<u8>, String> {
    translate_json_for(plan, body, None, model, fin)
}

/// Like [`translate_json`], for a known request (schemas that echo request settings use it).
pub fn translate_json_for(
    plan: Plan,
    body: &[u8],
    req: Option<&ChatRequest>,
    model: &Model,
    fin: &mut dyn Finalizer,
) -> Result<Vec<u8>, String> {
    let out = match plan {
        Plan::PassOpenAi => openai_passthrough::rewrite_response(body, &model.id, fin),
        Plan::PassAnthropic => anthropic_passthrough::rewrite_response(body, &model.id, fin),
        Plan::PassResponses => responses_passthrough::rewrite_response(body, &model.id, fin),
        Plan::Translate { codec, adapter } => adapter
            .parse_response(body, model)
            .map(|resp| codec.render_response(&resp, req, &model.id, fin)),
    };
    out.map_err(String::from)
}

/// The retry delay a provider put in an error body, if any.
pub fn retry_after_in_body(plan: Plan, body: &[u8]) -> Option<u64> {
    match plan {
        Plan::Translate { adapter, .. } => adapter.retry_after(body),
        Plan::PassOpenAi | Plan::PassAnthropic | Plan::PassResponses => None,
    }
}

/// The message of a provider's error body.
pub fn error_message(plan: Plan, body: &[u8]) -> String {
    match plan {
        Plan::PassOpenAi | Plan::PassResponses => openai::error_message(body),
        Plan::PassAnthropic => anthropic::Anthropic.error_message(body),
        Plan::Translate { adapter, .. } => adapter.error_message(body),
    }
}

/// A translator for one streamed answer to `req`.
pub fn stream_translator(plan: Plan, req: &ChatRequest, model: &Model) -> Box<dyn StreamTranslator> {
    match plan {
        Plan::PassOpenAi => Box::new(openai_passthrough::PassthroughStream::new(
            model.id.clone(),
            req.stream_include_usage,
        )),
        Plan::PassAnthropic => Box::new(anthropic_passthrough::PassthroughStream::new(model.id.clone())),
        Plan::PassResponses => Box::new(responses_passthrough::PassthroughStream::new(model.id.clone())),
        Plan::Translate { codec, adapter } => Box::new(Pipeline::new(
            adapter.stream_decoder(model),
            codec.stream_encoder(req, &model.id),
        )),
    }
}

#[cfg(test)]
mod tests;
