//! What both sides of a translation speak, so that neither has to import the other: client codecs
//! (`api`) and provider adapters (`providers`) both depend on this module, and it on neither. Here
//! are SSE framing (`sse`), JSON output (`json_out`), a body's raw top-level fields (`json`), in-place
//! edits of a provider's answer (`answer_edit`), the Anthropic Messages wire types that the
//! `/v1/messages` codec and the Anthropic provider share (`anthropic`), and the small traits a stream
//! translator implements and the proxy's finalizer answers. Wire code only one side uses stays there.

pub mod answer_edit;
pub mod anthropic;
pub mod finish;
pub mod json;
pub mod json_out;
pub mod sse;
#[cfg(test)]
pub(crate) mod testing;

use serde_json::Value;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

use sse::SseEvent;

/// Switchyard's own request fields (API.md): read by the gateway, never forwarded to a provider.
pub const GATEWAY_FIELDS: &[&str] = &[
    "fallback",
    "budget_dollars",
    "session_id",
    "router_mode",
    "optimization",
];

/// What a translator needs from the proxy when the answer is complete: the `router` object and the
/// exact cost for the usage the provider reported (`None` when it reported none).
pub trait Finalizer {
    /// A lossy conversion found in the answer (a finish reason outside the client's schema): named
    /// in the `router` object's `lossy`. Call before `finish`.
    fn note(&mut self, _what: String) {}

    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>);

    /// The same with the `router` object serialized, for answers written as text; an implementor
    /// can serialize it without building a `Value`.
    fn finish_bytes(&mut self, usage: Option<Usage>) -> (Vec<u8>, Option<Money>) {
        let (router, cost) = self.finish(usage);
        (serde_json::to_vec(&router).unwrap_or_default(), cost)
    }
}

/// Translates one upstream stream for one client, SSE event by SSE event: either a same-schema
/// pass-through that edits events in place, or a provider decoder feeding a client encoder.
pub trait StreamTranslator: Send + Sync {
    /// One complete upstream event in; zero or more client events out.
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>, fin: &mut dyn Finalizer);
    /// The upstream closed its stream. On a normal end the closing events have been written; `Err`
    /// says why the stream is incomplete.
    fn end(&mut self, out: &mut Vec<u8>, fin: &mut dyn Finalizer) -> Result<(), Incomplete>;
    fn usage(&self) -> Option<Usage>;
    /// The error the provider reported inside the stream, once it has (the proxy falls back to the
    /// next candidate when this happens before the client got a byte).
    fn failure(&self) -> Option<&str>;
    /// The stream broke: end it with the client's in-band error (`error` is the public error object).
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>);
}

/// Why a stream did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomplete {
    /// It was cut off before its end.
    Truncated,
    /// The provider reported an error inside it.
    ProviderError(String),
}
