//! When an attempt fails: whether Pingora may retry (only before the client saw a byte, only with a
//! candidate left, or on the same candidate after a stale pooled connection), and what the client gets
//! when nothing is left: an error in the public shape, or an in-band error event on a started stream.

use pingora::proxy::{FailToProxy, Session};
use pingora::{Error, ErrorSource, ErrorType, RetryType};

use super::ctx::{Answer, Ctx};
use super::respond;
use crate::error::{client_status_for_upstream, GatewayError};
use crate::metrics::m;

fn end_attempt(ctx: &mut Ctx, why: String) -> String {
    match ctx.attempts.last_mut() {
        Some(a) => {
            a.error.get_or_insert(why);
            a.duration.get_or_insert(a.started.elapsed());
            a.model.provider.name.to_string()
        }
        None => String::new(),
    }
}

/// `fail_to_connect`: the next candidate may be tried.
pub fn on_connect_failure(ctx: &mut Ctx, mut e: Box<Error>) -> Box<Error> {
    let provider = end_attempt(ctx, format!("connect: {}", e.etype().as_str()));
    if ctx.can_fall_back() {
        m().fallbacks.with_label_values(&[&provider, "connect"]).inc();
        e.set_retry(true);
    } else {
        e.set_retry(false);
    }
    e
}

/// `error_while_proxy`: after connecting. A failure on a reused pooled connection (the provider
/// closed it first) is retried on the same candidate; other failures move to the next candidate,
/// but only while nothing has been written to the client.
pub fn on_proxy_error(s: &Session, ctx: &mut Ctx, mut e: Box<Error>, reused: bool) -> Box<Error> {
    let stale_connection = matches!(e.retry, RetryType::ReusedOnly) && reused;
    e.retry.decide_reuse(reused);
    let ours = matches!(e.etype(), ErrorType::HTTPStatus(_)) && e.retry();
    // Once body bytes went out nothing may be retried. Headers alone may have: a fallback's
    // headers are then ignored by Pingora and its body continues the response (first-event
    // fallback of streams).
    if (s.response_written().is_some() && ctx.body_sent) || e.esource() == &ErrorSource::Downstream {
        e.set_retry(false);
    } else if ours {
        // upstream_response_filter already recorded the attempt and chose to fall back.
    } else if stale_connection {
        // Dropping the attempt makes the next `upstream_peer` pick the same candidate again.
        ctx.attempts.pop();
        e.set_retry(true);
    } else {
        let provider = end_attempt(ctx, e.etype().as_str().to_string());
        let retry = ctx.can_fall_back();
        if retry {
            m().fallbacks.with_label_values(&[&provider, e.etype().as_str()]).inc();
        }
        e.set_retry(retry);
    }
    e
}

/// The error the client should see for a Pingora failure.
pub fn classify(e: &Error, ctx: &Ctx) -> GatewayError {
    let provider = ctx
        .current_model()
        .map(|m| m.provider.name.to_string())
        .unwrap_or_default();
    match e.etype() {
        ErrorType::HTTPStatus(code) => GatewayError::UpstreamStatus {
            provider,
            status: client_status_for_upstream(*code),
            upstream_status: *code,
            message: format!("every candidate failed; the last answered {code}"),
            retry_after: None,
        },
        ErrorType::ConnectTimedout
        | ErrorType::ReadTimedout
        | ErrorType::WriteTimedout
        | ErrorType::TLSHandshakeTimedout => GatewayError::UpstreamTimeout { provider },
        _ if e.esource() == &ErrorSource::Upstream => GatewayError::UpstreamUnreachable {
            provider,
            detail: e.to_string(),
        },
        _ => GatewayError::Internal(e.to_string()),
    }
}

/// An upstream failure after a fallback chain was tried is the chain's failure: 503 with every
/// attempt listed (a lone candidate keeps its own error, e.g. 502 when fallback was off).
pub fn exhausted(err: GatewayError, ctx: &Ctx) -> GatewayError {
    let upstream = matches!(err.status(), 429 | 500..=599) && err.provider().is_some();
    if ctx.attempts.len() > 1 && upstream {
        GatewayError::AllCandidatesFailed {
            summary: err.to_string(),
            attempts: ctx.attempts_json(),
        }
    } else {
        err
    }
}

/// The in-band error that ends a started stream, in the client's schema and consistent with what was
/// already sent.
pub fn stream_error(ctx: &mut Ctx, error: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    match &mut ctx.answer {
        Answer::Stream(state) => state.translator.fail(error, &mut out),
        _ => crate::api::codec(ctx.schema).stream_error(error, &mut out),
    }
    out
}

/// `fail_to_proxy`: tell the client, in the best way still open.
pub async fn on_final_failure(s: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
    if e.esource() == &ErrorSource::Downstream {
        // The client went away or sent garbage mid-body; there is nobody to answer. Not the
        // upstream's failure: its attempt ends without an error, so health does not blame it.
        if let Some(a) = ctx.attempts.last_mut() {
            a.duration.get_or_insert(a.started.elapsed());
        }
        if ctx.status == 0 {
            ctx.status = 499;
        }
        return FailToProxy {
            error_code: 0,
            can_reuse_downstream: false,
        };
    }
    end_attempt(ctx, e.etype().as_str().to_string());
    let err = exhausted(ctx.error.take().unwrap_or_else(|| classify(e, ctx)), ctx);
    if s.response_written().is_none() {
        let status = err.status();
        let _ = respond::error(s, ctx, err).await;
        return FailToProxy {
            error_code: status,
            can_reuse_downstream: true,
        };
    }
    // Headers are out. A stream ends with an in-band error event; a JSON answer is cut off so
    // the client sees a broken response rather than a clean one.
    let error_json = err.to_json(ctx.request_id(), &ctx.ex.trace);
    let stream = ctx.ex.request.as_ref().is_some_and(|r| r.stream);
    if stream && !ctx.truncated {
        let out = stream_error(ctx, &error_json);
        let _ = s.write_response_body(Some(bytes::Bytes::from(out)), true).await;
        ctx.truncated = true;
        m().stream_truncated
            .with_label_values(&[err.provider().unwrap_or("")])
            .inc();
    }
    ctx.error = Some(err);
    s.set_keepalive(None);
    FailToProxy {
        error_code: ctx.status,
        can_reuse_downstream: false,
    }
}
