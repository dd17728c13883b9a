//! The request pipeline: plain functions in one visible sequence.
//!
//! `handle_wrap` owns the cross-cutting work (read the body within its limit, turn a
//! [`Rejection`] into the error envelope, strip bodies for HEAD). `handle` is the sequence itself:
//!
//! `admin? → mount (base path) → route → validate params + body → respond`
//!
//! Each stage returns `Result<_, Rejection>` and they are joined with `?`. Authentication and rate
//! limiting slot in between route and validate (vendor behaviour, built from the spec).

pub mod auth;
pub mod rate_limit;
pub mod reject;
pub mod validate;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::respond::{self, Prefer, RespondInput};
use crate::routes::{RouteMatch, RouteTable};
use crate::spec::Spec;
use reject::Rejection;

/// Everything standin owns of its own lives under this prefix, never colliding with a spec path.
pub const ADMIN_PREFIX: &str = "/__standin/";

/// One spec served under its base path.
#[derive(Debug)]
pub struct Mount {
    pub spec: Arc<Spec>,
    pub table: RouteTable,
    /// Rate-limit counters for this spec's tenants.
    pub limiter: rate_limit::RateLimiter,
    /// The stateful sandbox (`None` with `--stateless`).
    pub sandbox: Option<crate::state::Sandbox>,
    /// Header and query names that carry credentials (redacted in recordings).
    pub secrets: Arc<Vec<String>>,
}

impl Mount {
    /// The part of `path` after this spec's base path, if `path` is under it.
    fn rest<'p>(&self, path: &'p str) -> Option<&'p str> {
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
    requests: std::sync::atomic::AtomicU64,
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
                let sandbox = (!options.stateless).then(|| crate::state::Sandbox::build(&spec));
                let secrets = spec
                    .schemes
                    .iter()
                    .filter_map(|s| match &s.kind {
                        crate::spec::security::SchemeKind::ApiKey { name, .. } => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                Mount { spec, table, limiter: rate_limit::RateLimiter::new(options.rate_limit_window), sandbox, secrets: Arc::new(secrets) }
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

    /// The mounted spec a request is for (`None` for admin paths and unknown base paths).
    pub fn mount_of(&self, parts: &axum::http::request::Parts) -> Option<&Mount> {
        if parts.uri.path().starts_with(ADMIN_PREFIX) {
            return None;
        }
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
        self.mount_for(&parts.method, parts.uri.path(), host).map(|(m, _)| m)
    }
}

/// The axum fallback handler: every request comes through here.
pub async fn handle_wrap(State(live): State<Arc<LiveApp>>, req: Request) -> Response {
    // A guard, not a new reference: `load_full` would add to one shared reference count on every
    // request, a cache line both worker threads keep taking from each other.
    let app = live.load();
    answer(&app, req).await
}

/// The request timeout applies to what can wait: reading the body, injected latency and the
/// upstream. The rest is computation that no timer could interrupt, so most requests never
/// touch the timer wheel (registering a timer per request showed in profiles).
async fn within<T>(limit: std::time::Duration, started: std::time::Instant, f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(started + limit), f).await.ok()
}

