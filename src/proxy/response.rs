//! The response side: the decision on the upstream's status (fall back, or answer), the headers the
//! client gets, and the body translated back for the client's schema: whole JSON for non-streaming
//! answers, SSE event by event for streams, and provider errors re-rendered in the public error shape.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::{Error, ErrorType};
use serde_json::Value;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

use super::ctx::{Answer, Ctx, StreamState};
use super::headers::{self, Fresh};
use super::router_meta::RouterMeta;
use crate::api::codec;
use crate::error::{client_status_for_upstream, GatewayError};
use crate::metrics::m;
use crate::router::estimate_cost;
use crate::translate;
use crate::wire::sse::SseParser;
use crate::wire::{Finalizer, Incomplete};

/// Longest SSE event accepted from an upstream before the stream is declared broken.
const MAX_EVENT_BYTES: usize = 4 << 20;
/// How much of a provider's error body is kept.
const MAX_ERROR_BODY: usize = 64 << 10;

fn retry_after(resp: &ResponseHeader) -> Option<u64> {
    resp.headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `upstream_response_filter`: record the attempt; on 429/5xx with a candidate left, fail this attempt
/// so Pingora retries (nothing has reached the client yet); otherwise choose how to handle the body.
/// `headers_sent`: the client's header has been written (`framing::header_written`).
pub fn on_upstream_headers(resp: &ResponseHeader, ctx: &mut Ctx, headers_sent: bool) -> pingora::Result<()> {
    let status = resp.status.as_u16();
    let can_fall_back = ctx.can_fall_back();
    let Some(a) = ctx.attempts.last_mut() else {
        return Err(Error::explain(ErrorType::InternalError, "response without attempt"));
    };
    let after = a.started.elapsed();
    a.status = Some(status);
    a.headers_after = Some(after);
    if status == 429 || status == 503 {
        a.retry_after = retry_after(resp);
    }
    let provider = a.model.provider.name.clone();
    m().upstream_latency
        .with_label_values(&[&*provider])
        .observe(after.as_secs_f64());
    if (status == 429 || status >= 500) && can_fall_back {
        a.error = Some(format!("upstream status {status}"));
        a.duration = Some(after);
        m().fallbacks
            .with_label_values(&[&*provider, status.to_string().as_str()])
            .inc();
        let mut e = Error::explain(
            ErrorType::HTTPStatus(status),
            "retryable upstream status; trying the next candidate",
        );
        e.set_retry(true);
        return Err(e);
    }
    let model = a.model.clone();
    let (Some(plan), Some(req)) = (ctx.plan, ctx.ex.request.as_ref()) else {
        return Err(Error::explain(ErrorType::InternalError, "response without plan"));
    };
    ctx.answer = if status >= 400 {
        Answer::UpstreamError {
            upstream_status: status,
            buf: Vec::new(),
            retry_after: retry_after(resp),
            in_stream: headers_sent,
        }
    } else if req.stream {
        Answer::Stream(Box::new(StreamState {
            parser: SseParser::new(MAX_EVENT_BYTES),
            translator: translate::stream_translator(plan, req, &model),
        }))
    } else {
        Answer::Json { buf: Vec::new() }
    };
    Ok(())
}

/// `response_filter`: nothing of the upstream's headers is passed on but what the client needs; ours
/// are added. The body changes length, so it goes chunked (HTTP/2 drops the header itself) unless
/// `framing` learns the length before the header is written. After a fallback whose first attempt's
/// header was written (`headers_sent`), Pingora writes no second header.
pub fn client_headers(resp: &mut ResponseHeader, ctx: &mut Ctx, headers_sent: bool) -> pingora::Result<()> {
    if headers_sent {
        return Ok(());
    }
    let mut h = Fresh::with_capacity(16);
    let status = match &ctx.answer {
        Answer::UpstreamError {
            upstream_status,
            retry_after,
            ..
        } => {
            let retryable = matches!(upstream_status, 429 | 500..=599);
            let status = if ctx.attempts.len() > 1 && retryable {
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
    let ctype = match ctx.answer {
        Answer::Stream(_) => "text/event-stream",
        _ => "application/json",
    };
    h.put_static(http::header::CONTENT_TYPE, ctype);
    h.put_static(http::header::CACHE_CONTROL, "no-cache");
    h.put_static(http::header::TRANSFER_ENCODING, "chunked");
    h.put(headers::X_REQUEST_ID, ctx.request_id())?;
    if let (Some(a), Some(route), Some(req)) = (ctx.attempts.last(), ctx.route.as_ref(), ctx.ex.request.as_ref()) {
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
        h.put_static(headers::X_JT_FALLBACK, if ctx.attempts.len() > 1 { "true" } else { "false" });
        h.put(headers::X_JT_COST_USD, &estimate_cost(&a.model, req).to_string())?;
        h.put_static(headers::X_JT_COST_BASIS, "estimate");
    }
    *resp = h.response(status)?;
    ctx.status = status;
    Ok(())
}

/// Builds the `router` object once the usage is known, and keeps usage and cost for the log.
struct Report<'a> {
    ctx: &'a Ctx,
    usage: Option<Usage>,
    cost: Option<Money>,
}

impl<'a> Report<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        Report {
            ctx,
            usage: None,
            cost: None,
        }
    }
}

