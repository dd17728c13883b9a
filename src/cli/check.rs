//! `standin check`: load each spec exactly as `serve` would, then lint what serving does not
//! need to ([`crate::lint`]: examples against their schemas, route conflicts…), and
//! print every problem. Exit 1 when a spec fails (or, with `--strict`, has warnings).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::SpecArgs;
use crate::spec::{Diagnostic, Severity};

/// Arguments of `standin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files to check.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    #[command(flatten)]
    pub spec_args: SpecArgs,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Run `standin check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if args.spec_args.fixtures.is_some() && args.specs.len() > 1 {
        anyhow::bail!("--fixtures applies to one spec; give one spec, or lay fixtures out as fixtures/<spec name>/");
    }
    let mut failed = 0;
    for path in &args.specs {
        match args.spec_args.load(path, None, true) {
            Err(e) => {
                failed += 1;
                outln!("FAIL {}", path.display())?;
                for d in &e.errors {
                    outln!("  {d}")?;
                }
            }
            Ok(spec) => {
                let mut warnings = spec.warnings.clone();
                warnings.extend(crate::lint::lint(&spec));
                let bad = args.strict && !warnings.is_empty();
                if bad {
                    failed += 1;
                }
                let fixtures = spec.fixtures.as_ref().map_or(String::new(), |(d, n)| format!(", {n} fixtures from {}", d.display()));
                outln!(
                    "{} {}: {} {} (OpenAPI {}), base path {:?}, {} operations, {} webhooks{fixtures}, {} warnings",
                    if bad { "FAIL" } else { "ok  " },
                    path.display(),
                    spec.title,
                    spec.version,
                    spec.openapi,
                    if spec.base_path.is_empty() { "/" } else { &spec.base_path },
                    spec.operations.len(),
                    spec.webhooks,
                    warnings.len()
                )?;
                for d in &warnings {
                    let d = if args.strict { Diagnostic { severity: Severity::Error, ..d.clone() } } else { d.clone() };
                    outln!("  {d}")?;
                }
            }
        }
    }
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
