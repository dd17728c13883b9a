//! One exchange, from the request's head to the journal: what the transport owns around the
//! pipeline. Every request comes through [`handle_wrap`] (the router's only handler):
//!
//! 1. the request id (`X-Request-Id`, the client's when it sent one) and the CORS preflight;
//! 2. admin calls (`/__standin/…`) are chosen here, once, and answered by `admin`;
//! 3. the URL and header size limits, and the body read within its limit and the request timeout;
//! 4. the pipeline (or, with `--upstream`, the validation proxy) runs with a [`Context`];
//! 5. its outcome becomes the HTTP answer: a refusal rendered in the spec's error envelope, the
//!    rate-limit headers of a counted request, CORS headers, no body for HEAD;
//! 6. [`finish`] journals and records it — every exchange, timeouts and faults included.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::admin;
use crate::app::{App, LiveApp, Mount};
use crate::pipeline::{self, rate_limit, Answer, Context, Facts, Refused, RequestId};
use crate::reject::Rejection;

/// The axum fallback handler: every request comes through here.
pub async fn handle_wrap(State(live): State<Arc<LiveApp>>, req: Request) -> Response {
    // A guard, not a new reference: `load_full` would add to one shared reference count on every
    // request, a cache line both worker threads keep taking from each other.
    let app = live.load();
    exchange(&app, req).await
}

/// The request timeout applies to what can wait: reading the body, injected latency and the
/// upstream. The rest is computation that no timer could interrupt, so most requests never
/// touch the timer wheel (registering a timer per request showed in profiles).
async fn within<T>(limit: std::time::Duration, started: std::time::Instant, f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(started + limit), f).await.ok()
}

async fn exchange(app: &App, req: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let id = RequestId::of(&parts.headers);
    let cors = parts.headers.contains_key(header::ORIGIN);
    let is_preflight = parts.method == Method::OPTIONS && cors && parts.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let Some(rest) = admin::admin_path(parts.uri.path()) {
        // No CORS for admin calls: a page on another origin may neither ask nor read.
        return transport(admin_call(app, &parts, body, rest, is_preflight, started).await, &parts.method, &id, false);
    }
    // CORS preflight: browsers ask before cross-origin calls; a mock accepts them all.
    if is_preflight {
        return transport(preflight(&parts.headers), &parts.method, &id, false);
    }
    let mount = app.mount_of(&parts);
    let cx = Context { id, started, mount, timeout: app.limits.request_timeout };
    let (bytes, outcome) = match read_body(app, &parts, body, started).await {
        Err(rejection) => (Bytes::new(), Err(Refused::bare(rejection))),
        Ok(bytes) => {
            let outcome = match &app.upstream {
                Some(upstream) => within(cx.timeout, started, crate::proxy::forward(upstream, mount, &parts, &bytes))
                    .await
                    .unwrap_or_else(|| Err(Refused::bare(Rejection::timeout(cx.timeout)))),
                None => pipeline::handle(app, &cx, &parts, &bytes).await,
            };
            (bytes, outcome)
        }
    };
    let answer = outcome.unwrap_or_else(|refused| refusal(mount, refused));
    let Answer { response, facts } = if app.self_check() { crate::respond::self_check::checked(mount, answer).await } else { answer };
    let response = with_rate_headers(response, mount, &facts);
    let response = transport(response, &parts.method, &cx.id, cors);
    finish(app, mount, &cx, parts, bytes, response, facts).await
}

/// An admin call: who may make it ([`admin::Access::check`]), then its answer.
async fn admin_call(app: &App, parts: &Parts, body: Body, rest: &str, is_preflight: bool, started: std::time::Instant) -> Response {
    if is_preflight {
        return Rejection::forbidden("Admin endpoints do not answer cross-origin calls.".into()).render(None);
    }
    let query = pipeline::validate::parse_query(parts.uri.query());
    let peer = parts.extensions.get::<crate::server::Peer>();
    if let Err(r) = app.admin().check(rest, peer, &parts.headers, &query) {
        return r.render(None);
    }
    match read_body(app, parts, body, started).await {
        Ok(bytes) => admin::endpoint(app, &parts.method, rest, &query, &bytes).unwrap_or_else(|r| r.render(None)),
        Err(r) => r.render(None),
    }
}

