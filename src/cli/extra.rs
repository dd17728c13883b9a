//! `standin completions`, `standin man` and `standin health`: what packaging needs from the binary.
//! Completions and man pages are generated from the clap definitions, so they never drift from the
//! command line; `health` is the container's health check (a `FROM scratch` image has no curl).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `standin --version`: the crate version and the commit it was built from ("unknown" when git
/// was not available to the build; see build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("STANDIN_COMMIT"), ")");

/// The health URL `standin health` asks by default: `serve`'s default port on this host.
pub const DEFAULT_HEALTH_URL: &str = "http://127.0.0.1:4010/__standin/health";

/// Arguments of `standin completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for (to stdout).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `standin man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (`standin.1`, `standin-serve.1`, …) into DIR instead of
    /// printing `standin.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Arguments of `standin health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The health endpoint to ask.
    #[arg(long, default_value = DEFAULT_HEALTH_URL)]
    pub url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 2.0)]
    pub timeout: f64,
}

/// Write the completion script for one shell to stdout.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "standin", &mut out);
    write_stdout(&out)
}

/// Render the man page(s).
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    if let Some(dir) = args.out_dir {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        clap_mangen::generate_to(cmd, &dir).with_context(|| format!("writing man pages to {}", dir.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Ask the health endpoint once: exit 0 on a 200, 1 otherwise (with the reason on stderr).
pub fn health(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .context("--timeout must be a positive number of seconds")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(async {
        let client = crate::tls::client_builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).build()?;
        client.get(&args.url).send().await.map(|r| r.status())
    });
    match answer {
        Ok(status) if status == reqwest::StatusCode::OK => Ok(ExitCode::SUCCESS),
        Ok(status) => {
            eprintln!("standin health: {} answered {status}", args.url);
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("standin health: {}: {}", args.url, error_chain(&e));
            Ok(ExitCode::from(1))
        }
    }
}

/// reqwest's own message is generic ("error sending request"); the cause says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_commit() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(VERSION.contains("(commit "), "{VERSION}");
    }

    #[test]
    fn completions_and_man_name_every_subcommand() {
        let cmd = super::super::Cli::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut super::super::Cli::command(), "standin", &mut out);
            let text = String::from_utf8(out).unwrap();
            for name in &names {
                assert!(text.contains(name), "{shell}: no {name}");
            }
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie") || page.contains(".TH standin"), "{}", &page[..page.len().min(200)]);
        for name in &names {
            assert!(page.contains(name), "man: no {name}");
        }
    }

    #[test]
    fn health_is_one_for_a_closed_port() {
        // A port just bound and released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let code = health(HealthArgs { url: format!("http://127.0.0.1:{port}/__standin/health"), timeout: 1.0 }).unwrap();
        assert_eq!(code, ExitCode::from(1));
    }
}
