//! `standin serve`: load a spec, build the route table, bind, serve until SIGINT/SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::pipeline::App;

/// Arguments of `standin serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The OpenAPI 3.0/3.1 document to serve (YAML or JSON). Repeat it to serve several specs on
    /// one port: told apart by base path, or by the `Host` header matching each spec's `servers`
    /// host where base paths are the same.
    #[arg(long, required = true)]
    pub spec: Vec<PathBuf>,
    /// Directory of fixtures (`<operationId>.json`); default `fixtures/<spec name>/` if it exists.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// An OpenAPI Overlay file applied to the spec first (repeatable): vendor behaviour for a
    /// vendor's own, unmodified spec.
    #[arg(long, value_name = "FILE")]
    pub overlay: Vec<PathBuf>,
    /// Do not look for fixtures.
    #[arg(long, conflicts_with = "fixtures")]
    pub no_fixtures: bool,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 4010)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Seed for generated data: the same seed, route and request give the same body.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Serve under this path instead of the path of the spec's first `servers` URL.
    #[arg(long)]
    pub base_path: Option<String>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub body_limit: usize,
    /// A pure contract mock: no per-tenant store, every answer from fixtures, examples or
    /// generated data.
    #[arg(long)]
    pub stateless: bool,
    /// Load the sandbox's state from FILE at start (if it exists) and save it there on shutdown,
    /// atomically.
    #[arg(long, value_name = "FILE", conflicts_with = "stateless")]
    pub state: Option<PathBuf>,
    /// Deliver every event to URL (repeatable), signed with SECRET when given: `URL[,SECRET]`.
    /// For vendors whose webhooks are configured in a dashboard.
    #[arg(long, value_name = "URL[,SECRET]")]
    pub webhook: Vec<String>,
    /// Record every exchange to FILE as HAR 1.2 (complete and readable after every entry).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep credentials (Authorization, cookies, API keys) in the recording.
    #[arg(long, requires = "record")]
    pub record_secrets: bool,
    /// One line per exchange on stdout: `text`, `json`, or `off`.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json", "off"])]
    pub log_format: String,
    /// How many exchanges `GET /__standin/requests` keeps; 0 with `--log-format off` and no
    /// `--record` turns the journal off (load tests: it costs ~20% of throughput).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub journal_size: usize,
    /// Validation proxy: forward every request to this base URL (the real API), pass its answers
    /// through, and report every request or response that breaks the spec.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// On shutdown, write a JUnit XML contract report here: one test case per operation
    /// exercised, a failure for each operation whose requests or responses broke the spec.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// On shutdown, write the contract coverage report here as one self-contained HTML file
    /// (operations × statuses, what was sent, latency over time; no external assets).
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// Do not keep response headers and bodies in the journal (the inspector page's detail view
    /// then shows only the request): saves a copy per exchange under load.
    #[arg(long)]
    pub no_journal_responses: bool,
    /// Exit non-zero (1) on shutdown if any request or response broke the contract.
    #[arg(long)]
    pub strict: bool,
    /// Add latency to every answer: milliseconds, fixed (`200`) or a range (`100..500`).
    /// Clients can ask per request with `Prefer: latency=<ms>`.
    #[arg(long, value_name = "MS|MIN..MAX")]
    pub latency: Option<String>,
    /// Answer this share of requests (0–1) with an injected 500 in the vendor's envelope.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Cut the connection mid-answer for this share of requests (0–1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Reload when the specs, overlays or fixtures change; a broken edit keeps the last good
    /// version serving and prints the error. The sandboxes start again from the new fixtures.
    #[arg(long)]
    pub watch: bool,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that sends nothing for this many seconds (slow or idle clients).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Answer 503 to a request that takes longer than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
    /// Longest request URL (path and query) in bytes; longer ones get 414.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024)]
    pub max_url_length: usize,
    /// Most header bytes (names and values) per request; more get 431. Past 400 KiB (or 100
    /// headers) the HTTP layer answers 431 itself, without the vendor's envelope.
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024)]
    pub max_header_size: usize,
    /// Never count or refuse requests for rate limits (load tests).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Replace every rate-limit window with this many seconds (CI: shrink a 60 s window).
    #[arg(long, value_name = "SECONDS")]
    pub rate_limit_window: Option<u64>,
}

/// What loading needs from the arguments (also for the watcher thread).
struct WatchArgs {
    spec: Vec<PathBuf>,
    fixtures: Option<PathBuf>,
    no_fixtures: bool,
    base_path: Option<String>,
    overlay: Vec<PathBuf>,
    /// The validation proxy checks answers against response schemas: repair them all at load.
    repair_all_schemas: bool,
}

