//! standin stands in for the HTTP APIs other software talks to.
//!
//! Give it an OpenAPI 3.0 or 3.1 document and it becomes that API: it builds the routes at
//! runtime, checks every request against the spec, and answers from fixtures, the spec's
//! examples, or data generated from the response schemas.
//!
//! # Layout (pipeline order)
//! ```text
//! spec/      load (read, bundle $refs) → convert (3.0 → 2020-12, request/response views)
//!            → model (Operation IR with compiled request validators)
//! routes/    RouteTable::build once; lookup → RouteMatch (404 / 405 + Allow)
//! pipeline/  handle_wrap → handle: route → validate → respond; Rejection → error envelope
//! state/     stateful sandbox: inferred resources, per-tenant CRUD store seeded from fixtures
//! respond/   source precedence: Prefer example > fixture > spec example > generated (generate/);
//!            Artifacts: response validators, plans, fixed bodies, compiled on first use
//! util/      leaf helpers: JSON pointers and text, hashing, time, {{…}} templates
//! server.rs  bind, serve, graceful shutdown
//! coverage.rs contract coverage, tallied by the journal's writer; ui/ the inspector page and
//!            the HTML coverage report (`/__standin/ui`, `serve --report-html`)
//! lint.rs    `check`: spec problems serving does not look for (reads every stage)
//! cli/       serve, check, routes
//! ```
//!
//! # In-process use (tests)
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! let spec = standin::spec::Spec::load("specs/bento.yaml".as_ref(), &Default::default())?;
//! let (app, _warnings) = standin::pipeline::App::new(vec![Arc::new(spec)], Default::default());
//! let server = standin::server::start(app, "127.0.0.1:0".parse()?).await?;
//! println!("{}", server.url());
//! server.stop().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod cli;
pub mod coverage;
#[doc(hidden)]
pub mod harness;
pub mod lint;
pub mod pipeline;
pub mod record;
pub mod respond;
pub mod routes;
pub mod server;
pub mod spec;
pub mod state;
pub mod tls;
pub mod ui;
pub mod util;
pub mod webhooks;
