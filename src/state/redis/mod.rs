//! The shared store: `serve --store redis://HOST:PORT[/DB]` keeps every tenant's collections,
//! create counts and rate-limit windows, and the queue of delayed changes, in Redis, so that
//! replicas with the same spec and store act as one sandbox behind a load balancer.
//!
//! Takes a [`Connection`] (made once at start by [`connect`], which fails with a message naming
//! the URL when Redis does not answer), the spec's seed and its [`super::Events`]; hands on a
//! [`RedisStore`] (the sandbox's [`Store`]) and a [`Counter`] (the rate limiter's
//! [`WindowCounter`]).
//!
//! * One multiplexed connection per process (`redis::aio::ConnectionManager`, reconnecting on
//!   its own): no connection is set up per request, and the commands of concurrent requests
//!   share its writes (pipelined). A request awaits its round trips on its own worker thread
//!   (the per-request store traits answer with futures, see [`super::store`]); the synchronous
//!   admin calls (reset, the state dump and import, the tenant count) block with
//!   `block_in_place`, so the server needs tokio's multi-thread runtime (`serve` has it).
//! * Keys: `{prefix}:{spec title}:{hash of the spec's operations}:…` ([`namespace`]), so several
//!   sandboxes (and versions of one spec) share one Redis; the layout is in [`lua`].
//! * Atomic steps are Lua scripts ([`lua`] says why not `WATCH`). A create proposes an id from
//!   the view of the collection (count, largest integer id, first item) this replica got with
//!   its last create there, and one script inserts only if the id is free (and, for an id
//!   counted up from the largest, above every integer id stored so far) and answers with the
//!   view afterwards; a refusal teaches the allocator the taken id and the fresh view, and it
//!   proposes again. So a create costs one round trip, two the first time (the view is read
//!   first). Ids are never reused, not even after the item with the largest is deleted; after
//!   a reset they count from the fixtures again, as in memory. An update reads the item,
//!   changes it, and writes only if the item is unchanged, else reads again (optimistic, so no
//!   lock is held across replicas).
//! * The same caps as in memory: [`MAX_TENANTS`] tenants (least recently used go) and
//!   [`MAX_ITEMS`] per collection (the oldest tenth goes).
//! * Failures: a step that fails (Redis gone, or no answer within [`CALL_TIMEOUT`]) is reported
//!   with [`store::report_fault`]; the sandbox answers that request with a 503 in the vendor's
//!   envelope. While Redis is out of reach, steps fail at once and one every [`RETRY_EVERY`]
//!   tries again (the connection manager reconnects), so a hung Redis costs one wait, not one
//!   per request. The rate limiter lets requests through while Redis is gone, so stateless
//!   answers keep working.
//! * Delayed changes go to a sorted set by due time; every replica polls it ([`queue`]) and
//!   claims due jobs atomically, so each runs once in the cluster, and a job survives the
//!   replica that scheduled it.
//!
//! * Webhook subscriptions made through a vendor's API are shared too ([`subs`]); the
//!   command-line `--webhook` receivers are given to every replica. Each event is emitted by one
//!   replica (the one that served the request or claimed the delayed job), which makes the first
//!   attempt of each delivery; a failed one's next attempt waits in the delay queue, so it is
//!   made once, by whichever replica claims it, even after the first has stopped. Per replica
//!   still: the event journal and the delivery log (each shows the attempts its replica made).

mod lua;
mod queue;
mod subs;
mod tenant;

pub use tenant::RedisStore;
use tenant::{json_of, tenant_hash, text, Inner};

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Value as RValue;

use super::store::{self, Collections, Step, WindowCounter};
#[cfg(doc)]
use super::store::{Store, MAX_ITEMS, MAX_TENANTS};
use super::Events;
use crate::spec::Spec;

/// Longest wait for one step before it counts as failed (the request then gets a 503).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// While Redis is unreachable, how often one step tries it again (the others fail at once, so a
/// hung Redis costs each stateful request a quick 503, not a wait of [`CALL_TIMEOUT`]).
pub const RETRY_EVERY: Duration = Duration::from_millis(250);

/// How many times a create or update reads again after another replica got in first.
const RETRIES: usize = 64;

/// The connection to the shared store, made once per process and cloned into every mount.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

