//! One exchange, from the request's head to the journal: what the transport owns around the
//! pipeline. Every request comes through [`handle_wrap`] (the router's only handler):
//!
//! 1. the request id (`X-Request-Id`, the client's when it sent one) and the CORS preflight;
//! 2. admin calls (`/__standin/…`) are chosen here, once, and answered by `admin`;
//! 3. the URL and header size limits, and the body read within its limit, its minimum rate
//!    ([`MinBodyRate`]) and the request timeout;
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
use crate::server::MinBodyRate;

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

async fn exchange(app: &Arc<App>, req: Request) -> Response {
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

/// The URL and header size limits, then the body within its limit, its minimum rate and the
/// request timeout.
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
    match within(limits.request_timeout, started, collect(&parts.headers, body, app.body_limit, limits.min_body_rate)).await {
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
    /// Arriving slower than the [`MinBodyRate`]: `received` bytes in `elapsed`, `min` wanted.
    TooSlow { received: usize, elapsed: std::time::Duration, min: u64 },
}

impl BodyError {
    /// The answer: 413 for a body over `limit`, 400 naming the fault for a broken one, 408 (and
    /// the connection closed) for one too slow.
    pub fn rejection(&self, limit: usize) -> Rejection {
        match self {
            BodyError::TooLarge => Rejection::payload_too_large(limit),
            BodyError::TooSlow { received, elapsed, min } => {
                Rejection::body_too_slow((*received as f64 / elapsed.as_secs_f64().max(0.001)) as u64, *min)
            }
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

/// Read a request body of at most `limit` bytes, arriving no slower than `rate`. A
/// `Content-Length` over the limit is refused before anything is read (hyper sends `100
/// Continue` only when the body is first read).
pub async fn collect(headers: &axum::http::HeaderMap, body: Body, limit: usize, rate: MinBodyRate) -> Result<Bytes, BodyError> {
    use http_body::Body as _;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = std::pin::pin!(body);
    let mut pace = Pace::new(rate);
    // One frame (the usual case) is kept as is; more are joined.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    loop {
        // The next frame, or the pace's verdict while none comes.
        let next = std::future::poll_fn(|cx| match body.as_mut().poll_frame(cx) {
            std::task::Poll::Ready(frame) => std::task::Poll::Ready(Ok(frame)),
            std::task::Poll::Pending => pace.poll_stalled(cx, len).map(Err),
        })
        .await?;
        let Some(frame) = next else { break };
        let frame = frame.map_err(|e| BodyError::Broken(causes(&e)))?;
        let Ok(data) = frame.into_data() else { continue }; // trailers
        len += data.len();
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        pace.check(len)?;
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

/// A body's pace against its [`MinBodyRate`], from when the body is first asked for.
///
/// No timer per chunk: each chunk is checked against the clock, and one timer, set the first
/// time the body stalls (a body that arrives with its head never sets one), wakes the read when
/// the average would fall below the minimum. It is moved only when it fires, to where the
/// bytes that came meanwhile put that moment.
struct Pace {
    /// The minimum and its grace period (`Limits::min_body_rate`).
    rate: MinBodyRate,
    /// When the body was first asked for: the average counts from here.
    began: tokio::time::Instant,
    /// Wakes a stalled read when its bytes stop being enough; set on the first stall, kept to
    /// the body's end.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Pace {
    fn new(rate: MinBodyRate) -> Pace {
        Pace { rate, began: tokio::time::Instant::now(), timer: None }
    }

    /// When `received` bytes stop being enough: the end of the grace period, or the moment
    /// they average the minimum rate, whichever is later.
    fn deadline(&self, received: usize) -> tokio::time::Instant {
        let earned = std::time::Duration::from_secs_f64(received as f64 / self.rate.bytes_per_sec as f64);
        self.began + self.rate.grace.max(earned)
    }

    fn too_slow(&self, received: usize) -> BodyError {
        BodyError::TooSlow { received, elapsed: self.began.elapsed(), min: self.rate.bytes_per_sec }
    }

    /// After a chunk: whether `received` bytes so far keep the body at the minimum.
    fn check(&self, received: usize) -> Result<(), BodyError> {
        if !self.rate.is_on() {
            return Ok(());
        }
        let elapsed = self.began.elapsed();
        if elapsed > self.rate.grace && (received as f64) < self.rate.bytes_per_sec as f64 * elapsed.as_secs_f64() {
            return Err(self.too_slow(received));
        }
        Ok(())
    }

    /// While the body has no frame ready: ready with the refusal once `received` bytes are too
    /// few for the time passed, pending (and woken then) until that moment.
    fn poll_stalled(&mut self, cx: &mut std::task::Context<'_>, received: usize) -> std::task::Poll<BodyError> {
        use std::future::Future as _;
        if !self.rate.is_on() {
            return std::task::Poll::Pending;
        }
        let deadline = self.deadline(received);
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return std::task::Poll::Pending;
            }
            if deadline <= tokio::time::Instant::now() {
                break;
            }
            // Bytes came since the timer was set: wait until they are too few.
            timer.as_mut().reset(deadline);
        }
        std::task::Poll::Ready(self.too_slow(received))
    }
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
        write_only: facts.write_only,
    };
    recorder.record(exchange).await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A body whose chunks come from a channel: it stalls while nothing is sent, ends when the
    /// sender is dropped.
    struct Fed(tokio::sync::mpsc::Receiver<Bytes>);

    impl http_body::Body for Fed {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            self.0.poll_recv(cx).map(|c| c.map(|b| Ok(http_body::Frame::data(b))))
        }
    }

    fn fed() -> (tokio::sync::mpsc::Sender<Bytes>, Body) {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        (tx, Body::new(Fed(rx)))
    }

    const RATE: MinBodyRate = MinBodyRate { bytes_per_sec: 1_000, grace: Duration::from_millis(200) };

    #[tokio::test]
    async fn a_stalled_body_is_too_slow_once_the_grace_period_is_over() {
        let (tx, body) = fed();
        tx.send(Bytes::from_static(b"{")).await.unwrap();
        let started = std::time::Instant::now();
        let got = collect(&Default::default(), body, 1 << 20, RATE).await;
        assert!(matches!(got, Err(BodyError::TooSlow { received: 1, min: 1_000, .. })), "{got:?}");
        assert!(started.elapsed() >= Duration::from_millis(200) && started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        drop(tx);
    }

    #[tokio::test]
    async fn a_body_at_the_minimum_rate_is_read_whole_and_a_trickled_one_is_cut_at_a_chunk() {
        // 100 bytes every 10 ms: 10,000 bytes/s, over the grace period.
        let (tx, body) = fed();
        tokio::spawn(async move {
            for _ in 0..40 {
                tx.send(Bytes::from_static(&[b' '; 100])).await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        assert_eq!(collect(&Default::default(), body, 1 << 20, RATE).await.unwrap().len(), 4_000);
        // 1 byte every 20 ms: 50 bytes/s; the check at a chunk or the timer cuts it.
        let (tx, body) = fed();
        let feeding = tokio::spawn(async move {
            while tx.send(Bytes::from_static(b" ")).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let got = collect(&Default::default(), body, 1 << 20, RATE).await;
        assert!(matches!(got, Err(BodyError::TooSlow { .. })), "{got:?}");
        feeding.abort();
    }

    #[tokio::test]
    async fn without_a_minimum_a_stalled_body_waits() {
        let (tx, body) = fed();
        tx.send(Bytes::from_static(b"{")).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(400), collect(&Default::default(), body, 1 << 20, MinBodyRate::OFF)).await;
        assert!(waited.is_err(), "still reading");
        drop(tx);
    }

    #[test]
    fn too_slow_is_a_408_that_names_the_rate_and_the_flag_and_closes_the_connection() {
        let r = BodyError::TooSlow { received: 50, elapsed: Duration::from_secs(5), min: 240 }.rejection(1 << 20);
        assert_eq!((r.status, r.code, r.title), (StatusCode::REQUEST_TIMEOUT, "body_too_slow", crate::reject::TITLE_BODY_TOO_SLOW));
        assert!(
            r.detail.contains("10 bytes/s") && r.detail.contains("240 bytes/s") && r.detail.contains("--min-body-rate"),
            "{}",
            r.detail
        );
        assert!(r.headers.iter().any(|(n, v)| n == header::CONNECTION && v == "close"));
    }
}