async fn answer(app: &App, req: Request) -> Response {
    let started = std::time::Instant::now();
    let limit = app.limits.request_timeout;
    let (parts, body) = req.into_parts();
    let is_head = parts.method == Method::HEAD;
    let origin = parts.headers.get(header::ORIGIN).cloned();
    // CORS preflight: browsers ask before cross-origin calls; a mock accepts them all.
    if parts.method == Method::OPTIONS && origin.is_some() && parts.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return preflight(&parts.headers);
    }
    let mount = app.mount_of(&parts);
    let envelope = mount.and_then(|m| m.spec.ext.errors.as_ref());
    let mut trace = Trace::default();
    if let (Some(upstream), false) = (&app.upstream, parts.uri.path().starts_with(ADMIN_PREFIX)) {
        let Some(read) = within(limit, started, axum::body::to_bytes(body, app.body_limit)).await else {
            return rejection_response(&Rejection::timeout(limit), envelope, is_head);
        };
        let bytes = read.unwrap_or_default();
        let Some(response) = within(limit, started, proxy(upstream, mount, &parts, &bytes, &mut trace)).await else {
            return rejection_response(&Rejection::timeout(limit), envelope, is_head);
        };
        return match &app.recorder {
            Some(recorder) => record(recorder, mount, parts, bytes, response, trace, started).await,
            None => response,
        };
    }
    let url_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let header_len: usize = parts.headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    let (bytes, early) = if url_len > app.limits.max_url_bytes {
        (Default::default(), Some(Rejection::uri_too_long(url_len, app.limits.max_url_bytes)))
    } else if header_len > app.limits.max_header_bytes {
        (Default::default(), Some(Rejection::headers_too_large(header_len, app.limits.max_header_bytes)))
    } else {
        // A request without a body has nothing to wait for: no timer.
        let has_body = parts.headers.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
            || parts.headers.contains_key(header::TRANSFER_ENCODING);
        let read = if has_body {
            match within(limit, started, axum::body::to_bytes(body, app.body_limit)).await {
                Some(r) => r,
                None => return rejection_response(&Rejection::timeout(limit), envelope, is_head),
            }
        } else {
            Ok(Default::default())
        };
        match read {
            Ok(b) => (b, None),
            Err(_) => (Default::default(), Some(Rejection::payload_too_large(app.body_limit))),
        }
    };
    let mut response = match early {
        Some(rejection) => rejection_response(&rejection, envelope, is_head),
        None => answer_read(app, mount, &parts, &bytes, &mut trace),
    };
    if is_head {
        *response.body_mut() = Body::empty();
    }
    if origin.is_some() {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
    }
    // --- Latency and faults (resilience tests; never for admin calls).
    if !parts.uri.path().starts_with(ADMIN_PREFIX) {
        // The shared request counter (seeding the draws) is touched only when chaos is on.
        let chaos_on = app.chaos.latency_ms.is_some() || app.chaos.reset_rate > 0.0 || app.chaos.error_rate > 0.0;
        let n = if chaos_on { app.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) } else { 0 };
        let draw =
            |salt: &[u8]| (respond::fake::stable_hash(&[&app.seed.to_le_bytes(), &n.to_le_bytes(), salt]) % 1_000_000) as f64 / 1_000_000.0;
        let prefer_latency = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .find_map(|p| p.trim().strip_prefix("latency=")?.trim().parse::<u64>().ok());
        let latency = prefer_latency.or_else(|| {
            app.chaos.latency_ms.map(|(lo, hi)| if hi > lo { lo + (draw(b"latency") * (hi - lo + 1) as f64) as u64 } else { lo })
        });
        if let Some(ms) = latency.filter(|ms| *ms > 0) {
            if within(limit, started, tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000)))).await.is_none() {
                return rejection_response(&Rejection::timeout(limit), envelope, is_head);
            }
        }
        if app.chaos.reset_rate > 0.0 && draw(b"reset") < app.chaos.reset_rate {
            // Start the answer, then fail its body: the connection is cut mid-answer.
            let mut cut = Response::new(Body::new(CutBody { sent: false }));
            cut.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return cut;
        }
        if app.chaos.error_rate > 0.0 && draw(b"error") < app.chaos.error_rate {
            response = rejection_response(&Rejection::internal("injected fault (--fault-rate)".into()), envelope, is_head);
            trace.violations.clear();
            trace.source = None;
        }
    }

    // --- Record the exchange (admin calls are not part of the traffic).
    match (&app.recorder, parts.uri.path().starts_with(ADMIN_PREFIX)) {
        (Some(recorder), false) => record(recorder, mount, parts, bytes, response, trace, started).await,
        _ => response,
    }
}

