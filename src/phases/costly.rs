//! Features billed outside token pricing: a server-side tool (web search, web fetch, code execution),
//! MCP servers, OpenAI's priority tier, audio output, a stored completion (the parsers list them as
//! `billed_extras`), and `anthropic-beta` flags that may switch such features on. The cost the
//! gateway computes from the catalog's token prices misses them, so a key needs the
//! `costly_features` scope to send one (`*` does not include it, and test keys never have it);
//! without, the answer is 403 `scope_denied` naming the field. What passes is counted
//! (`billed_extras_total{feature}`). A model that cannot take a feature is not chosen for it
//! (`router::ineligibility`).

use switchyard_sdk::{Decision, Exchange, Phase, Reject, RejectKind, COSTLY_FEATURES};

use crate::metrics::m;

/// `anthropic-beta` flags that change only token-priced behaviour. Any other flag may switch on
/// something billed apart (MCP, code execution, files, a longer context at a higher price) and needs
/// the scope.
const TOKEN_PRICED_BETAS: &[&str] = &[
    "prompt-caching-",
    "token-efficient-tools-",
    "fine-grained-tool-streaming-",
    "interleaved-thinking-",
    "output-128k-",
    "structured-outputs-",
    "context-management-",
    "token-counting-",
    // What Claude Code (2.1) sends on every request: its own name, and flags for request shapes
    // (per-turn settings, tools changing mid-conversation, thinking counts, effort, deferred tool
    // loading) that are priced in tokens. The billed tools those shapes could carry (code execution,
    // web search) are flagged by the tool itself (`billed_extras`).
    "claude-code-",
    "per-turn-control-",
    "mid-conversation-tool-changes-",
    "thinking-token-count-",
    "advanced-tool-use-",
    "effort-",
];

pub struct CostlyFeatures;

/// The first `anthropic-beta` flag that is not known to be token-priced.
fn costly_beta(head: &http::request::Parts) -> Option<&str> {
    head.headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|flag| !flag.is_empty() && !TOKEN_PRICED_BETAS.iter().any(|p| flag.starts_with(p)))
}

impl Phase for CostlyFeatures {
    fn name(&self) -> &'static str {
        "costly_features"
    }

    fn on_request(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some(req) = ex.request() else {
            return Decision::Continue;
        };
        // Only an Anthropic client's beta header reaches a provider (see `proxy::request`).
        let beta = (ex.client_schema == "messages").then(|| costly_beta(head)).flatten();
        if req.billed_extras.is_empty() && beta.is_none() {
            return Decision::Continue;
        }
        let allowed = ex
            .identity
            .as_ref()
            .is_some_and(|i| !i.test_key && i.scopes.grants(COSTLY_FEATURES));
        if !allowed {
            let (param, what) = match req.billed_extras.first() {
                Some(e) => (e.param.clone(), e.feature.replace('_', " ")),
                None => (
                    "anthropic-beta".to_string(),
                    format!("the beta feature {:?}", beta.unwrap_or("")),
                ),
            };
            return Decision::Respond(
                Reject::new(
                    RejectKind::Forbidden,
                    "scope_denied",
                    format!(
                        "{param} turns on {what}, which the provider bills outside token prices; this key \
                         lacks the {COSTLY_FEATURES} scope (test keys never have it)"
                    ),
                )
                .with_param(param),
            );
        }
        for e in &req.billed_extras {
            m().billed_extras.with_label_values(&[e.feature]).inc();
        }
        if beta.is_some() {
            m().billed_extras.with_label_values(&["anthropic_beta"]).inc();
        }
        Decision::Continue
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use switchyard_sdk::ir::{BilledExtra, ChatRequest};
    use switchyard_sdk::{Endpoint, Identity, Scopes};

    use super::*;

    fn run(scopes: &[&str], test_key: bool, extras: bool, beta: Option<&str>) -> Result<(), (String, String)> {
        let mut ex = Exchange::new("r".into(), Endpoint::Messages);
        ex.client_schema = "messages";
        ex.identity = Some(Identity {
            key_id: "k".into(),
            key_name: "k".into(),
            workspace: "w".into(),
            test_key,
            scopes: Arc::new(Scopes {
                endpoints: scopes.iter().map(|s| s.to_string()).collect(),
                models: vec!["*".into()],
            }),
            limits: Arc::default(),
        });
        let mut req = ChatRequest::default();
        if extras {
            req.billed_extras.push(BilledExtra {
                param: "tools[0]".into(),
                feature: "web_search",
                needs: Some("tools"),
            });
        }
        ex.set_request(req);
        let mut b = http::Request::builder();
        if let Some(v) = beta {
            b = b.header("anthropic-beta", v);
        }
        let head = b.body(()).unwrap().into_parts().0;
        match CostlyFeatures.on_request(&head, &mut ex) {
            Decision::Continue => Ok(()),
            Decision::Respond(r) => Err((r.code.to_string(), r.param.unwrap_or_default())),
            Decision::Answer(_) => Err(("answer".into(), String::new())),
        }
    }

    #[test]
    fn costly_fields_need_the_named_scope() {
        assert!(
            run(&["*"], false, false, None).is_ok(),
            "nothing costly, nothing to check"
        );
        let denied = Err(("scope_denied".to_string(), "tools[0]".to_string()));
        assert_eq!(run(&["*"], false, true, None), denied, "`*` does not include it");
        assert!(run(&["*", "costly_features"], false, true, None).is_ok());
        assert_eq!(
            run(&["*", "costly_features"], true, true, None),
            denied,
            "never for test keys"
        );
        assert!(run(
            &["*"],
            false,
            false,
            Some("prompt-caching-2024-07-31, interleaved-thinking-2025-05-14")
        )
        .is_ok());
        assert_eq!(
            run(
                &["*"],
                false,
                false,
                Some("prompt-caching-2024-07-31,mcp-client-2025-04-04")
            ),
            Err(("scope_denied".to_string(), "anthropic-beta".to_string()))
        );
    }
}
