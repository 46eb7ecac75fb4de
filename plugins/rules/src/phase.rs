//! The rules [`Phase`]: the compiled [`RuleSet`] of one config snapshot and the clock its time
//! windows read. It runs in `on_request`, once the body is parsed, so conditions can see the prompt.

use std::sync::Arc;

use switchyard_sdk::{Decision, Exchange, Phase};

use crate::compile::RuleSet;
use crate::eval::PHASE;
use crate::time::{Clock, SystemClock};

/// The phase built for one config snapshot.
pub struct RulesPhase {
    rules: RuleSet,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RulesPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesPhase")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl RulesPhase {
    /// The phase on the system clock.
    pub fn new(rules: RuleSet) -> Self {
        RulesPhase::with_clock(rules, Arc::new(SystemClock))
    }

    /// The phase on `clock` (tests; a preview "as if it were 23:30").
    pub fn with_clock(rules: RuleSet, clock: Arc<dyn Clock>) -> Self {
        RulesPhase { rules, clock }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl Phase for RulesPhase {
    fn name(&self) -> &'static str {
        PHASE
    }

    fn on_request(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        self.rules.evaluate(&head.headers, ex, &*self.clock)
    }
}
