//! `standin serve`: load the specs, build the app, bind, serve until SIGINT/SIGTERM.
//!
//! Takes [`ServeArgs`] (raw clap values), checks and converts them once into a [`ServeConfig`],
//! then runs in small steps: load, build the app, import the saved state, subscribe the
//! `--webhook` receivers, start the server, print the banner, watch for edits, and on shutdown
//! write the contract report and export the state.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::watch::{LoadPlan, Watcher};
use super::SpecArgs;
use crate::app::App;
use crate::spec::Spec;

/// Arguments of `standin serve`, as typed (see [`ServeConfig`] for what they become).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The OpenAPI 3.0/3.1 document to serve (YAML or JSON). Repeat it to serve several specs on
    /// one port: told apart by base path, or by the `Host` header matching each spec's `servers`
    /// host where base paths are the same.
    #[arg(long, required = true)]
    pub spec: Vec<PathBuf>,
    #[command(flatten)]
    pub spec_args: SpecArgs,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 4010)]
    pub port: u16,
    /// Address to listen on. On any address but loopback, the admin endpoints (`/__standin/`)
    /// answer other machines only with `--admin-token`.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Require this token on every admin call (`Authorization: Bearer TOKEN`,
    /// `X-Standin-Admin-Token: TOKEN`, or `?token=TOKEN`, e.g. for the inspector page), from any
    /// client. Without it, admin calls are answered only to clients on this machine.
    #[arg(long, value_name = "TOKEN", env = "STANDIN_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
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
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
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
    #[command(flatten)]
    pub transport: TransportArgs,
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
    /// Validate every answer standin sends against its declared response schema; a miss is
    /// standin's own bug, listed in `/__standin/violations` (keyword `selfCheck`) and logged once.
    #[arg(long)]
    pub self_check: bool,
    /// Keep the sandbox, the rate-limit windows and the delayed changes in Redis
    /// (`redis://HOST:PORT[/DB]`), so that replicas with the same spec and store act as one
    /// sandbox behind a load balancer. `memory` (the default) keeps them in this process.
    #[arg(long, value_name = "URL", env = "STANDIN_STORE", conflicts_with_all = ["stateless", "state"])]
    pub store: Option<String>,
    /// Start every key in the shared store with this, so several sandboxes share one Redis.
    #[arg(long, value_name = "PREFIX", default_value = "standin", env = "STANDIN_STORE_PREFIX")]
    pub store_prefix: String,
}

/// The connection limits `serve` and `replay` share.
#[derive(Debug, Args)]
pub struct TransportArgs {
    /// Connections served at once. When all are taken, the one that has waited longest (over a
    /// second) for a request head is closed to make room; otherwise new ones wait.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that sends nothing for this many seconds (slow or idle clients).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Close a connection whose request head (request line and headers) has not fully arrived
    /// this many seconds after it opened, or after the previous answer on a kept-alive one.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Answer 503 to a request that takes longer than this many seconds; on shutdown, requests
    /// in flight get this long to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
    /// Answer 408 and close the connection when a request body arrives slower than this many
    /// bytes per second on average, once it has taken 5 seconds; 0 turns the check off.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = 240)]
    pub min_body_rate: u64,
}

impl TransportArgs {
    /// The server's limits from these flags (the others at their defaults).
    pub fn limits(&self) -> crate::server::Limits {
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        crate::server::Limits {
            max_connections: self.max_connections,
            idle_timeout: secs(self.idle_timeout),
            header_timeout: secs(self.header_timeout),
            request_timeout: secs(self.request_timeout),
            min_body_rate: crate::server::MinBodyRate { bytes_per_sec: self.min_body_rate, ..Default::default() },
            ..Default::default()
        }
    }
}

/// `--log-format`: how the completion line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    // `GET /api/v1/tags 200 0.4ms fixture`
    Text,
    // One JSON object per line.
    Json,
    // No line.
    Off,
}

impl From<LogFormatArg> for crate::record::LogFormat {
    fn from(arg: LogFormatArg) -> Self {
        match arg {
            LogFormatArg::Text => crate::record::LogFormat::Text,
            LogFormatArg::Json => crate::record::LogFormat::Json,
            LogFormatArg::Off => crate::record::LogFormat::Off,
        }
    }
}