struct Shared {
    conn: ConnectionManager,
    /// The URL as given, without a password (for messages).
    url: String,
    prefix: String,
    /// The runtime the connection lives on (for calls made outside it).
    runtime: tokio::runtime::Handle,
    /// Whether the last step failed (so an outage is logged once, and the recovery once).
    down: AtomicBool,
    /// While Redis is unreachable (or does not answer): the millisecond (since `started`)
    /// before which steps fail at once rather than each waiting out [`CALL_TIMEOUT`]; 0 while it
    /// answers. One step then tries again (see [`Connection::run`]).
    retry_at: AtomicU64,
    /// When the connection was made: `retry_at` counts from it (a monotonic clock, which a
    /// change of the wall clock does not move).
    started: std::time::Instant,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("url", &self.shared.url).field("prefix", &self.shared.prefix).finish_non_exhaustive()
    }
}

/// `url` without its password (`redis://:secret@host` → `redis://***@host`).
pub fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
        _ => url.to_string(),
    }
}

/// Connect to the Redis at `url` (`redis://HOST:PORT[/DB]`) and check that it answers. Keys
/// start with `prefix`. Must run inside the tokio runtime the server will run on.
pub async fn connect(url: &str, prefix: &str) -> Result<Connection, String> {
    let shown = redacted(url);
    let client = redis::Client::open(url).map_err(|e| format!("--store {shown}: {e}"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    let attempt = async {
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok::<_, redis::RedisError>(conn)
    };
    let conn = match tokio::time::timeout(Duration::from_secs(3), attempt).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(format!("cannot reach the store at {shown}: {e}")),
        Err(_) => return Err(format!("cannot reach the store at {shown}: no answer within 3 s")),
    };
    let shared = Shared {
        conn,
        url: shown,
        prefix: prefix.to_string(),
        runtime: tokio::runtime::Handle::current(),
        down: AtomicBool::new(false),
        retry_at: AtomicU64::new(0),
        started: std::time::Instant::now(),
    };
    Ok(Connection { shared: Arc::new(shared) })
}

/// The key namespace of one spec: the prefix, the spec's title and a hash of its version and
/// operations (replicas must serve the same spec to share a sandbox: resource indexes are part
/// of the keys).
pub fn namespace(prefix: &str, spec: &Spec) -> String {
    let mut parts: Vec<&[u8]> = vec![spec.title.as_bytes(), spec.version.as_bytes()];
    parts.extend(spec.operations.iter().map(|op| op.label().as_bytes()));
    let mut out = format!("{prefix}:{}:", spec.title);
    crate::util::hash::push_hex(&mut out, &crate::util::hash::stable_hash(&parts).to_be_bytes()[4..]);
    out
}

impl Connection {
    /// The rate-limit counter of `spec`'s mount.
    pub fn counter(&self, spec: &Spec) -> Counter {
        Counter { conn: self.clone(), ns: namespace(&self.shared.prefix, spec) }
    }

    /// The shared webhook subscriptions of `spec`'s mount.
    pub fn subscriptions(&self, spec: &Spec) -> Box<dyn crate::webhooks::SharedSubscriptions> {
        Box::new(subs::Subscriptions { conn: self.clone(), ns: namespace(&self.shared.prefix, spec) })
    }

    /// The sandbox store of `spec`'s mount, whose new tenants start from `seed`.
    /// Its delay queue also carries `webhooks`' retries.
    pub fn store(&self, spec: &Spec, seed: Collections, events: Arc<Events>, webhooks: Arc<crate::webhooks::Webhooks>) -> RedisStore {
        RedisStore::new(self.clone(), namespace(&self.shared.prefix, spec), &seed, events, webhooks)
    }

    /// Await one request to Redis, for at most [`CALL_TIMEOUT`]; an outage is logged. While
    /// Redis is out of reach (a timeout or a connection failure), steps fail at once but one
    /// every [`RETRY_EVERY`], which tries again; the first that succeeds ends the outage.
    async fn run<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
        let retry_at = self.shared.retry_at.load(Ordering::Relaxed);
        if retry_at != 0 {
            let now = self.millis();
            // Not yet time, or another step took this turn to try.
            let turn = now >= retry_at
                && self
                    .shared
                    .retry_at
                    .compare_exchange(retry_at, now + RETRY_EVERY.as_millis() as u64, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok();
            if !turn {
                return Err("unreachable (tried again every quarter second)".to_string());
            }
        }
        let (result, unreachable) = match tokio::time::timeout(CALL_TIMEOUT, fut).await {
            Ok(Ok(v)) => (Ok(v), false),
            Ok(Err(e)) => {
                let unreachable = e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_unrecoverable_error();
                (Err(e.to_string()), unreachable)
            }
            Err(_) => (Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())), true),
        };
        if unreachable {
            self.shared.retry_at.store(self.millis() + RETRY_EVERY.as_millis() as u64, Ordering::Relaxed);
        } else if retry_at != 0 {
            self.shared.retry_at.store(0, Ordering::Relaxed);
        }
        self.note(&result);
        result
    }

    /// Milliseconds since the connection was made (at least 1, so never the "answers" 0).
    fn millis(&self) -> u64 {
        self.shared.started.elapsed().as_millis() as u64 + 1
    }

    /// Log the start and the end of an outage (once each).
    fn note<T>(&self, result: &Result<T, String>) {
        match result {
            Ok(_) if self.shared.down.swap(false, Ordering::Relaxed) => tracing::warn!("the store at {} answers again", self.shared.url),
            Err(e) if !self.shared.down.swap(true, Ordering::Relaxed) => {
                tracing::warn!("the store at {} failed: {e}; stateful requests get 503 until it answers", self.shared.url)
            }
            _ => {}
        }
    }

    /// Await one request to Redis; a failure is reported as a fault of the request in scope
    /// ([`store::catch_faults`]). Once the request has failed, nothing more is sent (it would
    /// only wait again).
    async fn call<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        if store::faulted() {
            return None;
        }
        self.run(fut).await.map_err(|e| store::report_fault(format!("the shared store at {} failed: {e}", self.shared.url))).ok()
    }

    /// Run one command ([`Connection::call`]).
    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Option<T> {
        let mut conn = self.shared.conn.clone();
        self.call(cmd.query_async::<T>(&mut conn)).await
    }

    /// Run a script ([`Connection::call`]).
    async fn eval(&self, script: &redis::Script, keys: &[&str], args: Vec<Vec<u8>>) -> Option<RValue> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(a);
        }
        let mut conn = self.shared.conn.clone();
        self.call(inv.invoke_async::<RValue>(&mut conn)).await
    }

    /// Run `fut` (store calls) to its end, blocking this thread: for the synchronous callers
    /// (the admin side of the store, webhook subscriptions). On a worker thread its other tasks
    /// are handed on first (`block_in_place`), so this needs tokio's multi-thread runtime, which
    /// `serve` has; elsewhere it is reported as a fault.
    fn blocking<T>(&self, fut: impl Future<Output = Option<T>>) -> Option<T> {
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| h.block_on(fut)),
            Ok(_) => {
                store::report_fault("the Redis store needs tokio's multi-thread runtime".to_string());
                None
            }
            Err(_) => self.shared.runtime.block_on(fut),
        }
    }
}

