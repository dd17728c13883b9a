//! `standin replay`: serve a recorded HAR session.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::record::replay::{self, Replayer, Strictness};

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
    #[arg(long = "match", default_value = "body", value_parser = ["path", "query", "body"])]
    pub strictness: String,
    /// Answer unmatched requests from this spec's mock instead of a 404.
    #[arg(long)]
    pub spec: Option<PathBuf>,
}

/// Run `standin replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let strictness = match args.strictness.as_str() {
        "path" => Strictness::Path,
        "query" => Strictness::Query,
        _ => Strictness::Body,
    };
    let fallback = match &args.spec {
        Some(spec) => {
            let fixtures = super::fixtures_for(spec, None, false);
            let spec = match super::load_spec(spec, fixtures, None, &[], false) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("standin: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let (app, _) = crate::pipeline::App::new(vec![Arc::new(spec)], crate::pipeline::Options::default());
            Some(Arc::new(app))
        }
        None => None,
    };
    let replayer = match Replayer::load(&args.file, strictness, fallback) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("standin: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port)).await.with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        outln!("standin: replaying {} exchanges from {}", replayer.len(), args.file.display())?;
        outln!("standin: listening on http://{addr}")?;
        let router = axum::Router::new().fallback(replay::handle).with_state(replayer);
        axum::serve(listener, router).with_graceful_shutdown(crate::server::shutdown_signal()).await.context("server error")?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}
