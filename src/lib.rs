//! standin stands in for the HTTP APIs other software talks to.
//!
//! Give it an OpenAPI 3.0 or 3.1 document and it becomes that API: it builds the routes at
//! runtime, checks every request against the spec, and answers from fixtures, the spec's
//! examples, or data generated from the response schemas.
//!
//! # Layout (pipeline order)
//! ```text
//! spec/       load (read, bundle $refs) → convert (3.0 → 2020-12, request/response views)
//!             → model (Operation IR with compiled request validators)
//! routes/     RouteTable::build once; lookup → RouteMatch (404 / 405 + Allow)
//! app.rs      App: the mounted specs, their route tables, sandboxes and limiters; LiveApp
//! server.rs   bind, serve, graceful shutdown; server/exchange.rs: one exchange around the
//!             pipeline (request id, limits, body, CORS, HEAD, the journal)
//! admin.rs    /__standin/… endpoints, chosen once per exchange
//! pipeline/   route → vendor_rules → auth → rate_limit → validate → faults → state → respond
//! proxy.rs    serve --upstream: forward and check both directions (in the pipeline's place)
//! reject.rs   Rejection, the one error type, and its envelopes
//! state/      stateful sandbox: inferred resources, per-tenant CRUD store seeded from fixtures
//! respond/    source precedence: Prefer example > fixture > spec example > generated (generate/);
//!             Artifacts: response validators, plans, fixed bodies, compiled on first use
//! record/     the journal, its log line, HAR recording, replay and verify
//! coverage/   contract coverage, tallied by the journal's writer; ui/ the inspector page and
//!             the HTML coverage report (`/__standin/ui`, `serve --report-html`)
//! util/       leaf helpers, importing nothing of ours: JSON pointers and text, hashing, time,
//!             {{…}} templates
//! lint.rs     `check`: spec problems serving does not look for (reads every stage)
//! cli/        serve, check, routes, record/replay/verify, completions, man
//! ```
//!
//! # In-process use (tests)
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! let spec = standin::spec::Spec::load("specs/bento.yaml".as_ref(), &Default::default())?;
//! let (app, _warnings) = standin::app::App::new(vec![Arc::new(spec)], Default::default());
//! let server = standin::server::start(app, "127.0.0.1:0".parse()?).await?;
//! println!("{}", server.url());
//! server.stop().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod coverage;
#[doc(hidden)]
pub mod harness;
pub mod lint;
pub mod pipeline;
pub mod proxy;
pub mod record;
pub mod reject;
pub mod respond;
pub mod routes;
pub mod server;
pub mod spec;
pub mod state;
pub mod tls;
pub mod ui;
pub mod util;
pub mod webhooks;
