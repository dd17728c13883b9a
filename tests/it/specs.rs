//! Spec loading across the corpus: every shipped spec loads with its fixtures; known-bad specs
//! fail naming file and pointer; generated bodies validate against their own schemas.

use standin::respond::generate as fake;
use standin::spec::{LoadOptions, Severity, Spec, View};

use crate::common::{load, repo};

/// Every vendor spec we ship, with its fixture directory.
const SHIPPED: [(&str, &str); 4] = [
    ("specs/bench.yaml", "fixtures/bench"),
    ("specs/benchwork.yaml", "fixtures/benchwork"),
    ("specs/bento.yaml", "fixtures/bento"),
    ("specs/bi369.yaml", "fixtures/bi369"),
];

#[test]
fn every_shipped_spec_loads_with_fixtures_and_no_warnings() {
    for (spec, fixtures) in SHIPPED {
        let s = load(spec, Some(fixtures));
        assert!(!s.operations.is_empty(), "{spec} has no operations");
        assert!(s.warnings.is_empty(), "{spec} warnings: {:#?}", s.warnings);
        let (dir, n) = s.fixtures.clone().expect("fixtures attached");
        // `_`-prefixed files are not fixtures (`_keys.json`).
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.file_name().unwrap().to_str().unwrap().starts_with('_'))
            .count();
        assert_eq!(n, files, "{spec}: every fixture file is attached");
    }
}

#[test]
fn every_spec_in_the_test_corpus_loads_or_fails_as_expected() {
    // Known failures, each with the reason and the pointer the error must name.
    const XFAIL: [(&str, &str); 1] = [
        ("broken.yaml", "/paths/~1things~1{id}/get/parameters/0/$ref"), // $ref to nothing
    ];
    let dir = repo("tests/fixtures/specs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let result = Spec::load(&path, &LoadOptions::default());
        match XFAIL.iter().find(|(n, _)| *n == name) {
            Some((_, pointer)) => {
                let err = result.expect_err(&name);
                assert!(
                    err.errors.iter().any(|d| d.severity == Severity::Error && d.pointer == *pointer && d.file == path),
                    "{name}: {err}"
                );
            }
            None => {
                result.unwrap_or_else(|e| panic!("{name} should load: {e}"));
            }
        }
    }
    assert!(seen >= 5);
}

#[test]
fn webhook_only_31_document_loads() {
    let s = load("tests/fixtures/specs/webhooks-only.yaml", None);
    assert_eq!((s.operations.len(), s.webhooks), (0, 1));
}

