//! What a server answers from: the mounted specs with their route tables, sandboxes and rate
//! limiters, and the run-time options. Built once from loaded specs ([`App::new`]) and swapped as a
//! whole when `--watch` reloads them ([`LiveApp`]); read by every request, never written by one
//! (the sandboxes, limiters and journal inside have their own locks).
//!
//! Takes: loaded [`Spec`]s and [`Options`]. Hands on: [`App::mount_of`], the spec a request is for.

use std::sync::Arc;

use axum::http::{header, Method};

use crate::admin::ADMIN_PREFIX;
use crate::pipeline::rate_limit;
use crate::routes::{RouteMatch, RouteTable};
use crate::spec::Spec;

/// One spec served under its base path.
#[derive(Debug)]
pub struct Mount {
    pub spec: Arc<Spec>,
    pub table: RouteTable,
    /// Response validators, generation plans and fixed bodies, compiled on first use.
    pub artifacts: crate::respond::Artifacts,
    /// Rate-limit counters for this spec's tenants.
    pub limiter: rate_limit::RateLimiter,
    /// The stateful sandbox (`None` with `--stateless`).
    pub sandbox: Option<crate::state::Sandbox>,
    /// Header and query names that carry credentials (redacted in recordings).
    pub secrets: Arc<Vec<String>>,
}

impl Mount {
    /// The part of `path` after this spec's base path, if `path` is under it.
    pub(crate) fn rest<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.spec.base_path.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}

/// Run-time switches that are not part of a spec.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--seed`: mixed with a hash of each request to seed generated data.
    pub seed: u64,
    /// Largest request body accepted, in bytes (413 above); 0 means the default (10 MiB).
    pub body_limit: usize,
    /// `--no-rate-limit`: never count or refuse (load tests).
    pub rate_limit_off: bool,
    /// `--rate-limit-window SECONDS`: replace every window length (CI).
    pub rate_limit_window: Option<u64>,
    /// `--stateless`: a pure contract mock, no per-tenant store.
    pub stateless: bool,
    /// Journal, log line and recording (`None`: no journal at all).
    pub record: Option<crate::record::RecordOptions>,
    /// Validation proxy: forward to this base URL instead of answering (`serve --upstream`).
    pub upstream: Option<String>,
    /// Resilience testing: added latency and injected faults (off by default).
    pub chaos: Chaos,
    /// Connection cap, idle and request timeouts.
    pub limits: crate::server::Limits,
    /// `--self-check`: validate every answer against its declared response (`respond::self_check`).
    pub self_check: bool,
    /// `--store redis://…`: the sandboxes and rate limits live there, shared by replicas
    /// (`None`: in memory).
    pub store: Option<crate::state::redis::Connection>,
    /// Who may call the admin endpoints (`--admin-token`).
    pub admin: crate::admin::Access,
}

/// Latency and faults for resilience tests.
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    /// Added latency in milliseconds: a fixed value or a range (`min..=max`).
    pub latency_ms: Option<(u64, u64)>,
    /// Share of requests answered with an injected 500 (0.0–1.0).
    pub error_rate: f64,
    /// Share of requests whose connection is cut mid-answer (0.0–1.0).
    pub reset_rate: f64,
}

/// The state a server answers from, swapped as a whole when `--watch` reloads the specs.
pub type LiveApp = arc_swap::ArcSwap<App>;

/// Server state shared by all requests; immutable after start.
#[derive(Debug)]
pub struct App {
    /// Mounted specs, longest base path first so the most specific wins.
    pub mounts: Vec<Mount>,
    /// `--seed`: mixed with a hash of each request to seed generated data.
    pub seed: u64,
    /// Largest request body accepted, in bytes (413 above).
    pub body_limit: usize,
    pub rate_limit_off: bool,
    /// The journal and its writer (log line, HAR recording).
    pub recorder: Option<Arc<crate::record::Recorder>>,
    /// `--upstream`: forward every request there and check both directions against the spec.
    pub upstream: Option<(String, reqwest::Client)>,
    pub chaos: Chaos,
    /// Connection cap, idle and request timeouts (read when the server starts).
    pub limits: crate::server::Limits,
    /// Counts requests, to draw faults deterministically (seeded).
    pub(crate) requests: std::sync::atomic::AtomicU64,
    /// The options this state was built with (for `rebuild`).
    options: Options,
}

