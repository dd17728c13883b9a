//! The exchange journal, the HAR recording and the per-exchange log line.
//!
//! `handle_wrap` hands every finished exchange (rejections and unmatched requests too) to the
//! [`Recorder`] through a channel: the request path only pays for a send, and never wakes the
//! writer (it polls; reads of the journal flush it first). A writer thread keeps
//! the journal (the last `capacity` exchanges, for `GET /__standin/requests` and
//! `/__standin/violations`), appends to the HAR file when recording, and prints the log line.
//!
//! # Implementation rationale
//! A writer thread rather than a lock around the journal on the request path: many requests
//! finish at once on a busy server, and only the writer ever touches the file. Reads of the
//! journal (admin calls) lock it briefly; the request path never does.

pub mod har;
pub mod replay;
pub mod verify;

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::pipeline::reject::Problem;

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub id: u64,
    /// Epoch milliseconds when the request arrived.
    pub started_ms: u64,
    pub duration_us: u64,
    /// Standard methods are constants: no allocation per exchange.
    pub method: axum::http::Method,
    pub path: String,
    pub query: Option<String>,
    /// Copied out of hyper's read buffer (see [`HeaderList`]); the body likewise.
    pub request_headers: HeaderList,
    pub request_body: axum::body::Bytes,
    pub status: u16,
    /// The response's headers and body: kept only when recording a HAR file or with
    /// `RecordOptions::keep_responses` (empty otherwise).
    pub response_headers: HeaderList,
    pub response_body: axum::body::Bytes,
    /// The operation it matched (`operationId` or `METHOD /path`).
    pub operation: Option<Arc<str>>,
    /// Where the answer came from (`fixture`, `generated`, `state`, …), if standin answered it.
    pub source: Option<std::borrow::Cow<'static, str>>,
    /// Contract violations of the request (the problems of a 400/422).
    pub violations: Vec<Problem>,
    /// The caller's credential, masked (`ke_l…`).
    pub tenant: Option<String>,
    /// Credentials and API keys (header and query names) to redact in the recording.
    pub secrets: Arc<Vec<String>>,
}

/// Headers as the journal keeps them: every name and value copied into one allocation.
///
/// hyper's header values, and a body that came in the same read, are slices of its connection
/// read buffer. Kept for the journal's lifetime, they pinned that buffer: 13 MB resident for a
/// 1,000-entry journal (8–16 KB per entry for a 300-byte request), and hyper allocated a fresh
/// buffer for nearly every request because the old one was never its alone again. One copy of
/// a few hundred bytes costs less than either.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    /// `[name length: u32 LE][name][value length: u32 LE][value]`, once per header, in order.
    packed: Box<[u8]>,
}

impl HeaderList {
    /// A copy of `map`, repeated names included, in its iteration order.
    pub fn copy_of(map: &axum::http::HeaderMap) -> HeaderList {
        let len: usize = map.iter().map(|(n, v)| 8 + n.as_str().len() + v.len()).sum();
        let mut packed = Vec::with_capacity(len);
        for (name, value) in map {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                packed.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
                packed.extend_from_slice(&part[..part.len().min(u32::MAX as usize)]);
            }
        }
        HeaderList { packed: packed.into_boxed_slice() }
    }

    /// Name (lowercase) and value of each header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut rest: &[u8] = &self.packed;
        let mut take = move || -> Option<&[u8]> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
            let (part, tail) = tail.split_at(len);
            rest = tail;
            Some(part)
        };
        std::iter::from_fn(move || {
            let name = take()?;
            let value = take()?;
            Some((std::str::from_utf8(name).unwrap_or(""), value))
        })
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The first value of `name` as text; empty when missing or not UTF-8.
    pub fn get_str(&self, name: &str) -> &str {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }
}

impl std::fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v)))).finish()
    }
}

/// The report entry of an exchange's operation, created on its first call (the operation's name
/// is copied only then).
fn report_entry<'r>(report: &'r mut std::collections::BTreeMap<String, OperationReport>, ex: &Exchange) -> &'r mut OperationReport {
    let name = ex.operation.as_deref().map_or_else(|| std::borrow::Cow::Owned(format!("{} {} (no operation)", ex.method, ex.path)), std::borrow::Cow::Borrowed);
    if !report.contains_key(name.as_ref()) {
        report.insert(name.to_string(), OperationReport::default());
    }
    report.get_mut(name.as_ref()).expect("inserted above")
}

