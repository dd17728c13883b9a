//! Bind, serve, and shut down gracefully. Used by `standin serve` and by tests in-process.

use std::net::SocketAddr;
use std::sync::Arc;

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::{App, LiveApp};
use exchange::handle_wrap;

pub mod exchange;

/// A server running in the background of the current tokio runtime.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address (the real port when started on port 0).
    pub addr: SocketAddr,
    /// The state the server answers from (journal, sandbox); swapped by [`RunningServer::swap`].
    live: Arc<LiveApp>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// `http://ip:port`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What clients sent so far (method, path, query, headers, JSON body, status, operation),
    /// for contract-test snapshots; empty when the journal is off.
    ///
    /// ```no_run
    /// # async fn demo() -> anyhow::Result<()> {
    /// let spec = standin::spec::Spec::load("specs/bento.yaml".as_ref(), &Default::default())?;
    /// let options = standin::app::Options { record: Some(Default::default()), ..Default::default() };
    /// let (app, _) = standin::app::App::new(vec![std::sync::Arc::new(spec)], options);
    /// let server = standin::server::start(app, "127.0.0.1:0".parse()?).await?;
    /// // … drive the client under test against server.url() …
    /// insta::assert_json_snapshot!(server.sent(), { "[].headers.authorization" => "[credentials]" });
    /// # Ok(()) }
    /// ```
    pub fn sent(&self) -> Vec<serde_json::Value> {
        self.app().recorder.as_ref().map(|r| r.sent()).unwrap_or_default()
    }

    /// The state the server answers from now.
    pub fn app(&self) -> Arc<App> {
        self.live.load_full()
    }

    /// The swappable state, for a watcher that reloads specs from another thread.
    pub fn live(&self) -> Arc<LiveApp> {
        Arc::clone(&self.live)
    }

    /// Answer from `app` from now on; requests in flight finish with the old one.
    pub fn swap(&self, app: App) {
        self.live.store(Arc::new(app));
    }

    /// Stop accepting, finish in-flight requests, and wait for the server to end.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Bind `addr` and serve `app` until [`RunningServer::stop`] (or drop).
pub async fn start(app: impl Into<Arc<App>>, addr: SocketAddr) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let own = crate::webhooks::serving_on(addr);
    let (tx, rx) = oneshot::channel::<()>();
    let live = Arc::new(LiveApp::new(app.into()));
    let router = axum::Router::new().fallback(handle_wrap).with_state(Arc::clone(&live));
    let limits = live.load().limits.clone();
    let listener = Limited {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))),
        idle: limits.idle_timeout,
    };
    let task = tokio::spawn(async move {
        let _own = own; // webhooks refuse this address while the server runs
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningServer { addr, live, shutdown: Some(tx), task: Some(task) })
}

/// Bind `addr` behind the transport limits [`start`] uses (connection cap, idle timeout), for a
/// server that answers with its own router (`standin replay`).
pub async fn listen(addr: SocketAddr, limits: &Limits) -> std::io::Result<impl axum::serve::Listener<Addr = SocketAddr>> {
    let inner = TcpListener::bind(addr).await?;
    Ok(Limited { inner, permits: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))), idle: limits.idle_timeout })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed to disk,
/// then renamed over the target, so a crash leaves the old file or the new one, never a torn one.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Transport limits: slow or idle clients cannot hold the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed (slow clients, idle keep-alive).
    pub idle_timeout: std::time::Duration,
    /// A request that takes longer than this (latency injection included) gets 503.
    pub request_timeout: std::time::Duration,
    /// Longest request target (path and query) in bytes; longer ones get 414.
    pub max_url_bytes: usize,
    /// Most header bytes (names and values) per request; more get 431.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            idle_timeout: std::time::Duration::from_secs(60),
            request_timeout: std::time::Duration::from_secs(30),
            max_url_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
        }
    }
}

/// A listener that caps the connections open at once and closes idle ones.
struct Limited {
    inner: TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
    idle: std::time::Duration,
}

impl axum::serve::Listener for Limited {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else { continue };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let idle = Box::pin(tokio::time::sleep(self.idle));
                    return (Guarded { stream, _permit: permit, idle, limit: self.idle, last_read: tokio::time::Instant::now() }, addr);
                }
                // Too many open files and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that holds its slot until closed, and fails reads after `limit` of silence.
struct Guarded {
    stream: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
    idle: std::pin::Pin<Box<tokio::time::Sleep>>,
    limit: std::time::Duration,
    /// When data last arrived.
    last_read: tokio::time::Instant,
}

impl tokio::io::AsyncRead for Guarded {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.stream).poll_read(cx, buf) {
            std::task::Poll::Ready(r) => {
                if buf.filled().len() > before {
                    // Only note the time: re-arming the timer on every read takes the timer
                    // wheel's lock per request. The timer is moved when it fires (below).
                    self.last_read = tokio::time::Instant::now();
                }
                std::task::Poll::Ready(r)
            }
            std::task::Poll::Pending => loop {
                match self.idle.as_mut().poll(cx) {
                    std::task::Poll::Pending => return std::task::Poll::Pending,
                    std::task::Poll::Ready(()) => {
                        let deadline = self.last_read + self.limit;
                        if deadline <= tokio::time::Instant::now() {
                            return std::task::Poll::Ready(Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "idle connection closed",
                            )));
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
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
