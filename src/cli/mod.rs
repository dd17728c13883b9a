//! Command line: `serve`, `check`, `routes`, `replay`, `verify`.
//!
//! Takes the parsed clap structs (raw, as typed) and hands back an exit code. Each subcommand
//! file turns its args into what it runs with (`serve` through a validated
//! [`serve::ServeConfig`]) and exposes `run(args) -> anyhow::Result<ExitCode>`. Output meant for
//! the user is written here, and only here; the library reports through `tracing`, whose
//! subscriber [`logging::init`] sets up.
//!
//! Exit codes: 0 ok; 1 the spec (or fixtures) has problems, or contract violations were found;
//! 2 standin could not run.

// The CLI is where standin talks to its user on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// `println!` that returns the write error instead of panicking, so `standin check | head`
/// ends quietly on a closed pipe (main maps `BrokenPipe` to success, as ripgrep does).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub mod check;
pub mod extra;
pub mod logging;
pub mod replay;
pub mod routes;
pub mod serve;
pub mod verify;
pub mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::spec::{LoadOptions, Spec};

/// standin stands in for the HTTP APIs your software talks to.
#[derive(Debug, Parser)]
#[command(name = "standin", version = extra::VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. `serve` has many more arguments than the rest; the enum is built once per
/// process, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve an OpenAPI spec as a validating mock server.
    Serve(serve::ServeArgs),
    /// Load specs (and fixtures) exactly as `serve` would and report every problem.
    Check(check::CheckArgs),
    /// List the routes a spec serves and what each answers with.
    Routes(routes::RoutesArgs),
    /// Serve a recorded HAR session (from `serve --record`).
    Replay(replay::ReplayArgs),
    /// Re-send a recorded session to a target and report every difference.
    Verify(verify::VerifyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(extra::CompletionsArgs),
    /// Print the man page (or write one per command with --out-dir).
    Man(extra::ManArgs),
    /// Ask a running server's health endpoint: exit 0 when it answers 200, else 1.
    Health(extra::HealthArgs),
}

/// Where fixtures and overlays come from: the arguments `serve`, `check` and `routes` share.
#[derive(Debug, Clone, Default, Args)]
pub struct SpecArgs {
    /// Directory of fixtures (`<operationId>.json`; only with one spec); default
    /// `fixtures/<spec name>/` if it exists.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// An OpenAPI Overlay file applied to the spec first (repeatable): vendor behaviour for a
    /// vendor's own, unmodified spec.
    #[arg(long, value_name = "FILE")]
    pub overlay: Vec<PathBuf>,
    /// Do not look for fixtures.
    #[arg(long, conflicts_with = "fixtures")]
    pub no_fixtures: bool,
}

impl SpecArgs {
    /// The fixture directory for `spec` (see [`fixtures_for`]).
    pub fn fixtures_for(&self, spec: &Path) -> Option<PathBuf> {
        fixtures_for(spec, self.fixtures.as_deref(), self.no_fixtures)
    }

    /// Load `spec` with these fixtures and overlays.
    /// `repair_all_schemas`: see [`LoadOptions::repair_all_schemas`] (`check`, `serve --upstream`).
    pub fn load(&self, spec: &Path, base_path: Option<String>, repair_all_schemas: bool) -> Result<Spec, crate::spec::LoadError> {
        load_spec(spec, self.fixtures_for(spec), base_path, &self.overlay, repair_all_schemas)
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let log = match &cli.command {
        Command::Serve(args) => args.log_format.into(),
        _ => crate::record::LogFormat::Off,
    };
    logging::init(log);
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args),
        Command::Routes(args) => routes::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Completions(args) => extra::completions(args),
        Command::Man(args) => extra::man(args),
        Command::Health(args) => extra::health(args),
    }
}

/// Where fixtures for a spec come from: `--fixtures`, else `fixtures/<spec stem>/` beside the
/// spec's directory (so `specs/bento.yaml` finds `fixtures/bento/`), unless `--no-fixtures`.
pub fn fixtures_for(spec: &Path, explicit: Option<&Path>, disabled: bool) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    let stem = spec.file_stem()?;
    let parent = spec.parent()?;
    let root = if parent.as_os_str().is_empty() { Path::new("..") } else { parent.parent().unwrap_or(Path::new(".")) };
    let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
    let candidate = root.join("fixtures").join(stem);
    candidate.is_dir().then_some(candidate)
}

/// Load one spec with the fixture and base-path options of the command line.
/// `repair_all_schemas`: see [`LoadOptions::repair_all_schemas`] (`check`, `serve --upstream`).
pub fn load_spec(
    path: &Path,
    fixtures: Option<PathBuf>,
    base_path: Option<String>,
    overlays: &[PathBuf],
    repair_all_schemas: bool,
) -> Result<Spec, crate::spec::LoadError> {
    Spec::load(path, &LoadOptions { fixtures, base_path, overlays: overlays.to_vec(), repair_all_schemas })
}