/// How the log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// No log line.
    #[default]
    Off,
    /// `GET /api/v1/tags 200 0.4ms fixture`
    Text,
    /// One JSON object per line.
    Json,
}

/// What the writer does with each exchange.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// How many exchanges the journal keeps (0: a default of 1,000).
    pub capacity: usize,
    pub log: LogFormat,
    /// Append every exchange to this HAR file.
    pub har: Option<std::path::PathBuf>,
    /// Keep credentials in the recording (`--record-secrets`).
    pub keep_secrets: bool,
    /// Keep each response's headers and body in the journal for the inspector page's detail
    /// view (`serve` default; `--no-journal-responses` off). Without a HAR file, bodies past
    /// [`crate::ui::KEPT_BODY`] are cut by the writer (off the request path).
    pub keep_responses: bool,
}

enum Message {
    /// Allocated once on the request path and kept as is in the journal (numbered by the
    /// writer while it is still the only reference).
    Exchange(Arc<Exchange>),
    Flush(mpsc::Sender<()>),
    Close,
}

/// Per operation: how often it was exercised and the violations seen (for the contract report).
#[derive(Debug, Clone, Default)]
pub struct OperationReport {
    pub calls: u64,
    pub violations: Vec<Value>,
}

/// The journal and its writer.
pub struct Recorder {
    /// No lock on the request path: tokio's unbounded channel is lock-free on send (std's
    /// `mpsc` wakes its receiver through a mutex, which showed up contended under load).
    tx: tokio::sync::mpsc::UnboundedSender<Message>,
    journal: Arc<Mutex<VecDeque<Arc<Exchange>>>>,
    /// Every exchange's operation and violations since start (not bounded by the journal size;
    /// one entry per operation), for the shutdown summary and `--report`.
    report: Arc<Mutex<std::collections::BTreeMap<String, OperationReport>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Contract coverage since start, fed by the writer once per batch (`crate::coverage`).
    coverage: Arc<crate::coverage::Coverage>,
    /// The writer, to unpark for a flush or close.
    thread: std::thread::Thread,
    keeps_responses: bool,
    /// Whether a HAR file is written (the only output that needs the mount's secret names).
    records_har: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Start the writer. Fails only when the HAR file cannot be created.
    pub fn start(options: RecordOptions) -> std::io::Result<Recorder> {
        let capacity = if options.capacity == 0 { 1_000 } else { options.capacity };
        let journal: Arc<Mutex<VecDeque<Arc<Exchange>>>> = Arc::default();
        let keeps_responses = options.har.is_some() || options.keep_responses;
        let records_har = options.har.is_some();
        let coverage: Arc<crate::coverage::Coverage> = Arc::default();
        let cov = Arc::clone(&coverage);
        let mut har = match &options.har {
            Some(path) => Some(har::HarFile::create(path)?),
            None => None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let j = Arc::clone(&journal);
        let report: Arc<Mutex<std::collections::BTreeMap<String, OperationReport>>> = Arc::default();
        let rep = Arc::clone(&report);
        let writer = std::thread::Builder::new().name("standin-recorder".into()).spawn(move || {
            // Poll, park, poll: senders never wake this thread (a futex wake per request cost
            // more than the rest of the hand-off). Flush and close unpark it; otherwise it
            // sleeps 1 ms after work and backs off to 50 ms when idle, so a log line or a
            // recorded entry lands within that.
            // Messages are taken in batches, and the report and the journal locked once per
            // batch, not once per exchange.
            let mut idle = 0u32;
            let mut next_id = 1u64;
            let mut batch: Vec<Arc<Exchange>> = Vec::with_capacity(256);
            let mut acks = Vec::new();
            let mut evicted: Vec<Arc<Exchange>> = Vec::new();
            loop {
                let mut closing = false;
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(Message::Exchange(mut ex)) => {
                            if let Some(e) = Arc::get_mut(&mut ex) {
                                e.id = next_id;
                                if har.is_none() {
                                    crate::ui::bound_body(&mut e.response_body);
                                }
                            }
                            next_id += 1;
                            batch.push(ex);
                        }
                        Ok(Message::Flush(ack)) => acks.push(ack),
                        Ok(Message::Close) | Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                            closing = true;
                            break;
                        }
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                    }
                }
                if batch.is_empty() && acks.is_empty() && !closing {
                    std::thread::park_timeout(std::time::Duration::from_millis((1u64 << idle.min(6)).min(50)));
                    idle = idle.saturating_add(1);
                    continue;
                }
                idle = 0;
                if !batch.is_empty() {
                    for ex in &batch {
                        if let Some(h) = har.as_mut() {
                            if let Err(e) = h.append(ex, options.keep_secrets) {
                                eprintln!("standin: recording stopped: {e}");
                                har = None;
                            }
                        }
                        log_line(options.log, ex);
                    }
                    let mut r = rep.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for ex in &batch {
                        let entry = report_entry(&mut r, ex);
                        entry.calls += 1;
                        if !ex.violations.is_empty() && entry.violations.len() < 100 {
                            entry.violations.push(json!({"exchange": ex.id, "status": ex.status, "problems": ex.violations}));
                        }
                    }
                    drop(r);
                    cov.observe(&batch);
                    let mut j = j.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for ex in batch.drain(..) {
                        if j.len() >= capacity {
                            evicted.extend(j.pop_front());
                        }
                        j.push_back(ex);
                    }
                }
                // Old exchanges are freed outside the lock.
                evicted.clear();
                for ack in acks.drain(..) {
                    let _ = ack.send(());
                }
                if closing {
                    break;
                }
            }
        })?;
        let thread = writer.thread().clone();
        Ok(Recorder { keeps_responses, records_har, tx, journal, report, writer: Mutex::new(Some(writer)), coverage, thread })
    }

    /// Whether exchanges need the response headers and body (only the HAR file uses them).
    pub fn keeps_responses(&self) -> bool {
        self.keeps_responses
    }

    /// Whether exchanges need the mount's secret names (only the HAR writer redacts with them).
    pub fn records_har(&self) -> bool {
        self.records_har
    }

    /// The contract coverage so far (everything recorded is tallied first).
    pub fn coverage(&self) -> &crate::coverage::Coverage {
        self.flush();
        &self.coverage
    }

    /// One exchange of the journal, by id (`GET /__standin/requests/{id}`).
    pub fn exchange(&self, id: u64) -> Option<Arc<Exchange>> {
        self.flush();
        let j = self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Ids grow along the journal: a binary search, not a scan.
        let i = j.partition_point(|e| e.id < id);
        j.get(i).filter(|e| e.id == id).cloned()
    }

    /// Hand an exchange to the writer (never blocks).
    pub fn record(&self, exchange: Exchange) {
        let _ = self.tx.send(Message::Exchange(Arc::new(exchange)));
    }

    /// Wait until everything recorded so far is written.
    pub fn flush(&self) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Message::Flush(ack)).is_ok() {
            self.thread.unpark();
            let _ = done.recv_timeout(std::time::Duration::from_secs(10));
        }
    }

    /// Stop the writer after it has written everything (shutdown).
    pub fn close(&self) {
        let _ = self.tx.send(Message::Close);
        self.thread.unpark();
        if let Some(w) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = w.join();
        }
    }

    /// The journal as JSON, filtered (`method`, `path` prefix, `status`, `operation`, `tenant`:
    /// the credential, compared masked).
    pub fn list(&self, filter: &[(String, String)]) -> Vec<Value> {
        self.flush();
        let f = |k: &str| filter.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let j = self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        j.iter()
            .filter(|e| f("method").is_none_or(|m| m.eq_ignore_ascii_case(e.method.as_str())))
            .filter(|e| f("path").is_none_or(|p| e.path.starts_with(p)))
            .filter(|e| f("status").is_none_or(|s| s == e.status.to_string()))
            .filter(|e| f("operation").is_none_or(|o| e.operation.as_deref() == Some(o)))
            .filter(|e| f("tenant").is_none_or(|t| e.tenant.as_deref() == Some(crate::state::mask(t).as_str())))
            .map(|e| summary(e))
            .collect()
    }

    /// What clients sent, oldest first: method, path, query, the non-volatile headers and the
    /// body (JSON when it parses) — the shape to snapshot in a contract test.
    pub fn sent(&self) -> Vec<Value> {
        self.flush();
        const VOLATILE: [&str; 7] = ["host", "user-agent", "content-length", "accept", "accept-encoding", "connection", "date"];
        let j = self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        j.iter()
            .map(|e| {
                let headers: serde_json::Map<String, Value> = e
                    .request_headers
                    .iter()
                    .filter(|(n, _)| !VOLATILE.contains(n))
                    .map(|(n, v)| (n.to_string(), Value::String(String::from_utf8_lossy(v).into_owned())))
                    .collect();
                let body = if e.request_body.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&e.request_body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&e.request_body).into_owned()))
                };
                json!({"method": e.method.as_str(), "path": e.path, "query": e.query, "headers": headers, "body": body, "status": e.status, "operation": e.operation.as_deref()})
            })
            .collect()
    }

    /// Every exchange with contract violations.
    pub fn violations(&self) -> Vec<Value> {
        self.flush();
        let j = self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        j.iter().filter(|e| !e.violations.is_empty()).map(|e| summary(e)).collect()
    }

    /// The contract report so far: operation → calls and violations.
    pub fn report(&self) -> std::collections::BTreeMap<String, OperationReport> {
        self.flush();
        self.report.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// JUnit XML: one test case per operation exercised, a failure per operation with violations.
    pub fn junit(&self) -> String {
        let report = self.report();
        let esc = xml_escape;
        let failures = report.values().filter(|r| !r.violations.is_empty()).count();
        let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"standin contract\" tests=\"{}\" failures=\"{failures}\">\n", report.len());
        for (op, r) in &report {
            xml.push_str(&format!("  <testcase classname=\"contract\" name=\"{}\"", esc(op)));
            if r.violations.is_empty() {
                xml.push_str("/>\n");
            } else {
                let text = r.violations.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
                xml.push_str(&format!(">\n    <failure message=\"{} of {} calls broke the contract\">{}</failure>\n  </testcase>\n", r.violations.len(), r.calls, esc(&text)));
            }
        }
        xml.push_str("</testsuite>\n");
        xml
    }

    /// Empty the journal.
    pub fn clear(&self) {
        self.flush();
        self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// Escape text for XML attributes and content (the JUnit reports).
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The path and query of a recorded URL (`http://host/a?b=1` → `/a?b=1`).
pub fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
}

