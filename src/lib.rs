//! sinch-dlr: receives, verifies and durably stores Sinch SMS callbacks.
//! The module list is the architecture; see README.md and each `//!`.

pub mod access;
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod dotenv;
pub mod export;
pub mod format;
pub mod http;
pub mod metrics;
pub mod outbound;
pub mod periodic;
pub mod query;
pub mod reconcile;
pub mod retention;
pub mod routes;
pub mod send;
pub mod server;
pub mod sinch;
pub mod store;
pub mod systemd;
pub mod throttle;
pub mod writer;
