//! The raw shape of the `rules` section, exactly as an operator writes it (YAML, handed over as JSON).
//! Serde checks the structure (unknown fields and condition or action kinds are refused with their
//! path); everything that needs more than structure (regexes, mode and task names, times, limits) is
//! checked by `compile`, which reports every problem at once instead of the first.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The plugin's section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

/// One rule: when its condition holds, its actions apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: String,
    /// Higher runs first; equal priorities keep file order.
    #[serde(default)]
    pub priority: i32,
    /// When this rule fires, no later (lower-priority) rule is evaluated.
    #[serde(default)]
    pub stop: bool,
    /// Absent: the rule always fires.
    #[serde(default)]
    pub when: Option<RawCond>,
    pub then: Vec<RawAction>,
}

/// A condition: one key naming its kind (`{input_contains: "invoice"}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawCond {
    InputContains(TextArg),
    InputMatches(String),
    Metadata(RawMeta),
    Mode(String),
    Model(String),
    KeyName(String),
    Workspace(String),
    Segment(String),
    TokensAbove(u64),
    TokensBelow(u64),
    Task(String),
    ClientSchema(String),
    Time(RawTime),
    All(Vec<RawCond>),
    Any(Vec<RawCond>),
    Not(Box<RawCond>),
}

/// `input_contains: "invoice"` (ASCII case-insensitive) or
/// `input_contains: {text: "Invoice", case_sensitive: true}`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "expected a text, or {text: ..., case_sensitive: true|false}")]
pub(crate) enum TextArg {
    Plain(String),
    Full(RawContains),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContains {
    pub text: String,
    #[serde(default)]
    pub case_sensitive: bool,
}

/// `metadata: {field: dept, equals: legal}` or `metadata: {field: dept, exists: true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeta {
    pub field: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub exists: Option<bool>,
}

/// `time: {from: "22:00", to: "06:00", utc_offset: "+02:00", days: [fri, sat]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTime {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub utc_offset: Option<String>,
    #[serde(default)]
    pub days: Vec<String>,
}

/// An action: one key naming its kind (`{pin_model: "openai/gpt-4o"}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawAction {
    PinModel(String),
    PinProvider(String),
    SetMode(String),
    Fallback(Vec<String>),
    QualityFloor(f64),
    /// Dollars.
    Budget(f64),
    ExcludeProviders(Vec<String>),
    AddMetadata(Map<String, Value>),
    Tag(TagArg),
    Reject(RawReject),
}

/// `tag: cheap-arm` (key `ab`) or `tag: {experiment-7: arm-b}` (named keys).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "expected an A/B arm name, or a map of tag names to values")]
pub(crate) enum TagArg {
    Arm(String),
    Named(Map<String, Value>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReject {
    pub status: u16,
    #[serde(default)]
    pub message: Option<String>,
}
