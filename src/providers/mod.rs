//! Provider adapters: how a candidate model is reached (path, credentials) and how the client's request
//! is rendered for it. One module per provider kind; `prepare` dispatches on the pair
//! (client schema, provider kind).

pub mod simulator;

use bytes::Bytes;

use crate::api::openai_passthrough;
use crate::api::RawObject;
use crate::config::{Model, Provider, ProviderKind};
use crate::error::GatewayError;
use switchyard_sdk::ir::ChatRequest;

/// One attempt's upstream request.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: String,
    pub body: Bytes,
}

/// Render the client's OpenAI chat request for `model`'s provider.
pub fn prepare(model: &Model, req: &ChatRequest, raw: &RawObject) -> Result<Prepared, GatewayError> {
    let p = &model.provider;
    match p.kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock => Ok(Prepared {
            path: format!("{}/chat/completions", p.origin.base_path()),
            body: Bytes::from(openai_passthrough::render_request(
                raw,
                &model.upstream_model,
                req.stream,
            )),
        }),
        ProviderKind::Anthropic | ProviderKind::Gemini => Err(GatewayError::ProviderUnavailable {
            provider: p.name.to_string(),
            message: format!(
                "provider kind {} cannot serve OpenAI chat requests in this build",
                p.kind.as_str()
            ),
        }),
    }
}

/// Credentials and fixed headers for `p`, as (name, value) pairs.
pub fn auth_headers(p: &Provider) -> Vec<(&'static str, String)> {
    match (&p.api_key, p.kind) {
        (Some(k), ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock) => {
            vec![("authorization", format!("Bearer {k}"))]
        }
        (Some(k), ProviderKind::Anthropic) => {
            vec![("x-api-key", k.clone()), ("anthropic-version", "2023-06-01".into())]
        }
        (Some(k), ProviderKind::Gemini) => vec![("x-goog-api-key", k.clone())],
        (None, _) => Vec::new(),
    }
}
