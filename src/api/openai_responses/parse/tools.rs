//! Tools as a Responses request declares them (functions, namespaces, custom tools, built-in tools,
//! tools declared in the input) and the tool choice, in canonical terms.

use serde_json::value::RawValue;
use switchyard_sdk::ir::{JsonText, Tool, ToolChoice, ToolForms};

use crate::api::fields::missing;
use crate::error::GatewayError;

use super::super::wire::{WireCustomFormat, WireTool, WireToolChoice};
use super::{unsupported, CUSTOM_INPUT};

/// The function name a namespaced function is sent under to providers without namespaces.
pub(super) fn flat_name(namespace: &str, name: &str) -> String {
    format!("{namespace}__{name}")
}

/// A custom tool as a function of one string argument (a named lossy conversion): its input format
/// (a grammar) goes into the description, the only place a function has for it.
fn custom_function(name: String, description: Option<String>, format: Option<WireCustomFormat>) -> Tool {
    let mut desc = description.unwrap_or_default();
    if let Some(WireCustomFormat {
        kind,
        syntax,
        definition: Some(def),
    }) = format
    {
        if kind == "grammar" {
            if !desc.is_empty() {
                desc.push_str("\n\n");
            }
            let syntax = syntax.as_deref().unwrap_or("grammar");
            desc.push_str(&format!(
                "The `{CUSTOM_INPUT}` argument must follow this {syntax} grammar:\n{def}"
            ));
        }
    }
    let schema = serde_json::json!({
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": "The tool's whole input, as free text."}},
        "required": [CUSTOM_INPUT],
        "additionalProperties": false,
    });
    Tool {
        name,
        description: (!desc.is_empty()).then_some(desc),
        parameters: JsonText::parse(&schema.to_string()).unwrap_or_else(|_| JsonText::empty_object_schema()),
        strict: None,
    }
}

fn function(t: WireTool, name: String) -> Tool {
    Tool {
        name,
        description: t.description,
        parameters: t
            .parameters
            .map_or_else(JsonText::empty_object_schema, JsonText::from_raw),
        // Absent stays absent: each provider's own default applies.
        strict: t.strict,
    }
}

/// Tool declarations (`tools`, or an `additional_tools` item's `tools`, at `at`) into canonical
/// functions, and how to name their calls back (`forms`). Functions and custom tools inside a
/// namespace are flattened to `namespace__name`; built-in tools are kept whole for a provider
/// that runs them.
pub(super) fn add_tools(
    raw: Vec<Box<RawValue>>,
    at: &str,
    tools: &mut Vec<Tool>,
    forms: &mut ToolForms,
) -> Result<(), GatewayError> {
    for (i, raw) in raw.into_iter().enumerate() {
        let t: WireTool =
            serde_json::from_str(raw.get()).map_err(|e| GatewayError::invalid(format!("{at}[{i}]"), e.to_string()))?;
        match t.kind.as_str() {
            "function" => {
                let name = t.name.clone().ok_or_else(|| missing(&format!("{at}[{i}].name")))?;
                tools.push(function(t, name));
            }
            "custom" => {
                let name = t.name.ok_or_else(|| missing(&format!("{at}[{i}].name")))?;
                forms.custom.push(name.clone());
                tools.push(custom_function(name, t.description, t.format));
            }
            "namespace" => {
                let ns = t.name.ok_or_else(|| missing(&format!("{at}[{i}].name")))?;
                let children = t.tools.ok_or_else(|| missing(&format!("{at}[{i}].tools")))?;
                for (j, c) in children.into_iter().enumerate() {
                    let name = c
                        .name
                        .clone()
                        .ok_or_else(|| missing(&format!("{at}[{i}].tools[{j}].name")))?;
                    let flat = flat_name(&ns, &name);
                    match c.kind.as_str() {
                        "function" => tools.push(function(c, flat.clone())),
                        "custom" => {
                            forms.custom.push(flat.clone());
                            tools.push(custom_function(flat.clone(), c.description, c.format));
                        }
                        other => {
                            return Err(unsupported(
                                format!("{at}[{i}].tools[{j}].type"),
                                format!("a namespace holds function and custom tools, not {other:?}"),
                            ))
                        }
                    }
                    forms.namespaced.push((flat, ns.clone(), name));
                }
            }
            // Built-in tools (web_search, file_search, code_interpreter, ...) run at the provider:
            // kept as written, for a provider that runs them (see `translate::builtin_tools`).
            kind => forms.builtin.push((kind.to_string(), JsonText::from_raw(raw))),
        }
    }
    Ok(())
}

/// Two tools sent under one function name would make their calls ambiguous (a namespace's
/// flattened name meeting another function's).
pub(super) fn check_tool_names(tools: &[Tool]) -> Result<(), GatewayError> {
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(GatewayError::invalid(
            "tools",
            format!(
                "two tools are named {:?} (namespaced tools are sent as namespace__name); rename one",
                w[0]
            ),
        ));
    }
    Ok(())
}

pub(super) fn convert_tool_choice(c: WireToolChoice) -> Result<ToolChoice, GatewayError> {
    Ok(match c {
        WireToolChoice::Mode(m) => crate::api::openai_chat::tool_choice_mode(&m)?,
        WireToolChoice::Object { kind, name } if kind == "function" || kind == "custom" => {
            ToolChoice::Named(name.ok_or_else(|| missing("tool_choice.name"))?)
        }
        WireToolChoice::Object { kind, .. } => {
            return Err(unsupported(
                "tool_choice.type",
                format!("tool_choice type {kind:?} is not supported; use auto, none, required or a function"),
            ))
        }
    })
}