/// Fixed-window counters in Redis: one key per (tenant, bucket, window), counted with `INCR`
/// and given its end as expiry with `EXPIREAT`, in one `MULTI` (atomic, one round trip; the
/// expiry is the same absolute time on every call, so setting it each time changes nothing).
/// Windows are aligned to the epoch (`now - now % window`, see the rate limiter), so replicas
/// whose clocks agree agree on the window and on `X-RateLimit-Reset`.
#[derive(Debug)]
pub struct Counter {
    conn: Connection,
    ns: String,
}

impl WindowCounter for Counter {
    fn increment<'a>(&'a self, key: &'a str, window_start: u64, window: u64) -> Step<'a, u64> {
        let mut k = format!("{}:rl:", self.ns);
        crate::util::hash::push_hex(&mut k, &crate::util::hash::stable_hash(&[key.as_bytes()]).to_be_bytes());
        k.push(':');
        k.push_str(itoa::Buffer::new().format(window_start));
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("INCR").arg(&k).cmd("EXPIREAT").arg(&k).arg(window_start + window + 1).ignore();
        let mut conn = self.conn.shared.conn.clone();
        Step::boxed(async move {
            // While Redis is gone, requests are let through (counted as the first of the window).
            match self.conn.run(pipe.query_async::<(u64,)>(&mut conn)).await {
                Ok((n,)) => n,
                Err(_) => 1,
            }
        })
    }
}
