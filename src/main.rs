//! The `standin` binary: parse the command line, run it, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = standin::cli::Cli::parse();
    match standin::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("standin: {e:#}");
            ExitCode::from(2)
        }
    }
}

// The allocator: request handling allocates many small, short-lived values (JSON trees, error
// lists); mimalloc measured faster than glibc malloc under the load benchmark (bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
