//! sinch-dlr: receives, verifies and durably stores Sinch SMS callbacks.
//! The module list is the architecture; see README.md and each `//!`.
//! Public: what the binaries (`main.rs`, the benchmark), the integration
//! tests and the fuzz targets use; everything else is crate-private, so
//! the compiler reports what nothing calls.

pub(crate) mod access;
pub(crate) mod api;
pub(crate) mod app;
pub mod auth;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub(crate) mod dashboard;
pub(crate) mod dotenv;
pub(crate) mod export;
pub(crate) mod format;
pub mod http;
pub(crate) mod http_client;
pub(crate) mod log_limit;
pub(crate) mod metrics;
pub(crate) mod periodic;
pub mod phone;
pub mod query;
pub(crate) mod random;
pub(crate) mod reconcile;
pub(crate) mod reconcile_report;
pub(crate) mod reconcile_window;
pub(crate) mod retention;
pub(crate) mod routes;
pub(crate) mod sending;
pub mod server;
pub(crate) mod signing;
pub mod sinch;
pub(crate) mod sinch_client;
pub(crate) mod sinch_error;
pub(crate) mod sinch_token;
pub(crate) mod slots;
pub mod store;
pub(crate) mod suggest;
pub(crate) mod systemd;
pub(crate) mod throttle;
pub(crate) mod webhooks;
pub(crate) mod writer;
