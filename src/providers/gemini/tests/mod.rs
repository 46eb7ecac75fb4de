//! Unit tests of the Gemini adapter, by concern: rendering, whole answers and errors, streams, the
//! canonical round trip, and the wire helpers. The fixtures are real answers of the Gemini API.

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::ir::{ChatRequest, Part, ToolCall};

use super::Gemini;
use crate::config::raw::Quirks;
use crate::config::{test_model, Model, ProviderKind};
use crate::providers::{ProviderAdapter, Rendered};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/gemini/", $name))
    };
}

mod parse;
mod render;
mod round_trip;
mod stream;
mod wire;

pub(crate) fn model() -> Arc<Model> {
    test_model(ProviderKind::Gemini, Quirks::default())
}

pub(crate) fn model_named(upstream: &str) -> Model {
    let mut m = Arc::try_unwrap(model()).unwrap();
    m.upstream_model = upstream.into();
    m
}

pub(crate) fn render(req: &ChatRequest, m: &Model) -> (Rendered, Value) {
    Gemini.check(req, m).unwrap();
    let r = Gemini.render(req, m).unwrap();
    let v = serde_json::from_slice(&r.body).unwrap();
    (r, v)
}

fn call(id: &str, name: &str, args: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
    }
}

pub(crate) fn text(t: &str) -> Part {
    Part::Text(t.into())
}
