//! Semantic checks on the canonical request: what parses but cannot be right (empty conversations,
//! out-of-range sampling parameters, tool results without a call id). Type errors are the codec's.

use switchyard_sdk::ir::{ChatRequest, Role, ToolChoice};
use switchyard_sdk::{Decision, Exchange, Phase, Reject};

use crate::router::sessions::MAX_SESSION_ID_BYTES;

pub struct Validate;

fn range(v: Option<f64>, lo: f64, hi: f64, param: &str) -> Result<(), Reject> {
    match v {
        Some(x) if !(lo..=hi).contains(&x) => Err(Reject::invalid(
            param,
            format!("{param} must be between {lo} and {hi}, got {x}"),
        )),
        _ => Ok(()),
    }
}

pub fn check(r: &ChatRequest) -> Result<(), Reject> {
    if r.model.trim().is_empty() {
        return Err(Reject::invalid("model", "model must not be empty"));
    }
    if r.messages.is_empty() {
        return Err(Reject::invalid("messages", "messages must hold at least one message"));
    }
    if let Some(sid) = &r.routing.session_id {
        // The router keeps sessions by a digest, but the id still travels with the request.
        if sid.len() > MAX_SESSION_ID_BYTES {
            return Err(Reject::invalid(
                "session_id",
                format!(
                    "session_id is {} bytes long; at most {MAX_SESSION_ID_BYTES} bytes are accepted",
                    sid.len()
                ),
            ));
        }
    }
    range(r.temperature, 0.0, 2.0, "temperature")?;
    range(r.top_p, 0.0, 1.0, "top_p")?;
    range(r.presence_penalty, -2.0, 2.0, "presence_penalty")?;
    range(r.frequency_penalty, -2.0, 2.0, "frequency_penalty")?;
    if r.max_tokens == Some(0) {
        return Err(Reject::invalid("max_tokens", "max_tokens must be at least 1"));
    }
    if let Some(n) = r.n {
        if !(1..=128).contains(&n) {
            return Err(Reject::invalid("n", "n must be between 1 and 128"));
        }
    }
    // How many stop sequences a provider takes differs (OpenAI 4, Gemini 5, Anthropic no stated
    // limit): checked per candidate when routing (`translate::check`), not here.
    for (i, m) in r.messages.iter().enumerate() {
        if m.role == Role::Tool && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
            return Err(Reject::invalid(
                format!("messages[{i}].tool_call_id"),
                "a tool message needs the tool_call_id it answers",
            ));
        }
        if !m.tool_calls.is_empty() && m.role != Role::Assistant {
            return Err(Reject::invalid(
                format!("messages[{i}].tool_calls"),
                "only assistant messages carry tool_calls",
            ));
        }
    }
    if let Some(ToolChoice::Named(name)) = &r.tool_choice {
        if !r.tools.iter().any(|t| &t.name == name) {
            return Err(Reject::invalid(
                "tool_choice",
                format!("tool_choice names {name:?}, which is not among the tools"),
            ));
        }
    }
    if matches!(r.tool_choice, Some(ToolChoice::Required)) && r.tools.is_empty() {
        return Err(Reject::invalid(
            "tool_choice",
            "tool_choice \"required\" needs at least one tool",
        ));
    }
    Ok(())
}

impl Phase for Validate {
    fn name(&self) -> &'static str {
        "validate"
    }

    fn on_request(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        match ex.request().map(check) {
            Some(Err(r)) => Decision::Respond(r),
            _ => Decision::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::ir::Message;

    fn ok_req() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, "hi")],
            ..Default::default()
        }
    }

    #[test]
    fn ranges_and_structure() {
        assert!(check(&ok_req()).is_ok());
        let mut r = ok_req();
        r.temperature = Some(2.5);
        assert_eq!(check(&r).unwrap_err().param.as_deref(), Some("temperature"));
        let mut r = ok_req();
        r.messages.clear();
        assert_eq!(check(&r).unwrap_err().param.as_deref(), Some("messages"));
        let mut r = ok_req();
        r.messages.push(Message::text(Role::Tool, "42"));
        assert_eq!(
            check(&r).unwrap_err().param.as_deref(),
            Some("messages[1].tool_call_id")
        );
        let mut r = ok_req();
        r.tool_choice = Some(ToolChoice::Named("f".into()));
        assert_eq!(check(&r).unwrap_err().param.as_deref(), Some("tool_choice"));
        let mut r = ok_req();
        r.max_tokens = Some(0);
        assert_eq!(check(&r).unwrap_err().param.as_deref(), Some("max_tokens"));
        let mut r = ok_req();
        r.routing.session_id = Some("s".repeat(MAX_SESSION_ID_BYTES));
        assert!(check(&r).is_ok());
        r.routing.session_id = Some("s".repeat(MAX_SESSION_ID_BYTES + 1));
        assert_eq!(check(&r).unwrap_err().param.as_deref(), Some("session_id"));
    }
}