impl WatchArgs {
    fn of(args: &ServeArgs) -> WatchArgs {
        WatchArgs { spec: args.spec.clone(), fixtures: args.fixtures.clone(), no_fixtures: args.no_fixtures, base_path: args.base_path.clone(), overlay: args.overlay.clone(), repair_all_schemas: args.upstream.is_some() }
    }
}

fn load_all(args: &ServeArgs) -> Result<Vec<Arc<crate::spec::Spec>>, String> {
    load_specs(&WatchArgs::of(args))
}

fn load_specs(args: &WatchArgs) -> Result<Vec<Arc<crate::spec::Spec>>, String> {
    let mut specs = Vec::new();
    for path in &args.spec {
        let fixtures = super::fixtures_for(path, args.fixtures.as_deref(), args.no_fixtures);
        let spec = super::load_spec(path, fixtures, args.base_path.clone(), &args.overlay, args.repair_all_schemas).map_err(|e| e.to_string())?;
        specs.push(Arc::new(spec));
    }
    Ok(specs)
}

/// A cheap fingerprint of the watched files: every path with its size and modification time.
fn fingerprint(args: &WatchArgs) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut paths: Vec<PathBuf> = args.spec.iter().chain(&args.overlay).cloned().collect();
    for spec in &args.spec {
        if let Some(dir) = super::fixtures_for(spec, args.fixtures.as_deref(), args.no_fixtures) {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                paths.extend(entries.filter_map(Result::ok).map(|e| e.path()));
            }
            paths.push(dir);
        }
    }
    paths.sort();
    paths.into_iter().map(|p| {
        let meta = std::fs::metadata(&p).ok();
        let (len, modified) = (meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok()));
        (p, len, modified)
    }).collect()
}

/// Poll the watched files (every 300 ms, until `stop`); reload and swap on a change.
fn watch(args: &WatchArgs, live: &crate::pipeline::LiveApp, stop: &std::sync::atomic::AtomicBool) {
    let mut last = fingerprint(args);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = fingerprint(args);
        if now == last {
            continue;
        }
        // Editors write in several steps: wait until the files are quiet.
        std::thread::sleep(std::time::Duration::from_millis(200));
        last = fingerprint(args);
        match load_specs(args) {
            Ok(specs) => {
                let (app, _) = live.load().rebuild(specs);
                live.store(Arc::new(app));
                println!("standin: reloaded");
            }
            Err(e) => eprintln!("standin: the edit does not load, still serving the last good version\n{e}"),
        }
    }
}

