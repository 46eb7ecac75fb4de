//! Endpoints the gateway answers itself: the catalog on the proxy listener, and the admin listener
//! (metrics, health, reload).

pub mod api;
pub mod catalog;
pub mod service;
