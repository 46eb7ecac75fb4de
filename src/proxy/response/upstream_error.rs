//! The provider's error answer: collected (up to a bound), then rendered in the public error shape of
//! the client's schema, or as the in-band error of a stream whose header already went out (after a
//! first-event fallback).

use bytes::Bytes;

use crate::api::codec;
use crate::config::Origin;
use crate::error::{client_status_for_upstream, GatewayError};
use crate::proxy::attempt;
use crate::proxy::ctx::Ctx;
use crate::proxy::failure::stream_error;
use crate::redact;
use crate::translate;

/// How much of a provider's error body is kept.
const MAX_ERROR_BODY: usize = 64 << 10;

#[allow(clippy::too_many_arguments)]
pub fn translate(
    upstream_status: u16,
    buf: &mut Vec<u8>,
    retry_after: Option<u64>,
    in_stream: bool,
    body: &mut Option<Bytes>,
    eos: bool,
    ctx: &mut Ctx,
) -> pingora::Result<()> {
    if let Some(b) = body.take() {
        let room = MAX_ERROR_BODY.saturating_sub(buf.len());
        buf.extend_from_slice(&b[..b.len().min(room)]);
    }
    if !eos {
        return Ok(());
    }
    let Some(plan) = ctx.upstream.plan else {
        return Ok(());
    };
    // Gemini puts its retry delay in the body; too late for this response's header, it still cools
    // the model down, so the next request gets a 429 with a real Retry-After.
    let retry_after = retry_after.or_else(|| translate::retry_after_in_body(plan, buf));
    if let Some(a) = ctx.attempts.last_mut() {
        a.retry_after = a.retry_after.or(retry_after);
    }
    let e = error_for(upstream_status, &translate::error_message(plan, buf), retry_after, ctx);
    let e = attempt::exhausted(e, ctx);
    let json = e.to_json(ctx.request_id(), &ctx.ex.trace);
    *body = Some(Bytes::from(if in_stream {
        ctx.answer.truncated = true;
        stream_error(ctx, &json)
    } else {
        codec(ctx.request.schema).error_body(&json)
    }));
    ctx.answer.error = Some(e);
    Ok(())
}

/// The client's error for the provider's error answer (`said`: the message it gave): a refused
/// credential is the operator's problem (502 `provider_auth_failed`, the provider's words logged,
/// redacted); anything else keeps the provider's status class and its message, redacted.
pub fn error_for(upstream_status: u16, said: &str, retry_after: Option<u64>, ctx: &Ctx) -> GatewayError {
    let provider = ctx.provider_name().to_string();
    // The client's own provider keys never go back out, whatever shape they have.
    let said = &*redact::values(said, &ctx.request.byok.values());
    if matches!(upstream_status, 401 | 403) && ctx.request.byok.key_for(&provider).is_some() {
        // The provider refused the key the client brought: the client's problem, in its words.
        let header = ctx
            .current_model()
            .and_then(|m| m.provider.byok_header.as_ref())
            .map_or("", |h| h.as_str());
        return GatewayError::Rejected(switchyard_sdk::Reject::new(
            switchyard_sdk::RejectKind::Status { status: 401 },
            "provider_key_refused",
            format!(
                "provider {provider} refused the key sent in {header} ({upstream_status}): {}",
                redact::for_client(said, &[])
            ),
        ));
    }
    if matches!(upstream_status, 401 | 403) {
        // The provider refused the gateway's own key: the operator's problem. The client gets a
        // generic 502; the provider's words (which may echo the key) go to the log, redacted.
        let detail = redact::secrets(said).into_owned();
        tracing::warn!(
            provider = %provider,
            upstream_status,
            detail = %detail,
            "the provider refused the gateway's credentials"
        );
        GatewayError::ProviderAuthFailed {
            provider,
            upstream_status,
            detail,
        }
    } else {
        // The provider's own host is an internal name too (a self-hosted server's, say).
        let host = match ctx.current_model().map(|m| &m.provider.origin) {
            Some(Origin::Remote { host, .. }) => host.as_str(),
            _ => "",
        };
        GatewayError::UpstreamStatus {
            status: client_status_for_upstream(upstream_status),
            upstream_status,
            message: match said.trim() {
                "" => format!("provider {provider} answered {upstream_status}"),
                said => format!(
                    "provider {provider} answered {upstream_status}: {}",
                    redact::for_client(said, &[host])
                ),
            },
            provider,
            retry_after,
        }
    }
}
