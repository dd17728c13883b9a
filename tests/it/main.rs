//! One integration-test binary (one link step); a module per area. Every test starts the real
//! server on a loopback port (port 0) and talks HTTP to it, or runs the real binary.

mod common;

mod cli;
mod conformance;
mod errors;
mod exchange;
mod inferred;
mod record;
mod redis;
mod respond;
mod robustness;
mod routing;
mod sandbox;
mod specs;
mod state;
mod swagger2;
mod ui;
mod validate;
mod vendors;
mod webhooks;
