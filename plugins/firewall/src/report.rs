//! What the firewall tells the core: a [`FirewallEntry`] for every rule applied (block, mask, warn;
//! one per rule and location), and for a block also a [`TraceEntry`] and the 403 [`Reject`]. Each
//! names the policy and rule and carries a redacted sample, never the matched text.

use std::sync::Arc;

use switchyard_sdk::{Exchange, FirewallEntry, Reject, RejectKind, TraceEntry};

use crate::policy::{Firewall, RuleId, Scope};

/// One rule applied at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub rule: RuleId,
    pub scope: Scope,
    pub location: Arc<str>,
    pub sample: String,
}

impl Firewall {
    pub(crate) fn entry(&self, r: Report) -> FirewallEntry {
        let rule = self.rule(r.rule);
        FirewallEntry {
            policy: rule.policy.clone(),
            rule: rule.name.clone(),
            action: rule.action.as_str(),
            scope: r.scope.as_str(),
            sample: r.sample,
            location: r.location,
        }
    }

    /// Report applied rules.
    pub(crate) fn report(&self, ex: &mut Exchange, reports: Vec<Report>) {
        ex.firewall.extend(reports.into_iter().map(|r| self.entry(r)));
    }

    /// Report a block (entry and trace) and make its refusal.
    pub(crate) fn block(&self, ex: &mut Exchange, r: &Report) -> Reject {
        let rule = self.rule(r.rule);
        ex.firewall.push(self.entry(r.clone()));
        ex.trace.push(TraceEntry {
            phase: "firewall",
            rule: format!("{}/{}", rule.policy, rule.name),
            conditions: vec![(format!("{} in {}", rule.what, r.location), true)],
            fired: true,
            actions: vec!["block".to_string()],
            detail: format!("{} matched {} in {}", rule.what, r.sample, r.location),
        });
        let whose = if r.scope == Scope::Response {
            "the answer"
        } else {
            "the request"
        };
        Reject::new(
            RejectKind::Forbidden,
            "firewall_blocked",
            format!(
                "{whose} was blocked by firewall policy `{}`, rule `{}` ({} in {})",
                rule.policy, rule.name, rule.what, r.location
            ),
        )
        .with_param(r.location.to_string())
    }
}
