//! The contract between Switchyard's core and its plugins: the [`Phase`] trait and its [`Decision`],
//! the [`Exchange`] a phase works on, and the canonical request IR every client schema parses into.
//! It depends on nothing of Switchyard's, so a plugin crate depends on this crate alone.

pub mod exchange;
pub mod ir;
pub mod money;
pub mod phase;

pub use exchange::{Endpoint, Exchange, Identity, KeyLimits, Scopes, TraceEntry};
pub use money::{Money, Price};
pub use phase::{Decision, Outcome, Phase, Reject, RejectKind};