/// What `serve` runs with: the arguments checked and converted once.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The specs and how to load them (again, on `--watch`).
    pub load: LoadPlan,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The app's switches (seed, limits, recording, chaos, upstream).
    pub options: crate::app::Options,
    /// `--state`: imported at start when it exists, written on shutdown.
    pub state_file: Option<PathBuf>,
    /// `--webhook`: receiver URL and signing secret.
    pub webhooks: Vec<(String, Option<String>)>,
    /// `--report`: the JUnit contract report, written on shutdown.
    pub report: Option<PathBuf>,
    /// `--report-html`: the contract coverage report, written on shutdown.
    pub report_html: Option<PathBuf>,
    /// `--strict`: exit 1 when the contract was broken.
    pub strict: bool,
    /// `--watch`: reload on edits.
    pub watch: bool,
    /// `--store` (a `redis://` URL; `None`: in memory) and `--store-prefix`.
    pub store: Option<(String, String)>,
}

impl TryFrom<ServeArgs> for ServeConfig {
    type Error = anyhow::Error;

    fn try_from(args: ServeArgs) -> anyhow::Result<ServeConfig> {
        let several = args.spec.len() > 1;
        if several && (args.spec_args.fixtures.is_some() || args.base_path.is_some() || !args.spec_args.overlay.is_empty()) {
            anyhow::bail!(
                "--fixtures, --base-path and --overlay apply to one spec; with several specs, fixtures come from fixtures/<spec name>/"
            );
        }
        let log: crate::record::LogFormat = args.log_format.into();
        let keeps_journal = args.journal_size > 0
            || args.record.is_some()
            || log != crate::record::LogFormat::Off
            || args.report.is_some()
            || args.report_html.is_some()
            || args.strict;
        let record = keeps_journal.then(|| crate::record::RecordOptions {
            capacity: args.journal_size,
            log,
            har: args.record.clone(),
            keep_secrets: args.record_secrets,
            keep_responses: !args.no_journal_responses,
        });
        let chaos = crate::app::Chaos {
            latency_ms: args.latency.as_deref().map(parse_latency).transpose()?,
            error_rate: rate(args.fault_rate, "--fault-rate")?,
            reset_rate: rate(args.reset_rate, "--reset-rate")?,
        };
        let limits =
            crate::server::Limits { max_url_bytes: args.max_url_length, max_header_bytes: args.max_header_size, ..args.transport.limits() };
        let webhooks = args.webhook.iter().map(|w| parse_webhook(w)).collect::<anyhow::Result<_>>()?;
        let store = match args.store.as_deref().map(str::trim) {
            None | Some("" | "memory") => None,
            Some(url) if url.starts_with("redis://") => Some((url.to_string(), args.store_prefix.clone())),
            Some(url) => anyhow::bail!("--store {}: expected redis://HOST:PORT[/DB] or memory", crate::state::redis::redacted(url)),
        };
        let options = crate::app::Options {
            seed: args.seed,
            body_limit: args.body_limit,
            rate_limit_off: args.no_rate_limit,
            rate_limit_window: args.rate_limit_window,
            stateless: args.stateless,
            record,
            upstream: args.upstream.clone(),
            chaos,
            limits,
            self_check: args.self_check,
            store: None,
            admin: crate::admin::Access { token: args.admin_token.clone().filter(|t| !t.is_empty()) },
        };
        // The validation proxy checks answers against response schemas: repair them all at load.
        let load = LoadPlan {
            specs: args.spec,
            spec_args: args.spec_args,
            base_path: args.base_path,
            repair_all_schemas: args.upstream.is_some() || args.self_check,
        };
        Ok(ServeConfig {
            load,
            addr: SocketAddr::new(args.host, args.port),
            options,
            state_file: args.state,
            webhooks,
            report: args.report,
            report_html: args.report_html,
            strict: args.strict,
            watch: args.watch,
            store,
        })
    }
}

