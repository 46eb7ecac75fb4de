//! Pingora's failure hooks, through the attempt engine: whether Pingora may retry (only before the
//! client saw a byte, only with a candidate left, or on the same candidate after a stale pooled
//! connection), and what the client gets when nothing is left: an error in the public shape, or an
//! in-band error event on a started stream.

use pingora::proxy::{FailToProxy, Session};
use pingora::{Error, ErrorSource, ErrorType, RetryType};

use super::attempt;
use super::ctx::{Answer, Ctx};
use super::respond;
use crate::metrics::m;

/// `fail_to_connect`: the next candidate may be tried.
pub fn on_connect_failure(ctx: &mut Ctx, mut e: Box<Error>) -> Box<Error> {
    attempt::end_unreachable(ctx, format!("connect: {}", e.etype().as_str()));
    e.set_retry(attempt::fall_back(ctx, "connect"));
    e
}

/// `error_while_proxy`: after connecting. A failure on a reused pooled connection (the provider
/// closed it first) is retried on the same candidate; other failures move to the next candidate,
/// but only while nothing has been written to the client.
pub fn on_proxy_error(s: &Session, ctx: &mut Ctx, mut e: Box<Error>, reused: bool) -> Box<Error> {
    let stale_connection = matches!(e.retry, RetryType::ReusedOnly) && reused;
    e.retry.decide_reuse(reused);
    // Our own errors (a status we chose to fall back from, or to answer with an error of our own)
    // were decided where they were raised, with the attempt already ended.
    let ours = matches!(e.etype(), ErrorType::HTTPStatus(_));
    // Once body bytes went out nothing may be retried. Headers alone may have: a fallback's
    // headers are then ignored by Pingora and its body continues the response (first-event
    // fallback of streams).
    if (s.response_written().is_some() && ctx.answer.body_sent) || e.esource() == &ErrorSource::Downstream {
        e.set_retry(false);
    } else if ours {
    } else if stale_connection {
        // Dropping the attempt makes the next `upstream_peer` pick the same candidate again.
        ctx.attempts.pop();
        e.set_retry(true);
    } else {
        let reason = e.etype().as_str();
        if attempt::is_unreachable(&e) {
            attempt::end_unreachable(ctx, reason);
        } else {
            attempt::end(ctx, reason);
        }
        e.set_retry(attempt::fall_back(ctx, reason));
    }
    e
}

/// The in-band error that ends a started stream, in the client's schema and consistent with what was
/// already sent.
pub fn stream_error(ctx: &mut Ctx, error: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    match &mut ctx.answer.answer {
        Answer::Stream(state) => state.translator.fail(error, &mut out),
        Answer::Hooked(state) => state.encoder.fail(error, &mut out),
        _ => crate::api::codec(ctx.request.schema).stream_error(error, &mut out),
    }
    out
}

/// `fail_to_proxy`: tell the client, in the best way still open.
pub async fn on_final_failure(s: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
    if e.esource() == &ErrorSource::Downstream {
        // The client went away or sent garbage mid-body; there is nobody to answer. Not the
        // upstream's failure: its attempt ends without an error, so health does not blame it.
        attempt::end_quietly(ctx);
        if ctx.answer.status == 0 {
            ctx.answer.status = 499;
        }
        return FailToProxy {
            error_code: 0,
            can_reuse_downstream: false,
        };
    }
    if attempt::is_unreachable(e) {
        attempt::end_unreachable(ctx, e.etype().as_str());
    } else {
        attempt::end(ctx, e.etype().as_str());
    }
    let err = ctx.answer.error.take().unwrap_or_else(|| attempt::classify(e, ctx));
    let err = attempt::exhausted(err, ctx);
    if s.response_written().is_none() {
        let status = err.status();
        // Nothing was billed: the header says so rather than carrying the estimate.
        ctx.answer.cost = None;
        let _ = respond::error(s, ctx, err).await;
        return FailToProxy {
            error_code: status,
            can_reuse_downstream: true,
        };
    }
    // Headers are out. A stream ends with an in-band error event; a JSON answer is cut off so
    // the client sees a broken response rather than a clean one.
    let error_json = err.to_json(ctx.request_id(), &ctx.ex.trace);
    if ctx.streaming() && !ctx.answer.truncated {
        let out = stream_error(ctx, &error_json);
        let _ = s.write_response_body(Some(bytes::Bytes::from(out)), true).await;
        ctx.answer.truncated = true;
        m().stream_truncated
            .with_label_values(&[err.provider().unwrap_or("")])
            .inc();
    }
    ctx.answer.error = Some(err);
    s.set_keepalive(None);
    FailToProxy {
        error_code: ctx.answer.status,
        can_reuse_downstream: false,
    }
}