/// The URL and header size limits, then the body within its limit and the request timeout.
async fn read_body(app: &App, parts: &Parts, body: Body, started: std::time::Instant) -> Result<Bytes, Rejection> {
    let limits = &app.limits;
    let url_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if url_len > limits.max_url_bytes {
        return Err(Rejection::uri_too_long(url_len, limits.max_url_bytes));
    }
    let header_len: usize = parts.headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if header_len > limits.max_header_bytes {
        return Err(Rejection::headers_too_large(header_len, limits.max_header_bytes));
    }
    // A request without a body has nothing to wait for: no timer.
    let has_body = parts.headers.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return Ok(Bytes::new());
    }
    match within(limits.request_timeout, started, collect(&parts.headers, body, app.body_limit)).await {
        None => Err(Rejection::timeout(limits.request_timeout)),
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(e)) => Err(e.rejection(app.body_limit)),
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit: by its `Content-Length` (then nothing was read, and no `100 Continue`
    /// sent), or by what arrived.
    TooLarge,
    /// Malformed (a bad chunk), or cut short (the client closed or reset the connection).
    Broken(String),
}

impl BodyError {
    /// The answer: 413 for a body over `limit`, 400 naming the fault for a broken one.
    pub fn rejection(&self, limit: usize) -> Rejection {
        match self {
            BodyError::TooLarge => Rejection::payload_too_large(limit),
            BodyError::Broken(why) => Rejection::invalid_request(
                StatusCode::BAD_REQUEST,
                vec![crate::reject::Problem {
                    location: "body".into(),
                    message: format!("could not be read: {why}"),
                    keyword: Some("body".into()),
                }],
            ),
        }
    }
}

/// Read a request body of at most `limit` bytes. A `Content-Length` over the limit is refused
/// before anything is read (hyper sends `100 Continue` only when the body is first read).
pub async fn collect(headers: &axum::http::HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body::Body as _;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = std::pin::pin!(body);
    // One frame (the usual case) is kept as is; more are joined.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| BodyError::Broken(causes(&e)))?;
        let Ok(data) = frame.into_data() else { continue }; // trailers
        len += data.len();
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            kept => {
                joined.extend_from_slice(kept.as_deref().unwrap_or_default());
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// An error and its causes, as one line (`error reading a body from connection: invalid chunk
/// size line`).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// A refusal as the answer: in the mount's error envelope; the problems of an invalid request
/// become the exchange's violations. A 5xx is logged here, once, with its internal detail.
fn refusal(mount: Option<&Mount>, Refused { rejection, mut facts }: Refused) -> Answer {
    if rejection.status.is_server_error() {
        tracing::error!(status = rejection.status.as_u16(), code = rejection.code, "{}", rejection.detail);
    }
    // The operation's declared error schema first, then the spec's envelope, then problem+json.
    let declared = mount.and_then(|m| m.artifacts.error_answer(&m.spec, facts.operation.as_deref(), &rejection));
    let response = declared.unwrap_or_else(|| rejection.render(mount.and_then(|m| m.spec.ext.errors.as_ref())));
    if rejection.code == "invalid_request" {
        facts.violations = rejection.errors;
    }
    Answer { response, facts }
}

/// Rate-limit headers on every answer to a counted request, errors included.
fn with_rate_headers(mut response: Response, mount: Option<&Mount>, facts: &Facts) -> Response {
    if let (Some(info), Some(policy)) = (facts.rate, mount.and_then(|m| m.spec.ext.rate_limit.as_ref())) {
        for (name, value) in rate_limit::headers(policy, &info) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// What every answer gets at the end: the request id, CORS headers for cross-origin callers,
/// and no body for HEAD.
fn transport(mut response: Response, method: &Method, id: &RequestId, cors: bool) -> Response {
    if *method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    let h = response.headers_mut();
    h.insert(HeaderName::from_static(RequestId::HEADER), id.0.clone());
    if cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
    }
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

/// The one place an exchange is journaled (and, through the journal, logged and recorded).
async fn finish(
    app: &App,
    mount: Option<&Mount>,
    cx: &Context<'_>,
    parts: Parts,
    request_body: Bytes,
    response: Response,
    facts: Facts,
) -> Response {
    let Some(recorder) = app.recorder.as_deref() else { return response };
    let started = cx.started;
    // The response's headers and body are kept only for the HAR file and the inspector page's
    // detail view (`RecordOptions::keep_responses`); cloning a header map per exchange cost a
    // visible share of throughput.
    let (response, response_headers, response_body) = if recorder.keeps_responses() && !facts.streamed {
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
    // For the writer's redaction (`record::redact`), and only where a credential could be:
    // a shared reference count per request costs otherwise. A request outside every base path
    // gets every spec's names.
    let secrets = if recorder.records_har() || parts.uri.query().is_some() || !request_body.is_empty() {
        match mount {
            Some(m) => Arc::clone(&m.secrets),
            None => Arc::new(app.mounts.iter().flat_map(|m| m.secrets.iter().cloned()).collect()),
        }
    } else {
        Default::default()
    };
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
        operation: facts.operation,
        source: facts.source,
        violations: facts.violations,
        warnings: facts.warnings,
        tenant: facts.tenant,
        secrets,
    };
    recorder.record(exchange).await;
    response
}