/// What standin answers once the body is read: the pipeline, a rejection rendered in the
/// mount's error envelope, and the rate-limit headers of a counted request. [`answer`] wraps it
/// with the transport limits, latency, faults and the journal; the fuzz targets call it
/// directly (with [`App::mount_of`]).
pub fn answer_read(app: &App, mount: Option<&Mount>, parts: &axum::http::request::Parts, body: &[u8], trace: &mut Trace) -> Response {
    let mut response = match handle(app, mount, parts, body, trace) {
        Ok(r) => r,
        Err(rejection) => {
            let response = rejection_response(&rejection, mount.and_then(|m| m.spec.ext.errors.as_ref()), false);
            if rejection.code == "invalid_request" {
                trace.violations = rejection.errors;
            }
            response
        }
    };
    // Rate-limit headers on every answer to a counted request, errors included.
    if let (Some(info), Some(policy)) = (trace.rate, mount.and_then(|m| m.spec.ext.rate_limit.as_ref())) {
        for (name, value) in rate_limit::headers(policy, &info) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Validation proxy: forward the request to the upstream API, pass its answer through, and note
/// every way either side breaks the spec (journal `violations`, locations `request.…` and
/// `response.…`).
async fn proxy(
    upstream: &(String, reqwest::Client),
    mount: Option<&Mount>,
    parts: &axum::http::request::Parts,
    body: &axum::body::Bytes,
    trace: &mut Trace,
) -> Response {
    let (base, client) = upstream;
    let mut violations = Vec::new();
    let mut op = None;
    if let Some((m, rest)) = mount.and_then(|m| Some((m, m.rest(parts.uri.path())?))) {
        match m.table.lookup(&parts.method, rest) {
            RouteMatch::Found { operation, params } => {
                let o = &m.spec.operations[operation];
                trace.operation = Some(Arc::clone(&o.label));
                let query = validate::parse_query(parts.uri.query());
                let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                let mut problems = validate::validate_params(o, &params, &query, &parts.headers);
                match validate::validate_body(&m.spec, o, ct, body) {
                    Ok(p) => problems.extend(p),
                    Err(r) => problems.extend(r.errors),
                }
                violations.extend(problems.into_iter().map(|p| reject::Problem { location: format!("request.{}", p.location), ..p }));
                op = Some((m, o));
            }
            _ => violations.push(reject::Problem {
                location: "request".into(),
                message: format!("{} {} is not an operation of the spec", parts.method, parts.uri.path()),
                keyword: Some("undocumented".into()),
            }),
        }
    }
    // --- Forward.
    let url = format!("{base}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut req = client.request(parts.method.clone(), url);
    for (n, v) in &parts.headers {
        if !matches!(n.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
            req = req.header(n, v);
        }
    }
    let upstream_resp = match req.body(body.clone()).send().await {
        Ok(r) => r,
        Err(e) => {
            trace.violations = violations;
            let r = Rejection::new_bad_gateway(format!("the upstream {base} did not answer: {e}"));
            return rejection_response(&r, None, false);
        }
    };
    let status = upstream_resp.status();
    let headers = upstream_resp.headers().clone();
    let bytes = upstream_resp.bytes().await.unwrap_or_default();
    // --- Check the answer against the spec.
    if let Some((m, o)) = op {
        match o.response_for(status.as_u16()) {
            None => violations.push(reject::Problem {
                location: "response.status".into(),
                message: format!("{status} is not a declared response of {}", o.label()),
                keyword: Some("status".into()),
            }),
            Some(declared) => {
                let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
                let base_ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                let media = declared.content.iter().find(|c| c.mime == base_ct).or_else(|| {
                    declared
                        .content
                        .iter()
                        .find(|c| crate::spec::model::is_json_mime(&c.mime) && crate::spec::model::is_json_mime(&base_ct))
                });
                match media {
                    None if !declared.content.is_empty() && !bytes.is_empty() => violations.push(reject::Problem {
                        location: "response.header.content-type".into(),
                        message: format!("{ct:?} is not a declared media type of this response"),
                        keyword: Some("contentType".into()),
                    }),
                    Some(media) if crate::spec::model::is_json_mime(&base_ct) => {
                        if let Some(schema) = &media.schema {
                            let validator =
                                media.validator.get_or_init(|| m.spec.schemas.compile_pointer(crate::spec::View::Response, schema));
                            match (validator, serde_json::from_slice::<serde_json::Value>(&bytes)) {
                                (Ok(v), Ok(instance)) => {
                                    for err in v.iter_errors(&instance) {
                                        let at = err.instance_path().as_str().replace('/', ".");
                                        violations.push(reject::Problem {
                                            location: format!("response.body{at}"),
                                            message: validate::short(&err.to_string()),
                                            keyword: Some(validate::static_keyword(err.kind().keyword())),
                                        });
                                    }
                                }
                                (_, Err(e)) => violations.push(reject::Problem {
                                    location: "response.body".into(),
                                    message: format!("malformed JSON: {e}"),
                                    keyword: Some("json".into()),
                                }),
                                (Err(_), _) => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    trace.violations = violations;
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    for (n, v) in &headers {
        if !matches!(n.as_str(), "content-length" | "transfer-encoding" | "connection") {
            resp.headers_mut().append(n, v.clone());
        }
    }
    resp.headers_mut().insert("x-standin-source", HeaderValue::from_static("upstream"));
    trace.source = Some("upstream".into());
    resp
}

/// A body that sends one chunk and then fails, so the server drops the connection mid-answer.
struct CutBody {
    sent: bool,
}

impl axum::body::HttpBody for CutBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected connection cut (--reset-rate)",
            ))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(axum::body::Bytes::from_static(b"{\"partial\": ")))))
    }
}

/// What `handle` learned that the wrapper needs after it (headers, the journal).
#[derive(Debug, Default)]
pub struct Trace {
    pub rate: Option<rate_limit::RateInfo>,
    /// The caller's credential (as the journal shows it: masked).
    pub tenant: Option<String>,
    pub operation: Option<Arc<str>>,
    pub violations: Vec<reject::Problem>,
    /// Where the answer came from (`generated`, `fixture`, `state`, `example:<name>`,
    /// `upstream`), as the `x-standin-source` header says it.
    pub source: Option<std::borrow::Cow<'static, str>>,
}

async fn record(
    recorder: &crate::record::Recorder,
    mount: Option<&Mount>,
    parts: axum::http::request::Parts,
    request_body: axum::body::Bytes,
    response: Response,
    trace: Trace,
    started: std::time::Instant,
) -> Response {
    // The response's headers and body are kept only for the HAR file and the inspector page's
    // detail view (`RecordOptions::keep_responses`); cloning a header map per exchange cost a
    // visible share of throughput.
    let (response, response_headers, response_body) = if recorder.keeps_responses() {
        let (resp_parts, body) = response.into_parts();
        // Bodies are built in memory: collecting them again is a move, not a copy over a socket.
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let headers = crate::record::HeaderList::copy_of(&resp_parts.headers);
        (Response::from_parts(resp_parts, Body::from(bytes.clone())), headers, bytes)
    } else {
        (response, Default::default(), Default::default())
    };
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .saturating_sub(started.elapsed().as_millis() as u64);
    let exchange = crate::record::Exchange {
        id: 0, // numbered by the writer, in arrival order (no shared counter here)
        started_ms,
        duration_us: started.elapsed().as_micros() as u64,
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        // Copies, not the shared slices of hyper's read buffer (see `HeaderList`).
        request_headers: crate::record::HeaderList::copy_of(&parts.headers),
        request_body: if request_body.is_empty() { request_body } else { axum::body::Bytes::copy_from_slice(&request_body) },
        status: response.status().as_u16(),
        response_headers,
        response_body,
        operation: trace.operation,
        source: trace.source,
        violations: trace.violations,
        tenant: trace.tenant,
        // Only the HAR writer redacts; a shared reference count per request costs otherwise.
        secrets: if recorder.records_har() { mount.map(|m| Arc::clone(&m.secrets)).unwrap_or_default() } else { Default::default() },
    };
    recorder.record(exchange).await;
    response
}

/// Answer a CORS preflight: any origin, the requested method and headers.
fn preflight(headers: &axum::http::HeaderMap) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
    let asked = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned().unwrap_or(HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    r
}

/// The pipeline for one request with its body read, for the spec [`App::mount_of`] chose.
pub fn handle(
    app: &App,
    mount: Option<&Mount>,
    parts: &axum::http::request::Parts,
    body: &[u8],
    trace: &mut Trace,
) -> Result<Response, Rejection> {
    let path = parts.uri.path();
    let method = &parts.method;

    // --- Admin endpoints.
    if let Some(admin) = path.strip_prefix(ADMIN_PREFIX) {
        return admin_endpoint(app, method, admin, &validate::parse_query(parts.uri.query()), body);
    }

    // --- Mount: chosen once per request by the caller; here only the rest of the path.
    let (mount, rest) = mount.and_then(|m| Some((m, m.rest(path)?))).ok_or_else(|| Rejection::not_found(method, path))?;
    let spec = &mount.spec;

    // --- Route.
    let (op_index, path_params) = match mount.table.lookup(method, rest) {
        RouteMatch::Found { operation, params } => (operation, params),
        RouteMatch::MethodNotAllowed { allow } => {
            if *method == Method::OPTIONS {
                return Ok(options_response(&allow));
            }
            return Err(Rejection::method_not_allowed(method, path, &allow));
        }
        RouteMatch::NotFound => return Err(Rejection::not_found(method, path)),
    };
    let op = &spec.operations[op_index];
    trace.operation = Some(Arc::clone(&op.label));

    // --- Required headers: the vendor refuses requests without them, in its own way.
    for (name, refusal) in &spec.ext.require_headers {
        let present = parts.headers.get(name.as_str()).and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty());
        if !present {
            let body = match &refusal.body {
                serde_json::Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
            return Err(Rejection::refused(status, refusal.content_type.clone(), body, format!("the {name} header is required")));
        }
    }

    // --- Authenticate: who is calling (the tenant), from the spec's security schemes.
    let query = validate::parse_query(parts.uri.query());
    let tenant = auth::authenticate(spec, op, &parts.headers, &query)?;
    trace.tenant = Some(crate::state::mask(&tenant.0));
    // Keys declared in `_keys.json`: revoked ones are refused, scopes limit the methods.
    let key = spec.keys.get(&tenant.0);
    if let Some(info) = key {
        if info.revoked {
            return Err(Rejection::unauthorized("this API key has been revoked".into()));
        }
        if let Some(allowed) = info.scope.as_ref().and_then(|s| spec.ext.scopes.get(s).map(|m| (s, m))) {
            let (scope, methods) = allowed;
            if !methods.iter().any(|m| m == "all" || m.eq_ignore_ascii_case(method.as_str())) {
                return Err(Rejection::forbidden(format!("This API key's scope ({scope}) does not allow {method} requests.")));
            }
        }
    }

    // --- Vendor rules: one of several values must be present (checked before validation,
    // whose answer would be a plain 400).
    // The body is parsed at most once, and only if a rule looks into it.
    let json_body = std::cell::OnceCell::new();
    for rule in spec.ext.require_one_of.iter().filter(|r| r.applies_to(op.operation_id.as_deref())) {
        let present = rule.of.iter().any(|place| match place.location.as_str() {
            "query" => query.iter().any(|(k, v)| *k == place.name && !v.is_empty()),
            "header" => parts.headers.contains_key(place.name.as_str()),
            "body" => json_body
                .get_or_init(|| serde_json::from_slice::<serde_json::Value>(body).ok())
                .as_ref()
                .is_some_and(|b| b.get(&place.name).is_some_and(|v| !v.is_null())),
            _ => false,
        });
        if !present {
            return Err(Rejection::rule(StatusCode::from_u16(rule.status).unwrap_or(StatusCode::BAD_REQUEST), rule.message.clone()));
        }
    }

    // --- Rate limit: count the request against the tenant's window.
    if let (Some(policy), false) = (&spec.ext.rate_limit, app.rate_limit_off) {
        let info = mount.limiter.check(policy, &tenant.0, op.operation_id.as_deref(), key.and_then(|k| k.plan.as_deref()));
        trace.rate = Some(info);
        if info.exceeded {
            return Err(Rejection::rate_limited(info.limit, info.retry_after));
        }
    }

    // --- Validate: every problem in parameters and body, reported together.
    let mut problems = validate::validate_params(op, &path_params, &query, &parts.headers);
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    problems.extend(validate::validate_body(spec, op, content_type, body)?);
    if !problems.is_empty() {
        // Stable order for clients and snapshots: by location, then message.
        problems.sort_by(|a, b| (&a.location, &a.message).cmp(&(&b.location, &b.message)));
        problems.dedup();
        return Err(Rejection::invalid_request(validate::invalid_status(spec, op), problems));
    }

    // --- State: CRUD operations of inferred resources act on the tenant's store (unless the
    // client asks for a specific mock answer with `Prefer: code=` or `example=`).
    let prefer_values: Vec<&str> = parts.headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).collect();
    let prefer = Prefer::parse(&prefer_values);
    let outcome = match &mount.sandbox {
        Some(sandbox) if prefer.code.is_none() && prefer.example.is_none() => {
            sandbox.handle(spec, op_index, &tenant.0, &path_params, &query, body)?
        }
        _ => None,
    };

    // --- Respond.
    let seed = app.seed
        ^ respond::fake::stable_hash(&[
            method.as_str().as_bytes(),
            op.path.as_bytes(),
            parts.uri.path().as_bytes(),
            parts.uri.query().unwrap_or("").as_bytes(),
            body,
        ]);
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let status = outcome.as_ref().and_then(crate::state::status_of);
    let mut answer = respond::respond(
        spec,
        op,
        RespondInput { prefer: &prefer, accept, path_params: &path_params, seed, state: outcome.map(|o| o.body) },
    )?;
    if let Some(status) = status {
        answer.status = status.as_u16();
    }

    // Built in place: `Response::builder()` re-parses every header name and value.
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).map_err(|e| Rejection::internal(format!("response status {}: {e}", answer.status)))?;
    let headers = response.headers_mut();
    if let Some(ct) = answer.content_type {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    for (name, value) in answer.headers {
        headers.append(name, value);
    }
    // Example names come from the spec: keep the header value visible ASCII.
    let source = match &answer.source {
        std::borrow::Cow::Borrowed(s) => Some(HeaderValue::from_static(s)),
        std::borrow::Cow::Owned(s) if s.bytes().all(|c| c.is_ascii_graphic()) => HeaderValue::from_str(s).ok(),
        std::borrow::Cow::Owned(s) => {
            HeaderValue::from_str(&s.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect::<String>()).ok()
        }
    };
    if let Some(v) = source {
        headers.insert("x-standin-source", v);
    }
    trace.source = Some(answer.source);
    // Contract warnings (accepted, but outside what the API typically takes).
    let warnings = validate::body_warnings(op, content_type, body);
    if !warnings.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&warnings.join("; ")) {
            headers.insert("x-standin-warning", v);
        }
    }
    Ok(response)
}

