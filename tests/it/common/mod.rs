//! Test harness: start standin in-process on 127.0.0.1:0 and talk HTTP to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use standin::app::App;
use standin::server::RunningServer;
use standin::spec::{LoadOptions, Spec};

/// Absolute path of a file in the repository.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Load a spec (path relative to the repository) with optional fixtures.
pub fn load(spec: &str, fixtures: Option<&str>) -> Spec {
    let options = LoadOptions { fixtures: fixtures.map(repo), ..Default::default() };
    Spec::load(&repo(spec), &options).unwrap_or_else(|e| panic!("{e}"))
}

/// A running server plus a client pointed at it.
pub struct TestServer {
    pub server: RunningServer,
    pub client: reqwest::Client,
}

impl TestServer {
    /// Start `spec` (relative to the repository) with `fixtures` and `seed`, as a stateless
    /// contract mock.
    pub async fn start(spec: &str, fixtures: Option<&str>, seed: u64) -> TestServer {
        Self::with(
            spec,
            fixtures,
            standin::app::Options { seed, body_limit: 1 << 20, stateless: true, record: Some(Default::default()), ..Default::default() },
        )
        .await
    }

    /// Start `spec` as a stateful sandbox (the `serve` default).
    pub async fn stateful(spec: &str, fixtures: Option<&str>) -> TestServer {
        Self::with(spec, fixtures, standin::app::Options { body_limit: 1 << 20, record: Some(Default::default()), ..Default::default() })
            .await
    }

    pub async fn with(spec: &str, fixtures: Option<&str>, options: standin::app::Options) -> TestServer {
        Self::with_spec(load(spec, fixtures), options).await
    }

    /// Start a loaded (possibly edited) spec. The self-check is always on in the tests: an
    /// answer that breaks its own spec shows in `/__standin/violations`.
    pub async fn with_spec(spec: Spec, options: standin::app::Options) -> TestServer {
        let options = standin::app::Options { self_check: true, ..options };
        let (app, _) = App::new(vec![Arc::new(spec)], options);
        let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.expect("bind loopback");
        TestServer { server, client: standin::tls::client() }
    }

    /// The shop test spec with its fixtures, seed 7.
    pub async fn shop() -> TestServer {
        Self::start("tests/fixtures/specs/shop.yaml", Some("tests/fixtures/responses/shop"), 7).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).header("content-type", "application/json").body(body.to_string())
    }
}

/// Status, content type and JSON body of a response, for snapshots and assertions.
pub async fn parts(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ct, body)
}

/// The `location`s of the problems in an error envelope.
pub fn locations(body: &Value) -> Vec<String> {
    body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["location"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Start the real binary: `standin <command> <args> --port 0 --log-format off` (and
/// `--self-check` for `serve`, as in every test); returns the
/// child and the base URL it printed. Its stdout keeps being drained so it never blocks.
pub fn spawn(command: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_standin"));
    cmd.arg(command).args(args).args(["--port", "0"]);
    if command == "serve" {
        cmd.args(["--log-format", "off", "--self-check"]);
    }
    let mut child = cmd.current_dir(repo("")).stdout(std::process::Stdio::piped()).spawn().expect("spawn standin");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = (0..10)
        .find_map(|_| {
            lines.next()?.ok()?.strip_prefix("standin: listening on ").and_then(|r| r.split_whitespace().next()).map(str::to_string)
        })
        .expect("listening line");
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// `standin serve <args> --port 0` with its own `--log-format`: the child, the base URL it
/// printed, and the rest of its stdout (the log lines) for the test to read.
pub fn serve_logged(args: &[&str]) -> (std::process::Child, String, std::io::Lines<std::io::BufReader<std::process::ChildStdout>>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .arg("serve")
        .args(args)
        .args(["--port", "0"])
        .current_dir(repo(""))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn standin");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .find_map(|l| l.ok()?.strip_prefix("standin: listening on ").map(|r| r.split_whitespace().next().unwrap_or("").to_string()))
        .expect("listening line");
    (child, url, lines)
}

/// `standin serve <args>` on a free port.
pub fn serve(args: &[&str]) -> (std::process::Child, String) {
    spawn("serve", args)
}

/// `standin replay <args>` on a free port.
pub fn replay(args: &[&str]) -> (std::process::Child, String) {
    spawn("replay", args)
}

/// SIGTERM (graceful shutdown) and wait.
pub fn terminate(child: &mut std::process::Child) {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// Wait, if need be, until at least `needed` seconds remain in the current fixed rate-limit
/// window of `window` seconds (windows are aligned to the epoch), so a test that counts a whole
/// window's requests is not split by a window boundary on a slow machine.
pub async fn fresh_window(window: u64, needed: u64) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let left = window - now.as_secs() % window;
    if left < needed {
        tokio::time::sleep(std::time::Duration::from_millis(left * 1000 + 50)).await;
    }
}

/// A fresh directory of this test process for `name` (`standin-<name>-<pid>` in the system's
/// temporary directory), created if need be.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("standin-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
