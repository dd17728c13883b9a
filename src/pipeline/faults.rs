//! Stage 6, faults: added latency and injected failures for resilience tests (`--latency`,
//! `--fault-rate`, `--reset-rate`, `Prefer: latency=`). Decided after validation and *before*
//! the sandbox runs, so a request answered with an injected 500 or a cut connection has stored
//! nothing, as a real failing server would have.
//!
//! Takes the app's chaos settings, the request's parsed `Prefer` and the exchange's context.
//! Hands on nothing (go on), a 500, a 503 when the latency outlasts the request timeout, or an
//! answer whose connection is cut mid-body.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::app::App;
use crate::reject::Rejection;
use crate::respond::Prefer;

use super::context::Context;

/// What the fault stage decided.
#[derive(Debug)]
pub enum Fault {
    /// Answer with this response, whose body fails after its first chunk.
    Cut(Response),
}

/// Wait out the latency, then draw the faults.
pub async fn apply(app: &App, cx: &Context<'_>, prefer: &Prefer) -> Result<Option<Fault>, Rejection> {
    let chaos = &app.chaos;
    let prefer_latency = prefer.latency;
    let chaos_on = chaos.latency_ms.is_some() || chaos.reset_rate > 0.0 || chaos.error_rate > 0.0;
    if !chaos_on && prefer_latency.is_none() {
        return Ok(None);
    }
    // The shared request counter (seeding the draws) is touched only when chaos is on.
    let n = if chaos_on { app.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) } else { 0 };
    let draw =
        |salt: &[u8]| (crate::util::hash::stable_hash(&[&app.seed.to_le_bytes(), &n.to_le_bytes(), salt]) % 1_000_000) as f64 / 1_000_000.0;
    let latency = prefer_latency
        .or_else(|| chaos.latency_ms.map(|(lo, hi)| if hi > lo { lo + (draw(b"latency") * (hi - lo + 1) as f64) as u64 } else { lo }));
    if let Some(ms) = latency.filter(|ms| *ms > 0) {
        let deadline = tokio::time::Instant::from_std(cx.started + cx.timeout);
        let sleep = tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000)));
        if tokio::time::timeout_at(deadline, sleep).await.is_err() {
            return Err(Rejection::timeout(cx.timeout));
        }
    }
    if chaos.reset_rate > 0.0 && draw(b"reset") < chaos.reset_rate {
        // Start the answer, then fail its body: the connection is cut mid-answer.
        let mut cut = Response::new(Body::new(CutBody { sent: false }));
        cut.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(Some(Fault::Cut(cut)));
    }
    if chaos.error_rate > 0.0 && draw(b"error") < chaos.error_rate {
        return Err(Rejection::internal("injected fault (--fault-rate)".into()));
    }
    Ok(None)
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