fn options_response(allow: &[Method]) -> Response {
    let list = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(v) = HeaderValue::from_str(&list) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

fn admin_endpoint(app: &App, method: &Method, path: &str, query: &[(String, String)], body: &[u8]) -> Result<Response, Rejection> {
    let json = |v: serde_json::Value| {
        let mut r = Response::new(Body::from(v.to_string()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    match (method.as_str(), path.trim_end_matches('/')) {
        // --- The inspector page, one exchange in detail, contract coverage (src/ui, src/coverage).
        (_, p) if crate::ui::owns(p) => crate::ui::endpoint(app, method, p, query),
        ("GET" | "HEAD", "health") => Ok(json(serde_json::json!({"status": "ok"}))),
        ("GET" | "HEAD", "specs") => Ok(json(serde_json::Value::Array(
            app.mounts
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "title": m.spec.title, "version": m.spec.version, "openapi": m.spec.openapi,
                        "file": m.spec.file.display().to_string(), "basePath": m.spec.base_path,
                        "operations": m.spec.operations.len(),
                        "routes": crate::ui::routes(m),
                    })
                })
                .collect(),
        ))),
        ("POST", "reset") => {
            // `?tenant=KEY` resets one tenant; otherwise every tenant of every spec.
            let tenant = query.iter().find(|(k, _)| k == "tenant").map(|(_, v)| v.as_str());
            let n: usize = app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).map(|s| s.reset(tenant)).sum();
            Ok(json(serde_json::json!({"reset": n})))
        }
        ("GET" | "HEAD", "requests") => {
            Ok(json(serde_json::Value::Array(app.recorder.as_ref().map(|r| r.list(query)).unwrap_or_default())))
        }
        ("DELETE", "requests") => {
            if let Some(r) = &app.recorder {
                r.clear();
            }
            Ok(json(serde_json::json!({"cleared": true})))
        }
        ("GET" | "HEAD", "violations") => {
            Ok(json(serde_json::Value::Array(app.recorder.as_ref().map(|r| r.violations()).unwrap_or_default())))
        }
        ("GET" | "HEAD", "webhooks") => Ok(json(serde_json::Value::Array(
            app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).flat_map(|s| s.webhooks.log()).collect(),
        ))),
        ("POST", "webhooks/fire") => {
            // Fire any event by hand (e.g. `invoice.overdue`, which no API call causes):
            // `{"event": "...", "data": {...}, "tenant": "<credential>"}`.
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
            let Some(event) = v.get("event").and_then(serde_json::Value::as_str) else {
                return Err(Rejection::invalid_request(
                    StatusCode::BAD_REQUEST,
                    vec![reject::Problem {
                        location: "body.event".into(),
                        message: "is required".into(),
                        keyword: Some("required".into()),
                    }],
                ));
            };
            let data = v.get("data").cloned().unwrap_or(serde_json::Value::Object(Default::default()));
            let tenant = v.get("tenant").and_then(serde_json::Value::as_str).unwrap_or("");
            for s in app.mounts.iter().filter_map(|m| m.sandbox.as_ref()) {
                s.events.emit(tenant, event, &data);
            }
            Ok(json(serde_json::json!({"fired": event})))
        }
        ("GET" | "HEAD", "events") => {
            Ok(json(serde_json::Value::Array(app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).flat_map(|s| s.events.list()).collect())))
        }
        ("GET" | "HEAD", "state") => Ok(json(serde_json::Value::Object(
            app.mounts.iter().filter_map(|m| Some((m.spec.title.clone(), m.sandbox.as_ref()?.dump()))).collect(),
        ))),
        _ => Err(Rejection::not_found(method, &format!("{ADMIN_PREFIX}{path}"))),
    }
}

