//! One test binary; a module per theme. Every test runs the real
//! sinch-dlr on 127.0.0.1:0 with its own temp dir and redb file.

mod support;

mod auth;
mod bench;
mod browser;
mod callbacks;
mod cli;
mod config;
mod connections;
mod crash;
mod dashboard;
mod deploy;
mod drilldown;
mod edge;
mod endpoints_page;
mod events;
mod faults;
mod feedback;
mod finding;
mod fixtures;
mod framing;
mod hostile;
mod inbound;
mod input;
mod messages;
mod oauth;
mod operators;
mod pressure;
mod process;
mod registering;
mod send;
mod variables;
mod window;
