//! Bind, serve, and shut down gracefully. Used by `standin serve` and by tests in-process.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::{App, LiveApp};
use exchange::handle_wrap;

pub mod conn;
/// The transport loop [`start`] runs on, for a server with its own handler (`standin replay`).
pub use conn::serve;
pub mod exchange;

pub use conn::Peer;

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
    let limits = live.load().limits.clone();
    let handler = {
        let live = Arc::clone(&live);
        move |req| handle_wrap(axum::extract::State(Arc::clone(&live)), req)
    };
    let task = tokio::spawn(async move {
        let _own = own; // webhooks refuse this address while the server runs
        conn::serve(listener, handler, limits, async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(RunningServer { addr, live, shutdown: Some(tx), task: Some(task) })
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed by this call, not when the future
/// is first polled: call it before announcing the listening address, so that a signal sent
/// right after the announcement is a graceful stop (state and recording saved), not the
/// default death. Must be called inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (term, int) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed to disk,
/// then renamed over the target, so a crash leaves the old file or the new one, never a torn one.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, false)
}

/// [`write_atomically`], readable and writable by this user only (mode 0600 on Unix): for the
/// state file, which holds every tenant's data.
pub fn write_privately(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, true)
}

fn write_file(path: &std::path::Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        // The mode applies to a new file only: not to one an earlier run left behind.
        let _ = std::fs::remove_file(&tmp);
        open.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = open.open(&tmp)?;
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
    /// A request's head must arrive within this long of the connection opening (or of the
    /// previous answer on a kept-alive connection); slower connections are closed.
    pub header_timeout: std::time::Duration,
    /// A request that takes longer than this (latency injection included) gets 503.
    pub request_timeout: std::time::Duration,
    /// The slowest a request body may arrive (`--min-body-rate`); a slower one gets 408 and its
    /// connection is closed, long before `request_timeout`.
    pub min_body_rate: MinBodyRate,
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
            header_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(30),
            min_body_rate: MinBodyRate::default(),
            max_url_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
        }
    }
}

/// The slowest a request body may arrive: `bytes_per_sec` on average since its first byte was
/// asked for, once `grace` has passed. Checked as each chunk arrives, and by one timer while the
/// body stalls (see `exchange::collect`).
///
/// # Implementation rationale
/// An average after a grace period, not a per-read deadline: a client on a slow start or with a
/// short pause is not cut, while one trickling a few bytes a second (which resets the idle
/// timer with every byte) no longer holds a connection and a request slot for the whole
/// `request_timeout`. The same rule and defaults as Kestrel's `MinRequestBodyDataRate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinBodyRate {
    /// The minimum average, in bytes per second; 0 turns the check off.
    pub bytes_per_sec: u64,
    /// How long a body may take before the average counts.
    pub grace: std::time::Duration,
}

impl MinBodyRate {
    /// No minimum: a body may take up to the request timeout.
    pub const OFF: MinBodyRate = MinBodyRate { bytes_per_sec: 0, grace: std::time::Duration::ZERO };

    /// Whether the check is on.
    pub fn is_on(&self) -> bool {
        self.bytes_per_sec > 0
    }
}

impl Default for MinBodyRate {
    /// 240 bytes per second after 5 s.
    fn default() -> Self {
        MinBodyRate { bytes_per_sec: 240, grace: std::time::Duration::from_secs(5) }
    }
}
