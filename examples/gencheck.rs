//! Check that generated bodies validate against their own schemas, for every JSON response of
//! every operation of any spec (the test suite does this for the specs we ship).
//!
//! `cargo run --release --example gencheck -- SPEC [SEEDS]` prints the first 15 invalid bodies
//! and a count. Response validators are compiled here, so a spec like Stripe's takes a while.

// A measuring program: its results go to stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]
use standin::spec::{LoadOptions, Spec, View};
fn main() {
    let path = std::env::args().nth(1).expect("spec path");
    let seeds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let spec = Spec::load(path.as_ref(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let (mut checked, mut bad) = (0, 0);
    let t = std::time::Instant::now();
    for op in &spec.operations {
        for r in &op.responses {
            for m in r.content.iter().filter(|m| standin::spec::model::is_json_mime(&m.mime)) {
                let Some(schema) = &m.schema else { continue };
                let v = match spec.schemas.compile_pointer(View::Response, schema) {
                    Ok(v) => v,
                    Err(e) => {
                        println!("COMPILE {} {}: {e}", op.label(), r.status);
                        continue;
                    }
                };
                for seed in 0..seeds {
                    let body = standin::respond::generate::generate(&spec.schemas.response, schema, seed, seed % 2 == 1);
                    checked += 1;
                    let err = v.iter_errors(&body).next().map(|e| format!("{e} at {}", e.instance_path().as_str()));
                    if let Some(e) = err {
                        bad += 1;
                        if bad <= 15 {
                            println!("BAD {} {}: {}", op.label(), r.status, e.chars().take(300).collect::<String>());
                        }
                    }
                }
            }
        }
    }
    println!("{checked} bodies, {bad} invalid, {:?}", t.elapsed());
}
