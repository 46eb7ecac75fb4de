//! Client schemas: each parses its request body into the canonical IR (plus the raw top-level fields,
//! for lossless pass-through to a provider of the same schema) and renders responses back.

pub mod json;
pub mod openai_chat;
pub mod openai_passthrough;

use serde_json::value::RawValue;

/// A JSON object's top-level fields in client order, values kept as raw JSON text.
pub type RawObject = Vec<(String, Box<RawValue>)>;

/// Switchyard's own request fields (API.md): read by the gateway, never forwarded to a provider.
pub const GATEWAY_FIELDS: &[&str] = &[
    "fallback",
    "budget_dollars",
    "session_id",
    "router_mode",
    "optimization",
];