/// Run `standin serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut config = ServeConfig::try_from(args)?;
    let specs = match config.load.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("standin: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    if let Some((url, prefix)) = &config.store {
        match runtime.block_on(crate::state::redis::connect(url, prefix)) {
            Ok(conn) => config.options.store = Some(conn),
            Err(e) => {
                eprintln!("standin: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    let (app, route_warnings) = App::new(specs.clone(), config.options.clone());
    if let Some(e) = route_warnings.iter().find(|d| d.severity == crate::spec::Severity::Error) {
        eprintln!("standin: {e}");
        return Ok(ExitCode::from(2));
    }
    let app = Arc::new(app);
    let kept_state = match &config.state_file {
        Some(file) => import_state(&app, file)?,
        None => Default::default(),
    };
    subscribe_webhooks(&app, &config.webhooks);
    runtime.block_on(serve(config, app, &specs, route_warnings.len(), started, kept_state))
}

/// Serve until SIGINT/SIGTERM, then stop gracefully and write what shutdown writes.
async fn serve(
    config: ServeConfig,
    app: Arc<App>,
    specs: &[Arc<Spec>],
    route_warnings: usize,
    started: std::time::Instant,
    kept_state: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<ExitCode> {
    let stop = crate::server::shutdown_signal();
    let server = crate::server::start(app, config.addr).await.with_context(|| format!("cannot listen on {}", config.addr))?;
    // Watching starts before the listening line: an edit made once it is printed is seen.
    let watcher = config.watch.then(|| Watcher::spawn(config.load.clone(), server.live()));
    if watcher.is_some() {
        outln!("standin: watching the specs, overlays and fixtures for changes")?;
    }
    print_banner(specs, &server.url(), route_warnings, started)?;
    if !config.addr.ip().is_loopback() && config.options.admin.token.is_none() {
        outln!(
            "standin: admin endpoints (/__standin/) answer only clients on this machine; set --admin-token to reach them from elsewhere"
        )?;
    }
    stop.await;
    drop(watcher);
    let app = server.app();
    // Every step of the shutdown runs whatever an earlier one met (a closed stdout, a failed
    // report): the recording and the state are saved in any case; the first error is returned.
    let said = outln!("standin: shutting down");
    let stopped = server.stop().await.context("server error");
    // Everything answered is in the recording before we say goodbye; then the summary.
    let reported = report_contract(&app, config.report.as_deref(), config.report_html.as_deref());
    let saved = match &config.state_file {
        Some(file) => export_state(&app, file, kept_state),
        None => Ok(()),
    };
    stopped?;
    let violated = reported?;
    saved?;
    said?;
    Ok(if violated && config.strict { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One line per mounted spec, then the listening address (tests and scripts read it).
fn print_banner(specs: &[Arc<Spec>], url: &str, route_warnings: usize, started: std::time::Instant) -> std::io::Result<()> {
    for spec in specs {
        let fixtures = match &spec.fixtures {
            Some((dir, n)) => format!(", {n} fixtures from {}", dir.display()),
            None => String::new(),
        };
        let host = match (&spec.server_host, specs.len() > 1) {
            (Some(h), true) => format!(" (Host: {h})"),
            _ => String::new(),
        };
        let warnings = spec.warnings.len() + if specs.len() == 1 { route_warnings } else { 0 };
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
        if spec.schemas.defers_bodies() {
            outln!(
                "standin: over {} operations: each request body validator compiles on its first request (`standin check` compiles them all)",
                crate::spec::model::EAGER_BODY_OPERATIONS
            )?;
        }
    }
    outln!("standin: listening on {url} (health: {url}/__standin/health)")
}

/// Load each sandbox's saved state from `file`, if it exists. Hands back what the file holds
/// for specs not served now (or served without a sandbox), for [`export_state`] to keep.
fn import_state(app: &App, file: &Path) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    if !file.exists() {
        return Ok(Default::default());
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read state file {}", file.display()))?;
    let saved: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("state file {} is not JSON", file.display()))?;
    let serde_json::Value::Object(mut saved) = saved else {
        anyhow::bail!("state file {}: expected an object of saved states by spec title, found {}", file.display(), kind(&saved));
    };
    if let Some(e) = shape_error(&saved) {
        anyhow::bail!("state file {}: {e}", file.display());
    }
    for m in &app.mounts {
        let Some(sandbox) = &m.sandbox else { continue };
        if let Some(v) = saved.remove(&m.spec.title) {
            let skipped = sandbox.import(&v).map_err(|e| anyhow::anyhow!("state file {}: {e}", file.display()))?;
            if skipped > 0 {
                eprintln!("standin: {skipped} saved collections no longer exist in the spec and were skipped");
            }
        }
    }
    if !saved.is_empty() {
        let titles: Vec<&str> = saved.keys().map(String::as_str).collect();
        eprintln!("standin: state file {}: keeping the saved state of specs not served now: {}", file.display(), titles.join(", "));
    }
    Ok(saved)
}

/// What is wrong with the shape of a state file (spec title → tenant → collection → items, each
/// an object), naming where and what was found.
fn shape_error(saved: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    for (title, tenants) in saved {
        let Some(tenants) = tenants.as_object() else {
            return Some(format!("`{title}` must be an object of tenants, found {}", kind(tenants)));
        };
        for (key, collections) in tenants {
            let Some(collections) = collections.as_object() else {
                let key = crate::state::mask(key);
                return Some(format!("`{title}`, tenant `{key}`: must be an object of collections, found {}", kind(collections)));
            };
            if let Some((name, items)) = collections.iter().find(|(_, items)| !items.is_object()) {
                let (key, name) = (crate::state::mask(key), name.replace('\u{0}', " "));
                return Some(format!("`{title}`, tenant `{key}`, collection `{name}`: must be an object of items, found {}", kind(items)));
            }
        }
    }
    None
}

/// `an array`, `a string`, … for messages.
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Save every sandbox's state to `file`, atomically, with what it held for specs not served
/// now (`kept`).
fn export_state(app: &App, file: &Path, kept: serde_json::Map<String, serde_json::Value>) -> anyhow::Result<()> {
    let mut state = kept;
    for m in &app.mounts {
        if let Some(s) = &m.sandbox {
            let saved = s.export().map_err(|r| anyhow::anyhow!("the state was not saved to {}: {}", file.display(), r.detail))?;
            state.insert(m.spec.title.clone(), saved);
        }
    }
    let bytes = serde_json::to_vec_pretty(&state).context("cannot serialize the state")?;
    crate::server::write_privately(file, &bytes).with_context(|| format!("cannot write state file {}", file.display()))?;
    outln!("standin: state saved to {}", file.display())?;
    Ok(())
}

/// Deliver every event of every sandbox to each `--webhook` receiver.
fn subscribe_webhooks(app: &App, webhooks: &[(String, Option<String>)]) {
    for (url, secret) in webhooks {
        for m in &app.mounts {
            if let Some(s) = &m.sandbox {
                s.webhooks.subscribe(None, url.clone(), Vec::new(), secret.clone());
            }
        }
    }
}

/// Print the contract summary, write `--report`, close the recorder. Returns whether any
/// exchange broke the contract.
fn report_contract(app: &App, report: Option<&Path>, report_html: Option<&Path>) -> anyhow::Result<bool> {
    let Some(r) = &app.recorder else { return Ok(false) };
    let operations = r.report();
    let calls: u64 = operations.values().map(|o| o.calls).sum();
    let bad: Vec<(&String, usize)> =
        operations.iter().filter(|(_, o)| !o.violations.is_empty()).map(|(n, o)| (n, o.violations.len())).collect();
    // Files first, then the summary: a closed stdout must not cost the recording or the report.
    let mut written = Ok(());
    if let Some(path) = report {
        written = crate::server::write_atomically(path, r.junit().as_bytes()).with_context(|| format!("cannot write {}", path.display()));
    }
    if let Some(path) = report_html {
        let html = crate::ui::report::html(&crate::ui::coverage(app));
        let html = crate::server::write_atomically(path, html.as_bytes()).with_context(|| format!("cannot write {}", path.display()));
        written = written.and(html);
    }
    r.close();
    written?;
    outln!("standin: contract summary: {calls} exchanges over {} operations, {} with violations", operations.len(), bad.len())?;
    for (name, n) in &bad {
        outln!("standin:   {name}: {n} exchanges broke the contract (GET /__standin/violations lists them while running)")?;
    }
    Ok(!bad.is_empty())
}

/// `URL[,SECRET]`, the URL http(s).
fn parse_webhook(text: &str) -> anyhow::Result<(String, Option<String>)> {
    let (url, secret) = match text.split_once(',') {
        Some((u, s)) => (u.to_string(), Some(s.to_string())),
        None => (text.to_string(), None),
    };
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--webhook {url}: the receiver must be an http:// or https:// URL"
    );
    Ok((url, secret))
}

fn parse_latency(text: &str) -> anyhow::Result<(u64, u64)> {
    let parse = |s: &str| {
        s.trim()
            .trim_end_matches("ms")
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("--latency {text:?}: expected milliseconds like 200 or 100..500"))
    };
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
