//! `standin verify`: re-send a recorded session to a target and report every difference.
//!
//! Takes [`VerifyArgs`]; reads the HAR file, re-sends each request in order
//! ([`crate::record::verify::resend`]), compares the answers, prints one line per exchange and
//! writes the JUnit report. Exit 1 when any answer differs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::record::verify::{compare, junit, resend, CaseResult, Ignore};

/// Arguments of `standin verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The HAR file (e.g. from `serve --record`).
    pub file: PathBuf,
    /// Where to re-send the requests: `http://host:port` (the recorded paths are kept).
    #[arg(long)]
    pub target: String,
    /// A header added to every request, e.g. credentials the recording redacted (repeatable):
    /// `--header 'X-API-Key: ke_live_…'`.
    #[arg(long, value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// A body field to ignore (repeatable): `.data.id`, `.**.etag`, `.items[].price`.
    #[arg(long, value_name = "SELECTOR")]
    pub ignore: Vec<String>,
    /// Do not ignore `id`, `createdAt`, `updatedAt` (and snake_case) by default.
    #[arg(long)]
    pub no_default_ignores: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Run `standin verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let entries = crate::record::har::read(&args.file).map_err(anyhow::Error::msg)?;
    let extra: Vec<(String, String)> =
        args.header.iter().filter_map(|h| h.split_once(':').map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))).collect();
    let ignore = Ignore::new(&args.ignore, !args.no_default_ignores);
    let target = args.target.trim_end_matches('/');
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let client = crate::tls::client_builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let results: Vec<CaseResult> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let name = format!("{:03} {} {}", i + 1, e.request.method, e.path_and_query());
            match runtime.block_on(resend(&client, target, e, &extra)) {
                Ok(now) => CaseResult { name, differences: compare(e, &now, &ignore), error: None },
                Err(error) => CaseResult { name, differences: Vec::new(), error: Some(error) },
            }
        })
        .collect();
    let failed = results.iter().filter(|r| !r.passed()).count();
    for r in &results {
        if r.passed() {
            outln!("ok   {}", r.name)?;
            continue;
        }
        outln!("FAIL {}", r.name)?;
        if let Some(e) = &r.error {
            outln!("       {e}")?;
        }
        for d in &r.differences {
            outln!("       {}: {} -> {}", d.at, d.recorded, d.now)?;
        }
    }
    outln!("verify: {} exchanges, {} match, {failed} differ", results.len(), results.len() - failed)?;
    if let Some(path) = &args.junit {
        crate::server::write_atomically(path, junit(&results).as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
