//! The response side: the decision on the upstream's status (fall back, or answer, and how its body
//! will be handled), the headers the client gets, and the body translated back for the client, one
//! module per kind of answer:
//!
//! - `json`: a whole answer, rewritten at its end (through the phases watching answers, and a
//!   composed endpoint's envelope, when there are);
//! - `stream`: a stream translated event by event on the fast path;
//! - `hooked`: a stream decoded into canonical events so the phases can see (and mask, or end) its
//!   text before the client does;
//! - `upstream_error`: the provider's error answer, rendered in the public error shape;
//! - `report`: the `router` object and the cost, once the usage is known.

mod hooked;
mod json;
pub mod report;
mod stream;
mod upstream_error;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::{Error, ErrorType};

use super::attempt;
use super::ctx::{Answer, Ctx, StreamState};
use super::headers::{self, Fresh};
use crate::error::client_status_for_upstream;
use crate::router::estimate_cost;
use crate::translate;
use crate::wire::sse::SseParser;

pub use report::router_json;

/// Longest SSE event accepted from an upstream before the stream is declared broken.
const MAX_EVENT_BYTES: usize = 4 << 20;

fn retry_after(resp: &ResponseHeader) -> Option<u64> {
    resp.headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The upstream says its answer has no body (`Content-Length: 0`).
fn declares_no_body(resp: &ResponseHeader) -> bool {
    resp.headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// A Pingora error that makes the proxy loop try the next candidate (the attempt is already ended).
fn retry_next(status: u16, why: &'static str) -> Box<Error> {
    let mut e = Error::explain(ErrorType::HTTPStatus(status), why);
    e.set_retry(true);
    e
}

/// `upstream_response_filter`: record the attempt; on 429/5xx with a candidate left, fail this attempt
/// so Pingora retries (nothing has reached the client yet); otherwise choose how to handle the body.
/// `headers_sent`: the client's header has been written (`framing::header_written`).
pub fn on_upstream_headers(resp: &ResponseHeader, ctx: &mut Ctx, headers_sent: bool) -> pingora::Result<()> {
    let status = resp.status.as_u16();
    if attempt::answered(ctx, status, retry_after(resp)).is_none() {
        return Err(Error::explain(ErrorType::InternalError, "response without attempt"));
    }
    if (status == 429 || status >= 500) && attempt::fall_back(ctx, &status.to_string()) {
        attempt::end(ctx, format!("upstream status {status}"));
        return Err(retry_next(
            status,
            "retryable upstream status; trying the next candidate",
        ));
    }
    let (Some(plan), Some(req), Some(model)) = (ctx.upstream.plan, ctx.ex.request(), ctx.current_model()) else {
        return Err(Error::explain(ErrorType::InternalError, "response without plan"));
    };
    if status >= 400 && declares_no_body(resp) {
        // Pingora calls no body filter for an answer without a body, so the error would go out
        // with our headers and nothing else. Fail the attempt here instead (no fallback: that was
        // decided above): `fail_to_proxy` answers with this error in the public shape.
        let e = upstream_error::error_for(status, "", retry_after(resp), ctx);
        ctx.answer.error = Some(e);
        attempt::end(ctx, format!("upstream status {status}"));
        return Err(Error::explain(
            ErrorType::HTTPStatus(status),
            "an upstream error answer without a body",
        ));
    }
    let answer = if status >= 400 {
        Answer::UpstreamError {
            upstream_status: status,
            buf: Vec::new(),
            retry_after: retry_after(resp),
            in_stream: headers_sent,
        }
    } else if req.stream && ctx.decision.hooks.wants_stream() {
        Answer::Hooked(hooked::start(ctx.request.schema, req, model, &ctx.decision.hooks))
    } else if req.stream {
        Answer::Stream(Box::new(StreamState {
            parser: SseParser::new(MAX_EVENT_BYTES),
            translator: translate::stream_translator(plan, req, model),
        }))
    } else {
        Answer::Json { buf: Vec::new() }
    };
    ctx.answer.answer = answer;
    Ok(())
}

/// `response_filter`: nothing of the upstream's headers is passed on but what the client needs; ours
/// are added. The body changes length, so it goes chunked (HTTP/2 drops the header itself) unless
/// `framing` learns the length before the header is written. After a fallback whose first attempt's
/// header was written (`headers_sent`), Pingora writes no second header. `closing`: the process is
/// shutting down, so the client is told to take its next request elsewhere.
pub fn client_headers(
    resp: &mut ResponseHeader,
    ctx: &mut Ctx,
    headers_sent: bool,
    closing: bool,
) -> pingora::Result<()> {
    if headers_sent {
        return Ok(());
    }
    let mut h = Fresh::with_capacity(16);
    let mut error = false;
    let status = match &ctx.answer.answer {
        Answer::UpstreamError {
            upstream_status,
            retry_after,
            ..
        } => {
            error = true;
            let retryable = matches!(upstream_status, 429 | 500..=599);
            let byok_refused =
                matches!(upstream_status, 401 | 403) && ctx.request.byok.key_for(ctx.provider_name()).is_some();
            let status = if byok_refused {
                // The key the client brought was refused (`upstream_error::error_for`).
                401
            } else if ctx.attempts.len() > 1 && retryable {
                503
            } else {
                client_status_for_upstream(*upstream_status)
            };
            // Retry-After means something only with 429 and 503.
            if let (Some(s), 429 | 503) = (retry_after, status) {
                h.put(http::header::RETRY_AFTER, &s.to_string())?;
            }
            status
        }
        _ => resp.status.as_u16(),
    };
    let ctype = match ctx.answer.answer {
        Answer::Stream(_) | Answer::Hooked(_) => "text/event-stream",
        _ => "application/json",
    };
    h.put_static(http::header::CONTENT_TYPE, ctype);
    h.put_static(http::header::CACHE_CONTROL, "no-cache");
    h.put_static(http::header::TRANSFER_ENCODING, "chunked");
    if closing {
        h.put_static(http::header::CONNECTION, "close");
    }
    h.put(headers::X_REQUEST_ID, ctx.request_id())?;
    if let (Some(a), Some(route), Some(req)) = (ctx.attempts.last(), ctx.decision.route.as_ref(), ctx.ex.request()) {
        // The alias the client named when that model answered, else the id of the one that did.
        let named = ctx.snap.catalog.get(&req.model).is_some_and(|m| m.id == a.model.id);
        h.put(
            headers::X_JT_MODEL,
            if named { req.model.as_str() } else { a.model.id.as_str() },
        )?;
        h.put(headers::X_ROUTED_MODEL, a.model.id.as_str())?;
        h.put_static(headers::X_JT_ROUTE, route.mode);
        let latency = a.headers_after.map_or(0, |d| d.as_millis());
        h.put(headers::X_JT_LATENCY_MS, &latency.to_string())?;
        h.put_static(
            headers::X_JT_FALLBACK,
            if ctx.attempts.len() > 1 { "true" } else { "false" },
        );
        let dropped: Vec<&str> = crate::translate::dropped_builtin_tools(req, ctx.upstream.plan).collect();
        if !dropped.is_empty() {
            h.put(headers::X_JT_DROPPED_TOOLS, &dropped.join(", "))?;
        }
        if error {
            // An error answer is not billed.
            h.put_static(headers::X_JT_COST_USD, "0");
            h.put_static(headers::X_JT_COST_BASIS, "actual");
        } else {
            let estimate = match &ctx.decision.composer {
                Some(c) => c.estimated_cost(ctx).unwrap_or_else(|| estimate_cost(&a.model, req)),
                None => estimate_cost(&a.model, req),
            };
            h.put(headers::X_JT_COST_USD, &estimate.to_string())?;
            h.put_static(headers::X_JT_COST_BASIS, "estimate");
        }
    }
    for (k, v) in &ctx.ex.response_headers {
        h.put_named(k, v)?;
    }
    *resp = h.response(status)?;
    ctx.answer.status = status;
    Ok(())
}

/// `response_body_filter`: translate one chunk of the upstream body. At the end of the body, returns
/// the length of everything produced for the client (see `framing` for when that is the answer's
/// length).
pub fn body(body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<Option<usize>> {
    if ctx.answer.first_byte.is_none() && body.as_ref().is_some_and(|b| !b.is_empty()) {
        ctx.answer.first_byte = Some(std::time::Instant::now());
    }
    let mut answer = std::mem::replace(&mut ctx.answer.answer, Answer::None);
    let result = match &mut answer {
        Answer::None => Ok(()),
        Answer::Json { buf } => json::translate(buf, body, eos, ctx),
        Answer::Stream(state) => stream::translate(state, body, eos, ctx),
        Answer::Hooked(state) => hooked::translate(state, body, eos, ctx),
        Answer::UpstreamError {
            upstream_status,
            buf,
            retry_after,
            in_stream,
        } => upstream_error::translate(*upstream_status, buf, *retry_after, *in_stream, body, eos, ctx),
    };
    ctx.answer.answer = answer;
    result?;
    ctx.answer.bytes_out += body.as_ref().map_or(0, Bytes::len);
    Ok(eos.then_some(ctx.answer.bytes_out))
}
