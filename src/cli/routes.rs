//! `standin routes`: list method, path, operationId and what each route answers with.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `standin routes`.
#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// The spec to list.
    pub spec: PathBuf,
    #[command(flatten)]
    pub spec_args: super::SpecArgs,
}

/// Run `standin routes`.
pub fn run(args: RoutesArgs) -> anyhow::Result<ExitCode> {
    let spec = match args.spec_args.load(&args.spec, None, false) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("standin: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let rows: Vec<[String; 4]> = spec
        .operations
        .iter()
        .map(|op| {
            let answers: Vec<String> = op
                .responses
                .iter()
                .map(|r| {
                    let media: Vec<String> = r
                        .content
                        .iter()
                        .map(|m| {
                            let source = if m.fixture.is_some() {
                                "fixture"
                            } else if !m.examples.is_empty() {
                                "example"
                            } else if m.schema.is_some() {
                                "generated"
                            } else {
                                "empty"
                            };
                            format!("{} ({source})", m.mime)
                        })
                        .collect();
                    if media.is_empty() {
                        r.status.to_string()
                    } else {
                        format!("{} {}", r.status, media.join(" "))
                    }
                })
                .collect();
            [
                op.method.to_string(),
                format!("{}{}", spec.base_path, op.path),
                op.operation_id.clone().unwrap_or_else(|| "-".into()),
                answers.join(", "),
            ]
        })
        .collect();
    let widths: Vec<usize> =
        (0..3).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(["METHOD", "PATH", "OPERATION"][i].len())).collect();
    outln!("{:w0$}  {:w1$}  {:w2$}  ANSWERS", "METHOD", "PATH", "OPERATION", w0 = widths[0], w1 = widths[1], w2 = widths[2])?;
    for r in rows {
        outln!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3], w0 = widths[0], w1 = widths[1], w2 = widths[2])?;
    }
    Ok(ExitCode::SUCCESS)
}
