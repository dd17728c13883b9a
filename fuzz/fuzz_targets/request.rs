//! Fuzz request handling: any method, path, headers and body sent to three mocks on one port
//! (shop, Bench, Bento) must get an answer, never a panic. The body is `standin::harness::request`,
//! whose unit tests replay this target's corpus under `cargo test`.
//! `cargo +nightly fuzz run request -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| standin::harness::request(data));
