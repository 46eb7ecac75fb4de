//! Unit tests of the pairings: a client codec with a provider adapter, through the IR and through the
//! same-schema pass-throughs, one file per provider.

mod anthropic;
mod gemini;
mod openai;
