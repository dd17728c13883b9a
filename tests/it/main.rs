//! One integration-test binary (one link step); a module per area. Every test starts the real
//! server on a loopback port (port 0) and talks HTTP to it, or runs the real binary.

mod common;

mod cli;
mod respond;
mod record;
mod robustness;
mod routing;
mod specs;
mod state;
mod ui;
mod swagger2;
mod validate;
mod vendors;
mod webhooks;
