//! Fuzz spec loading: any bytes as a YAML/JSON document must load or fail with diagnostics,
//! never panic or hang. The body is `standin::harness::spec_load`, whose
//! unit tests replay this target's corpus under `cargo test`.
//! `cargo +nightly fuzz run spec_load -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| standin::harness::spec_load(data));
