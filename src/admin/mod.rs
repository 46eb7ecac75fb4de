//! The admin listener (loopback by default; never expose it): what it serves is in the one route
//! table (`crate::endpoints::ROUTES`, listener `Admin`).

pub mod guard;
pub mod service;
