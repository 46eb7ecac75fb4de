//! What the fuzz targets share: a catalog with one model per provider kind (loaded through the public
//! `config::load`, from a temporary YAML), every stream plan, a `Finalizer`, the oracles (valid SSE,
//! valid JSON) and a cheap deterministic chunker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // harness code: a panic is a finding

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};
use switchyard::api::{codec, Schema};
use switchyard::config::{Model, ProviderKind};
use switchyard::providers::adapter;
use switchyard::translate::Plan;
use switchyard::wire::Finalizer;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

pub const SCHEMAS: [Schema; 3] = [Schema::OpenAiChat, Schema::OpenAiResponses, Schema::AnthropicMessages];

const CONFIG: &str = "
server:
  worker_threads: 1
catalog: models.yaml
providers:
  openai: {kind: openai, base_url: 'https://api.example.com/v1', api_key: x}
  anthropic: {kind: anthropic, base_url: 'https://api.example.com/v1', api_key: x}
  gemini: {kind: gemini, base_url: 'https://api.example.com/v1beta', api_key: x}
  compat: {kind: openai_compatible, base_url: 'https://api.example.com/v1', api_key: x}
  quirky: {kind: openai_compatible, base_url: 'https://api.example.com/v1', api_key: x}
";

const MODEL: &str = "pricing: {input: 3.0, cached_input: 0.3, output: 15.0}, context_window: 200000, max_output: 64000, \
  capabilities: [chat, tools, parallel_tool_calls, vision, json_mode, json_schema, streaming, reasoning], quality: {chat: 0.8}";

/// One model per provider kind, plus an OpenAI-compatible one with every catalog quirk set.
fn catalog() -> String {
    let quirks = "quirks: {max_tokens_field: max_tokens, stream_usage: false, developer_role: false, \
        drop_fields: [parallel_tool_calls, seed], reasoning_field: reasoning_content}";
    ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash", "compat/llama-3.3-70b"]
        .iter()
        .map(|id| format!("  - {{id: {id}, {MODEL}}}\n"))
        .chain([format!("  - {{id: quirky/deepseek-chat, {MODEL}, {quirks}}}\n")])
        .fold("models:\n".to_string(), |acc, m| acc + &m)
}

/// The catalog's models, loaded once per process.
pub fn models() -> &'static [Arc<Model>] {
    static MODELS_: OnceLock<Vec<Arc<Model>>> = OnceLock::new();
    MODELS_.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("switchyard-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("switchyard.yaml"), CONFIG).unwrap();
        std::fs::write(dir.join("models.yaml"), catalog()).unwrap();
        let snap = switchyard::config::load(&dir.join("switchyard.yaml"), &switchyard::registry::Registry::new());
        let _ = std::fs::remove_dir_all(&dir);
        let snap = snap.unwrap_or_else(|p| panic!("fuzz config does not load: {p:?}"));
        snap.catalog.models.clone()
    })
}

fn openai_schema(kind: ProviderKind) -> bool {
    matches!(kind, ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Mock)
}

/// Every way an answer can be handled: each client schema × each model through the IR, and the
/// same-schema pass-throughs (for each model that has them).
pub fn plans() -> Vec<(Plan, &'static Arc<Model>, String)> {
    let mut out = Vec::new();
    for m in models() {
        let kind = m.provider.kind;
        for s in SCHEMAS {
            let plan = Plan::Translate {
                codec: codec(s),
                adapter: adapter(kind),
            };
            out.push((plan, m, format!("{s:?} <- {}", m.id)));
        }
        if openai_schema(kind) {
            out.push((Plan::PassOpenAi, m, format!("pass-openai <- {}", m.id)));
        }
        if kind == ProviderKind::Anthropic {
            out.push((Plan::PassAnthropic, m, format!("pass-anthropic <- {}", m.id)));
        }
        if m.provider.responses_api {
            out.push((Plan::PassResponses, m, format!("pass-responses <- {}", m.id)));
        }
    }
    out
}

