//! The admin listener (loopback by default; never expose it): what it serves is in the one route
//! table (`crate::endpoints::ROUTES`, listener `Admin`), but for the key admin API (`keys`, under
//! `/admin/keys`), which the service serves before looking the route up.

pub mod guard;
pub mod keys;
pub mod service;
