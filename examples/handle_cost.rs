//! What the pipeline itself costs per request, without sockets: `pipeline::handle` (route, auth,
//! validate, respond) and the error envelope, called in a loop for the cases `bench/run.sh`
//! loads over HTTP. The load benchmark prints this beside the throughput, so a missed target
//! says whether the time goes to standin's own work or to the transport around it.
//!
//! Run: `cargo run --release --example handle_cost [-- CASE]` (`N=…` sets the iterations).

// A measuring program: its results go to stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;

use axum::http::Request;
use standin::app::{App, Options};
use standin::pipeline::{handle, Context, RequestId};
use standin::spec::{LoadOptions, Spec};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Case {
    name: &'static str,
    method: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
}

const JSON: (&str, &str) = ("content-type", "application/json");

const SHOP: &[Case] = &[
    Case { name: "list_get_generated", method: "GET", uri: "/api/v2/products?limit=20", headers: &[], body: b"" },
    Case { name: "get_by_id_example", method: "GET", uri: "/api/v2/products/prd_lamp1", headers: &[], body: b"" },
    Case { name: "get_fixture", method: "GET", uri: "/api/v2/categories/1", headers: &[], body: b"" },
    Case {
        name: "post_valid_body",
        method: "POST",
        uri: "/api/v2/products",
        headers: &[JSON],
        body: br#"{"name":"Desk lamp","price":49.5,"currency":"EUR","category":null,"tags":["home"]}"#,
    },
    Case {
        name: "post_invalid_body_400",
        method: "POST",
        uri: "/api/v2/products",
        headers: &[JSON],
        body: br#"{"id":"prd_x1","price":0,"currency":"GBP","colour":"red"}"#,
    },
];

const BENCH: &[Case] = &[
    Case {
        name: "get_by_id_from_state",
        method: "GET",
        uri: "/api/agent/deals/deal_abc123",
        headers: &[("x-api-key", "ke_live_bench")],
        body: b"",
    },
    Case { name: "auth_rejected_401", method: "GET", uri: "/api/agent/deals", headers: &[], body: b"" },
];

fn app(spec: &str, fixtures: Option<&str>, stateless: bool) -> App {
    let options = LoadOptions { fixtures: fixtures.map(Into::into), ..Default::default() };
    let spec = Spec::load(spec.as_ref(), &options).unwrap_or_else(|e| panic!("{e}"));
    App::new(vec![Arc::new(spec)], Options { stateless, rate_limit_off: true, ..Default::default() }).0
}

/// Poll the pipeline once: with no injected latency it never waits, so no runtime is needed
/// (and none is measured).
fn now<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the pipeline waited with no latency configured"),
    }
}

fn main() {
    let only = std::env::args().nth(1);
    let n: u32 = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let shop = app("tests/fixtures/specs/shop.yaml", Some("tests/fixtures/responses/shop"), true);
    let bench = app("specs/bench.yaml", Some("fixtures/bench"), false);
    for (app, cases) in [(&shop, SHOP), (&bench, BENCH)] {
        for case in cases.iter().filter(|c| only.as_deref().is_none_or(|o| o == c.name)) {
            let mut req = Request::builder().method(case.method).uri(case.uri).header("host", "127.0.0.1");
            for (k, v) in case.headers {
                req = req.header(*k, *v);
            }
            let (parts, ()) = req.body(()).expect("a valid request").into_parts();
            let started = std::time::Instant::now();
            let mut status = 0;
            for _ in 0..n {
                let cx = Context {
                    id: RequestId::fresh(),
                    started: std::time::Instant::now(),
                    mount: app.mount_of(&parts),
                    timeout: std::time::Duration::from_secs(30),
                };
                status = match now(handle(app, &cx, &parts, case.body)) {
                    Ok(a) => a.response.status().as_u16(),
                    Err(e) => std::hint::black_box(e.rejection.body_bytes()).len().min(1) as u16 * e.rejection.status.as_u16(),
                };
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
            println!("  {:<32} {us:6.2} µs per request in the pipeline (status {status})", case.name);
        }
    }
}
