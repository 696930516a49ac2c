//! One test binary; a module per theme. Every test runs the real
//! sinch-dlr on 127.0.0.1:0 with its own temp dir and redb file.

mod support;

mod auth;
mod bench;
mod browser;
mod callbacks;
mod config;
mod connections;
mod crash;
mod dashboard;
mod deploy;
mod edge;
mod endpoints_page;
mod faults;
mod fixtures;
mod hostile;
mod input;
mod messages;
mod operators;
mod process;
mod send;
mod variables;
