//! `standin replay`: serve a recorded HAR session.
//!
//! Takes [`ReplayArgs`]; loads the session ([`Replayer`]) and, with `--spec`, the mock that
//! answers what the session does not hold; serves both on the server's loop and limits
//! (connection cap, header and idle timeouts, minimum body rate) until SIGINT/SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::response::Response;
use clap::{Args, ValueEnum};

use crate::record::replay::{Replayer, Strictness};

/// Arguments of `standin replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The HAR file (e.g. from `serve --record`).
    pub file: PathBuf,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 4010)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// How requests are matched: `path` (method + path), `query` (+ query), `body` (+ body).
    #[arg(long = "match", value_enum, default_value_t = MatchArg::Body)]
    pub strictness: MatchArg,
    /// Answer unmatched requests from this spec's mock instead of a 404.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    #[command(flatten)]
    pub transport: super::serve::TransportArgs,
}

/// `--match`: how strictly requests are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    Path,
    Query,
    Body,
}

impl From<MatchArg> for Strictness {
    fn from(arg: MatchArg) -> Self {
        match arg {
            MatchArg::Path => Strictness::Path,
            MatchArg::Query => Strictness::Query,
            MatchArg::Body => Strictness::Body,
        }
    }
}

/// What the replay server answers from.
struct Session {
    replayer: Replayer,
    /// The mock for requests the session does not hold (`--spec`).
    fallback: Option<Arc<crate::app::LiveApp>>,
    /// `--min-body-rate`: request bodies slower than this get 408.
    min_body_rate: crate::server::MinBodyRate,
}

/// Largest request body read (to match it against the recording).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Run `standin replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let fallback = match &args.spec {
        Some(spec) => match super::SpecArgs::default().load(spec, None, false) {
            Ok(spec) => {
                let (app, _) = crate::app::App::new(vec![Arc::new(spec)], crate::app::Options::default());
                Some(Arc::new(crate::app::LiveApp::new(Arc::new(app))))
            }
            Err(e) => {
                eprintln!("standin: {e}");
                return Ok(ExitCode::from(1));
            }
        },
        None => None,
    };
    let replayer = match Replayer::load(&args.file, args.strictness.into()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("standin: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let count = replayer.len();
    let limits = args.transport.limits();
    let session = Arc::new(Session { replayer, fallback, min_body_rate: limits.min_body_rate });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let addr = listener.local_addr()?;
        let stop = crate::server::shutdown_signal();
        outln!("standin: replaying {count} exchanges from {}", args.file.display())?;
        outln!("standin: listening on http://{addr}")?;
        let handler = move |req| answer(State(Arc::clone(&session)), req);
        crate::server::serve(listener, handler, limits, stop).await.context("server error")?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// The recorded answer; else the mock's (`--spec`); else the 404 naming the nearest recorded
/// requests.
async fn answer(State(session): State<Arc<Session>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match crate::server::exchange::collect(&parts.headers, body, MAX_BODY, session.min_body_rate).await {
        Ok(bytes) => bytes,
        // Broken, too large or too slow: answered as what it is, never matched as an empty body.
        Err(e) => return e.rejection(MAX_BODY).render(None),
    };
    if let Some(resp) = session.replayer.answer(&parts.method, parts.uri.path(), parts.uri.query(), &bytes) {
        return resp;
    }
    if let Some(app) = &session.fallback {
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        return crate::server::exchange::handle_wrap(State(Arc::clone(app)), req).await;
    }
    session.replayer.not_recorded(&parts.method, &parts.uri)
}
