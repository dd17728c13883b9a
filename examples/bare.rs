//! The benchmark baseline: a bare axum handler returning fixed bytes on every path, no routing,
//! validation or generation. `bench/run.sh` runs it side by side with standin so the ratio holds
//! on a noisy machine.
//!
//! Run: `cargo run --release --example bare -- 4020`

// A measuring program: its results go to stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use axum::http::header;
use axum::response::IntoResponse;

async fn fixed() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

const BODY: &str =
    r#"{"products":[{"id":"prd_lamp1","name":"Desk lamp","price":49.5,"currency":"EUR","category":null,"tags":["home"]}],"total":1}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(4020);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bare: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, axum::Router::new().fallback(fixed)).await
}
