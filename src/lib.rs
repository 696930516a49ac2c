//! sinch-dlr: receives, verifies and durably stores Sinch SMS callbacks.
//! The module list is the architecture; see README.md and each `//!`.

pub mod auth;
pub mod clock;
pub mod http;
pub mod sinch;
pub mod store;
