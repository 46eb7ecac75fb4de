//! The contract between Switchyard's core and its plugins: the [`Phase`] trait and its [`Decision`],
//! the [`Exchange`] a phase works on, the canonical request and answer IR every client schema parses
//! into, and how a [`Plugin`] is configured and built. It depends on nothing of Switchyard's, so a
//! plugin crate depends on this crate alone.

pub mod answer;
pub mod classify;
pub mod exchange;
pub mod ir;
pub mod money;
pub mod phase;
pub mod plugin;
pub mod state;

pub use answer::{AnswerKind, PhaseAnswer};
pub use classify::{mode_word, Classification, Classify, TASKS};
pub use exchange::{
    Endpoint, Exchange, FirewallEntry, Identity, KeyLimits, Routed, Scopes, TraceEntry, COSTLY_FEATURES,
};
pub use money::{Money, Price};
pub use phase::{AnswerWatch, Decision, Outcome, Phase, Reject, RejectKind, StreamDecision};
pub use plugin::{typed, unknown, BuildEnv, Built, ConfigError, Names, Plugin, PluginState};
pub use state::{Credit, Credited, KeyValue, KvEntry, Ledger, LedgerEntry, StoreError, StoreFuture};

#[cfg(test)]
mod tests;