impl App {
    /// Build the state from loaded specs (route tables are built here, once).
    pub fn new(specs: Vec<Arc<Spec>>, options: Options) -> (App, Vec<crate::spec::Diagnostic>) {
        let mut diags = Vec::new();
        let mut mounts: Vec<Mount> = specs
            .into_iter()
            .map(|spec| {
                let (table, d) = RouteTable::build(&spec);
                diags.extend(d);
                let sandbox = (!options.stateless).then(|| crate::state::Sandbox::build_on(&spec, options.store.as_ref()));
                let limiter = match &options.store {
                    Some(conn) => rate_limit::RateLimiter::with_counter(options.rate_limit_window, Box::new(conn.counter(&spec))),
                    None => rate_limit::RateLimiter::new(options.rate_limit_window),
                };
                let secrets = spec
                    .schemes
                    .iter()
                    .filter_map(|s| match &s.kind {
                        crate::spec::security::SchemeKind::ApiKey { name, .. } => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                Mount { artifacts: crate::respond::Artifacts::new(&spec), spec, table, limiter, sandbox, secrets: Arc::new(secrets) }
            })
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.spec.base_path.len()));
        let body_limit = if options.body_limit == 0 { 10 * 1024 * 1024 } else { options.body_limit };
        let recorder = options.record.clone().and_then(|r| match crate::record::Recorder::start(r) {
            Ok(rec) => Some(Arc::new(rec)),
            Err(e) => {
                diags.push(crate::spec::Diagnostic::error(
                    std::path::Path::new("--record"),
                    "",
                    format!("cannot create the recording: {e}"),
                ));
                None
            }
        });
        let upstream = options.upstream.clone().map(|u| {
            let client = crate::tls::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default();
            (u.trim_end_matches('/').to_string(), client)
        });
        (
            App {
                mounts,
                seed: options.seed,
                body_limit,
                rate_limit_off: options.rate_limit_off,
                recorder,
                upstream,
                chaos: options.chaos.clone(),
                limits: options.limits.clone(),
                requests: Default::default(),
                options,
            },
            diags,
        )
    }

    /// Who may call the admin endpoints.
    pub fn admin(&self) -> &crate::admin::Access {
        &self.options.admin
    }

    /// A new state for reloaded specs (`--watch`): the same options, the same journal and
    /// recording; the sandboxes start again from the (new) fixtures.
    pub fn rebuild(&self, specs: Vec<Arc<Spec>>) -> (App, Vec<crate::spec::Diagnostic>) {
        let options = Options { record: None, ..self.options.clone() };
        let (mut app, diags) = App::new(specs, options);
        app.recorder = self.recorder.clone();
        app.options.record = self.options.record.clone();
        (app, diags)
    }

    /// The mounted spec a request is for, and the rest of its path. Specs are told apart by base path (longest first);
    /// specs that share one (Bento and Benchwork both live under `/api/v1`) by the `Host` header
    /// matching their `servers` host, else by which of them has the path.
    fn mount_for<'p>(&self, method: &Method, path: &'p str, host: Option<&str>) -> Option<(&Mount, &'p str)> {
        // Mounts are ordered by base path, longest first: the first that holds the path wins
        // unless another with a base path as long holds it too (no list built for the usual case).
        let candidates = || self.mounts.iter().filter_map(|m| Some((m, m.rest(path)?)));
        let first = candidates().next()?;
        let longest = first.0.spec.base_path.len();
        let same = || candidates().take_while(|(m, _)| m.spec.base_path.len() == longest);
        if same().nth(1).is_none() {
            return Some(first);
        }
        let best: Vec<(&Mount, &'p str)> = same().collect();
        let host = host.map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
        best.iter()
            .find(|(m, _)| host.is_some() && m.spec.server_host.as_deref() == host.as_deref())
            .or_else(|| best.iter().find(|(m, rest)| m.table.lookup(method, rest) != RouteMatch::NotFound))
            .or(best.first())
            .copied()
    }

    /// `--self-check`: every answer is validated against its declared response.
    pub fn self_check(&self) -> bool {
        self.options.self_check
    }

    /// The mounted spec a request is for (`None` for admin paths and unknown base paths).
    pub fn mount_of(&self, parts: &axum::http::request::Parts) -> Option<&Mount> {
        if parts.uri.path().starts_with(ADMIN_PREFIX) {
            return None;
        }
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
        self.mount_for(&parts.method, parts.uri.path(), host).map(|(m, _)| m)
    }
}
