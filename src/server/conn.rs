//! The server loop: accept connections, serve each with hyper's HTTP/1 connection, and shut down
//! without waiting for clients that never finished a request. `standin serve` and `standin
//! replay` both run on it, so both have the same transport limits.
//!
//! Takes a bound listener, a handler (request → response), the [`Limits`] and a shutdown future.
//! Hands each request to the handler with its [`Peer`] (the client's and the bound address) in
//! the request's extensions. What it guarantees:
//!
//! - a request's head must arrive within `header_timeout` of the connection opening (or of the
//!   previous answer on a kept-alive connection): hyper's header read timeout, so a client
//!   trickling header bytes holds its slot for that long at most;
//! - a connection that sends nothing for `idle_timeout` is closed ([`Guarded`]);
//! - at most `max_connections` are served at once. When every slot is taken, the connection that
//!   has waited longest for a request head (at least [`SHED_AFTER`]) is closed to make room, so
//!   slow or idle clients cannot keep good ones out; when none qualifies, new ones wait;
//! - on shutdown, connections between requests (idle, or part of a head read) are closed at once
//!   and requests in flight get up to `request_timeout` to finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use super::Limits;

/// A connection waiting for a request head at least this long may be closed to make room when
/// every slot is taken.
pub const SHED_AFTER: Duration = Duration::from_secs(1);

/// Who is on the other end, and which address they reached: in every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address.
    pub remote: SocketAddr,
    /// The server's own address the connection came in on.
    pub local: SocketAddr,
}

/// One open connection, as the loop sees it.
struct Conn {
    /// Set while a request is being answered: from its head read to its answer's body sent.
    in_request: AtomicBool,
    /// Already asked to close (not chosen again while it does).
    stopping: AtomicBool,
    /// When it started waiting for its next request head (ms since the loop started).
    waiting_since: AtomicU64,
    /// Asks the connection to close once it is between requests.
    stop: Notify,
    /// When the loop started (the zero of `waiting_since`).
    epoch: tokio::time::Instant,
}

/// The open connections, by arrival number.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ask the connection that has waited longest for a head (at least `min_ms`, by `now_ms`)
    /// to close; whether there was one.
    fn shed_stalest(&self, now_ms: u64, min_ms: u64) -> bool {
        let conns = self.lock();
        let stalest = conns
            .values()
            .filter(|c| !c.in_request.load(Ordering::Relaxed) && !c.stopping.load(Ordering::Relaxed))
            .map(|c| (c.waiting_since.load(Ordering::Relaxed), c))
            .filter(|(since, _)| now_ms.saturating_sub(*since) >= min_ms)
            .min_by_key(|(since, _)| *since);
        match stalest {
            Some((_, c)) => {
                c.stopping.store(true, Ordering::Relaxed);
                c.stop.notify_one();
                true
            }
            None => false,
        }
    }

    fn stop_all(&self) {
        for c in self.lock().values() {
            c.stop.notify_one();
        }
    }
}

/// Serve `listener` with `handler` until `shutdown` resolves, then close what is idle, let
/// requests in flight finish (up to `request_timeout`), and return.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let local = listener.local_addr()?;
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let registry = Arc::new(Registry::default());
    let epoch = tokio::time::Instant::now();
    let now_ms = move || epoch.elapsed().as_millis() as u64;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let http = Arc::new(http);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        let (stream, remote) = match accepted {
            Ok(a) => a,
            // Too many open files and the like: wait a moment rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = loop {
            if let Ok(p) = Arc::clone(&permits).try_acquire_owned() {
                break p;
            }
            // Full: make room by closing the stalest waiting connection, or wait for one to end.
            registry.shed_stalest(now_ms(), SHED_AFTER.as_millis() as u64);
            tokio::select! {
                p = Arc::clone(&permits).acquire_owned() => break p.map_err(std::io::Error::other)?,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                () = &mut shutdown => return drain(&registry, &permits, max, limits.request_timeout).await,
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn {
            in_request: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            waiting_since: AtomicU64::new(now_ms()),
            stop: Notify::new(),
            epoch,
        });
        next_id += 1;
        let id = next_id;
        registry.lock().insert(id, Arc::clone(&conn));
        let io = Guarded::new(stream, limits.idle_timeout);
        let (http, handler, registry) = (Arc::clone(&http), handler.clone(), Arc::clone(&registry));
        let peer = Peer { remote, local };
        let grace = limits.request_timeout;
        tokio::spawn(async move {
            // Leaves the registry and frees its slot however the task ends (a panic included).
            let _slot = Slot { registry, id, _permit: permit };
            one_connection(&http, io, handler, peer, &conn, grace).await;
        });
    }
    drain(&registry, &permits, max, limits.request_timeout).await
}

/// Serve one connection until it ends, or until asked to stop: then at once when it is between
/// requests (idle, or part of a head read), else after the answer in flight (within `grace`).
async fn one_connection<H, F>(
    http: &hyper::server::conn::http1::Builder,
    io: Guarded,
    handler: H,
    peer: Peer,
    conn: &Arc<Conn>,
    grace: Duration,
) where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let state = Arc::clone(conn);
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (conn, handler) = (Arc::clone(&state), handler.clone());
        conn.in_request.store(true, Ordering::Relaxed);
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(peer);
        async move {
            let busy = Busy(conn);
            let response = handler(req).await.map(|inner| Body::new(Tracked { inner, _busy: busy }));
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut served = std::pin::pin!(http.serve_connection(TokioIo::new(io), service));
    tokio::select! {
        _ = served.as_mut() => {}
        () = conn.stop.notified() => {
            // Dropping the connection closes it.
            if conn.in_request.load(Ordering::Relaxed) {
                served.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(grace, served).await;
            }
        }
    }
}

/// An open connection's place: in the registry and one of the permits, until dropped.
struct Slot {
    registry: Arc<Registry>,
    id: u64,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

/// Marks its connection as answering a request until dropped, with the answer's body: when the
/// body has been sent (or the connection dropped), the connection waits for its next head.
struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.waiting_since.store(self.0.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.0.in_request.store(false, Ordering::Relaxed);
    }
}

/// An answer's body, with the [`Busy`] mark of its connection.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Shutdown: ask every connection to close and wait (up to `grace` and a second) until all have.
async fn drain(registry: &Registry, permits: &Arc<Semaphore>, max: usize, grace: Duration) -> std::io::Result<()> {
    registry.stop_all();
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace + Duration::from_secs(1), permits.acquire_many(all)).await;
    Ok(())
}

/// A connection that fails reads after `limit` of silence.
struct Guarded {
    stream: tokio::net::TcpStream,
    idle: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    /// When data last arrived.
    last_read: tokio::time::Instant,
}

impl Guarded {
    fn new(stream: tokio::net::TcpStream, limit: Duration) -> Guarded {
        Guarded { stream, idle: Box::pin(tokio::time::sleep(limit)), limit, last_read: tokio::time::Instant::now() }
    }
}

impl tokio::io::AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    // Only note the time: re-arming the timer on every read takes the timer
                    // wheel's lock per request. The timer is moved when it fires (below).
                    self.last_read = tokio::time::Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending => loop {
                match self.idle.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => {
                        let deadline = self.last_read + self.limit;
                        if deadline <= tokio::time::Instant::now() {
                            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle connection closed")));
                        }
                        // Data came since the timer was set: wait out the rest from the last read.
                        self.idle.as_mut().reset(deadline);
                    }
                }
            },
        }
    }
}

impl tokio::io::AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
