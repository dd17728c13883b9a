//! The `standin` binary: parse the command line, run it, map the result to an exit code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = standin::cli::Cli::parse();
    match standin::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed stdout (`standin check … | head`) is not an error.
            if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
                return ExitCode::SUCCESS;
            }
            #[allow(clippy::print_stderr)] // the binary's last word to its user
            {
                eprintln!("standin: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

// The allocator: request handling allocates many small, short-lived values (JSON trees, error
// lists); mimalloc measured faster than glibc malloc under the load benchmark (bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
