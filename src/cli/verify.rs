//! `standin verify`: re-send a recorded session to a target and report every difference.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use crate::record::verify::{diff_json, junit, CaseResult, Difference, Ignore};

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

/// Request headers not re-sent: the client sets them for the new connection.
const SKIP: [&str; 6] = ["host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"];

/// Run `standin verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let har: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.file.display()))?;
    let entries = har.pointer("/log/entries").and_then(Value::as_array).with_context(|| format!("{}#/log/entries: not a HAR file", args.file.display()))?.clone();
    let extra: Vec<(String, String)> = args.header.iter().filter_map(|h| h.split_once(':').map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))).collect();
    let ignore = Ignore::new(&args.ignore, !args.no_default_ignores);
    let target = args.target.trim_end_matches('/').to_string();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut results = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let method = e.pointer("/request/method").and_then(Value::as_str).unwrap_or("GET").to_string();
        let url = e.pointer("/request/url").and_then(Value::as_str).unwrap_or("/");
        let path = crate::record::path_and_query(url).to_string();
        let name = format!("{:03} {method} {path}", i + 1);
        let result = runtime.block_on(async {
            let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
            let mut req = client.request(m, format!("{target}{path}"));
            for h in e.pointer("/request/headers").and_then(Value::as_array).into_iter().flatten() {
                let (Some(n), Some(v)) = (h.get("name").and_then(Value::as_str), h.get("value").and_then(Value::as_str)) else { continue };
                if SKIP.contains(&n.to_ascii_lowercase().as_str()) || v == "[redacted]" || extra.iter().any(|(x, _)| x.eq_ignore_ascii_case(n)) {
                    continue;
                }
                req = req.header(n, v);
            }
            for (n, v) in &extra {
                req = req.header(n.as_str(), v.as_str());
            }
            if let Some(body) = e.pointer("/request/postData/text").and_then(Value::as_str) {
                req = req.body(body.to_string());
            }
            let resp = req.send().await.map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, ct, body))
        });
        let mut differences = Vec::new();
        let mut error = None;
        match result {
            Err(e) => error = Some(e),
            Ok((status, ct, body)) => {
                let rec_status = e.pointer("/response/status").and_then(Value::as_u64).unwrap_or(0) as u16;
                if rec_status != status {
                    differences.push(Difference { at: "status".into(), recorded: rec_status.to_string(), now: status.to_string() });
                }
                let base = |c: &str| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                let rec_ct = e.pointer("/response/content/mimeType").and_then(Value::as_str).unwrap_or("");
                if base(rec_ct) != base(&ct) {
                    differences.push(Difference { at: "content-type".into(), recorded: rec_ct.into(), now: ct.clone() });
                }
                let rec_text = e.pointer("/response/content/text").and_then(Value::as_str).unwrap_or("");
                match (serde_json::from_str::<Value>(rec_text), serde_json::from_slice::<Value>(&body)) {
                    (Ok(a), Ok(b)) => differences.extend(diff_json(&a, &b, &ignore)),
                    _ if rec_text.as_bytes() != &body[..] && e.pointer("/response/content/encoding").is_none() => {
                        differences.push(Difference { at: "body".into(), recorded: format!("{} bytes", rec_text.len()), now: format!("{} bytes", body.len()) })
                    }
                    _ => {}
                }
            }
        }
        results.push(CaseResult { name, differences, error });
    }
    // --- Report.
    let failed = results.iter().filter(|r| !r.differences.is_empty() || r.error.is_some()).count();
    for r in &results {
        if r.differences.is_empty() && r.error.is_none() {
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
