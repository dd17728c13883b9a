//! Fuzz spec loading: any bytes as a YAML/JSON document must load or fail with diagnostics,
//! never panic or hang. `cargo +nightly fuzz run spec_load -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("fuzz.yaml");
    if let Ok(spec) = standin::spec::Spec::load_text(path, text, &Default::default()) {
        // Exercise what a server builds at start.
        let _ = standin::routes::RouteTable::build(&spec);
        for op in &spec.operations {
            for r in &op.responses {
                for m in &r.content {
                    if let Some(p) = &m.schema {
                        let _ = standin::respond::fake::generate(&spec.schemas.response, &spec.patterns, p, 1, true);
                    }
                }
            }
        }
    }
});