impl Report<'_> {
    fn settle(&mut self, usage: Option<Usage>) -> Option<Money> {
        let cost = match (usage, self.ctx.current_model()) {
            (Some(u), Some(m)) => Some(m.pricing.cost(&u)),
            _ => None,
        };
        self.usage = usage;
        self.cost = cost;
        cost
    }
}

impl Finalizer for Report<'_> {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        let cost = self.settle(usage);
        (router_json(self.ctx, cost), cost)
    }

    fn finish_bytes(&mut self, usage: Option<Usage>) -> (Vec<u8>, Option<Money>) {
        let cost = self.settle(usage);
        (RouterMeta::new(self.ctx, cost).to_bytes(), cost)
    }
}

/// The `router` metadata of API.md as a `Value`, for answers built as trees.
pub fn router_json(ctx: &Ctx, cost: Option<Money>) -> Value {
    RouterMeta::new(ctx, cost).to_value()
}

/// `response_body_filter`: translate one chunk of the upstream body. At the end of the body, returns
/// the length of everything produced for the client (see `framing` for when that is the answer's
/// length).
pub fn body(body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<Option<usize>> {
    if ctx.first_byte.is_none() && body.as_ref().is_some_and(|b| !b.is_empty()) {
        ctx.first_byte = Some(std::time::Instant::now());
    }
    let mut answer = std::mem::replace(&mut ctx.answer, Answer::None);
    let result = translate(&mut answer, body, eos, ctx);
    ctx.answer = answer;
    result?;
    ctx.bytes_out += body.as_ref().map_or(0, Bytes::len);
    Ok(eos.then_some(ctx.bytes_out))
}

fn provider_name(ctx: &Ctx) -> String {
    ctx.current_model()
        .map(|m| m.provider.name.to_string())
        .unwrap_or_default()
}

fn translate(answer: &mut Answer, body: &mut Option<Bytes>, eos: bool, ctx: &mut Ctx) -> pingora::Result<()> {
    let (Some(plan), Some(model)) = (ctx.plan, ctx.current_model().cloned()) else {
        return Ok(());
    };
    match answer {
        Answer::None => Ok(()),
        Answer::Json { buf } => {
            if let Some(b) = body.take() {
                buf.extend_from_slice(&b);
                if buf.len() as u64 > ctx.snap.server.max_response_bytes {
                    ctx.error = Some(GatewayError::UpstreamInvalid {
                        provider: provider_name(ctx),
                        detail: "response larger than max_response_bytes".into(),
                    });
                    return Err(Error::explain(ErrorType::InternalError, "upstream response too large"));
                }
            }
            if !eos {
                return Ok(());
            }
            let req = ctx.ex.request.as_ref();
            let mut report = Report::new(ctx);
            let out = translate::translate_json_for(plan, buf, req, &model, &mut report);
            let (usage, cost) = (report.usage, report.cost);
            match out {
                Ok(out) => {
                    ctx.usage = usage;
                    ctx.cost = cost;
                    ctx.body_sent = true;
                    *body = Some(Bytes::from(out));
                    Ok(())
                }
                Err(detail) => {
                    // The 200 header may be gone; closing without a final chunk tells the client the
                    // answer is broken, where a JSON error in a 200 body would be taken as an answer.
                    ctx.error = Some(GatewayError::UpstreamInvalid {
                        provider: provider_name(ctx),
                        detail,
                    });
                    Err(Error::explain(
                        ErrorType::InvalidHTTPHeader,
                        "upstream sent an unusable response",
                    ))
                }
            }
        }
        Answer::Stream(state) => {
            let StreamState { parser, translator } = &mut **state;
            let mut out = Vec::new();
            let mut report = Report::new(ctx);
            let mut too_long = false;
            if let Some(b) = body.as_ref() {
                too_long = parser
                    .push(b, |ev| translator.event(&ev, &mut out, &mut report))
                    .is_err();
            }
            // The provider's first event was an error and the client has no byte yet: try the next
            // candidate (its headers will be ignored; its body continues this response).
            if let (Some(failure), true, true) = (
                translator.failure(),
                out.is_empty() && !ctx.body_sent,
                ctx.can_fall_back(),
            ) {
                let provider = provider_name(ctx);
                m().fallbacks.with_label_values(&[&provider, "stream_error"]).inc();
                if let Some(a) = ctx.attempts.last_mut() {
                    a.error = Some(format!("error event before the first byte: {failure}"));
                    a.duration = Some(a.started.elapsed());
                }
                let mut e = Error::explain(
                    ErrorType::HTTPStatus(502),
                    "the stream's first event was an error; trying the next candidate",
                );
                e.set_retry(true);
                return Err(e);
            }
            let broken = if eos || too_long {
                let provider = provider_name(ctx);
                match translator.end(&mut out, &mut report) {
                    Ok(()) if !too_long => None,
                    Ok(()) => Some(GatewayError::UpstreamUnreachable {
                        provider,
                        detail: "stream event too long".into(),
                    }),
                    Err(Incomplete::Truncated) => Some(GatewayError::UpstreamUnreachable {
                        provider,
                        detail: "the stream ended before it finished".into(),
                    }),
                    Err(Incomplete::ProviderError(message)) => Some(GatewayError::UpstreamStream { provider, message }),
                }
            } else {
                None
            };
            let (usage, cost) = (report.usage, report.cost);
            if usage.is_some() || cost.is_some() {
                ctx.usage = usage;
                ctx.cost = cost;
            }
            if ctx.usage.is_none() {
                ctx.usage = translator.usage();
            }
            if let Some(e) = broken {
                translator.fail(&e.to_json(ctx.request_id(), &ctx.ex.trace), &mut out);
                m().stream_truncated.with_label_values(&[&provider_name(ctx)]).inc();
                ctx.truncated = true;
                ctx.error = Some(e);
            }
            ctx.body_sent |= !out.is_empty();
            *body = if out.is_empty() && !eos {
                None
            } else {
                Some(Bytes::from(out))
            };
            Ok(())
        }
        Answer::UpstreamError {
            upstream_status,
            buf,
            retry_after,
            in_stream,
        } => {
            if let Some(b) = body.take() {
                let room = MAX_ERROR_BODY.saturating_sub(buf.len());
                buf.extend_from_slice(&b[..b.len().min(room)]);
            }
            if !eos {
                return Ok(());
            }
            // Gemini puts its retry delay in the body; too late for this response's header, it still
            // cools the model down, so the next request gets a 429 with a real Retry-After.
            let retry_after = retry_after.or_else(|| translate::retry_after_in_body(plan, buf));
            if let Some(a) = ctx.attempts.last_mut() {
                a.retry_after = a.retry_after.or(retry_after);
            }
            let e = GatewayError::UpstreamStatus {
                provider: provider_name(ctx),
                status: client_status_for_upstream(*upstream_status),
                upstream_status: *upstream_status,
                message: format!(
                    "provider {} answered {}: {}",
                    provider_name(ctx),
                    upstream_status,
                    translate::error_message(plan, buf)
                ),
                retry_after,
            };
            let e = super::failure::exhausted(e, ctx);
            let json = e.to_json(ctx.request_id(), &ctx.ex.trace);
            *body = Some(Bytes::from(if *in_stream {
                ctx.truncated = true;
                super::failure::stream_error(ctx, &json)
            } else {
                codec(ctx.schema).error_body(&json)
            }));
            ctx.error = Some(e);
            Ok(())
        }
    }
}
