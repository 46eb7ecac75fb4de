//! Refuses a request whose declared body is over the configured limit before reading a byte of it.
//! Bodies without a declared length are held to the same limit while they are read.

use switchyard_sdk::{Decision, Exchange, Phase, Reject, RejectKind};

pub struct BodyLimit {
    pub max_body_bytes: u64,
}

impl Phase for BodyLimit {
    fn name(&self) -> &'static str {
        "body_limit"
    }

    fn on_headers(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        match ex.declared_body_len {
            Some(n) if n > self.max_body_bytes => Decision::Respond(Reject::new(
                RejectKind::PayloadTooLarge,
                "request_too_large",
                format!(
                    "request body of {n} bytes is larger than the limit of {} bytes",
                    self.max_body_bytes
                ),
            )),
            _ => Decision::Continue,
        }
    }
}