/// Run `standin serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    if args.spec.len() > 1 && (args.fixtures.is_some() || args.base_path.is_some() || !args.overlay.is_empty()) {
        anyhow::bail!("--fixtures, --base-path and --overlay apply to one spec; with several specs, fixtures come from fixtures/<spec name>/");
    }
    let specs = match load_all(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("standin: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let options = crate::pipeline::Options { seed: args.seed, body_limit: args.body_limit, rate_limit_off: args.no_rate_limit, rate_limit_window: args.rate_limit_window, stateless: args.stateless,
        record: (args.journal_size > 0 || args.record.is_some() || args.log_format != "off" || args.report.is_some() || args.report_html.is_some() || args.strict).then(|| crate::record::RecordOptions {
            capacity: args.journal_size,
            log: match args.log_format.as_str() {
                "json" => crate::record::LogFormat::Json,
                "off" => crate::record::LogFormat::Off,
                _ => crate::record::LogFormat::Text,
            },
            har: args.record.clone(),
            keep_secrets: args.record_secrets,
            keep_responses: !args.no_journal_responses,
        }),
        upstream: args.upstream.clone(),
        chaos: crate::pipeline::Chaos {
            latency_ms: match args.latency.as_deref() {
                None => None,
                Some(l) => Some(parse_latency(l)?),
            },
            error_rate: rate(args.fault_rate, "--fault-rate")?,
            reset_rate: rate(args.reset_rate, "--reset-rate")?,
        },
        limits: crate::server::Limits {
            max_connections: args.max_connections,
            idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
            request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
            max_url_bytes: args.max_url_length,
            max_header_bytes: args.max_header_size,
        },
    };
    let (app, route_warnings) = App::new(specs.clone(), options);
    if let Some(e) = route_warnings.iter().find(|d| d.severity == crate::spec::Severity::Error) {
        eprintln!("standin: {e}");
        return Ok(ExitCode::from(2));
    }
    let app = Arc::new(app);
    if let Some(file) = &args.state {
        if file.exists() {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read state file {}", file.display()))?;
            let saved: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("state file {} is not JSON", file.display()))?;
            for m in &app.mounts {
                if let (Some(sandbox), Some(v)) = (&m.sandbox, saved.get(&m.spec.title)) {
                    let skipped = sandbox.import(v).map_err(|e| anyhow::anyhow!("state file {}: {e}", file.display()))?;
                    if skipped > 0 {
                        eprintln!("standin: {skipped} saved collections no longer exist in the spec and were skipped");
                    }
                }
            }
        }
    }
    for w in &args.webhook {
        let (url, secret) = match w.split_once(',') {
            Some((u, s)) => (u.to_string(), Some(s.to_string())),
            None => (w.clone(), None),
        };
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("--webhook {url}: the receiver must be an http:// or https:// URL");
        }
        for m in &app.mounts {
            if let Some(s) = &m.sandbox {
                s.webhooks.subscribe(None, url.clone(), Vec::new(), secret.clone());
            }
        }
    }
    let route_warning_count = route_warnings.len();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = crate::server::start(app, SocketAddr::new(args.host, args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let url = server.url();
        for spec in &specs {
            let fixtures = match &spec.fixtures {
                Some((dir, n)) => format!(", {n} fixtures from {}", dir.display()),
                None => String::new(),
            };
            let host = match (&spec.server_host, specs.len() > 1) {
                (Some(h), true) => format!(" (Host: {h})"),
                _ => String::new(),
            };
            let warnings = spec.warnings.len() + if specs.len() == 1 { route_warning_count } else { 0 };
            outln!(
                "standin: {} {} (OpenAPI {}) at {url}{}{host} — {} routes{fixtures}, {warnings} warnings, ready in {} ms",
                spec.title,
                spec.version,
                spec.openapi,
                spec.base_path,
                spec.operations.len(),
                started.elapsed().as_millis()
            )?;
            if warnings > 0 {
                outln!("standin: run `standin check {}` to list the warnings", spec.file.display())?;
            }
        }
        outln!("standin: listening on {url} (health: {url}/__standin/health)")?;
        let stop_watching = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if args.watch {
            let live = server.live();
            let stop = Arc::clone(&stop_watching);
            let args = WatchArgs::of(&args);
            std::thread::spawn(move || watch(&args, &live, &stop));
            outln!("standin: watching the specs, overlays and fixtures for changes")?;
        }
        crate::server::shutdown_signal().await;
        stop_watching.store(true, std::sync::atomic::Ordering::Relaxed);
        let saved_app = server.app();
        outln!("standin: shutting down")?;
        server.stop().await.context("server error")?;
        // Everything answered is in the recording before we say goodbye; then the summary.
        let mut violated = false;
        if let Some(r) = &saved_app.recorder {
            let report = r.report();
            let calls: u64 = report.values().map(|o| o.calls).sum();
            let bad: Vec<(&String, usize)> = report.iter().filter(|(_, o)| !o.violations.is_empty()).map(|(n, o)| (n, o.violations.len())).collect();
            violated = !bad.is_empty();
            outln!("standin: contract summary: {calls} exchanges over {} operations, {} with violations", report.len(), bad.len())?;
            for (name, n) in &bad {
                outln!("standin:   {name}: {n} exchanges broke the contract (GET /__standin/violations lists them while running)")?;
            }
            if let Some(path) = &args.report {
                crate::server::write_atomically(path, r.junit().as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = &args.report_html {
                let html = crate::ui::report::html(&crate::ui::coverage(&saved_app));
                crate::server::write_atomically(path, html.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            }
            r.close();
        }
        if let Some(file) = &args.state {
            let state: serde_json::Map<String, serde_json::Value> = saved_app.mounts.iter().filter_map(|m| Some((m.spec.title.clone(), m.sandbox.as_ref()?.export()))).collect();
            let bytes = serde_json::to_vec_pretty(&state).context("cannot serialize the state")?;
            crate::server::write_atomically(file, &bytes).with_context(|| format!("cannot write state file {}", file.display()))?;
            outln!("standin: state saved to {}", file.display())?;
        }
        Ok::<_, anyhow::Error>(if violated && args.strict { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}

fn parse_latency(text: &str) -> anyhow::Result<(u64, u64)> {
    let parse = |s: &str| s.trim().trim_end_matches("ms").parse::<u64>().map_err(|_| anyhow::anyhow!("--latency {text:?}: expected milliseconds like 200 or 100..500"));
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b.trim_start_matches('='))?);
            anyhow::ensure!(a <= b, "--latency {text:?}: the range is empty");
            Ok((a, b))
        }
        None => {
            let v = parse(text)?;
            Ok((v, v))
        }
    }
}

fn rate(v: f64, flag: &str) -> anyhow::Result<f64> {
    anyhow::ensure!((0.0..=1.0).contains(&v), "{flag} {v}: a share between 0 and 1");
    Ok(v)
}
