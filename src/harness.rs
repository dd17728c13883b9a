//! Entry points that take arbitrary bytes: the bodies of the cargo-fuzz targets in `fuzz/`, and
//! of the unit tests below that replay their corpus and every input that ever found a bug under
//! plain `cargo test` (fuzzing itself needs a nightly toolchain).
//!
//! Not part of the pipeline: nothing here runs when standin serves.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::app::{App, Options};
use crate::pipeline::{Context, RequestId};
use crate::spec::{LoadOptions, Spec};

/// The repository root (specs and fixtures the harness loads).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Any bytes as a YAML or JSON document must load or fail with diagnostics, never panic or
/// hang; what loads is built into a route table and every response schema generates a body.
pub fn spec_load(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.yaml");
    for repair_all_schemas in [false, true] {
        let Ok(spec) = Spec::load_text(path, text, &LoadOptions { repair_all_schemas, ..Default::default() }) else { continue };
        let _ = crate::routes::RouteTable::build(&spec);
        for op in &spec.operations {
            for r in &op.responses {
                for m in &r.content {
                    if let Some(p) = &m.schema {
                        let _ = crate::respond::generate::generate(&spec.schemas.response, p, 1, true);
                    }
                }
            }
        }
    }
}

/// Three mocks on one port, told apart by base path: the shop test spec (every parameter style,
/// readOnly, form bodies) under `/api/v2`, Bench (API-key auth, state, actions) under `/api`,
/// Bento (query-key auth, required User-Agent, batches) under `/api/v1`.
fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let root = root();
        let load = |spec: &str, fixtures: &str| {
            let options = LoadOptions { fixtures: Some(root.join(fixtures)), ..Default::default() };
            Arc::new(Spec::load(&root.join(spec), &options).unwrap_or_else(|e| panic!("the harness's own spec does not load: {e}")))
        };
        let specs = vec![
            load("tests/fixtures/specs/shop.yaml", "tests/fixtures/responses/shop"),
            load("specs/bench.yaml", "fixtures/bench"),
            load("specs/bento.yaml", "fixtures/bento"),
        ];
        App::new(specs, Options { body_limit: 1 << 20, rate_limit_window: Some(1), ..Default::default() }).0
    })
}

/// Any request must get an answer, never a panic. Input: `METHOD PATH\nName: value\n…\n\nBODY`
/// (a request that cannot even be built, such as a method with a space, is skipped: hyper
/// refuses it before standin sees it).
pub fn request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("GET /");
    let (method, path) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = axum::http::Request::builder().method(method).uri(path);
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            builder = builder.header(n.trim(), v.trim());
        }
    }
    let Ok(req) = builder.body(()) else { return };
    let (parts, ()) = req.into_parts();
    let app = app();
    let status = match crate::admin::admin_path(parts.uri.path()) {
        Some(rest) => {
            let query = crate::pipeline::validate::parse_query(parts.uri.query());
            crate::admin::endpoint(app, &parts.method, rest, &query, body.as_bytes()).map_or_else(|r| r.status, |r| r.status())
        }
        None => {
            let cx = Context {
                id: RequestId::fresh(),
                started: std::time::Instant::now(),
                mount: app.mount_of(&parts),
                timeout: std::time::Duration::from_secs(30),
            };
            runtime()
                .block_on(crate::pipeline::handle(app, &cx, &parts, body.as_bytes()))
                .map_or_else(|refused| refused.rejection.status, |answer| answer.response.status())
        }
    };
    // A 5xx is standin failing, not the client: the specs here are ours and sound.
    assert!(status.as_u16() < 500, "{method} {path} got {status}");
}

/// One runtime for every input (the pipeline is async: injected latency waits).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `fuzz/corpus/<target>/` (the seeds and what fuzzing kept) and of
    /// `fuzz/regressions/<target>/` (each input that once found a bug, named after it).
    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for dir in ["fuzz/corpus", "fuzz/regressions"] {
            let Ok(entries) = std::fs::read_dir(root().join(dir).join(target)) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        out.sort();
        out
    }

    /// Run `target` on every kept input of `name`: none may panic (or fail its assertions).
    fn replay(name: &str, target: fn(&[u8])) {
        let inputs = inputs(name);
        assert!(inputs.len() >= 3, "the {name} corpus is missing");
        for (path, bytes) in inputs {
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "{} panicked", path.display());
        }
    }

    #[test]
    fn every_kept_spec_load_input_loads_or_fails_cleanly() {
        replay("spec_load", spec_load);
    }

    #[test]
    fn every_kept_request_input_gets_an_answer() {
        replay("request", request);
    }
}