/// A finalizer like the proxy's: the catalog price of the reported usage and a `router` object.
pub struct Fin<'a> {
    pub model: &'a Model,
    pub calls: u32,
}

impl Finalizer for Fin<'_> {
    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        self.calls += 1;
        let cost = usage.map(|u| self.model.pricing.cost(&u));
        (
            json!({"model": self.model.id, "attempts": [], "cost_dollars": cost.map(Money::as_dollars_f64)}),
            cost,
        )
    }
}

/// Whether `b` is one JSON object, by syntax: numbers beyond f64 (`1e999`) are valid JSON and pass
/// through verbatim in unknown fields, so values are not converted. Nesting deeper than serde_json's
/// limit (128) is accepted: the inputs were parsed under the same limit.
pub fn is_json_object(b: &[u8]) -> bool {
    if !b.trim_ascii_start().starts_with(b"{") {
        return false;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(b) {
        Ok(_) => true,
        Err(e) => e.to_string().starts_with("recursion limit exceeded"),
    }
}

/// Upstream values a translator may forward byte for byte (pass-throughs copy events they need not
/// edit, including ones that are not JSON).
#[derive(Default)]
pub struct Verbatim<'a> {
    pub data: HashSet<&'a str>,
    pub names: HashSet<&'a str>,
}

/// Check a translator's output: whole events only, each an optional `event:` line and one or more
/// `data:` lines (comments allowed), every payload a JSON object or `[DONE]` unless it is an upstream
/// payload forwarded verbatim. Returns what is wrong.
pub fn check_sse(out: &[u8], verbatim: &Verbatim) -> Result<(), String> {
    let text = std::str::from_utf8(out).map_err(|e| format!("output is not UTF-8: {e}"))?;
    if text.is_empty() {
        return Ok(());
    }
    let body = text
        .strip_suffix("\n\n")
        .ok_or("output does not end with a blank line (a partial event)")?;
    for block in body.split("\n\n") {
        let mut data_lines: Vec<&str> = Vec::new();
        let mut seen_event = false;
        for line in block.split('\n') {
            if line.starts_with(':') {
                continue;
            }
            if let Some(name) = line.strip_prefix("event: ") {
                if seen_event || !data_lines.is_empty() {
                    return Err(format!("stray `event:` line in event {block:?}"));
                }
                if name.contains('\r') && !verbatim.names.contains(name) {
                    return Err(format!("event name with a CR: {name:?}"));
                }
                seen_event = true;
            } else if let Some(payload) = line.strip_prefix("data: ") {
                data_lines.push(payload);
            } else {
                return Err(format!("line {line:?} is neither `event:` nor `data:` (event {block:?})"));
            }
        }
        if data_lines.is_empty() {
            return Err(format!("event without data: {block:?}"));
        }
        // Several data lines are one payload joined by line breaks (an upstream event forwarded whole).
        let payload = data_lines.join("\n");
        let forwarded = verbatim.data.contains(payload.as_str());
        if !forwarded && payload != "[DONE]" && !is_json_object(payload.as_bytes()) {
            return Err(format!("data payload is not a JSON object: {payload:?}"));
        }
    }
    Ok(())
}

/// Split `input` into chunks whose sizes (1..=max) come from a generator seeded by `seed`.
pub fn chunks(input: &[u8], seed: u64, max: usize) -> Vec<&[u8]> {
    let mut s = seed | 1;
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let n = (s as usize % max.max(1) + 1).min(rest.len());
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

/// FNV-1a: a seed derived from the input, so a crash reproduces from the input alone.
pub fn seed(input: &[u8]) -> u64 {
    input
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Whether the known finding `tag` is to be tolerated this run (`FUZZ_KNOWN=tag,tag`; CI sets none),
/// so that a run can look past a reported, unfixed finding for new ones.
pub fn known(tag: &str) -> bool {
    static KNOWN: OnceLock<String> = OnceLock::new();
    KNOWN
        .get_or_init(|| std::env::var("FUZZ_KNOWN").unwrap_or_default())
        .split(',')
        .any(|t| t.trim() == tag)
}
