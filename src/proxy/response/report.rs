//! What a translator needs from the proxy when an answer is complete: the `router` object (built
//! from the request's state once the usage is known) and the exact cost, which are kept for the
//! log.

use serde_json::Value;
use switchyard_sdk::ir::Usage;
use switchyard_sdk::Money;

use crate::proxy::ctx::{AnswerState, Ctx};
use crate::proxy::router_meta::RouterMeta;
use crate::wire::Finalizer;

/// Builds the `router` object once the usage is known, and keeps usage and cost for the log.
pub struct Report<'a> {
    ctx: &'a Ctx,
    pub usage: Option<Usage>,
    pub cost: Option<Money>,
    /// The `router` object as written, kept when a phase asked the core to collect the answer.
    pub router: Option<Vec<u8>>,
    /// Lossy conversions the translator found in the answer itself.
    notes: Vec<String>,
}

impl<'a> Report<'a> {
    pub fn new(ctx: &'a Ctx) -> Self {
        Report {
            ctx,
            usage: None,
            cost: None,
            router: None,
            notes: Vec::new(),
        }
    }

    fn settle(&mut self, usage: Option<Usage>) -> Option<Money> {
        let cost = match (usage, self.ctx.current_model()) {
            (Some(u), Some(m)) => Some(m.pricing.cost(&u)),
            _ => None,
        };
        self.usage = usage;
        self.cost = cost;
        cost
    }

    /// What the report learned, to keep in the context once it no longer borrows it.
    pub fn settled(self) -> Settled {
        Settled {
            usage: self.usage,
            cost: self.cost,
            router: self.router,
        }
    }
}

/// Usage, cost and `router` object of a finished answer.
pub struct Settled {
    usage: Option<Usage>,
    cost: Option<Money>,
    router: Option<Vec<u8>>,
}

impl Settled {
    pub fn keep(self, a: &mut AnswerState) {
        if self.usage.is_some() || self.cost.is_some() {
            a.usage = self.usage;
            a.cost = self.cost;
        }
        if self.router.is_some() {
            a.router = self.router;
        }
    }
}

impl Finalizer for Report<'_> {
    fn note(&mut self, what: String) {
        if !self.notes.contains(&what) {
            self.notes.push(what);
        }
    }

    fn finish(&mut self, usage: Option<Usage>) -> (Value, Option<Money>) {
        let cost = self.settle(usage);
        let v = RouterMeta::new(self.ctx, cost).with_notes(&self.notes).to_value();
        if self.ctx.decision.hooks.collect() {
            self.router = serde_json::to_vec(&v).ok();
        }
        (v, cost)
    }

    fn finish_bytes(&mut self, usage: Option<Usage>) -> (Vec<u8>, Option<Money>) {
        let cost = self.settle(usage);
        let bytes = RouterMeta::new(self.ctx, cost).with_notes(&self.notes).to_bytes();
        if self.ctx.decision.hooks.collect() {
            self.router = Some(bytes.clone());
        }
        (bytes, cost)
    }
}

/// The `router` metadata of API.md as a `Value`, for answers built as trees.
pub fn router_json(ctx: &Ctx, cost: Option<Money>) -> Value {
    RouterMeta::new(ctx, cost).to_value()
}