fn summary(e: &Exchange) -> Value {
    json!({
        "id": e.id,
        "startedAt": crate::respond::fake::format_rfc3339((e.started_ms / 1000) as i64),
        "durationMs": e.duration_us as f64 / 1000.0,
        "method": e.method.as_str(),
        "path": e.path,
        "query": e.query,
        "status": e.status,
        "operation": e.operation.as_deref(),
        "source": e.source,
        "tenant": e.tenant,
        "violations": e.violations,
    })
}

fn log_line(format: LogFormat, e: &Exchange) {
    use std::io::Write;
    let line = match format {
        LogFormat::Off => return,
        LogFormat::Text => {
            let q = e.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default();
            let v = if e.violations.is_empty() { String::new() } else { format!(" ({} violations)", e.violations.len()) };
            format!("{} {}{q} {} {:.1}ms {}{v}", e.method, e.path, e.status, e.duration_us as f64 / 1000.0, e.source.as_deref().unwrap_or("-"))
        }
        LogFormat::Json => summary(e).to_string(),
    };
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::HeaderList;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn header_list_keeps_every_header_in_order_and_owns_its_bytes() {
        let mut map = HeaderMap::new();
        map.append("x-api-key", HeaderValue::from_static("ke_live_1"));
        map.append("accept", HeaderValue::from_static("application/json"));
        map.append("accept", HeaderValue::from_static("text/plain"));
        map.append("x-binary", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        map.append("x-empty", HeaderValue::from_static(""));
        let list = HeaderList::copy_of(&map);
        drop(map);
        let got: Vec<(&str, &[u8])> = list.iter().collect();
        assert_eq!(got, vec![("x-api-key", &b"ke_live_1"[..]), ("accept", b"application/json"), ("accept", b"text/plain"), ("x-binary", b"caf\xe9"), ("x-empty", b"")]);
        assert_eq!(list.get_str("Accept"), "application/json", "the first value, any case");
        assert_eq!(list.get_str("x-binary"), "", "not UTF-8 reads as empty text");
        assert_eq!(list.get("x-binary"), Some(&b"caf\xe9"[..]));
        assert_eq!(list.get("missing"), None);
        assert!(HeaderList::copy_of(&HeaderMap::new()).is_empty());
    }
}
