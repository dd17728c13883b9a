//! The real binary: `check`, `routes`, and `serve` as the README gives them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{repo, serve, terminate};

fn standin(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_standin")).args(args).current_dir(repo("")).output().expect("run standin");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_passes_every_vendor_spec() {
    let (code, out) = standin(&["check", "specs/bench.yaml", "specs/benchwork.yaml", "specs/bento.yaml", "specs/bi369.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 4, "{out}");
}

#[test]
fn check_names_file_and_pointer_of_a_broken_spec() {
    let (code, out) = standin(&["check", "tests/fixtures/specs/broken.yaml"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn check_strict_turns_warnings_into_failures() {
    let (code, out) = standin(&["check", "tests/fixtures/specs/messy.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("example does not match its schema"), "{out}");
    assert!(out.contains("messy.yaml#/paths/~1e/post/requestBody/content/application~1json/schema/properties/guid/pattern: pattern \"\\\\p{XDigit}{8}\" is not an ECMA-262 regular expression"), "{out}");
    let (code, _) = standin(&["check", "--strict", "tests/fixtures/specs/messy.yaml"]);
    assert_eq!(code, 1);
}

#[test]
fn routes_lists_method_path_operation_and_answers() {
    let (code, out) = standin(&["routes", "tests/fixtures/specs/shop.yaml", "--fixtures", "tests/fixtures/responses/shop"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn serve_on_port_zero_prints_the_address_and_answers() {
    // The README's first command, on a free port.
    let mut child = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["serve", "--spec", "specs/bento.yaml", "--port", "0"])
        .current_dir(repo(""))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let mut mounted = String::new();
    for _ in 0..5 {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("(OpenAPI") {
            mounted = line.clone();
        }
        if let Some(rest) = line.strip_prefix("standin: listening on ") {
            url = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let url = url.expect("listening line");
    assert!(mounted.contains("Bento") && mounted.contains("/api/v1") && mounted.contains("28 routes"), "{mounted}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (health, tags) = rt.block_on(async {
        let c = standin::tls::client();
        let h = c.get(format!("{url}/__standin/health")).send().await.unwrap().status().as_u16();
        let t: serde_json::Value = c
            .get(format!("{url}/api/v1/fetch/tags?site_uuid=abc"))
            .header("authorization", "Basic cGs6c2s=")
            .header("user-agent", "AcmeCRM/1.0")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (h, t)
    });
    child.kill().ok();
    child.wait().ok();
    assert_eq!(health, 200);
    assert!(tags["data"].as_array().is_some_and(|a| !a.is_empty()), "{tags}");
}

#[test]
fn state_file_survives_a_restart() {
    let dir = crate::common::scratch_dir("state");
    let file = dir.join("state.json");
    let file_arg = file.to_str().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = standin::tls::client();
    // First run: create a lead, then SIGTERM (graceful shutdown saves the state).
    let (mut child, url) = serve(&["--spec", "specs/bi369.yaml", "--state", file_arg]);
    let id = rt.block_on(async {
        let r: serde_json::Value = c
            .post(format!("{url}/v1/crm/leads"))
            .bearer_auth("key_file")
            .json(&serde_json::json!({"firstName": "Kept", "lastName": "Lead", "email": "kept@example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["data"]["id"].as_i64().unwrap()
    });
    terminate(&mut child);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("state file written")).expect("state file is JSON");
    assert!(saved.is_object());
    // Second run from the file: the lead is there.
    let (mut child, url) = serve(&["--spec", "specs/bi369.yaml", "--state", file_arg]);
    let status =
        rt.block_on(async { c.get(format!("{url}/v1/crm/leads/{id}")).bearer_auth("key_file").send().await.unwrap().status().as_u16() });
    terminate(&mut child);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(status, 200);
}

#[test]
fn several_specs_share_one_port_told_apart_by_base_path_and_host() {
    let (mut child, url) = serve(&["--spec", "specs/bento.yaml", "--spec", "specs/benchwork.yaml", "--spec", "specs/bi369.yaml"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (bento, benchwork, by_path, bi369) = rt.block_on(async {
        let c = standin::tls::client();
        // Bento and Benchwork both live under /api/v1: the Host header tells them apart.
        let bento = c
            .get(format!("{url}/api/v1/fetch/tags?site_uuid=s"))
            .header("host", "app.bentonow.com")
            .basic_auth("pk", Some("sk"))
            .header("user-agent", "AcmeCRM/1.0")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let benchwork = c
            .get(format!("{url}/api/v1/workflows"))
            .header("host", "benchwork.app")
            .bearer_auth("bw_live_x")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        // Without a matching Host, the spec that has the path answers.
        let by_path = c.get(format!("{url}/api/v1/workflows")).bearer_auth("bw_live_x").send().await.unwrap().status().as_u16();
        let bi369 = c.get(format!("{url}/v1/crm/leads")).bearer_auth("k").send().await.unwrap().status().as_u16();
        (bento, benchwork, by_path, bi369)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((bento, benchwork, by_path, bi369), (200, 200, 200, 200));
}

#[test]
fn watch_reloads_edits_and_keeps_the_last_good_version_on_a_broken_one() {
    let dir = std::env::temp_dir().join(format!("standin-watch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("shared")).unwrap();
    let spec = dir.join("shop.yaml");
    let original = std::fs::read_to_string(repo("tests/fixtures/specs/shop.yaml")).unwrap();
    std::fs::write(&spec, &original).unwrap();
    std::fs::copy(repo("tests/fixtures/specs/shared/user.yaml"), dir.join("shared/user.yaml")).unwrap();
    let (mut child, url) = serve(&["--spec", spec.to_str().unwrap(), "--stateless", "--watch"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = standin::tls::client();
    let status = |path: &str| rt.block_on(async { c.get(format!("{url}{path}")).send().await.unwrap().status().as_u16() });
    let wait_for = |path: &str, want: u16| {
        (0..40).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            status(path) == want
        })
    };
    assert_eq!(status("/api/v2/files/report.json"), 200);
    // An edit that removes a path takes effect without a restart.
    std::fs::write(&spec, original.replace("  /files/{name}.json:", "  /archive/{name}.json:")).unwrap();
    assert!(wait_for("/api/v2/files/report.json", 404), "the edit was picked up");
    assert_eq!(status("/api/v2/archive/report.json"), 200);
    // A broken edit: the last good version keeps serving.
    std::fs::write(&spec, "openapi: 3.0.3\ninfo: [not, an, object\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(status("/api/v2/archive/report.json"), 200);
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
}
