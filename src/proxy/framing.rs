//! A rewritten answer's framing: `Content-Length` when the whole answer is known before its header
//! is written, chunked otherwise.
//!
//! Why: the gateway rewrites every answer (model, cost, the `router` object), so `response_filter`
//! cannot know the length and the header goes out chunked. Pingora 0.9.1 flushes a chunked header,
//! every chunk and the terminator separately: three `sendto` calls (and three wake-ups of the
//! client) for an answer that fits one. But Pingora runs the proxy's header and body filters on a
//! whole batch of upstream tasks before it writes any of them, and a small upstream answer usually
//! arrives as one batch (header and complete body). Downstream modules' header filters run later,
//! at write time. So when `response_body_filter` finishes an answer whose header has not been
//! written yet, this module learns the length and gives the header a `Content-Length` instead, and
//! the actual cost, since the usage is known by then as well. When the header was written in an
//! earlier batch, the answer stays chunked with the estimate: both are correct. A stream is framed
//! the same way when the provider's whole stream arrived before the header left (a real model's
//! stream arrives over seconds, so it goes chunked, event by event).

use async_trait::async_trait;
use pingora::http::ResponseHeader;
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use pingora::proxy::Session;
use switchyard_sdk::Money;

use super::headers;

/// Per-request state: has the client's header been written, and the answer's length (and actual
/// cost) when it was complete before that.
#[derive(Default)]
pub struct KnownLength {
    header_written: bool,
    whole: Option<(usize, Option<Money>)>,
}

#[async_trait]
impl HttpModule for KnownLength {
    async fn response_header_filter(&mut self, resp: &mut ResponseHeader, _end_of_stream: bool) -> pingora::Result<()> {
        self.header_written = true;
        if let Some((n, cost)) = self.whole.take() {
            headers::edit(resp, |h| {
                h.remove(http::header::TRANSFER_ENCODING);
                h.insert(http::header::CONTENT_LENGTH, n.into());
                // The usage is known too, so the header can carry the actual cost, not the estimate.
                if let Some(v) = cost.and_then(|c| http::HeaderValue::from_str(&c.to_string()).ok()) {
                    h.insert(headers::X_JT_COST_USD, v);
                    h.insert(headers::X_JT_COST_BASIS, http::HeaderValue::from_static("actual"));
                }
            });
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

pub struct KnownLengthBuilder;

impl HttpModuleBuilder for KnownLengthBuilder {
    fn init(&self) -> Module {
        Box::<KnownLength>::default()
    }
}

/// Whether the client's response header has been written. Not the same as "a response header was
/// filtered": Pingora writes a batch's tasks only after filtering all of them, so an attempt that
/// fails in the body filter (an error as a stream's first event) had its header filtered but never
/// written, and the next attempt's header is the one the client gets.
pub fn header_written(s: &Session) -> bool {
    s.downstream_modules_ctx
        .get::<KnownLength>()
        .is_some_and(|m| m.header_written)
}

/// Called at the end of the upstream body with the `len` bytes produced for the client. If the
/// header is still unwritten, all of them were produced in the batch it is written with (Pingora
/// writes a batch's header before its body), so it can carry `Content-Length: len` and the actual
/// cost. This holds for a stream too, when the provider's whole stream came before the header left.
pub fn whole_answer(s: &mut Session, len: usize, cost: Option<Money>) {
    if let Some(m) = s.downstream_modules_ctx.get_mut::<KnownLength>() {
        if !m.header_written {
            m.whole = Some((len, cost));
        }
    }
}