/// Serialize a rejection into the spec's error envelope (`x-standin.errors`), or problem+json.
pub fn rejection_response(r: &Rejection, envelope: Option<&crate::spec::ext::ErrorEnvelope>, is_head: bool) -> Response {
    let (content_type, bytes) = match (&r.raw, envelope) {
        (Some((ct, body)), _) => (HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("text/plain")), body.clone()),
        (None, Some(env)) => {
            let problems: Vec<(String, String)> = r.errors.iter().map(|p| (p.location.clone(), p.message.clone())).collect();
            // Every problem is named in the message too, for envelopes without a problems slot.
            let message = if r.errors.is_empty() {
                r.detail.clone()
            } else {
                r.errors.iter().map(|p| format!("{}: {}", p.location, p.message)).collect::<Vec<_>>().join("; ")
            };
            let body = env.render(r.status.as_u16(), r.code, &message, &problems);
            let bytes = match body {
                serde_json::Value::String(s) => s.into_bytes(),
                other => other.to_string().into_bytes(),
            };
            (HeaderValue::from_str(&env.content_type).unwrap_or(HeaderValue::from_static("application/json")), bytes)
        }
        (None, None) => (HeaderValue::from_static("application/problem+json"), r.body_bytes()),
    };
    let body = if is_head { Body::empty() } else { Body::from(bytes) };
    let mut resp = Response::new(body);
    *resp.status_mut() = r.status;
    resp.headers_mut().insert(header::CONTENT_TYPE, content_type);
    for (name, value) in &r.headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    if r.status.is_server_error() {
        tracing::error!(status = r.status.as_u16(), code = r.code, "{}", r.detail);
    }
    resp
}
