//! What travels with one exchange: the [`Context`] the server builds before the pipeline runs
//! (request id, start time, the mounted spec), and the [`Facts`] each answer carries back
//! (operation, tenant, rate-limit count, violations, source) for the headers the server adds and
//! for the journal. Stages return values; nothing is written through an out-parameter.

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::app::Mount;
use crate::reject::{Problem, Rejection};

use super::rate_limit::RateInfo;

/// Built by the server for each exchange, before any stage runs.
#[derive(Debug)]
pub struct Context<'a> {
    /// Sent back as `X-Request-Id` and kept in the journal.
    pub id: RequestId,
    pub started: std::time::Instant,
    /// The spec the request is for (`None`: no mounted spec has its base path).
    pub mount: Option<&'a Mount>,
    /// `--request-timeout`: what can wait (injected latency, the upstream) waits at most until
    /// `started` plus this.
    pub timeout: std::time::Duration,
}

/// What an answer tells the server and the journal about how it was made.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// The operation's label, once the route is known.
    pub operation: Option<Arc<str>>,
    /// The caller's credential, as the journal shows it (masked).
    pub tenant: Option<String>,
    /// The tenant's rate-limit window after this request was counted.
    pub rate: Option<RateInfo>,
    /// Every way the request (or, through the proxy, the upstream's answer) broke the spec.
    pub violations: Vec<Problem>,
    /// Problems with inferred constraints only (`spec::inferred`): answered, with a warning.
    pub warnings: Vec<Problem>,
    /// Where the answer came from (`generated`, `fixture`, `state`, `example:<name>`,
    /// `upstream`, `fault`), as the `x-standin-source` header says it.
    pub source: Option<Cow<'static, str>>,
    /// The answer's body must not be read before it is sent (an injected connection cut).
    pub streamed: bool,
    /// The operation's request body members the spec marks `writeOnly`, for the recorder's
    /// redaction ([`crate::spec::model::RequestBody::write_only`], shared); `None` when it has none.
    pub write_only: Option<Arc<[String]>>,
}

/// An answer the pipeline made, with its facts.
#[derive(Debug)]
pub struct Answer {
    pub response: Response,
    pub facts: Facts,
}

/// A request the pipeline refused, with the facts known when it was refused (the operation and
/// the rate-limit count are needed on error answers too).
#[derive(Debug)]
pub struct Refused {
    pub rejection: Rejection,
    pub facts: Facts,
}

impl Refused {
    /// Refused before anything was known about the request.
    pub fn bare(rejection: Rejection) -> Self {
        Refused { rejection, facts: Facts::default() }
    }
}

impl Facts {
    /// A closure for `map_err`: the rejection with a copy of the facts so far (taken only on the
    /// error path).
    pub fn refuse(&self) -> impl FnOnce(Rejection) -> Refused + '_ {
        move |rejection| Refused { rejection, facts: self.clone() }
    }
}

/// A request id: the client's `X-Request-Id` when it sent a usable one, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Longest client request id taken as is (longer ones are replaced).
const MAX_CLIENT_ID: usize = 200;

impl RequestId {
    pub const HEADER: &'static str = "x-request-id";

    /// The client's id if it is short visible ASCII, else a fresh one.
    pub fn of(headers: &HeaderMap) -> RequestId {
        if let Some(v) = headers.get(Self::HEADER) {
            let b = v.as_bytes();
            if !b.is_empty() && b.len() <= MAX_CLIENT_ID && b.iter().all(u8::is_ascii_graphic) {
                return RequestId(v.clone());
            }
        }
        RequestId::fresh()
    }

    /// 16 hex digits, unique in this process: a per-thread counter under a per-thread random
    /// prefix (no counter shared between worker threads, whose cache line they would fight over).
    pub fn fresh() -> RequestId {
        thread_local! {
            static NEXT: std::cell::Cell<u64> = std::cell::Cell::new(random_prefix());
        }
        let n = NEXT.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n
        });
        let mut hex = String::with_capacity(16);
        crate::util::hash::push_hex(&mut hex, &n.to_be_bytes());
        // Hex digits are always a valid header value; the fallback is never taken.
        RequestId(HeaderValue::from_str(&hex).unwrap_or(HeaderValue::from_static("0000000000000000")))
    }
}

/// A random high half (std's hasher keys are random per process and per hasher).
fn random_prefix() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id()) & 0xffff_ffff_0000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_echoed_and_a_bad_one_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(RequestId::of(&h).0, "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("has space"));
        let fresh = RequestId::of(&h).0;
        assert_eq!(fresh.len(), 16);
        assert!(fresh.as_bytes().iter().all(u8::is_ascii_hexdigit));
    }

    #[test]
    fn fresh_ids_differ() {
        let a = RequestId::fresh().0;
        let b = RequestId::fresh().0;
        assert_ne!(a, b);
    }
}