#[test]
fn bad_fixture_is_a_load_error_naming_file_and_pointer() {
    let dir = crate::common::scratch_dir("bad-fixture");
    std::fs::write(dir.join("getCategory.json"), r#"{"id": "one", "name": "x"}"#).unwrap();
    std::fs::write(dir.join("noSuchOperation.json"), "{}").unwrap();
    let err = Spec::load(&repo("tests/fixtures/specs/shop.yaml"), &LoadOptions { fixtures: Some(dir.clone()), ..Default::default() })
        .unwrap_err();
    let text = err.to_string();
    assert!(err.errors.iter().any(|d| d.file == dir.join("getCategory.json") && d.pointer == "/id"), "{text}");
    assert!(err.errors.iter().any(|d| d.file == dir.join("noSuchOperation.json")), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_generated_body_validates_against_its_schema() {
    let mut specs: Vec<Spec> = SHIPPED.iter().map(|(s, _)| load(s, None)).collect();
    specs.push(load("tests/fixtures/specs/shop.yaml", None));
    let mut checked = 0;
    let mut failures = Vec::new();
    for spec in &specs {
        for op in &spec.operations {
            for response in &op.responses {
                for media in response.content.iter().filter(|m| standin::spec::model::is_json_mime(&m.mime)) {
                    let Some(schema) = &media.schema else { continue };
                    let validator = spec.schemas.compile_pointer(View::Response, schema).expect("compiles");
                    for seed in 0..8u64 {
                        for dynamic in [false, true] {
                            let body = fake::generate(&spec.schemas.response, schema, seed, dynamic);
                            checked += 1;
                            let first = validator.iter_errors(&body).next().map(|err| format!("{err} at {}", err.instance_path().as_str()));
                            if let Some(err) = first {
                                failures.push(format!("{} {} {} seed {seed}: {err}\n{body}", spec.title, op.label(), response.status));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} bodies checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} generated bodies break their schema:\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// A spec in a fresh folder of its own, with `extra` files beside it; returns its path.
fn spec_dir(name: &str, spec: &str, extra: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("standin-specs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in extra {
        std::fs::write(dir.join(file), text).unwrap();
    }
    std::fs::write(dir.join("spec.yaml"), spec).unwrap();
    dir.join("spec.yaml")
}

/// A spec whose one response schema is `$ref: <target>`.
fn spec_referencing(target: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: '{target}'\n"
    )
}

const REF_POINTER: &str = "/paths/~1a/get/responses/200/content/application~1json/schema/$ref";

#[test]
fn refs_to_devices_fifos_and_files_outside_the_spec_folder_are_refused_naming_file_and_pointer() {
    let fifo_dir = std::env::temp_dir().join(format!("standin-specs-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fifo_dir);
    std::fs::create_dir_all(&fifo_dir).unwrap();
    let fifo = fifo_dir.join("pipe.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let outside = std::env::temp_dir().join(format!("standin-specs-outside-{}.yaml", std::process::id()));
    std::fs::write(&outside, "type: string\n").unwrap();
    let cases = [
        ("/dev/zero", "is a character device"),
        ("/dev/urandom", "is a character device"),
        // A device, a pipe or nothing, depending on how the tests run: refused or unreadable.
        ("/dev/stdin", "read"),
        ("../", "is a directory"),
        (outside.to_str().unwrap(), "is outside the spec's folder"),
        ("../../../../../../../../etc/hostname", "is outside the spec's folder"),
    ];
    for (i, (target, expected)) in cases.iter().enumerate() {
        let path = spec_dir(&format!("ref{i}"), &spec_referencing(target), &[]);
        let started = std::time::Instant::now();
        let err = Spec::load(&path, &LoadOptions::default()).expect_err(target);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{target}: refused at once");
        let d = err.errors.iter().find(|d| d.severity == Severity::Error).unwrap();
        assert_eq!((d.file.as_path(), d.pointer.as_str()), (path.as_path(), REF_POINTER), "{target}: {err}");
        assert!(d.message.contains(expected), "{target}: {d}");
    }
    // A FIFO inside the spec's folder: refused without blocking on the open.
    let path = fifo_dir.join("spec.yaml");
    std::fs::write(&path, spec_referencing("pipe.yaml")).unwrap();
    let err = Spec::load(&path, &LoadOptions::default()).expect_err("fifo");
    assert!(err.to_string().contains("is a FIFO") && err.to_string().contains(REF_POINTER), "{err}");
    // Files under the spec's folder still load, subfolders included.
    let path = spec_dir("ok", &spec_referencing("schemas/s.yaml"), &[]);
    std::fs::create_dir_all(path.parent().unwrap().join("schemas")).unwrap();
    std::fs::write(path.parent().unwrap().join("schemas/s.yaml"), "type: string\n").unwrap();
    Spec::load(&path, &LoadOptions::default()).unwrap();
    std::fs::remove_dir_all(&fifo_dir).ok();
    std::fs::remove_file(&outside).ok();
}

#[test]
fn deeply_nested_flow_yaml_is_refused_at_once_naming_the_file_and_line() {
    let bomb = format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\nx-bomb: {}\n", "[".repeat(100_000));
    let path = spec_dir("deep", &bomb, &[]);
    let started = std::time::Instant::now();
    let err = Spec::load(&path, &LoadOptions::default()).expect_err("too deep");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    let d = &err.errors[0];
    assert_eq!(d.file, path);
    assert!(d.message.contains("line 4") && d.message.contains("nested deeper than 256"), "{d}");
    // Closing brackets inside quoted strings do not hide the depth, nor a stray quote before.
    let sneaky =
        format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\nx-a: rock 'n roll\nx-bomb: {}\n", "[ \"]\", ".repeat(300));
    let err = Spec::load(&spec_dir("sneaky", &sneaky, &[]), &LoadOptions::default()).expect_err("too deep");
    assert!(err.to_string().contains("nested deeper than 256"), "{err}");
    // Ordinary flow collections, brackets in strings and comments are fine.
    let fine = "openapi: 3.0.3\ninfo: {title: 't [', version: '1'}\npaths: {}\nx-a: [[1, 2], {b: \"]]]]\"}] # [[[[\n";
    Spec::load(&spec_dir("fine", fine, &[]), &LoadOptions::default()).unwrap();
}
