//! Applying a fired rule's actions to the exchange. Actions change the routing controls
//! (`Exchange::routing_mut`: the requested model and the hints) and the tags, never the request the
//! provider receives, so the request is not marked modified and a same-schema pass-through stays one.
//!
//! When several rules fire, each setting is decided by the highest-priority rule that sets it: rules
//! run highest priority first and the first one to pin the model (or the provider, mode, fallback
//! chain, quality floor, budget, or a tag key) keeps it; a lower rule's attempt is listed in the trace
//! as ignored. `exclude_providers` accumulates across rules. A `reject` ends the evaluation.

use switchyard_sdk::{Exchange, Reject, RejectKind};

use crate::rule::{Action, ActionKind};

/// The code of every refusal a rule makes.
pub const REJECT_CODE: &str = "rule_rejected";

/// Which rule set each setting during this evaluation (first writer wins).
#[derive(Debug, Default)]
pub(crate) struct Claims<'r> {
    model: Option<&'r str>,
    provider: Option<&'r str>,
    mode: Option<&'r str>,
    fallback: Option<&'r str>,
    floor: Option<&'r str>,
    budget: Option<&'r str>,
    tags: Vec<(&'r str, &'r str)>,
}

impl<'r> Claims<'r> {
    /// Claim the setting `action` writes for `rule`; `Err(owner)` when an earlier rule holds it.
    fn claim(&mut self, action: &'r Action, rule: &'r str) -> Result<(), &'r str> {
        let slot = match &action.kind {
            ActionKind::PinModel(_) => &mut self.model,
            ActionKind::PinProvider(_) => &mut self.provider,
            ActionKind::SetMode(_) => &mut self.mode,
            ActionKind::Fallback(_) => &mut self.fallback,
            ActionKind::QualityFloor(_) => &mut self.floor,
            ActionKind::Budget(_) => &mut self.budget,
            ActionKind::Tag { key, .. } => {
                if let Some((_, owner)) = self.tags.iter().find(|(k, _)| *k == key.as_str()) {
                    return Err(owner);
                }
                self.tags.push((key, rule));
                return Ok(());
            }
            ActionKind::ExcludeProviders(_) | ActionKind::Reject { .. } => return Ok(()),
        };
        match slot {
            Some(owner) => Err(owner),
            None => {
                *slot = Some(rule);
                Ok(())
            }
        }
    }
}

/// Apply `action` of rule `rule`, writing what was done to `done`. `Some` for a reject.
pub(crate) fn apply<'r>(
    action: &'r Action,
    rule: &'r str,
    ex: &mut Exchange,
    claims: &mut Claims<'r>,
    done: &mut Vec<String>,
) -> Option<Reject> {
    if let Err(owner) = claims.claim(action, rule) {
        done.push(format!("{} (ignored: already set by rule {owner:?})", action.label));
        return None;
    }
    done.push(String::from(&*action.label));
    match &action.kind {
        ActionKind::Reject { status, message } => {
            return Some(Reject::new(
                RejectKind::Status { status: *status },
                REJECT_CODE,
                message.clone(),
            ));
        }
        ActionKind::Tag { key, value } => {
            // One value per key: a rule's tag replaces one another phase left under the same key.
            match ex.tags.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => v.clone_from(value),
                None => ex.tags.push((key.clone(), value.clone())),
            }
            return None;
        }
        _ => {}
    }
    let (model, routing) = ex.routing_mut()?;
    match &action.kind {
        ActionKind::PinModel(m) => model.clone_from(m),
        ActionKind::PinProvider(p) => routing.provider = Some(p.clone()),
        ActionKind::SetMode(m) => {
            routing.mode = Some((*m).to_string());
            // The core reads `auto:<mode>` before `router_mode`; the rule's mode must win over the
            // client's, so `auto:quality` becomes plain `auto` (still automatic routing).
            if model.starts_with("auto:") {
                *model = "auto".to_string();
            }
        }
        ActionKind::Fallback(list) => routing.fallback.clone_from(list),
        ActionKind::QualityFloor(f) => routing.quality_floor = Some(*f),
        ActionKind::Budget(b) => routing.budget = Some(*b),
        ActionKind::ExcludeProviders(list) => {
            for p in list {
                if !routing.exclude_providers.contains(p) {
                    routing.exclude_providers.push(p.clone());
                }
            }
        }
        ActionKind::Tag { .. } | ActionKind::Reject { .. } => {}
    }
    None
}
