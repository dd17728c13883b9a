//! Fuzz request handling against the Bento mock: any method, path, headers and body must get an
//! answer (never a panic). Input: `METHOD PATH\nName: value\n…\n\nBODY`.
//! `cargo +nightly fuzz run request -- -max_total_time=60`
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use standin::pipeline::{App, Options, Trace};

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let options = standin::spec::LoadOptions { fixtures: Some(root.join("fixtures/bento")), ..Default::default() };
        let spec = standin::spec::Spec::load(&root.join("specs/bento.yaml"), &options).expect("bento spec");
        App::new(vec![Arc::new(spec)], Options { body_limit: 1 << 20, ..Default::default() }).0
    })
}

fuzz_target!(|data: &[u8]| {
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
    let mut trace = Trace::default();
    let _ = standin::pipeline::handle(app(), &parts, body.as_bytes(), &mut trace);
});
